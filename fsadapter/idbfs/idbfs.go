//go:build js && wasm

package idbfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"syscall/js"

	"github.com/hack-pad/hackpadfs"
	"github.com/hack-pad/hackpadfs/mem"

	"minibase/fsadapter"
)

// dirMarker is the value of a directory's record; a file's is a Uint8Array.
const dirMarker = "dir"

// FS implements fsadapter.FS over an in-memory mirror (memfs) whose changes
// are reported to a JS host.
type FS struct {
	mem        fsadapter.FS // the mirror, through the fsadapter contract
	raw        *mem.FS      // the same mirror, for ReadRange
	host       js.Value     // put(root, name, bytes), mkdir(root, name), del(root, name), take(root)
	root       string       // the database's name, as the host knows it
	uint8Array js.Value
}

var (
	_ fsadapter.FS          = (*FS)(nil)
	_ fsadapter.RangeReader = (*FS)(nil)
)

// New returns the mirror of the database root, filled from the records the
// host loaded from IndexedDB (host.take(root) returns [[name, value], …] once,
// or null when the loader did not load root first).
func New(host js.Value, root string) (fsadapter.FS, error) {
	if host.Type() != js.TypeObject {
		return nil, errors.New("idbfs: open: no IndexedDB host (connect through the browser loader)")
	}
	for _, fn := range []string{"take", "put", "mkdir", "del"} {
		if host.Get(fn).Type() != js.TypeFunction {
			return nil, fmt.Errorf("idbfs: open: host has no function %s", fn)
		}
	}
	raw, err := mem.NewFS()
	if err != nil {
		return nil, fmt.Errorf("idbfs: open %s: %w", root, err)
	}
	f := &FS{
		mem:        fsadapter.New(raw, fsadapter.Caps{Name: "memory", AppendCheap: true}),
		raw:        raw,
		host:       host,
		root:       root,
		uint8Array: js.Global().Get("Uint8Array"),
	}
	records, err := f.call("take", root)
	if err != nil {
		return nil, fmt.Errorf("idbfs: open %s: %w", root, err)
	}
	if records.Type() != js.TypeObject {
		return nil, fmt.Errorf("idbfs: open %s: the database was not loaded from IndexedDB first", root)
	}
	if err := f.fill(records); err != nil {
		return nil, fmt.Errorf("idbfs: open %s: %w", root, err)
	}
	return f, nil
}

// fill copies the loaded records into the mirror, directories first.
func (f *FS) fill(records js.Value) error {
	type file struct {
		name string
		data js.Value
	}
	var dirs []string
	var files []file
	for i := 0; i < records.Length(); i++ {
		rec := records.Index(i)
		name := rec.Index(0)
		val := rec.Index(1)
		if name.Type() != js.TypeString || !fs.ValidPath(name.String()) {
			return fmt.Errorf("record %d has an invalid name", i)
		}
		switch {
		case val.Type() == js.TypeString && val.String() == dirMarker:
			dirs = append(dirs, name.String())
		case val.InstanceOf(f.uint8Array):
			files = append(files, file{name.String(), val})
		default:
			return fmt.Errorf("record %s is neither a file nor a directory", name.String())
		}
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if err := f.mem.MkdirAll(d); err != nil {
			return err
		}
	}
	for _, fl := range files {
		data := make([]byte, fl.data.Length())
		js.CopyBytesToGo(data, fl.data)
		if err := f.mem.MkdirAll(path.Dir(fl.name)); err != nil {
			return err
		}
		if err := f.mem.WriteFile(fl.name, data, false); err != nil {
			return err
		}
	}
	return nil
}

// Caps reports IndexedDB: every file write re-saves the whole record, so the
// engine writes each file once. Sync is false: how hard a commit is flushed
// (IndexedDB's 'relaxed' or 'strict' durability) is chosen by the JS host per
// database, not per file.
func (f *FS) Caps() fsadapter.Caps {
	return fsadapter.Caps{Name: "indexeddb", AppendCheap: false, Sync: false}
}

// ReadFile reads from the mirror.
func (f *FS) ReadFile(name string) ([]byte, error) { return f.mem.ReadFile(name) }

// ReadDir lists the mirror.
func (f *FS) ReadDir(dir string) ([]string, error) { return f.mem.ReadDir(dir) }

// Stat describes a mirrored file.
func (f *FS) Stat(name string) (fs.FileInfo, error) { return f.mem.Stat(name) }

// ReadRange returns n bytes of name from offset off, copied from the mirror
// without copying the rest of the file (the optional range-read interface a
// storage engine may look for: block reads of large files). Reading past the
// end fails with io.ErrUnexpectedEOF.
func (f *FS) ReadRange(name string, off int64, n int) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("fsadapter: read %s: %w", name, fs.ErrInvalid)
	}
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("fsadapter: read %s: negative range: %w", name, fs.ErrInvalid)
	}
	file, err := f.raw.Open(name)
	if err != nil {
		return nil, fmt.Errorf("fsadapter: read %s: %w", name, err)
	}
	defer file.Close()
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	got, err := hackpadfs.ReadAtFile(file, buf, off)
	if got == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("fsadapter: read %s [%d, +%d): %w", name, off, n, err)
}

// WriteFile writes the mirror and queues the whole file for IndexedDB.
func (f *FS) WriteFile(name string, data []byte, _ bool) error {
	if err := f.mem.WriteFile(name, data, false); err != nil {
		return err
	}
	return f.put("write", name, data)
}

// OpenAppend opens a mirrored file for appending; every Write queues the
// whole file again (the engine appends only where Caps().AppendCheap).
func (f *FS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	_, statErr := f.mem.Stat(name)
	a, err := f.mem.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := f.put("open", name, nil); err != nil {
			_ = a.Close()
			return nil, err
		}
	}
	return &appendFile{fs: f, name: name, f: a}, nil
}

// Truncate cuts the mirrored file and queues it.
func (f *FS) Truncate(name string, size int64) error {
	if err := f.mem.Truncate(name, size); err != nil {
		return err
	}
	return f.putCurrent("truncate", name)
}

// Remove deletes from the mirror and queues the deletion.
func (f *FS) Remove(name string) error {
	if err := f.mem.Remove(name); err != nil {
		return err
	}
	if _, err := f.call("del", f.root, name); err != nil {
		return fmt.Errorf("fsadapter: remove %s: %w", name, err)
	}
	return nil
}

// MkdirAll creates the missing directories and queues a record for each.
func (f *FS) MkdirAll(dir string) error {
	var missing []string
	if fs.ValidPath(dir) {
		for d := dir; d != "."; d = path.Dir(d) {
			if _, err := f.mem.Stat(d); err == nil {
				break
			}
			missing = append(missing, d)
		}
	}
	if err := f.mem.MkdirAll(dir); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if _, err := f.call("mkdir", f.root, missing[i]); err != nil {
			return fmt.Errorf("fsadapter: mkdir %s: %w", dir, err)
		}
	}
	return nil
}

// putCurrent queues the mirror's current content of name.
func (f *FS) putCurrent(op, name string) error {
	data, err := f.mem.ReadFile(name)
	if err != nil {
		return err
	}
	return f.put(op, name, data)
}

// put hands a copy of data to the host, which keeps the array it is given.
func (f *FS) put(op, name string, data []byte) error {
	buf := f.uint8Array.New(len(data))
	if len(data) > 0 {
		js.CopyBytesToJS(buf, data)
	}
	if _, err := f.call("put", f.root, name, buf); err != nil {
		return fmt.Errorf("fsadapter: %s %s: %w", op, name, err)
	}
	return nil
}

// call invokes a host function, turning a thrown exception into an error.
func (f *FS) call(fn string, args ...any) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = fmt.Errorf("idbfs host %s: %s", fn, je.Error())
				return
			}
			err = fmt.Errorf("idbfs host %s: %v", fn, r)
		}
	}()
	return f.host.Call(fn, args...), nil
}

// appendFile queues the whole file after every append.
type appendFile struct {
	fs   *FS
	name string
	f    fsadapter.AppendFile
}

func (a *appendFile) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	if err != nil {
		return n, err
	}
	return n, a.fs.putCurrent("append", a.name)
}

func (a *appendFile) Sync() error  { return a.f.Sync() }
func (a *appendFile) Close() error { return a.f.Close() }
