//go:build js && wasm

package wxfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"
	"syscall/js"
	"time"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/fsutil"
	"minibase/fsadapter/internal/jscall"
)

// required lists the FileSystemManager methods this backend calls; New
// checks them up front so a wrong object is an error at open, not later.
var required = []string{
	"accessSync", "mkdirSync", "readdirSync", "readFileSync", "writeFileSync",
	"appendFileSync", "truncateSync", "unlinkSync", "rmdirSync", "statSync",
}

// fdMethods are the descriptor methods ReadRange uses where the runtime has
// all of them (WeChat base library 2.16.1+, Douyin 3.74.0+); without them it
// reads a range with readFileSync's position and length.
var fdMethods = []string{"openSync", "readSync", "closeSync"}

// Options says how a runtime's FileSystemManager differs from WeChat's.
type Options struct {
	// PositionalTruncate calls truncateSync(filePath, length), as Douyin's
	// does, instead of WeChat's truncateSync({ filePath, length }).
	PositionalTruncate bool
}

// FS implements fsadapter.FS with a FileSystemManager's *Sync methods.
type FS struct {
	mgr        js.Value // the FileSystemManager
	uint8Array js.Value // the Uint8Array constructor
	root       string   // the directory "." names, as the runtime sees it
	opts       Options
	fds        bool // the runtime has fdMethods
	fdWrite    bool // and writeSync
}

var (
	_ fsadapter.FS              = (*FS)(nil)
	_ fsadapter.RangeReader     = (*FS)(nil)
	_ fsadapter.RangeIntoReader = (*FS)(nil)
)

// New returns a filesystem rooted at root (e.g. wx.env.USER_DATA_PATH +
// "/minibase"), creating it when missing. manager is the object
// wx.getFileSystemManager() returned, or one of the same shape.
func New(manager js.Value, root string, opts Options) (fsadapter.FS, error) {
	if manager.Type() != js.TypeObject {
		return nil, fmt.Errorf("wxfs: open: file system manager is a %s, not an object", manager.Type())
	}
	for _, name := range required {
		if manager.Get(name).Type() != js.TypeFunction {
			return nil, fmt.Errorf("wxfs: open: file system manager has no function %s", name)
		}
	}
	// Not path.Clean: it would turn "wxfile://usr" into "wxfile:/usr".
	root = strings.TrimRight(root, "/")
	if root == "" {
		return nil, errors.New("wxfs: open: empty root")
	}
	w := &FS{
		mgr:        manager,
		uint8Array: js.Global().Get("Uint8Array"),
		root:       root,
		opts:       opts,
		fds:        true,
	}
	for _, name := range fdMethods {
		if manager.Get(name).Type() != js.TypeFunction {
			w.fds = false
		}
	}
	w.fdWrite = w.fds && manager.Get("writeSync").Type() == js.TypeFunction
	if err := w.mkdirAll(root); err != nil {
		return nil, fmt.Errorf("wxfs: open %s: %w", root, err)
	}
	return w, nil
}

// Caps reports an appendable backend without a flush.
func (w *FS) Caps() fsadapter.Caps {
	return fsadapter.Caps{Name: "wx", AppendCheap: true, Sync: false}
}

// ReadFile reads name with one readFileSync (an ArrayBuffer) and one copy.
func (w *FS) ReadFile(name string) ([]byte, error) {
	p, err := w.path("read", name)
	if err != nil {
		return nil, err
	}
	buf, err := w.call("readFileSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("read", name, err)
	}
	if buf.Type() != js.TypeObject || buf.Get("byteLength").Type() != js.TypeNumber {
		return nil, fsutil.WrapErr("read", name, fmt.Errorf("readFileSync returned a %s, not an ArrayBuffer", buf.Type()))
	}
	view := w.uint8Array.New(buf)
	data := make([]byte, view.Get("length").Int())
	js.CopyBytesToGo(data, view)
	return data, nil
}

// ReadRange reads n bytes of name at off (fsadapter.RangeReader), so that a
// segment block read costs the block, not the file. Where the runtime has
// descriptors it is one readSync into a reused ArrayBuffer on a descriptor
// kept open between calls; elsewhere, or when that fails, readFileSync with
// position and length (base library 2.10.0+).
func (w *FS) ReadRange(name string, off int64, n int) ([]byte, error) {
	return fsutil.ReadRange(name, n, func(dst []byte) error { return w.ReadRangeInto(name, off, dst) })
}

// ReadRangeInto is ReadRange into dst (fsadapter.RangeIntoReader): a scan
// reading a file chunk after chunk reuses its buffer, where a fresh one
// per chunk kept the collector running on a heap bounded near its live
// size.
func (w *FS) ReadRangeInto(name string, off int64, dst []byte) error {
	p, err := w.path("read", name)
	if err != nil {
		return err
	}
	if off < 0 {
		return fsutil.WrapErr("read", name, fs.ErrInvalid)
	}
	if len(dst) == 0 {
		return nil
	}
	if w.fds && w.readAt(p, off, dst) {
		return nil
	}
	return w.readRangeByPath(name, p, off, dst)
}

// readAt fills dst through a cached descriptor of p. ok is false when the
// descriptor way failed for any reason (no descriptor to be had, the
// runtime's limit of open files reached, a descriptor gone bad, a device
// that throws at the end of a file): the caller then reads by path, which
// reports the failure the way it always has.
func (w *FS) readAt(p string, off int64, dst []byte) (ok bool) {
	n := len(dst)
	readFDs.mu.Lock()
	defer readFDs.mu.Unlock()
	fd, err := readFDs.get(w, p)
	if err != nil {
		return false
	}
	buf, view := readFDs.scratch(w, n)
	req := readFDs.request(fd, buf, n, off)
	res, err := w.call("readSync", req)
	if err == nil && res.Type() == js.TypeObject {
		if got := res.Get("bytesRead"); got.Type() == js.TypeNumber && got.Int() == n {
			js.CopyBytesToGo(dst, view) // the first n bytes: min of both lengths
			return true
		}
	}
	// A short read is the end of the file, which the path read reports as
	// such; anything else, a descriptor not to be trusted again.
	readFDs.drop(w, p)
	return false
}

// readRangeByPath reads with readFileSync's position and length. Devices
// throw on a range past the end of the file rather than returning what there
// is, so a failed read asks statSync whether the range was the cause: a
// reader looking for a torn tail must get io.ErrUnexpectedEOF either way.
func (w *FS) readRangeByPath(name, p string, off int64, dst []byte) error {
	n := len(dst)
	buf, err := w.call("readFileSync", p, js.Undefined(), float64(off), n)
	if err != nil {
		if st, statErr := w.call("statSync", p, false); statErr == nil && !isDir(st) && off+int64(n) > newFileInfo(name, st).Size() {
			return fsutil.WrapErr("read", name, io.ErrUnexpectedEOF)
		}
		return fsutil.WrapErr("read", name, err)
	}
	if buf.Type() != js.TypeObject || buf.Get("byteLength").Type() != js.TypeNumber {
		return fsutil.WrapErr("read", name, fmt.Errorf("readFileSync returned a %s, not an ArrayBuffer", buf.Type()))
	}
	view := w.uint8Array.New(buf)
	if view.Get("length").Int() != n {
		return fsutil.WrapErr("read", name, io.ErrUnexpectedEOF)
	}
	js.CopyBytesToGo(dst, view)
	return nil
}

// forget closes the cached read descriptor of p, if there is one: a file
// about to be replaced, cut or removed must be read anew (a descriptor of a
// removed file still reads the old bytes).
func (w *FS) forget(p string) {
	if !w.fds {
		return
	}
	readFDs.mu.Lock()
	defer readFDs.mu.Unlock()
	readFDs.drop(w, p)
}

// WriteFile creates or replaces name with one writeFileSync. There is no
// flush to ask for, so sync changes nothing.
func (w *FS) WriteFile(name string, data []byte, sync bool) error {
	p, err := w.path("write", name)
	if err != nil {
		return err
	}
	w.forget(p)
	appendFDs.detach(w, p)
	if len(data) == 0 {
		return fsutil.WrapErr("write", name, w.createEmpty(p))
	}
	_, err = w.call("writeFileSync", p, w.arrayBuffer(data))
	return fsutil.WrapErr("write", name, err)
}

// createEmpty makes p an empty file. Devices refuse a write of zero bytes
// ("data to write is empty"), so the file is created with one byte and cut
// back; a file killed in between holds one byte, which the engine's
// checksums reject like any torn write.
func (w *FS) createEmpty(p string) error {
	w.forget(p)
	if _, err := w.call("writeFileSync", p, w.arrayBuffer([]byte{0})); err != nil {
		return err
	}
	if err := w.truncate(p, 0); err != nil {
		_, _ = w.call("unlinkSync", p)
		return err
	}
	return nil
}

// OpenAppend returns a file whose writes go through a descriptor of its own
// (openSync flag "a", writeSync) where the runtime has them, and through
// appendFileSync otherwise, which fails on a missing file: a missing one is
// created empty first.
func (w *FS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	p, err := w.path("open", name)
	if err != nil {
		return nil, err
	}
	if _, err := w.call("accessSync", p); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fsutil.WrapErr("open", name, err)
		}
		if err := w.createEmpty(p); err != nil {
			return nil, fsutil.WrapErr("open", name, err)
		}
	} else if st, err := w.call("statSync", p); err != nil {
		return nil, fsutil.WrapErr("open", name, err)
	} else if isDir(st) {
		return nil, fsutil.WrapErr("open", name, syscall.EISDIR)
	}
	a := &appendFile{Appender: fsutil.NewAppender(name, false, fsutil.WrapErr), fs: w, path: p}
	appendFDs.open(a)
	return a, nil
}

// Truncate cuts name to size bytes with truncateSync.
func (w *FS) Truncate(name string, size int64) error {
	p, err := w.path("truncate", name)
	if err != nil {
		return err
	}
	if size < 0 {
		return fsutil.WrapErr("truncate", name, fs.ErrInvalid)
	}
	w.forget(p)
	return fsutil.WrapErr("truncate", name, w.truncate(p, size))
}

// truncate calls truncateSync in the runtime's own signature.
func (w *FS) truncate(p string, size int64) error {
	var err error
	if w.opts.PositionalTruncate {
		_, err = w.call("truncateSync", p, size)
	} else {
		_, err = w.call("truncateSync", map[string]any{"filePath": p, "length": size})
	}
	return err
}

// Remove deletes a file (unlinkSync) or an empty directory (rmdirSync, not
// recursive); unlinkSync refuses directories, so it looks first.
func (w *FS) Remove(name string) error {
	p, err := w.path("remove", name)
	if err != nil {
		return err
	}
	st, err := w.call("statSync", p)
	if err != nil {
		return fsutil.WrapErr("remove", name, err)
	}
	w.forget(p)
	appendFDs.detach(w, p)
	if isDir(st) {
		_, err = w.call("rmdirSync", p, false)
	} else {
		_, err = w.call("unlinkSync", p)
	}
	return fsutil.WrapErr("remove", name, err)
}

// ReadDir lists dir, sorted (the runtime's order is unspecified).
func (w *FS) ReadDir(dir string) ([]string, error) {
	p, err := w.path("readdir", dir)
	if err != nil {
		return nil, err
	}
	list, err := w.call("readdirSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("readdir", dir, err)
	}
	return jscall.SortedStrings(list), nil
}

// MkdirAll creates dir and its missing parents; an existing dir is fine.
func (w *FS) MkdirAll(dir string) error {
	p, err := w.path("mkdir", dir)
	if err != nil {
		return err
	}
	return fsutil.WrapErr("mkdir", dir, w.mkdirAll(p))
}

// mkdirAll runs mkdirSync(p, true), which some runtimes fail with "file
// already exists" when p exists: that is success for a directory only.
func (w *FS) mkdirAll(p string) error {
	_, err := w.call("mkdirSync", p, true)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	st, statErr := w.call("statSync", p)
	if statErr != nil {
		return statErr
	}
	if !isDir(st) {
		return syscall.ENOTDIR
	}
	return nil
}

// Stat describes name from one statSync.
func (w *FS) Stat(name string) (fs.FileInfo, error) {
	p, err := w.path("stat", name)
	if err != nil {
		return nil, err
	}
	st, err := w.call("statSync", p, false)
	if err != nil {
		return nil, fsutil.WrapErr("stat", name, err)
	}
	return newFileInfo(path.Base(name), st), nil
}

// path maps a valid io/fs name to the path the runtime sees.
func (w *FS) path(op, name string) (string, error) { return fsutil.Join(op, w.root, name) }

// arrayBuffer copies p into a new ArrayBuffer of exactly len(p) bytes: the
// write methods take an ArrayBuffer, not a view of part of one.
func (w *FS) arrayBuffer(p []byte) js.Value {
	arr := w.uint8Array.New(len(p))
	if len(p) > 0 {
		js.CopyBytesToJS(arr, p)
	}
	return arr.Get("buffer")
}

// call invokes a FileSystemManager method and turns a thrown exception into
// an error.
func (w *FS) call(method string, args ...any) (js.Value, error) {
	return callOn(w.mgr, method, args...)
}

// callOn invokes a method of the FileSystemManager mgr.
func callOn(mgr js.Value, method string, args ...any) (js.Value, error) {
	return jscall.Call(mgr, method, func(thrown js.Value) error { return newWxError(thrown) }, args...)
}

// appendFile appends through its descriptor (appendFDs) or, without one,
// appendFileSync, one call per Write.
type appendFile struct {
	*fsutil.Appender
	fs   *FS
	path string   // as the runtime sees it
	fd   js.Value // undefined: appends by path
}

func (a *appendFile) Write(p []byte) (int, error) {
	return a.Appender.Write(p, func(p []byte) (int, error) {
		if len(p) == 0 {
			return 0, nil
		}
		if ok, err := appendFDs.write(a, p); ok {
			if err != nil {
				return 0, err // a partial count is unknowable after a thrown error; report none
			}
			return len(p), nil
		}
		if _, err := a.fs.call("appendFileSync", a.path, a.fs.arrayBuffer(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

// Sync has nothing to flush: the runtime offers no fsync.
func (a *appendFile) Sync() error { return a.Appender.Sync(nil, nil) }

// Close closes the descriptor, if the file has one.
func (a *appendFile) Close() error {
	return a.Appender.Close(func() error { return appendFDs.release(a) })
}

// isDir asks a Stats object, by its isDirectory method where it has one
// and by the POSIX type bits of mode otherwise.
func isDir(st js.Value) bool {
	if st.Type() != js.TypeObject {
		return false
	}
	if f := st.Get("isDirectory"); f.Type() == js.TypeFunction {
		return st.Call("isDirectory").Truthy()
	}
	m := st.Get("mode")
	return m.Type() == js.TypeNumber && m.Int()&sIFMT == sIFDIR
}

// POSIX file type bits of Stats.mode.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
)

// newFileInfo copies a FileSystemManager Stats, whose members may be missing.
func newFileInfo(name string, st js.Value) *fsutil.FileInfo {
	var mode fs.FileMode
	if m := st.Get("mode"); m.Type() == js.TypeNumber {
		mode = fs.FileMode(m.Int()) & fs.ModePerm
	}
	if isDir(st) {
		mode |= fs.ModeDir
	}
	var size int64
	if s := st.Get("size"); s.Type() == js.TypeNumber {
		size = int64(s.Float())
	}
	var modTime time.Time
	// lastModifiedTime is in seconds.
	if t := st.Get("lastModifiedTime"); t.Type() == js.TypeNumber {
		modTime = time.UnixMilli(int64(t.Float() * 1000))
	}
	return fsutil.NewFileInfo(name, size, mode, modTime)
}
