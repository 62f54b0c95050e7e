//go:build js && wasm

package nodefs

import (
	"syscall"
	"syscall/js"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/jscall"
)

// jsError is an exception thrown by node's fs, turned into a Go error that
// matches the io/fs and fsadapter sentinels through its code.
type jsError struct {
	code string // node's err.code, e.g. "ENOENT"; empty when the value had none
	msg  string // err.message
}

func (e *jsError) Error() string { return e.msg }

// Unwrap exposes the errno for the code, whose Is method matches
// fs.ErrNotExist, fs.ErrExist and fs.ErrPermission, ErrNoSpace for the
// out-of-space codes, and ErrNotResident for the host's notResidentCode.
func (e *jsError) Unwrap() []error {
	if e.code == notResidentCode {
		return []error{fsadapter.ErrNotResident}
	}
	errno, ok := errnos[e.code]
	if !ok {
		return nil
	}
	if errno == syscall.ENOSPC || errno == syscall.EDQUOT {
		return []error{errno, fsadapter.ErrNoSpace}
	}
	return []error{errno}
}

// notResidentCode is what a host throws for a read of bytes it has not
// loaded yet (the browser's OPFS pool, for a file whose handle it has not
// opened): the engine fails the call having changed nothing, and the host
// runs it again once it has them.
const notResidentCode = "ENOTRESIDENT"

// errnos holds the codes node's fs throws that callers may want to match.
var errnos = map[string]syscall.Errno{
	"ENOENT":    syscall.ENOENT,
	"EEXIST":    syscall.EEXIST,
	"ENOTDIR":   syscall.ENOTDIR,
	"EISDIR":    syscall.EISDIR,
	"ENOTEMPTY": syscall.ENOTEMPTY,
	"EACCES":    syscall.EACCES,
	"EPERM":     syscall.EPERM,
	"EBADF":     syscall.EBADF,
	"EINVAL":    syscall.EINVAL,
	"EMFILE":    syscall.EMFILE,
	"EIO":       syscall.EIO,
	"ENOSPC":    syscall.ENOSPC,
	"EDQUOT":    syscall.EDQUOT,
}

// newJSError describes a thrown JS value. Anything may be thrown, not only
// Error objects, so nothing here assumes a property exists.
func newJSError(v js.Value) *jsError {
	if v.Type() != js.TypeObject {
		return &jsError{msg: "JavaScript exception: " + jscall.String(v)}
	}
	e := &jsError{msg: jscall.String(v.Get("message"))}
	if code := v.Get("code"); code.Type() == js.TypeString {
		e.code = code.String()
	}
	if e.msg == "" {
		e.msg = "JavaScript exception " + e.code
	}
	return e
}
