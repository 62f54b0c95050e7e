//go:build js && wasm

package wxfs

import (
	"strings"
	"syscall"
	"syscall/js"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/jscall"
)

// wxError is a failure thrown by a FileSystemManager *Sync method, turned
// into a Go error that matches the io/fs and fsadapter sentinels through its
// reason text.
type wxError struct {
	msg string // errMsg, e.g. "readFileSync:fail no such file or directory, open wxfile://usr/x"
}

func (e *wxError) Error() string { return e.msg }

// Unwrap exposes the errno the reason names (whose Is method matches
// fs.ErrNotExist, fs.ErrExist and fs.ErrPermission), and ErrNoSpace for the
// storage limit.
func (e *wxError) Unwrap() []error {
	reason := strings.ToLower(e.msg)
	if i := strings.Index(reason, ":fail"); i >= 0 {
		reason = reason[i+len(":fail"):]
	}
	for _, r := range reasons {
		if strings.Contains(reason, r.text) {
			if r.errno == syscall.ENOSPC {
				return []error{r.errno, fsadapter.ErrNoSpace}
			}
			return []error{r.errno}
		}
	}
	return nil
}

// reasons are the failure texts of the FileSystemManager documentation, in
// the order they are tested (the storage limit first: its text is the
// longest and must not be taken for another).
var reasons = []struct {
	text  string
	errno syscall.Errno
}{
	{"maximum size of the file storage limit", syscall.ENOSPC},
	{"storage limit is exceeded", syscall.ENOSPC},
	{"saved file size limit exceeded", syscall.ENOSPC}, // Douyin's wording
	{"no space left", syscall.ENOSPC},
	{"no such file or directory", syscall.ENOENT},
	{"already exists", syscall.EEXIST},
	{"not a directory", syscall.ENOTDIR},
	{"directory not empty", syscall.ENOTEMPTY},
	{"illegal operation on a directory", syscall.EISDIR},
	{"is a directory", syscall.EISDIR},
	{"operation not permitted", syscall.EPERM},
	{"permission denied", syscall.EACCES},
	{"bad file descriptor", syscall.EBADF},
	{"exceed max concurrent fd limit", syscall.EMFILE},
}

// newWxError describes a thrown JS value. Anything may be thrown, so
// nothing here assumes a property exists.
func newWxError(v js.Value) *wxError {
	if v.Type() != js.TypeObject {
		return &wxError{msg: "JavaScript exception: " + jscall.String(v)}
	}
	if m := v.Get("errMsg"); m.Type() == js.TypeString && m.String() != "" {
		return &wxError{msg: m.String()}
	}
	if m := v.Get("message"); m.Type() == js.TypeString && m.String() != "" {
		return &wxError{msg: m.String()}
	}
	return &wxError{msg: "JavaScript exception without errMsg"}
}
