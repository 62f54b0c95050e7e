// Package fsutil is what the filesystem adapters share apart from calling
// into JS (that is jscall): errors worded the same whatever the backend,
// names checked and mapped under a root, a FileInfo copied out of a host's
// stat, and the state every append file keeps. It is plain Go, so it is
// tested natively.
package fsutil

import (
	"fmt"
	"io/fs"
	"sync"
	"time"
)

// WrapErr prefixes err with the operation and the name, so errors read the
// same whatever the backend; nil stays nil.
func WrapErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("fsadapter: %s %s: %w", op, name, err)
}

// ReadRange is a backend's ReadRange through its ReadRangeInto: n bytes of
// name into a new buffer, a negative n fs.ErrInvalid.
func ReadRange(name string, n int, into func(dst []byte) error) ([]byte, error) {
	if n < 0 {
		return nil, WrapErr("read", name, fs.ErrInvalid)
	}
	buf := make([]byte, n)
	if err := into(buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// CheckPath rejects a name outside the adapter's root (not a valid io/fs
// name) before it reaches a backend, so every backend fails it the same
// way: fs.ErrInvalid, wrapped.
func CheckPath(op, name string) error {
	if !fs.ValidPath(name) {
		return WrapErr(op, name, fs.ErrInvalid)
	}
	return nil
}

// Join maps a valid io/fs name to the host's path under root ("." is root
// itself); root has no trailing separator unless it is "/".
func Join(op, root, name string) (string, error) {
	if err := CheckPath(op, name); err != nil {
		return "", err
	}
	switch {
	case name == ".":
		return root, nil
	case root == "/":
		return "/" + name, nil
	}
	return root + "/" + name, nil
}

// FileInfo is a host's description of a file copied into Go.
type FileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

// NewFileInfo returns the FileInfo of a file of that name, size, mode and
// modification time.
func NewFileInfo(name string, size int64, mode fs.FileMode, modTime time.Time) *FileInfo {
	return &FileInfo{name: name, size: size, mode: mode, modTime: modTime}
}

// Name implements fs.FileInfo.
func (i *FileInfo) Name() string { return i.name }

// Size implements fs.FileInfo.
func (i *FileInfo) Size() int64 { return i.size }

// Mode implements fs.FileInfo.
func (i *FileInfo) Mode() fs.FileMode { return i.mode }

// ModTime implements fs.FileInfo.
func (i *FileInfo) ModTime() time.Time { return i.modTime }

// IsDir implements fs.FileInfo.
func (i *FileInfo) IsDir() bool { return i.mode.IsDir() }

// Sys implements fs.FileInfo: there is no underlying data source.
func (i *FileInfo) Sys() any { return nil }

// Appender is the state an adapter's append file keeps around its host
// calls: one lock over them, use after Close failing with fs.ErrClosed, and
// a directory entry that the first successful Sync makes durable too when
// the file was new. The adapter supplies the calls themselves.
type Appender struct {
	name string                                 // as the caller named it, for errors
	wrap func(op, name string, err error) error // the adapter's error wording

	mu         sync.Mutex
	closed     bool
	dirPending bool
}

// NewAppender returns the state of an append file named name; dirPending
// says the file was just created and its directory not yet synced. wrap
// words the errors (WrapErr, or the adapter's own).
func NewAppender(name string, dirPending bool, wrap func(op, name string, err error) error) *Appender {
	return &Appender{name: name, dirPending: dirPending, wrap: wrap}
}

// Write runs write(p) under the lock unless the file is closed; write
// returns how much it wrote.
func (a *Appender) Write(p []byte, write func(p []byte) (int, error)) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, a.wrap("append", a.name, fs.ErrClosed)
	}
	n, err := write(p)
	return n, a.wrap("append", a.name, err)
}

// Sync runs sync under the lock unless the file is closed, then, once,
// syncDir when the file was new. A nil sync means the host has nothing to
// flush: only the closed check is made.
func (a *Appender) Sync(sync func() error, syncDir func()) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.wrap("sync", a.name, fs.ErrClosed)
	}
	if sync == nil {
		return nil
	}
	if err := sync(); err != nil {
		return a.wrap("sync", a.name, err)
	}
	if a.dirPending {
		syncDir()
		a.dirPending = false
	}
	return nil
}

// Close marks the file closed, even when close fails (the handle must not
// be used again), and runs close, if any, under the lock. Closing twice
// fails with fs.ErrClosed.
func (a *Appender) Close(close func() error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.wrap("close", a.name, fs.ErrClosed)
	}
	a.closed = true
	if close == nil {
		return nil
	}
	return a.wrap("close", a.name, close())
}
