// Package memfs is the in-memory fsadapter backend: a map from path to node,
// written for the fsadapter contract alone.
//
// Nothing survives the process; it serves tests, the 'memory' adapter of the
// JS API, and crash tests (wrapped in faultfs), where the same FS value plays
// the disk that outlives a simulated crash. An append grows the file's slice
// in chunks, never moving what it holds, where a general-purpose in-memory
// filesystem would copy the whole file per write, which made every commit
// on the memory adapter cost the size of its log.
package memfs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/fsutil"
)

// New returns an empty in-memory filesystem. Appending is cheap; there is
// nothing to sync.
func New() (fsadapter.FS, error) {
	return &compactFS{nodes: map[string]*node{".": {dir: true, mod: time.Now()}}}, nil
}

type node struct {
	dir  bool
	data fileData
	mod  time.Time
	// touched: written since mod was read. An append is a log commit, and
	// the clock is a call out of wasm (a tenth of a memory-backed
	// autocommit insert), so a write only marks the node and Stat reads
	// the clock: the time it reports is no earlier than the last write.
	touched bool
}

// modTime is the node's modification time, read from the clock after a
// write.
func (n *node) modTime() time.Time {
	if n.touched {
		n.mod, n.touched = time.Now(), false
	}
	return n.mod
}

type compactFS struct {
	mu    sync.Mutex
	nodes map[string]*node
	held  int64 // bytes of every file's data
}

var (
	_ fsadapter.FS              = (*compactFS)(nil)
	_ fsadapter.RangeReader     = (*compactFS)(nil)
	_ fsadapter.RangeIntoReader = (*compactFS)(nil)
	_ fsadapter.Holder          = (*compactFS)(nil)
)

// HeldBytes is the size of every file together.
func (m *compactFS) HeldBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held
}

func (m *compactFS) Caps() fsadapter.Caps {
	return fsadapter.Caps{Name: "memory", AppendCheap: true, Sync: false, InMemory: true}
}

// file returns the regular file name, or the error an operation on it gets.
func (m *compactFS) file(name string) (*node, error) {
	n, ok := m.nodes[name]
	switch {
	case !ok:
		return nil, fs.ErrNotExist
	case n.dir:
		return nil, syscall.EISDIR
	}
	return n, nil
}

// parentOK checks that name's directory exists.
func (m *compactFS) parentOK(name string) error {
	p, ok := m.nodes[path.Dir(name)]
	switch {
	case !ok:
		return fs.ErrNotExist
	case !p.dir:
		return syscall.ENOTDIR
	}
	return nil
}

func (m *compactFS) ReadFile(name string) ([]byte, error) {
	if err := check("read", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.file(name)
	if err != nil {
		return nil, wrap("read", name, err)
	}
	return n.data.read(0, int(n.data.size)), nil
}

func (m *compactFS) ReadRange(name string, off int64, size int) ([]byte, error) {
	return fsutil.ReadRange(name, size, func(dst []byte) error { return m.ReadRangeInto(name, off, dst) })
}

// ReadRangeInto is ReadRange into dst (fsadapter.RangeIntoReader).
func (m *compactFS) ReadRangeInto(name string, off int64, dst []byte) error {
	if err := check("read", name); err != nil {
		return err
	}
	if off < 0 {
		return wrap("read", name, fs.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.file(name)
	if err != nil {
		return wrap("read", name, err)
	}
	if off+int64(len(dst)) > n.data.size {
		return wrap("read", name, io.ErrUnexpectedEOF)
	}
	n.data.appendRange(dst[:0], off, len(dst))
	return nil
}

func (m *compactFS) WriteFile(name string, data []byte, sync bool) error {
	if err := check("write", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.parentOK(name); err != nil {
		return wrap("write", name, err)
	}
	n, ok := m.nodes[name]
	if ok && n.dir {
		return wrap("write", name, syscall.EISDIR)
	}
	if ok {
		m.held -= n.data.size
	}
	m.nodes[name] = &node{data: dataOf(data), mod: time.Now()}
	m.held += int64(len(data))
	return nil
}

func (m *compactFS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	if err := check("open", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.file(name); err == fs.ErrNotExist {
		if err := m.parentOK(name); err != nil {
			return nil, wrap("open", name, err)
		}
		m.nodes[name] = &node{mod: time.Now()}
	} else if err != nil {
		return nil, wrap("open", name, err)
	}
	return &compactAppend{fs: m, name: name}, nil
}

func (m *compactFS) Truncate(name string, size int64) error {
	if err := check("truncate", name); err != nil {
		return err
	}
	if size < 0 {
		return wrap("truncate", name, fs.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.file(name)
	if err != nil {
		return wrap("truncate", name, err)
	}
	m.held += size - n.data.size
	n.data.truncate(size)
	n.touched = true
	return nil
}

func (m *compactFS) Remove(name string) error {
	if err := check("remove", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	if !ok {
		return wrap("remove", name, fs.ErrNotExist)
	}
	if n.dir && len(m.children(name)) > 0 {
		return wrap("remove", name, syscall.ENOTEMPTY)
	}
	m.held -= n.data.size
	delete(m.nodes, name)
	return nil
}

// children lists the direct children of dir, sorted.
func (m *compactFS) children(dir string) []string {
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	var names []string
	for p := range m.nodes {
		if p != "." && strings.HasPrefix(p, prefix) && !strings.Contains(p[len(prefix):], "/") {
			names = append(names, p[len(prefix):])
		}
	}
	slices.Sort(names)
	return names
}

func (m *compactFS) ReadDir(dir string) ([]string, error) {
	if err := check("readdir", dir); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[dir]
	switch {
	case !ok:
		return nil, wrap("readdir", dir, fs.ErrNotExist)
	case !n.dir:
		return nil, wrap("readdir", dir, syscall.ENOTDIR)
	}
	return m.children(dir), nil
}

func (m *compactFS) MkdirAll(dir string) error {
	if err := check("mkdir", dir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Check the whole path before creating any of it.
	var missing []string
	for p := dir; p != "."; p = path.Dir(p) {
		n, ok := m.nodes[p]
		if ok && !n.dir {
			return wrap("mkdir", dir, syscall.ENOTDIR)
		}
		if !ok {
			missing = append(missing, p)
		}
	}
	for _, p := range missing {
		m.nodes[p] = &node{dir: true, mod: time.Now()}
	}
	return nil
}

func (m *compactFS) Stat(name string) (fs.FileInfo, error) {
	if err := check("stat", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[name]
	if !ok {
		return nil, wrap("stat", name, fs.ErrNotExist)
	}
	return &info{name: path.Base(name), size: n.data.size, dir: n.dir, mod: n.modTime()}, nil
}

// compactAppend appends to a node; after a Truncate it continues at the new end.
type compactAppend struct {
	fs     *compactFS
	name   string
	closed bool
}

func (a *compactAppend) Write(p []byte) (int, error) {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	if a.closed {
		return 0, wrap("append", a.name, fs.ErrClosed)
	}
	n, err := a.fs.file(a.name)
	if err != nil {
		return 0, wrap("append", a.name, err)
	}
	n.data.append(p)
	a.fs.held += int64(len(p))
	n.touched = true
	return len(p), nil
}

func (a *compactAppend) Sync() error {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	if a.closed {
		return wrap("sync", a.name, fs.ErrClosed)
	}
	return nil
}

func (a *compactAppend) Close() error {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	if a.closed {
		return wrap("close", a.name, fs.ErrClosed)
	}
	a.closed = true
	return nil
}

type info struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (i *info) Name() string { return i.name }
func (i *info) Size() int64  { return i.size }
func (i *info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i *info) ModTime() time.Time { return i.mod }
func (i *info) IsDir() bool        { return i.dir }
func (i *info) Sys() any           { return nil }

func check(op, name string) error {
	if !fs.ValidPath(name) {
		return wrap(op, name, fs.ErrInvalid)
	}
	return nil
}

func wrap(op, name string, err error) error {
	return fmt.Errorf("fsadapter: %s %s: %w", op, name, err)
}
