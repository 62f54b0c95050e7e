//go:build js && wasm

package nodefs_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/nodefs"
)

// nodeFS is node's fs module; the wasm test runner (js/test/go-wasm-exec,
// as Go's go_js_wasm_exec) makes require global, and serves the minibase
// imports over the same module.
func nodeFS() js.Value {
	return js.Global().Get("require").Invoke("fs")
}

func newFS(tb testing.TB) fsadapter.FS {
	fsys, err := nodefs.New(nodeFS(), tb.TempDir())
	require.NoError(tb, err)
	return fsys
}

// newHostFS is the same filesystem with every call through syscall/js, as
// the OPFS worker's host is used.
func newHostFS(tb testing.TB) fsadapter.FS {
	fsys, err := nodefs.NewHost(nodeFS(), tb.TempDir())
	require.NoError(tb, err)
	return fsys
}

func TestConformance(t *testing.T) {
	t.Run("imports", func(t *testing.T) { fstest.Run(t, newFS) })
	t.Run("host", func(t *testing.T) { fstest.Run(t, newHostFS) })
}

func TestCaps(t *testing.T) {
	assert.Equal(t, fsadapter.Caps{Name: "node", AppendCheap: true, Sync: true}, newFS(t).Caps())
}

func TestNewRejectsBadModule(t *testing.T) {
	object := js.Global().Get("Object")
	tests := []struct {
		name   string
		module js.Value
	}{
		{"undefined", js.Undefined()},
		{"number", js.ValueOf(1)},
		{"empty object", object.New()},
		{"missing a function", object.Call("assign", object.New(), nodeFS(), map[string]any{"fsyncSync": 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = nodefs.New(tc.module, t.TempDir()) })
			assert.Error(t, err)
		})
	}
	_, err := nodefs.New(nodeFS(), "")
	assert.Error(t, err, "empty root")
}

func TestNewRootIsAFile(t *testing.T) {
	root := t.TempDir()
	fsys, err := nodefs.New(nodeFS(), root)
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("file", []byte("x"), false))
	_, err = nodefs.New(nodeFS(), root+"/file")
	assert.Error(t, err)
}

func TestCreatesMissingRootAndTrailingSlash(t *testing.T) {
	base := t.TempDir()
	fsys, err := nodefs.New(nodeFS(), base+"/a/b/")
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("f", []byte("x"), true))
	text := nodeFS().Call("readFileSync", base+"/a/b/f", "utf8").String()
	assert.Equal(t, "x", text)
}

// A second filesystem on the same root, as after a restart, sees everything,
// and the files are where node (and Go's os) expect them.
func TestReopenSeesData(t *testing.T) {
	root := t.TempDir()
	first, err := nodefs.New(nodeFS(), root)
	require.NoError(t, err)
	require.NoError(t, first.MkdirAll("d"))
	require.NoError(t, first.WriteFile("d/f", []byte("persisted"), true))
	f, err := first.OpenAppend("d/log")
	require.NoError(t, err)
	_, err = f.Write([]byte("appended"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	second, err := nodefs.New(nodeFS(), root)
	require.NoError(t, err)
	got, err := second.ReadFile("d/f")
	require.NoError(t, err)
	assert.Equal(t, []byte("persisted"), got)
	got, err = second.ReadFile("d/log")
	require.NoError(t, err)
	assert.Equal(t, []byte("appended"), got)

	text := nodeFS().Call("readFileSync", root+"/d/f", "utf8").String()
	assert.Equal(t, "persisted", text)
}

// fakeModule is node's fs with one function replaced by one that throws
// what body throws (for NewHost: the minibase imports call node's own fs;
// js/test/imports.test.mjs throws through them).
func fakeModule(fn, body string) js.Value {
	object := js.Global().Get("Object")
	thrower := js.Global().Get("Function").New(body)
	return object.Call("assign", object.New(), nodeFS(), map[string]any{fn: thrower})
}

func TestExceptionsBecomeErrors(t *testing.T) {
	tests := []struct {
		name    string
		throw   string
		noSpace bool
		is      error
	}{
		{"ENOSPC", "const e = new Error('ENOSPC: no space left on device, write'); e.code = 'ENOSPC'; throw e", true, syscall.ENOSPC},
		{"EDQUOT", "const e = new Error('EDQUOT: disk quota exceeded, write'); e.code = 'EDQUOT'; throw e", true, syscall.EDQUOT},
		{"EIO", "const e = new Error('EIO: i/o error, write'); e.code = 'EIO'; throw e", false, syscall.EIO},
		{"no code", "throw new TypeError('bad argument')", false, nil},
		{"a string", "throw 'just a string'", false, nil},
		{"a number", "throw 42", false, nil},
		{"null", "throw null", false, nil},
		{"plain object", "throw { code: 'ENOENT' }", false, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, err := nodefs.NewHost(fakeModule("writeSync", tc.throw), t.TempDir())
			require.NoError(t, err)

			var writeErr, appendErr error
			require.NotPanics(t, func() {
				writeErr = fsys.WriteFile("f", []byte("data"), true)
				f, err := fsys.OpenAppend("log")
				require.NoError(t, err)
				defer f.Close()
				_, appendErr = f.Write([]byte("data"))
			})
			for _, err := range []error{writeErr, appendErr} {
				require.Error(t, err)
				assert.Equal(t, tc.noSpace, errors.Is(err, fsadapter.ErrNoSpace), "%v", err)
				if tc.is != nil {
					assert.ErrorIs(t, err, tc.is)
				}
				assert.NotEmpty(t, err.Error())
			}
		})
	}
}

// Real node errors carry the codes the sentinels are matched by.
func TestCodesMapToSentinels(t *testing.T) {
	fsys := newFS(t)
	_, err := fsys.ReadFile("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, err, syscall.ENOENT)

	require.NoError(t, fsys.MkdirAll("d/sub"))
	err = fsys.Remove("d")
	assert.ErrorIs(t, err, syscall.ENOTEMPTY)

	require.NoError(t, fsys.WriteFile("file", nil, false))
	_, err = fsys.ReadDir("file")
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	_, err = fsys.ReadFile("d")
	assert.ErrorIs(t, err, syscall.EISDIR)
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	fsys, err := nodefs.New(nodeFS(), dir)
	require.NoError(t, err)
	l, ok := fsys.(fsadapter.Locker)
	require.True(t, ok, "several Node processes can open one directory, so it locks")
	release, err := l.Lock("LOCK")
	require.NoError(t, err)
	again, err := nodefs.New(nodeFS(), dir)
	require.NoError(t, err)
	_, err = again.(fsadapter.Locker).Lock("LOCK")
	require.ErrorIs(t, err, fsadapter.ErrLocked)
	require.NoError(t, release())
	_, err = fsys.Stat("LOCK")
	require.ErrorIs(t, err, fs.ErrNotExist, "release removes the lock file")

	// The process a lock names is gone (the pid is above Linux's maximum).
	require.NoError(t, fsys.WriteFile("LOCK", []byte("4999999"), false))
	release, err = l.Lock("LOCK")
	require.NoError(t, err)
	require.NoError(t, release())
	// A live process (our parent, the shell or test runner) holds it.
	ppid := js.Global().Get("process").Get("ppid").Int()
	require.NoError(t, fsys.WriteFile("LOCK", []byte(fmt.Sprint(ppid)), false))
	_, err = l.Lock("LOCK")
	require.ErrorIs(t, err, fsadapter.ErrLocked)
}

// Range reads over more files than descriptors are kept open, in an order
// that reopens them, answer each file's own bytes; a file replaced while
// its descriptor is kept is read anew.
func TestReadRangeManyFiles(t *testing.T) {
	fsys := newFS(t)
	rr := fsys.(fsadapter.RangeReader)
	const files = 150
	name := func(i int) string { return fmt.Sprintf("seg%03d", i) }
	content := func(i, gen int) []byte {
		b := make([]byte, 64)
		for k := range b {
			b[k] = byte(i*7 + k + gen*31)
		}
		return b
	}
	for i := range files {
		require.NoError(t, fsys.WriteFile(name(i), content(i, 0), false))
	}
	for pass := range 3 {
		for k := range files {
			i := (k * 37 * (pass + 1)) % files
			got, err := rr.ReadRange(name(i), 8, 16)
			require.NoError(t, err)
			require.Equal(t, content(i, 0)[8:24], got, "file %d pass %d", i, pass)
		}
	}
	require.NoError(t, fsys.WriteFile(name(3), content(3, 1), false))
	got, err := rr.ReadRange(name(3), 0, 64)
	require.NoError(t, err)
	require.Equal(t, content(3, 1), got)
	_, err = rr.ReadRange("../escape", 0, 1)
	require.Error(t, err)
	_, err = rr.ReadRange("missing", 0, 1)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// Failures of reads, writes and syncs through the minibase imports match the
// same sentinels as node's exceptions through syscall/js.
func TestImportErrors(t *testing.T) {
	tests := []struct {
		name    string
		root    string // "" for a temporary directory
		do      func(t *testing.T, fsys fsadapter.FS) error
		is      []error
		noSpace bool
	}{
		{name: "missing file", do: func(t *testing.T, fsys fsadapter.FS) error {
			_, err := fsys.(fsadapter.RangeReader).ReadRange("missing", 0, 1)
			return err
		}, is: []error{fs.ErrNotExist, syscall.ENOENT}},
		{name: "read past the end", do: func(t *testing.T, fsys fsadapter.FS) error {
			require.NoError(t, fsys.WriteFile("f", make([]byte, 100), false))
			_, err := fsys.(fsadapter.RangeReader).ReadRange("f", 200, 10)
			return err
		}, is: []error{io.ErrUnexpectedEOF}},
		{name: "short read", do: func(t *testing.T, fsys fsadapter.FS) error {
			require.NoError(t, fsys.WriteFile("f", make([]byte, 100), false))
			_, err := fsys.(fsadapter.RangeReader).ReadRange("f", 90, 20)
			return err
		}, is: []error{io.ErrUnexpectedEOF}},
		{name: "read a directory", do: func(t *testing.T, fsys fsadapter.FS) error {
			require.NoError(t, fsys.MkdirAll("d"))
			_, err := fsys.(fsadapter.RangeReader).ReadRange("d", 0, 1) // readSync throws EISDIR
			return err
		}, is: []error{syscall.EISDIR}},
		// Linux's /dev/full fails every write with ENOSPC.
		{name: "no space, write", root: "/dev", do: func(t *testing.T, fsys fsadapter.FS) error {
			return fsys.WriteFile("full", []byte("data"), false)
		}, is: []error{syscall.ENOSPC}, noSpace: true},
		{name: "no space, append", root: "/dev", do: func(t *testing.T, fsys fsadapter.FS) error {
			f, err := fsys.OpenAppend("full")
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Write([]byte("data"))
			return err
		}, is: []error{syscall.ENOSPC}, noSpace: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root
			if root == "" {
				root = t.TempDir()
			} else if !nodeFS().Call("existsSync", root+"/full").Bool() {
				t.Skip("no /dev/full here")
			}
			fsys, err := nodefs.New(nodeFS(), root)
			require.NoError(t, err)
			err = tc.do(t, fsys)
			require.Error(t, err)
			for _, want := range tc.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Equal(t, tc.noSpace, errors.Is(err, fsadapter.ErrNoSpace), "%v", err)
			assert.NotEmpty(t, err.Error())
		})
	}
}

// Reads and writes larger than the scratch array NewHost keeps (1 MiB) and
// not a multiple of it, at offsets across its bounds, on both paths.
func TestLargeReadsAndWrites(t *testing.T) {
	data := make([]byte, 3<<20+123)
	for i := range data {
		data[i] = byte(i*31 + i>>16)
	}
	for name, open := range map[string]func(testing.TB) fsadapter.FS{"imports": newFS, "host": newHostFS} {
		t.Run(name, func(t *testing.T) {
			fsys := open(t)
			require.NoError(t, fsys.WriteFile("big", data, true))
			rr := fsys.(fsadapter.RangeReader)
			for _, r := range [][2]int{{0, len(data)}, {1<<20 - 7, 2<<20 + 9}, {len(data) - 5, 5}, {12345, 0}} {
				got, err := rr.ReadRange("big", int64(r[0]), r[1])
				require.NoError(t, err)
				require.True(t, bytes.Equal(data[r[0]:r[0]+r[1]], got), "range %v", r)
			}

			f, err := fsys.OpenAppend("log")
			require.NoError(t, err)
			half := len(data) / 2
			for _, p := range [][]byte{data[:half], data[half:]} {
				n, err := f.Write(p)
				require.NoError(t, err)
				require.Equal(t, len(p), n)
			}
			require.NoError(t, f.Sync())
			require.NoError(t, f.Close())
			got, err := fsys.ReadFile("log")
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "appended file differs")
		})
	}
}
