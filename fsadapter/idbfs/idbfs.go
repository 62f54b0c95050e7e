//go:build js && wasm

package idbfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall/js"
	"time"

	"github.com/hack-pad/hackpadfs"
	"github.com/hack-pad/hackpadfs/mem"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/fsutil"
)

// dirMarker is the value of a directory's record; a file's is a Uint8Array.
const dirMarker = "dir"

// ErrNotResident is wrapped by a read of bytes the host has not loaded from
// IndexedDB yet. The host has noted what was missing: it loads those chunks
// and runs the engine call again (a call that failed changed nothing).
var ErrNotResident = fsadapter.ErrNotResident

// FS implements fsadapter.FS over an in-memory mirror (memfs) of the small
// files, and the host's chunk cache for the large ones, whose changes are
// reported to a JS host.
type FS struct {
	mem        fsadapter.FS // the mirror, through the fsadapter contract
	raw        *mem.FS      // the same mirror, for ReadRange
	host       js.Value     // put, mkdir, del, take, read (see New)
	root       string       // the database's name, as the host knows it
	uint8Array js.Value
	// lazy holds the files the host keeps in chunks and loads on demand
	// (those of at least chunk bytes), with their sizes; they are not in
	// the mirror.
	lazy  map[string]int64
	chunk int64
}

var (
	_ fsadapter.FS              = (*FS)(nil)
	_ fsadapter.RangeReader     = (*FS)(nil)
	_ fsadapter.RangeIntoReader = (*FS)(nil)
	_ fsadapter.Prefetcher      = (*FS)(nil)
)

// New returns the mirror of the database root, filled from the records the
// host loaded from IndexedDB: host.take(root) returns [[name, value], …] once
// (or null when the loader did not load root first), where value is a file's
// bytes, "dir", or the size of a file kept in chunks. host.read(root, name,
// off, n) serves those: the bytes, null when they are not loaded yet, or a
// string saying why they cannot be (a chunk missing or damaged);
// host.want(root, name) notes every chunk of name not loaded and answers
// whether all are. host.chunkBytes is the size from which a file is kept in chunks.
func New(host js.Value, root string) (fsadapter.FS, error) {
	if host.Type() != js.TypeObject {
		return nil, errors.New("idbfs: open: no IndexedDB host (connect through the browser loader)")
	}
	for _, fn := range []string{"take", "put", "mkdir", "del", "read", "want"} {
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
		lazy:       map[string]int64{},
	}
	if c := host.Get("chunkBytes"); c.Type() == js.TypeNumber && c.Int() > 0 {
		f.chunk = int64(c.Int())
	} else {
		return nil, errors.New("idbfs: open: host has no chunkBytes")
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
		case val.Type() == js.TypeNumber && val.Float() >= 0 && val.Float() == float64(int64(val.Float())):
			f.lazy[name.String()] = int64(val.Float())
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
	for name := range f.lazy {
		if err := f.mem.MkdirAll(path.Dir(name)); err != nil {
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
	return fsadapter.Caps{Name: "indexeddb", AppendCheap: false, Sync: false, LoadsOnDemand: true}
}

// ReadFile reads from the mirror, or a chunked file from the host.
func (f *FS) ReadFile(name string) ([]byte, error) {
	if size, ok := f.lazy[name]; ok {
		data := make([]byte, size)
		if err := f.readLazy(name, 0, data); err != nil {
			return nil, err
		}
		return data, nil
	}
	return f.mem.ReadFile(name)
}

// ReadDir lists the mirror and the chunked files.
func (f *FS) ReadDir(dir string) ([]string, error) {
	names, err := f.mem.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	added := false
	for name := range f.lazy {
		if path.Dir(name) == path.Clean(dir) {
			names = append(names, path.Base(name))
			added = true
		}
	}
	if added {
		sort.Strings(names)
	}
	return names, nil
}

// Stat describes a mirrored or chunked file.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if size, ok := f.lazy[name]; ok {
		return fileInfo{name: path.Base(name), size: size}, nil
	}
	return f.mem.Stat(name)
}

// ReadRange returns n bytes of name from offset off, without copying the
// rest of the file (the optional range-read interface a storage engine may
// look for: block reads of large files). Reading past the end fails with
// io.ErrUnexpectedEOF; bytes of a chunked file not loaded yet with
// ErrNotResident.
func (f *FS) ReadRange(name string, off int64, n int) ([]byte, error) {
	return fsutil.ReadRange(name, n, func(dst []byte) error { return f.ReadRangeInto(name, off, dst) })
}

// ReadRangeInto is ReadRange into dst (fsadapter.RangeIntoReader), so that
// a scan reading chunk after chunk reuses its buffers.
func (f *FS) ReadRangeInto(name string, off int64, dst []byte) error {
	n := len(dst)
	if !fs.ValidPath(name) {
		return fmt.Errorf("fsadapter: read %s: %w", name, fs.ErrInvalid)
	}
	if off < 0 {
		return fmt.Errorf("fsadapter: read %s: negative range: %w", name, fs.ErrInvalid)
	}
	if size, ok := f.lazy[name]; ok {
		if off+int64(n) > size {
			return fmt.Errorf("fsadapter: read %s [%d, +%d): %w", name, off, n, io.ErrUnexpectedEOF)
		}
		return f.readLazy(name, off, dst)
	}
	file, err := f.raw.Open(name)
	if err != nil {
		return fmt.Errorf("fsadapter: read %s: %w", name, err)
	}
	defer file.Close()
	if n == 0 {
		return nil
	}
	got, err := hackpadfs.ReadAtFile(file, dst, off)
	if got == n {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("fsadapter: read %s [%d, +%d): %w", name, off, n, err)
}

// readLazy reads len(dst) bytes of a chunked file at off through the host.
func (f *FS) readLazy(name string, off int64, dst []byte) error {
	n := len(dst)
	if n == 0 {
		return nil
	}
	v, err := f.call("read", f.root, name, off, n)
	switch {
	case err != nil:
		return fmt.Errorf("fsadapter: read %s [%d, +%d): %w", name, off, n, err)
	case v.Type() == js.TypeNull || v.Type() == js.TypeUndefined:
		return fmt.Errorf("fsadapter: read %s [%d, +%d): %w", name, off, n, ErrNotResident)
	case v.Type() == js.TypeString:
		return fmt.Errorf("fsadapter: read %s [%d, +%d): %s: %w", name, off, n, v.String(), fsadapter.ErrCorrupt)
	case !v.InstanceOf(f.uint8Array) || v.Length() != n:
		return fmt.Errorf("fsadapter: read %s [%d, +%d): the host answered something else: %w", name, off, n, fsadapter.ErrCorrupt)
	}
	js.CopyBytesToGo(dst, v)
	return nil
}

// WriteFile writes the mirror (or, for a file of at least the chunk size,
// notes its size: the host keeps its bytes) and queues the whole file for
// IndexedDB.
func (f *FS) WriteFile(name string, data []byte, _ bool) error {
	if int64(len(data)) < f.chunk {
		if err := f.mem.WriteFile(name, data, false); err != nil {
			return err
		}
		delete(f.lazy, name)
		return f.put("write", name, data)
	}
	// An empty file first, so the name is checked as any other write's.
	if err := f.mem.WriteFile(name, nil, false); err != nil {
		return err
	}
	if err := f.mem.Remove(name); err != nil {
		return err
	}
	if err := f.put("write", name, data); err != nil {
		return err
	}
	f.lazy[name] = int64(len(data))
	return nil
}

// Prefetch asks the host for every chunk of the named chunked files it has
// not loaded (the other names are in the mirror); it fails with
// ErrNotResident when it asked for any.
func (f *FS) Prefetch(names []string) error {
	missing := 0
	for _, name := range names {
		if _, ok := f.lazy[name]; !ok {
			continue
		}
		v, err := f.call("want", f.root, name)
		if err != nil {
			return fmt.Errorf("fsadapter: prefetch %s: %w", name, err)
		}
		if v.Type() != js.TypeBoolean || !v.Bool() {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("fsadapter: prefetch: %d files: %w", missing, ErrNotResident)
	}
	return nil
}

// resident moves a chunked file into the mirror (to be appended to or cut),
// which needs all of its bytes loaded.
func (f *FS) resident(name string) error {
	size, ok := f.lazy[name]
	if !ok {
		return nil
	}
	data := make([]byte, size)
	if err := f.readLazy(name, 0, data); err != nil {
		return err
	}
	if err := f.mem.WriteFile(name, data, false); err != nil {
		return err
	}
	delete(f.lazy, name)
	return nil
}

// OpenAppend opens a mirrored file for appending; every Write queues the
// whole file again (the engine appends only where Caps().AppendCheap).
func (f *FS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	if err := f.resident(name); err != nil {
		return nil, err
	}
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
	if err := f.resident(name); err != nil {
		return err
	}
	if err := f.mem.Truncate(name, size); err != nil {
		return err
	}
	return f.putCurrent("truncate", name)
}

// Remove deletes from the mirror and queues the deletion.
func (f *FS) Remove(name string) error {
	if _, ok := f.lazy[name]; ok {
		delete(f.lazy, name)
	} else {
		for other := range f.lazy {
			if strings.HasPrefix(other, name+"/") {
				return fmt.Errorf("fsadapter: remove %s: directory not empty: %w", name, fs.ErrExist)
			}
		}
		if err := f.mem.Remove(name); err != nil {
			return err
		}
	}
	if _, err := f.call("del", f.root, name); err != nil {
		return fmt.Errorf("fsadapter: remove %s: %w", name, err)
	}
	return nil
}

// MkdirAll creates the missing directories and queues a record for each.
func (f *FS) MkdirAll(dir string) error {
	for d := dir; fs.ValidPath(d) && d != "."; d = path.Dir(d) {
		if _, ok := f.lazy[d]; ok {
			return fmt.Errorf("fsadapter: mkdir %s: %s is a file: %w", dir, d, fs.ErrExist)
		}
	}
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

// fileInfo describes a chunked file.
type fileInfo struct {
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o644 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
