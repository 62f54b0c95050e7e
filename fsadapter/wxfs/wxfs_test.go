//go:build js && wasm

package wxfs_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/wxfs"
)

// standIn is js/test/wx-standin, the headless stand-in of the mini-program
// runtime; the Go wasm test runner (go_js_wasm_exec) makes require global
// and runs in the package directory.
func standIn(tb testing.TB) js.Value {
	wd, err := os.Getwd()
	require.NoError(tb, err)
	return js.Global().Get("require").Invoke(filepath.Join(wd, "..", "..", "js", "test", "wx-standin", "index.cjs"))
}

// manager is a FileSystemManager of a WeChat phone (the stand-in's strict
// "device" profile) on a fresh temporary directory, with the given cap on
// user data (0: the runtime's 200 MB).
func manager(tb testing.TB, capBytes int) js.Value {
	return managerOf(tb, "device", capBytes)
}

// managerOf is a FileSystemManager of the stand-in's profile: "device",
// "devtools" or "douyin".
func managerOf(tb testing.TB, profile string, capBytes int) js.Value {
	opts := map[string]any{"dataDir": tb.TempDir(), "profile": profile}
	if capBytes > 0 {
		opts["capBytes"] = capBytes
	}
	return standIn(tb).Call("createFileSystemManager", opts)
}

const userData = "wxfile://usr"

func newFS(tb testing.TB) fsadapter.FS {
	fsys, err := wxfs.New(manager(tb, 0), userData+"/db", wxfs.Options{})
	require.NoError(tb, err)
	return fsys
}

// On a phone: zero-byte writes and reads past the end of a file are
// refused, so empty files and short range reads take other ways.
func TestConformance(t *testing.T) {
	fstest.Run(t, newFS)
}

// The simulator: "http://usr" and Node's leniency.
func TestConformanceDevTools(t *testing.T) {
	fstest.Run(t, func(tb testing.TB) fsadapter.FS {
		fsys, err := wxfs.New(managerOf(tb, "devtools", 0), "http://usr/db", wxfs.Options{})
		require.NoError(tb, err)
		return fsys
	})
}

// Douyin: "ttfile://user" and a truncateSync(filePath, length).
func TestConformanceDouyin(t *testing.T) {
	fstest.Run(t, func(tb testing.TB) fsadapter.FS {
		fsys, err := wxfs.New(managerOf(tb, "douyin", 0), "ttfile://user/db", wxfs.Options{PositionalTruncate: true})
		require.NoError(tb, err)
		return fsys
	})
}

// The strict stand-in refuses what a device refuses; were it to accept
// these, the tests above would prove nothing.
func TestStandInRefusesWhatDevicesRefuse(t *testing.T) {
	mgr := manager(t, 0)
	call := func(method string, args ...any) (err error) {
		defer func() {
			if r := recover(); r != nil {
				jsErr, ok := r.(js.Error)
				require.True(t, ok, "%v", r)
				assert.True(t, jsErr.Value.Get("errMsg").IsUndefined(), "devices throw Errors without errMsg")
				err = errors.New(strings.ToLower(jsErr.Value.Get("message").String()))
			}
		}()
		mgr.Call(method, args...)
		return nil
	}
	empty := js.Global().Get("ArrayBuffer").New(0)
	assert.ErrorContains(t, call("writeFileSync", userData+"/e", empty), "data to write is empty")
	require.NoError(t, call("writeFileSync", userData+"/f", "abc", "utf8"))
	assert.ErrorContains(t, call("appendFileSync", userData+"/f", empty), "data to write is empty")
	assert.ErrorContains(t, call("readFileSync", userData+"/f", js.Undefined(), 1, 5), "out of range")
	assert.ErrorContains(t, call("truncateSync", userData+"/f", 1), "parameter error", "WeChat's truncateSync takes an object")
	require.NoError(t, call("truncateSync", map[string]any{"filePath": userData + "/f", "length": 1}))
}

func TestCaps(t *testing.T) {
	assert.Equal(t, fsadapter.Caps{Name: "wx", AppendCheap: true, Sync: false}, newFS(t).Caps())
}

func TestNewRejectsBadManager(t *testing.T) {
	object := js.Global().Get("Object")
	tests := []struct {
		name string
		mgr  js.Value
	}{
		{"undefined", js.Undefined()},
		{"number", js.ValueOf(1)},
		{"empty object", object.New()},
		{"missing a function", object.Call("assign", object.New(), manager(t, 0), map[string]any{"appendFileSync": 1})},
		{"no truncateSync (base library before 2.16.1)", object.Call("assign", object.New(), manager(t, 0), map[string]any{"truncateSync": js.Undefined()})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = wxfs.New(tc.mgr, userData+"/db", wxfs.Options{}) })
			assert.Error(t, err)
		})
	}
	_, err := wxfs.New(manager(t, 0), "", wxfs.Options{})
	assert.Error(t, err, "empty root")
	_, err = wxfs.New(manager(t, 0), "/outside/user/data", wxfs.Options{})
	assert.ErrorIs(t, err, fs.ErrPermission, "the code package is read-only")
}

// The root keeps its scheme ("wxfile://" must not become "wxfile:/"), may
// exist already, and may be the user-data directory itself.
func TestRoots(t *testing.T) {
	mgr := manager(t, 0)
	for _, root := range []string{userData, userData + "/", userData + "/a/b", userData + "/a/b/"} {
		fsys, err := wxfs.New(mgr, root, wxfs.Options{})
		require.NoError(t, err, root)
		require.NoError(t, fsys.WriteFile("f", []byte(root), false))
	}
	got := mgr.Call("readFileSync", userData+"/a/b/f", "utf8").String()
	assert.Equal(t, userData+"/a/b/", got)
	_, err := wxfs.New(mgr, userData+"/a/b/f", wxfs.Options{})
	assert.Error(t, err, "a file is in the way of the root")
}

// Any object of the FileSystemManager's shape works (Alipay's my, Douyin's
// tt): here a plain copy of the stand-in's methods.
func TestAnyManagerOfTheShape(t *testing.T) {
	object := js.Global().Get("Object")
	mgr := manager(t, 0)
	copied := object.New()
	for _, k := range []string{"accessSync", "mkdirSync", "readdirSync", "readFileSync", "writeFileSync",
		"appendFileSync", "truncateSync", "unlinkSync", "rmdirSync", "statSync"} {
		copied.Set(k, mgr.Get(k))
	}
	fsys, err := wxfs.New(copied, userData+"/tt", wxfs.Options{})
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("x", []byte("shape"), false))
	got, err := fsys.ReadFile("x")
	require.NoError(t, err)
	assert.Equal(t, []byte("shape"), got)
}

// The runtime's failure texts map to the io/fs sentinels.
func TestFailuresMapToSentinels(t *testing.T) {
	fsys := newFS(t)
	_, err := fsys.ReadFile("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "readFileSync:fail No such file or directory", "the device's wording, capitalised")

	require.NoError(t, fsys.MkdirAll("d/sub"))
	assert.ErrorIs(t, fsys.Remove("d"), syscall.ENOTEMPTY)

	require.NoError(t, fsys.WriteFile("file", nil, false))
	_, err = fsys.ReadDir("file")
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	_, err = fsys.OpenAppend("d")
	assert.ErrorIs(t, err, syscall.EISDIR)
	assert.ErrorIs(t, fsys.Truncate("missing", 0), fs.ErrNotExist)
	assert.ErrorIs(t, fsys.Remove("missing"), fs.ErrNotExist)
}

// thrower is a manager whose writeFileSync and appendFileSync throw what
// body throws.
func thrower(t *testing.T, body string) js.Value {
	object := js.Global().Get("Object")
	fn := js.Global().Get("Function").New(body)
	return object.Call("assign", object.New(), manager(t, 0), map[string]any{"writeFileSync": fn, "appendFileSync": fn})
}

func TestThrownValuesBecomeErrors(t *testing.T) {
	tests := []struct {
		name    string
		throw   string
		noSpace bool
		is      error
	}{
		{"storage limit, errMsg", "const e = new Error('x'); e.errMsg = 'writeFileSync:fail the maximum size of the file storage limit is exceeded'; throw e", true, syscall.ENOSPC},
		{"storage limit, message only", "throw new Error('appendFileSync:fail the maximum size of the file storage limit is exceeded')", true, syscall.ENOSPC},
		{"storage limit, capitalised", "throw new Error('appendFileSync:fail The maximum size of the file storage limit is exceeded')", true, syscall.ENOSPC},
		{"storage limit, Douyin", "throw new Error('writeFileSync:fail user dir saved file size limit exceeded')", true, syscall.ENOSPC},
		{"plain object with errMsg", "throw { errMsg: 'writeFileSync:fail no such file or directory, open wxfile://usr/x' }", false, fs.ErrNotExist},
		{"unknown reason", "throw new Error('writeFileSync:fail sdcard not mounted')", false, nil},
		{"a string", "throw 'just a string'", false, nil},
		{"null", "throw null", false, nil},
		{"no text", "throw {}", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, err := wxfs.New(thrower(t, tc.throw), userData+"/db", wxfs.Options{})
			require.NoError(t, err)
			var writeErr, appendErr error
			require.NotPanics(t, func() {
				writeErr = fsys.WriteFile("f", []byte("data"), true)
				f, err := fsys.OpenAppend("log")
				if err != nil { // OpenAppend creates the file with writeFileSync
					appendErr = err
					return
				}
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

// Past the storage cap, writes fail with ErrNoSpace and change nothing;
// after freeing space they work again. Douyin words the failure its own way.
func TestStorageLimit(t *testing.T) {
	t.Run("device", func(t *testing.T) {
		fsys, err := wxfs.New(manager(t, 64<<10), userData+"/db", wxfs.Options{})
		require.NoError(t, err)
		testStorageLimit(t, fsys)
	})
	t.Run("douyin", func(t *testing.T) {
		fsys, err := wxfs.New(managerOf(t, "douyin", 64<<10), "ttfile://user/db", wxfs.Options{PositionalTruncate: true})
		require.NoError(t, err)
		testStorageLimit(t, fsys)
	})
}

func testStorageLimit(t *testing.T, fsys fsadapter.FS) {
	big := bytes.Repeat([]byte("x"), 40<<10)
	require.NoError(t, fsys.WriteFile("a", big, false))

	err := fsys.WriteFile("b", big, false)
	require.ErrorIs(t, err, fsadapter.ErrNoSpace)
	_, err = fsys.Stat("b")
	assert.ErrorIs(t, err, fs.ErrNotExist, "a refused write creates nothing")

	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write(big)
	require.ErrorIs(t, err, fsadapter.ErrNoSpace)
	info, err := fsys.Stat("log")
	require.NoError(t, err)
	assert.EqualValues(t, 0, info.Size(), "a refused append writes nothing")

	got, err := fsys.ReadFile("a")
	require.NoError(t, err)
	assert.Equal(t, big, got, "reads work at the cap")
	require.NoError(t, fsys.Remove("a"))
	_, err = f.Write(big)
	require.NoError(t, err, "freed space is usable again")
	require.NoError(t, f.Close())
}

// Files land where the runtime (and a developer in the DevTools) sees them.
func TestFilesUnderUserData(t *testing.T) {
	dir := t.TempDir()
	mgr := standIn(t).Call("createFileSystemManager", map[string]any{"dataDir": dir})
	fsys, err := wxfs.New(mgr, userData+"/minibase", wxfs.Options{})
	require.NoError(t, err)
	require.NoError(t, fsys.MkdirAll("d"))
	require.NoError(t, fsys.WriteFile("d/f", []byte("here"), false))
	got, err := os.ReadFile(filepath.Join(dir, "minibase", "d", "f"))
	require.NoError(t, err)
	assert.Equal(t, []byte("here"), got)
}
