//go:build js && wasm

package nodefs_test

import (
	"errors"
	"fmt"
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

// nodeFS is node's fs module; the Go wasm test runner (go_js_wasm_exec)
// makes require global.
func nodeFS() js.Value {
	return js.Global().Get("require").Invoke("fs")
}

func newFS(tb testing.TB) fsadapter.FS {
	fsys, err := nodefs.New(nodeFS(), tb.TempDir())
	require.NoError(tb, err)
	return fsys
}

func TestConformance(t *testing.T) {
	fstest.Run(t, newFS)
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
// what body throws.
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
			fsys, err := nodefs.New(fakeModule("writeSync", tc.throw), t.TempDir())
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
