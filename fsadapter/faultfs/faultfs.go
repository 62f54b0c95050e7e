// Package faultfs wraps an fsadapter.FS to inject failures, torn writes and
// crashes, for crash tests of the storage engine.
//
// # Counting
//
// Every mutating operation gets a number, 1-based, in the order it reaches
// the wrapper: WriteFile, AppendFile.Write, AppendFile.Sync, Truncate, Remove
// and MkdirAll. Ops reports how many there were. Reads (ReadFile, ReadDir,
// Stat), OpenAppend and AppendFile.Close are not counted; OpenAppend creates
// at most an empty file, a state a crash at the following Write leaves too.
// Operations run one at a time (the wrapper holds a lock across the inner
// call), so the numbering is the order effects reach the inner filesystem.
//
// Injections name an operation relative to now: FailAt(1, err) fails the next
// mutating operation, whatever has been counted before.
//
// # Faults
//
//   - FailAt(n, err): the n-th operation fails with err and does nothing;
//     later ones proceed. FailAt(n, fsadapter.ErrNoSpace) is one full disk.
//   - FailFrom(n, err): the n-th and every later mutating operation fail with
//     err and do nothing, until Reset; reads still work, as on a full disk.
//   - CrashAt(n): the process is killed just before the n-th operation. It
//     and everything after it, reads included, fail with ErrCrashed and do
//     nothing.
//   - TearAt(n, keep): the process is killed in the middle of the n-th
//     operation. If it is a write, its first keep bytes reach the inner
//     filesystem (a WriteFile leaves a file holding just that prefix); then
//     it fails with ErrCrashed and the filesystem is crashed as with CrashAt.
//     Any other operation is not applied at all.
//
// # Caveats
//
// A crash simulates the process being killed, not power loss: everything
// handed to the inner filesystem before it stays, synced or not. To look at
// what survived, read the inner filesystem, or call Reset and keep using the
// wrapper as the restarted process would. AppendFiles opened before a crash
// belong to the dead process and fail with ErrCrashed even after Reset.
package faultfs

import (
	"fmt"
	"io"
	"io/fs"
	"sync"

	"minibase/fsadapter"
)

// FS is a fault-injecting fsadapter.FS. Its zero value is not usable; call Wrap.
type FS struct {
	inner fsadapter.FS

	mu      sync.Mutex
	ops     int     // mutating operations counted since Wrap or Reset
	faults  []fault // injected and not yet spent
	crashed bool
	epoch   int // crashes so far; an AppendFile opened in an older epoch is dead
}

var _ fsadapter.FS = (*FS)(nil)

// kind is what a fault does, in order of precedence when several name the
// same operation.
type kind int

const (
	crashAt kind = iota
	tearAt
	failAt
	failFrom
)

type fault struct {
	kind kind
	at   int   // absolute operation number
	err  error // failAt, failFrom
	keep int   // tearAt
}

// Wrap returns inner with no faults injected. Caps are inner's.
func Wrap(inner fsadapter.FS) *FS {
	return &FS{inner: inner}
}

// Ops returns the number of mutating operations since Wrap or Reset,
// including those that failed.
func (f *FS) Ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// Crashed reports whether a crash from CrashAt or TearAt has happened since
// Wrap or Reset.
func (f *FS) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// FailAt makes the n-th mutating operation from now (n >= 1) fail with err
// (ErrInjected when nil) without doing anything.
func (f *FS) FailAt(n int, err error) {
	f.inject(fault{kind: failAt, at: n, err: orInjected(err)})
}

// FailFrom makes the n-th mutating operation from now and all after it fail
// with err (ErrInjected when nil) without doing anything, until Reset.
func (f *FS) FailFrom(n int, err error) {
	f.inject(fault{kind: failFrom, at: n, err: orInjected(err)})
}

// CrashAt kills the simulated process just before the n-th mutating
// operation from now: from it on every operation fails with ErrCrashed.
func (f *FS) CrashAt(n int) {
	f.inject(fault{kind: crashAt, at: n})
}

// TearAt kills the simulated process in the middle of the n-th mutating
// operation from now, after the first keep bytes of a write reached the
// inner filesystem (keep is clamped to the write's length; a non-write
// operation is not applied at all).
func (f *FS) TearAt(n, keep int) {
	f.inject(fault{kind: tearAt, at: n, keep: max(keep, 0)})
}

// Reset forgets pending faults, the crash and the count: the wrapper acts
// as the restarted process. AppendFiles opened before a crash stay dead.
func (f *FS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops, f.faults, f.crashed = 0, nil, false
}

func (f *FS) inject(ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft.at += f.ops
	f.faults = append(f.faults, ft)
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// verdict is what happens to one mutating operation.
type verdict struct {
	n    int   // the operation's number; 0 when it came after a crash and was not counted
	err  error // non-nil: fail with it and do nothing
	tear bool  // apply keep bytes of a write, then crash
	keep int
}

// next counts a mutating operation and decides its fate. f.mu must be held.
func (f *FS) next() verdict {
	if f.crashed {
		return verdict{err: ErrCrashed}
	}
	f.ops++
	v := verdict{n: f.ops}
	var chosen *fault
	for i := range f.faults {
		ft := &f.faults[i]
		hit := ft.at == v.n || (ft.at < v.n && (ft.kind == failFrom || ft.kind == crashAt))
		if hit && (chosen == nil || ft.kind < chosen.kind) {
			chosen = ft
		}
	}
	if chosen == nil {
		return v
	}
	switch chosen.kind {
	case crashAt:
		f.crash()
		v.err = ErrCrashed
	case tearAt:
		v.tear, v.keep = true, chosen.keep
	default:
		v.err = chosen.err
	}
	return v
}

// crash marks the simulated process dead. f.mu must be held.
func (f *FS) crash() {
	f.crashed = true
	f.epoch++
}

// alive returns ErrCrashed, wrapped, once crashed. f.mu must be held.
func (f *FS) alive(op, name string) error {
	if f.crashed {
		return fmt.Errorf("faultfs: %s %s: %w", op, name, ErrCrashed)
	}
	return nil
}

// failed wraps the error of a failed mutating operation, with its number so
// a failing crash test names the operation to look at.
func failed(op, name string, v verdict, err error) error {
	if v.n == 0 {
		return fmt.Errorf("faultfs: %s %s: %w", op, name, err)
	}
	return fmt.Errorf("faultfs: %s %s (op %d): %w", op, name, v.n, err)
}

// Caps returns the inner filesystem's Caps.
func (f *FS) Caps() fsadapter.Caps { return f.inner.Caps() }

// ReadFile reads through to the inner filesystem unless crashed.
func (f *FS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.alive("read", name); err != nil {
		return nil, err
	}
	return f.inner.ReadFile(name)
}

// ReadRange reads n bytes of name at off (the optional range-read interface
// of the storage engine, lsm.RangeReader): through to the inner filesystem's
// ReadRange when it has one, else by slicing ReadFile. Not counted; it fails
// once crashed, and with io.ErrUnexpectedEOF past the end of the file.
func (f *FS) ReadRange(name string, off int64, n int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.alive("read", name); err != nil {
		return nil, err
	}
	if rr, ok := f.inner.(interface {
		ReadRange(string, int64, int) ([]byte, error)
	}); ok {
		return rr.ReadRange(name, off, n)
	}
	data, err := f.inner.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+int64(n) > int64(len(data)) {
		return nil, fmt.Errorf("faultfs: read %s at %d+%d of %d bytes: %w", name, off, n, len(data), io.ErrUnexpectedEOF)
	}
	return data[off : off+int64(n) : off+int64(n)], nil
}

// ReadRangeInto is ReadRange into dst (the optional fsadapter.
// RangeIntoReader): through to the inner filesystem's ReadRangeInto when it
// has one, else a copy of what ReadRange returns. Not counted; it fails
// once crashed.
func (f *FS) ReadRangeInto(name string, off int64, dst []byte) error {
	f.mu.Lock()
	if err := f.alive("read", name); err != nil {
		f.mu.Unlock()
		return err
	}
	if rr, ok := f.inner.(fsadapter.RangeIntoReader); ok {
		defer f.mu.Unlock()
		return rr.ReadRangeInto(name, off, dst)
	}
	f.mu.Unlock()
	data, err := f.ReadRange(name, off, len(dst))
	if err != nil {
		return err
	}
	copy(dst, data)
	return nil
}

// WriteFile is a counted operation; torn, it leaves name holding a prefix of data.
func (f *FS) WriteFile(name string, data []byte, sync bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.next()
	switch {
	case v.err != nil:
		return failed("write", name, v, v.err)
	case v.tear:
		_ = f.inner.WriteFile(name, data[:min(v.keep, len(data))], false)
		f.crash()
		return failed("write", name, v, ErrCrashed)
	}
	return f.inner.WriteFile(name, data, sync)
}

// OpenAppend is not counted; it fails once crashed.
func (f *FS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.alive("open", name); err != nil {
		return nil, err
	}
	inner, err := f.inner.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return &appendFile{fs: f, name: name, inner: inner, epoch: f.epoch}, nil
}

// Truncate is a counted operation.
func (f *FS) Truncate(name string, size int64) error {
	return f.apply("truncate", name, func() error { return f.inner.Truncate(name, size) })
}

// Remove is a counted operation.
func (f *FS) Remove(name string) error {
	return f.apply("remove", name, func() error { return f.inner.Remove(name) })
}

// MkdirAll is a counted operation.
func (f *FS) MkdirAll(dir string) error {
	return f.apply("mkdir", dir, func() error { return f.inner.MkdirAll(dir) })
}

// ReadDir reads through to the inner filesystem unless crashed.
func (f *FS) ReadDir(dir string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.alive("readdir", dir); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(dir)
}

// Stat reads through to the inner filesystem unless crashed.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.alive("stat", name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

// apply runs a counted operation that has no bytes to tear: torn, it is not
// applied and the filesystem crashes.
func (f *FS) apply(op, name string, do func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.next()
	switch {
	case v.err != nil:
		return failed(op, name, v, v.err)
	case v.tear:
		f.crash()
		return failed(op, name, v, ErrCrashed)
	}
	return do()
}

// appendFile wraps an inner AppendFile; it shares its FS's lock and count.
type appendFile struct {
	fs    *FS
	name  string
	inner fsadapter.AppendFile
	epoch int // the FS's epoch at open; once it moves on, this handle is dead
}

// dead reports whether the process that opened the file has crashed.
// a.fs.mu must be held.
func (a *appendFile) dead() bool {
	return a.fs.crashed || a.epoch != a.fs.epoch
}

// Write is a counted operation; torn, the first keep bytes of p are appended.
func (a *appendFile) Write(p []byte) (int, error) {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	if a.dead() {
		return 0, fmt.Errorf("faultfs: append %s: %w", a.name, ErrCrashed)
	}
	v := a.fs.next()
	switch {
	case v.err != nil:
		return 0, failed("append", a.name, v, v.err)
	case v.tear:
		n, _ := a.inner.Write(p[:min(v.keep, len(p))])
		a.fs.crash()
		return n, failed("append", a.name, v, ErrCrashed)
	}
	return a.inner.Write(p)
}

// Sync is a counted operation.
func (a *appendFile) Sync() error {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	if a.dead() {
		return fmt.Errorf("faultfs: sync %s: %w", a.name, ErrCrashed)
	}
	v := a.fs.next()
	switch {
	case v.err != nil:
		return failed("sync", a.name, v, v.err)
	case v.tear:
		a.fs.crash()
		return failed("sync", a.name, v, ErrCrashed)
	}
	return a.inner.Sync()
}

// Close is not counted. On a dead handle it still releases the inner file,
// as the OS does for a killed process, and reports ErrCrashed.
func (a *appendFile) Close() error {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	err := a.inner.Close()
	if a.dead() {
		return fmt.Errorf("faultfs: close %s: %w", a.name, ErrCrashed)
	}
	return err
}
