//go:build js && wasm

package nodefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"syscall/js"
	"time"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/fsutil"
	"minibase/fsadapter/internal/jscall"
)

// maxRetained is the largest scratch Uint8Array a filesystem keeps between
// writes; bigger ones are one-off, so a single large file does not pin its
// size in JS memory for the life of the database.
const maxRetained = 1 << 20

// required lists the node fs functions this backend calls; New checks them
// up front so a wrong module is an error at open, not later.
var required = []string{
	"openSync", "writeSync", "fsyncSync", "closeSync", "readFileSync",
	"mkdirSync", "readdirSync", "unlinkSync", "rmdirSync", "statSync", "truncateSync",
}

// FS implements fsadapter.FS with node's synchronous fs functions.
type FS struct {
	node       js.Value // node's fs module
	uint8Array js.Value // the Uint8Array constructor
	root       string   // the directory "." names, as node sees it
	// direct: reads, writes and syncs of open descriptors go through the
	// host's minibase imports (imports.go), not through node.
	direct bool
	// sizes: the host has readdirSizesSync (see ReadDirSizes).
	sizes bool

	mu      sync.Mutex // guards scratch between the copy into it and the write from it
	scratch js.Value   // reused Uint8Array for writes; undefined until the first write
	scrLen  int        // scratch's length

	rmu   sync.Mutex // guards reads
	reads []readFD   // descriptors kept open for ReadRange, most recent last
}

// readFD is a descriptor ReadRange keeps open: a point lookup reads a block
// of the same few segment files again and again, and opening one costs two
// more crossings into node than the read itself.
type readFD struct {
	name string
	fd   int
}

// maxReadFDs bounds the descriptors ReadRange keeps open per root. A
// million-row database has some forty 4 MB segments and random lookups
// read any of them: past the bound every read also opens and closes a
// file (two more crossings into node, and two system calls).
const maxReadFDs = 64

var (
	_ fsadapter.FS              = (*FS)(nil)
	_ fsadapter.RangeReader     = (*FS)(nil)
	_ fsadapter.RangeIntoReader = (*FS)(nil)
)

// New returns a filesystem rooted at root, creating root (and its parents)
// when missing. fsModule is node's fs module, passed in from JS
// (require('node:fs')); root is resolved by node, relative to process.cwd().
//
// Reads, writes and syncs of open files go through the host's minibase
// imports (js/src/imports.js), which must call the same fsModule: the
// descriptors fsModule opens are the ones they are handed.
func New(fsModule js.Value, root string) (fsadapter.FS, error) {
	return newFS(fsModule, root, true)
}

// NewHost is New over any object with node's synchronous fs functions
// (the OPFS worker's host, a test double) that the host's imports do not
// serve: every call goes through syscall/js, bytes through a Uint8Array.
func NewHost(host js.Value, root string) (fsadapter.FS, error) {
	return newFS(host, root, false)
}

func newFS(fsModule js.Value, root string, direct bool) (fsadapter.FS, error) {
	if fsModule.Type() != js.TypeObject {
		return nil, fmt.Errorf("nodefs: open: fs module is a %s, not an object", fsModule.Type())
	}
	for _, name := range required {
		if fsModule.Get(name).Type() != js.TypeFunction {
			return nil, fmt.Errorf("nodefs: open: fs module has no function %s", name)
		}
	}
	if root == "" {
		return nil, errors.New("nodefs: open: empty root")
	}
	n := &FS{
		node:       fsModule,
		uint8Array: js.Global().Get("Uint8Array"),
		root:       root,
		direct:     direct,
		sizes:      fsModule.Get("readdirSizesSync").Type() == js.TypeFunction,
	}
	if trimmed := strings.TrimRight(root, `/\`); trimmed != "" {
		n.root = trimmed // so that root+"/"+name has one separator; "/" stays "/"
	}
	if _, err := n.call("mkdirSync", n.root, map[string]any{"recursive": true}); err != nil {
		return nil, fmt.Errorf("nodefs: create root %s: %w", root, err)
	}
	return n, nil
}

// Caps reports a disk: appends are cheap and fsync works.
func (n *FS) Caps() fsadapter.Caps {
	return fsadapter.Caps{Name: "node", AppendCheap: true, Sync: true}
}

// ReadFile reads name with one readFileSync and one copy into Go memory.
func (n *FS) ReadFile(name string) ([]byte, error) {
	p, err := n.path("read", name)
	if err != nil {
		return nil, err
	}
	buf, err := n.call("readFileSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("read", name, err)
	}
	data := make([]byte, buf.Get("length").Int())
	js.CopyBytesToGo(data, buf)
	return data, nil
}

// WriteFile creates or replaces name: open with truncation, write, fsync when
// asked, close.
func (n *FS) WriteFile(name string, data []byte, sync bool) error {
	p, err := n.path("write", name)
	if err != nil {
		return err
	}
	n.forget(name)
	fd, created, err := n.open(p, "w", sync)
	if err != nil {
		return fsutil.WrapErr("write", name, err)
	}
	err = n.writeAll(fd, data)
	if err == nil && sync {
		err = n.fsync(fd)
	}
	if _, closeErr := n.call("closeSync", fd); err == nil {
		err = closeErr
	}
	if err != nil {
		return fsutil.WrapErr("write", name, err)
	}
	if created {
		n.syncDir(path.Dir(p))
	}
	return nil
}

// OpenAppend opens name with node's 'a' flag (O_APPEND), so every write lands
// at the current end of the file.
func (n *FS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	p, err := n.path("open", name)
	if err != nil {
		return nil, err
	}
	// Always learn whether the file is new: the first Sync must then sync
	// the directory too, and OpenAppend cannot know whether Sync will come.
	fd, created, err := n.open(p, "a", true)
	if err != nil {
		return nil, fsutil.WrapErr("open", name, err)
	}
	return &appendFile{Appender: fsutil.NewAppender(name, created, fsutil.WrapErr), fs: n, path: p, fd: fd}, nil
}

// Truncate cuts name to size bytes.
func (n *FS) Truncate(name string, size int64) error {
	p, err := n.path("truncate", name)
	if err != nil {
		return err
	}
	if size < 0 {
		return fsutil.WrapErr("truncate", name, fs.ErrInvalid)
	}
	n.forget(name)
	_, err = n.call("truncateSync", p, size)
	return fsutil.WrapErr("truncate", name, err)
}

// Remove deletes a file or an empty directory, like os.Remove: unlink first,
// rmdir when that fails, and report whichever error says more.
func (n *FS) Remove(name string) error {
	p, err := n.path("remove", name)
	if err != nil {
		return err
	}
	n.forget(name) // an unlinked file stays readable through an open descriptor
	_, err = n.call("unlinkSync", p)
	if err == nil {
		return nil
	}
	_, dirErr := n.call("rmdirSync", p)
	if dirErr == nil {
		return nil
	}
	if !errors.Is(dirErr, syscall.ENOTDIR) {
		err = dirErr
	}
	return fsutil.WrapErr("remove", name, err)
}

// ReadDir lists dir, sorted (readdirSync's order is the OS's).
func (n *FS) ReadDir(dir string) ([]string, error) {
	p, err := n.path("readdir", dir)
	if err != nil {
		return nil, err
	}
	list, err := n.call("readdirSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("readdir", dir, err)
	}
	return jscall.SortedStrings(list), nil
}

// ReadDirSizes lists the files of dir with their sizes
// (fsadapter.SizeLister) from one readdirSizesSync, which a host may offer
// beside node's functions (the browser's OPFS host does): it answers one
// string of "size\tname" lines, so that the whole listing is one crossing.
// Without it, errors.ErrUnsupported.
func (n *FS) ReadDirSizes(dir string) (map[string]int64, error) {
	if !n.sizes {
		return nil, errors.ErrUnsupported
	}
	p, err := n.path("readdir", dir)
	if err != nil {
		return nil, err
	}
	v, err := n.call("readdirSizesSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("readdir", dir, err)
	}
	if v.Type() != js.TypeString {
		return nil, fsutil.WrapErr("readdir", dir, fmt.Errorf("readdirSizesSync answered a %s, not a string", v.Type()))
	}
	return parseSizes(v.String())
}

// parseSizes reads readdirSizesSync's "size\tname" lines.
func parseSizes(text string) (map[string]int64, error) {
	out := map[string]int64{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		num, name, ok := strings.Cut(line, "\t")
		size, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || size < 0 || name == "" {
			return nil, fmt.Errorf("nodefs: readdirSizesSync: malformed line %q", line)
		}
		out[name] = size
	}
	return out, nil
}

// MkdirAll creates dir and its missing parents; an existing dir is fine.
func (n *FS) MkdirAll(dir string) error {
	p, err := n.path("mkdir", dir)
	if err != nil {
		return err
	}
	_, err = n.call("mkdirSync", p, map[string]any{"recursive": true})
	return fsutil.WrapErr("mkdir", dir, err)
}

// Stat describes name from one statSync.
func (n *FS) Stat(name string) (fs.FileInfo, error) {
	p, err := n.path("stat", name)
	if err != nil {
		return nil, err
	}
	st, err := n.call("statSync", p)
	if err != nil {
		return nil, fsutil.WrapErr("stat", name, err)
	}
	return newFileInfo(path.Base(name), st), nil
}

// path maps a valid io/fs name to the path node sees.
func (n *FS) path(op, name string) (string, error) { return fsutil.Join(op, n.root, name) }

// open opens p with node flag 'w' or 'a'. With knowCreated it first tries the
// exclusive variant ('wx', 'ax') to learn whether the file is new.
func (n *FS) open(p, flag string, knowCreated bool) (fd int, created bool, err error) {
	if knowCreated {
		v, err := n.call("openSync", p, flag+"x", 0o644)
		if err == nil {
			return v.Int(), true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return 0, false, err
		}
	}
	v, err := n.call("openSync", p, flag, 0o644)
	if err != nil {
		return 0, false, err
	}
	return v.Int(), false, nil
}

// writeAll writes p to fd through the reused scratch array, at most
// maxRetained bytes at a time: a segment or a bulk insert's log record is
// several megabytes, and a one-off JS array per write grew the process by
// hundreds of megabytes of ArrayBuffers before V8 collected them.
func (n *FS) writeAll(fd int, p []byte) error {
	if n.direct {
		_, err := write(fd, p)
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(p) > 0 {
		chunk := p[:min(len(p), maxRetained)]
		buf := n.scratchOf(len(chunk))
		js.CopyBytesToJS(buf, chunk)
		for off := 0; off < len(chunk); {
			v, err := n.call("writeSync", fd, buf, off, len(chunk)-off)
			if err != nil {
				return err
			}
			written := v.Int()
			if written <= 0 {
				return io.ErrShortWrite
			}
			off += written
		}
		p = p[len(chunk):]
	}
	return nil
}

// ReadRange reads size bytes of name at off (fsadapter.RangeReader) with one
// readSync on a descriptor kept open between calls.
func (n *FS) ReadRange(name string, off int64, size int) ([]byte, error) {
	return fsutil.ReadRange(name, size, func(dst []byte) error { return n.ReadRangeInto(name, off, dst) })
}

// ReadRangeInto is ReadRange into dst (fsadapter.RangeIntoReader), so that
// a scan reading chunk after chunk reuses one buffer.
func (n *FS) ReadRangeInto(name string, off int64, dst []byte) error {
	size := len(dst)
	if off < 0 {
		return fsutil.WrapErr("read", name, fs.ErrInvalid)
	}
	n.rmu.Lock()
	defer n.rmu.Unlock()
	fd, ok := n.openFD(name)
	if !ok {
		// Checked and joined to the root only when opened: a descriptor
		// kept open was opened from a valid name.
		p, err := n.path("read", name)
		if err != nil {
			return err
		}
		if fd, err = n.readFD(name, p); err != nil {
			return fsutil.WrapErr("read", name, err)
		}
	}
	if n.direct {
		got, err := readAt(fd, dst, off)
		if err != nil {
			return fsutil.WrapErr("read", name, err)
		}
		if got != size {
			return fsutil.WrapErr("read", name, io.ErrUnexpectedEOF)
		}
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	buf := n.scratchOf(size)
	got, err := n.call("readSync", fd, buf, 0, size, float64(off))
	if err != nil {
		return fsutil.WrapErr("read", name, err)
	}
	if got.Int() != size {
		return fsutil.WrapErr("read", name, io.ErrUnexpectedEOF)
	}
	js.CopyBytesToGo(dst, buf) // the first size bytes: min of both lengths
	return nil
}

// openFD returns the read descriptor of name kept open, if there is one,
// and makes it the most recently used. n.rmu must be held.
func (n *FS) openFD(name string) (int, bool) {
	for i := len(n.reads) - 1; i >= 0; i-- {
		if r := n.reads[i]; r.name == name {
			copy(n.reads[i:], n.reads[i+1:])
			n.reads[len(n.reads)-1] = r
			return r.fd, true
		}
	}
	return 0, false
}

// readFD opens a read descriptor of name (node path p) and keeps it,
// closing the least recently used one past maxReadFDs. n.rmu must be held.
func (n *FS) readFD(name, p string) (int, error) {
	v, err := n.call("openSync", p, "r")
	if err != nil {
		return 0, err
	}
	if len(n.reads) == maxReadFDs {
		_, _ = n.call("closeSync", n.reads[0].fd)
		n.reads = n.reads[1:]
	}
	n.reads = append(n.reads, readFD{name: name, fd: v.Int()})
	return v.Int(), nil
}

// forget closes the read descriptor of name, if one is open: a file about to
// be replaced or removed must be read anew.
func (n *FS) forget(name string) {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	for i, r := range n.reads {
		if r.name == name {
			_, _ = n.call("closeSync", r.fd)
			n.reads = append(n.reads[:i:i], n.reads[i+1:]...)
			return
		}
	}
}

// scratchOf returns a Uint8Array of at least size bytes: the reused scratch,
// grown to a power of two, or a one-off array beyond maxRetained. n.mu must
// be held.
func (n *FS) scratchOf(size int) js.Value {
	if size > maxRetained {
		return n.uint8Array.New(size)
	}
	if size > n.scrLen {
		grown := 4096
		for grown < size {
			grown *= 2
		}
		n.scratch, n.scrLen = n.uint8Array.New(grown), grown
	}
	return n.scratch
}

// syncDir makes a new directory entry durable. Best effort: the file's data
// is synced already, and not every platform can fsync a directory.
func (n *FS) syncDir(dir string) {
	v, err := n.call("openSync", dir, "r")
	if err != nil {
		return
	}
	_ = n.fsync(v.Int())
	_, _ = n.call("closeSync", v)
}

// fsync flushes fd to the disk.
func (n *FS) fsync(fd int) error {
	if n.direct {
		return fsync(fd)
	}
	_, err := n.call("fsyncSync", fd)
	return err
}

// call invokes a node fs function and turns a thrown exception into an error.
func (n *FS) call(method string, args ...any) (js.Value, error) {
	return jscall.Call(n.node, method, func(thrown js.Value) error { return newJSError(thrown) }, args...)
}

// appendFile is an fd opened with flag 'a'.
type appendFile struct {
	*fsutil.Appender
	fs   *FS
	path string // as node sees it
	fd   int
}

func (a *appendFile) Write(p []byte) (int, error) {
	return a.Appender.Write(p, func(p []byte) (int, error) {
		if err := a.fs.writeAll(a.fd, p); err != nil {
			return 0, err // a partial count is unknowable after a thrown error; report none
		}
		return len(p), nil
	})
}

func (a *appendFile) Sync() error {
	return a.Appender.Sync(func() error {
		return a.fs.fsync(a.fd)
	}, func() { a.fs.syncDir(path.Dir(a.path)) })
}

func (a *appendFile) Close() error {
	return a.Appender.Close(func() error {
		_, err := a.fs.call("closeSync", a.fd)
		return err
	})
}

// POSIX file type bits of fs.Stats.mode.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
)

// newFileInfo copies a node fs.Stats.
func newFileInfo(name string, st js.Value) *fsutil.FileInfo {
	raw := st.Get("mode").Int()
	mode := fs.FileMode(raw) & fs.ModePerm
	switch raw & sIFMT {
	case sIFDIR:
		mode |= fs.ModeDir
	case sIFREG:
	default:
		mode |= fs.ModeIrregular
	}
	return fsutil.NewFileInfo(name, int64(st.Get("size").Float()), mode, time.UnixMilli(int64(st.Get("mtimeMs").Float())))
}
