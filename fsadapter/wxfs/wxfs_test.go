//go:build js && wasm

package wxfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

	// Descriptors: the documented object arguments only, string fds, a cap.
	assert.ErrorContains(t, call("openSync", userData+"/f"), "parameter error", "openSync takes an object")
	assert.ErrorContains(t, call("openSync", map[string]any{"filePath": userData + "/f", "flag": "rw"}), "parameter error")
	assert.ErrorContains(t, call("openSync", map[string]any{"filePath": userData + "/missing"}), "no such file or directory")
	fd := mgr.Call("openSync", map[string]any{"filePath": userData + "/f"})
	assert.Equal(t, js.TypeString, fd.Type())
	buf := js.Global().Get("ArrayBuffer").New(4)
	res := mgr.Call("readSync", map[string]any{"fd": fd, "arrayBuffer": buf, "length": 4, "position": 0})
	assert.Equal(t, 1, res.Get("bytesRead").Int(), "a short read at the end of the file")
	assert.True(t, res.Get("arrayBuffer").Equal(buf))
	assert.Equal(t, 1, mgr.Call("fstatSync", map[string]any{"fd": fd}).Get("size").Int())
	assert.ErrorContains(t, call("readSync", map[string]any{"fd": fd, "arrayBuffer": buf, "offset": 5}), `"offset" is out of range`)
	assert.ErrorContains(t, call("readSync", map[string]any{"fd": fd, "arrayBuffer": buf, "offset": 1, "length": 4}), `"length" is out of range`)
	assert.ErrorContains(t, call("readSync", map[string]any{"fd": fd, "arrayBuffer": js.Global().Get("Uint8Array").New(4), "length": 4}), "parameter error")
	assert.ErrorContains(t, call("readSync", map[string]any{"fd": "nope", "arrayBuffer": buf}), "bad file descriptor")
	require.NoError(t, call("closeSync", map[string]any{"fd": fd}))
	assert.ErrorContains(t, call("closeSync", map[string]any{"fd": fd}), "bad file descriptor")
	assert.ErrorContains(t, call("readSync", map[string]any{"fd": fd, "arrayBuffer": buf, "length": 1}), "bad file descriptor")
	for range 16 {
		require.NoError(t, call("openSync", map[string]any{"filePath": userData + "/f"}))
	}
	assert.ErrorContains(t, call("openSync", map[string]any{"filePath": userData + "/f"}), "exceed max concurrent fd limit")
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

// openFds are the runtime paths of the descriptors open in the stand-in mgr.
func openFds(mgr js.Value) []string {
	list := mgr.Get("openFds")
	out := make([]string, list.Length())
	for i := range out {
		out[i] = list.Index(i).String()
	}
	return out
}

// Many files read in turn, through several FS on several managers: the
// descriptors kept open never pass the adapter's bound, over all of them
// (a connection opened again must not leak them), and every read is right.
func TestReadRangeKeepsFewDescriptors(t *testing.T) {
	var mgrs []js.Value
	var fsyss []fsadapter.FS
	for i := range 3 {
		mgr := manager(t, 0)
		for j := range 2 {
			fsys, err := wxfs.New(mgr, fmt.Sprintf("%s/db%d", userData, j), wxfs.Options{})
			require.NoError(t, err)
			for k := range 12 {
				require.NoError(t, fsys.WriteFile(fmt.Sprintf("f%d", k), []byte(fmt.Sprintf("manager %d fs %d file %02d", i, j, k)), false))
			}
			fsyss = append(fsyss, fsys)
		}
		mgrs = append(mgrs, mgr)
	}
	for pass := range 3 {
		for k := range 12 {
			for n, fsys := range fsyss {
				got, err := fsys.(fsadapter.RangeReader).ReadRange(fmt.Sprintf("f%d", k), 8, 14)
				require.NoError(t, err)
				// The same paths on every manager: each must read its own.
				assert.Equal(t, fmt.Sprintf("%d fs %d file %02d", n/2, n%2, k), string(got), "pass %d", pass)
				open := 0
				for _, mgr := range mgrs {
					open += len(openFds(mgr))
				}
				require.LessOrEqual(t, open, wxfs.MaxReadFDs)
				require.Positive(t, open, "reads go through descriptors where the runtime has them")
			}
		}
	}
}

// A file replaced, cut or removed is never read through a descriptor opened
// before: a descriptor of a removed file still reads the old bytes.
func TestReadRangeNeverReadsThroughAStaleDescriptor(t *testing.T) {
	mgr := manager(t, 0)
	fsys, err := wxfs.New(mgr, userData+"/db", wxfs.Options{})
	require.NoError(t, err)
	other, err := wxfs.New(mgr, userData+"/db", wxfs.Options{}) // a second connection on the same files
	require.NoError(t, err)
	read := func(fsys fsadapter.FS, name string) string {
		got, err := fsys.(fsadapter.RangeReader).ReadRange(name, 0, 8)
		require.NoError(t, err)
		return string(got)
	}
	isOpen := func(name string) bool { return slices.Contains(openFds(mgr), userData+"/db/"+name) }

	for _, remover := range []fsadapter.FS{fsys, other} {
		require.NoError(t, fsys.WriteFile("a", []byte("old one!"), false))
		assert.Equal(t, "old one!", read(fsys, "a"))
		require.True(t, isOpen("a"))
		require.NoError(t, remover.Remove("a"))
		assert.False(t, isOpen("a"), "closed when removed")
		require.NoError(t, remover.WriteFile("a", []byte("new one!"), false))
		assert.Equal(t, "new one!", read(fsys, "a"))
	}

	require.NoError(t, fsys.WriteFile("b", []byte("12345678"), false))
	assert.Equal(t, "12345678", read(fsys, "b"))
	require.NoError(t, fsys.WriteFile("b", []byte("abcdefgh"), false))
	assert.False(t, isOpen("b"), "closed when replaced")
	assert.Equal(t, "abcdefgh", read(fsys, "b"))

	require.NoError(t, other.Truncate("b", 4))
	assert.False(t, isOpen("b"), "closed when cut")
	_, err = fsys.(fsadapter.RangeReader).ReadRange("b", 0, 8)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	got, err := fsys.(fsadapter.RangeReader).ReadRange("b", 1, 3)
	require.NoError(t, err)
	assert.Equal(t, "bcd", string(got))

	// An append is seen through the open descriptor (the same file).
	f, err := fsys.OpenAppend("b")
	require.NoError(t, err)
	_, err = f.Write([]byte("WXYZ"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "abcdWXYZ", read(fsys, "b"))
}

// Where descriptors run out (the runtime's own limit, taken by someone
// else) or misbehave, reads go by path and stay right.
func TestReadRangeWithoutDescriptors(t *testing.T) {
	object := js.Global().Get("Object")
	tests := []struct {
		name string
		mgr  func(t *testing.T) js.Value
	}{
		{"the runtime's fd limit reached", func(t *testing.T) js.Value {
			mgr := standIn(t).Call("createFileSystemManager", map[string]any{"dataDir": t.TempDir(), "maxFds": 2})
			mgr.Call("writeFileSync", userData+"/held", "x", "utf8")
			mgr.Call("openSync", map[string]any{"filePath": userData + "/held"})
			mgr.Call("openSync", map[string]any{"filePath": userData + "/held"})
			return mgr
		}},
		{"readSync throws bad file descriptor", func(t *testing.T) js.Value {
			bad := js.Global().Get("Function").New("throw new Error('readSync:fail bad file descriptor')")
			return object.Call("assign", object.New(), manager(t, 0), map[string]any{"readSync": bad})
		}},
		{"readSync reads nothing", func(t *testing.T) js.Value {
			none := js.Global().Get("Function").New("o", "return { bytesRead: 0, arrayBuffer: o.arrayBuffer }")
			return object.Call("assign", object.New(), manager(t, 0), map[string]any{"readSync": none})
		}},
		{"no descriptor methods (Douyin before 3.74.0)", func(t *testing.T) js.Value {
			return managerOf(t, "douyin", 0)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mgr := tc.mgr(t)
			root := userData + "/db"
			if tc.name == "no descriptor methods (Douyin before 3.74.0)" {
				root = "ttfile://user/db"
				require.True(t, mgr.Get("openSync").IsUndefined())
			}
			fsys, err := wxfs.New(mgr, root, wxfs.Options{PositionalTruncate: strings.Contains(root, "ttfile")})
			require.NoError(t, err)
			data := bytes.Repeat([]byte("0123456789"), 1000)
			require.NoError(t, fsys.WriteFile("f", data, false))
			for _, off := range []int{0, 1, 4096, 9990} {
				got, err := fsys.(fsadapter.RangeReader).ReadRange("f", int64(off), 10)
				require.NoError(t, err)
				assert.Equal(t, data[off:off+10], got)
			}
			_, err = fsys.(fsadapter.RangeReader).ReadRange("f", 9995, 10)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			_, err = fsys.(fsadapter.RangeReader).ReadRange("missing", 0, 10)
			assert.ErrorIs(t, err, fs.ErrNotExist)
		})
	}
}

// Reads larger than the reused buffer, and of every size around it.
func TestReadRangeSizes(t *testing.T) {
	fsys := newFS(t)
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	require.NoError(t, fsys.WriteFile("big", data, false))
	for _, n := range []int{1, 4095, 4096, 4097, 1 << 20, 1<<20 + 1, 3 << 20, 17} {
		got, err := fsys.(fsadapter.RangeReader).ReadRange("big", int64(len(data)-n), n)
		require.NoError(t, err, n)
		require.Equal(t, data[len(data)-n:], got, n)
	}
}

// Where the runtime allows fewer descriptors than the adapter keeps, a
// failed open gives one back, so that the files read now get descriptors
// rather than every open failing from then on.
func TestReadRangeGivesBackADescriptorAtTheRuntimesLimit(t *testing.T) {
	mgr := standIn(t).Call("createFileSystemManager", map[string]any{"dataDir": t.TempDir(), "maxFds": 1})
	fsys, err := wxfs.New(mgr, userData+"/db", wxfs.Options{})
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("a", []byte("file a"), false))
	require.NoError(t, fsys.WriteFile("b", []byte("file b"), false))
	read := func(name string) string {
		got, err := fsys.(fsadapter.RangeReader).ReadRange(name, 0, 6)
		require.NoError(t, err)
		return string(got)
	}
	assert.Equal(t, "file a", read("a"))
	assert.Equal(t, []string{userData + "/db/a"}, openFds(mgr))
	assert.Equal(t, "file b", read("b"), "read by path at the limit")
	assert.Empty(t, openFds(mgr), "a's descriptor given back")
	assert.Equal(t, "file b", read("b"))
	assert.Equal(t, []string{userData + "/db/b"}, openFds(mgr))
}

// Appends go through a descriptor of their own where the runtime has
// writeSync, at most a few at once; the others, and files opened where the
// runtime refuses descriptors, append by path. Every byte lands either way.
func TestAppendThroughDescriptors(t *testing.T) {
	mgr := manager(t, 0)
	fsys, err := wxfs.New(mgr, userData+"/db", wxfs.Options{})
	require.NoError(t, err)
	var files []fsadapter.AppendFile
	for i := range 6 {
		f, err := fsys.OpenAppend(fmt.Sprintf("log%d", i))
		require.NoError(t, err)
		files = append(files, f)
	}
	assert.Len(t, openFds(mgr), wxfs.MaxAppendFDs, "the first few have descriptors")
	big := bytes.Repeat([]byte("0123456789abcdef"), 80000) // past the reused buffer
	for round := range 3 {
		for i, f := range files {
			_, err := f.Write([]byte(fmt.Sprintf("<%d.%d>", i, round)))
			require.NoError(t, err)
		}
	}
	_, err = files[0].Write(big)
	require.NoError(t, err)
	for i, f := range files {
		require.NoError(t, f.Close())
		got, err := fsys.ReadFile(fmt.Sprintf("log%d", i))
		require.NoError(t, err)
		want := fmt.Sprintf("<%d.0><%d.1><%d.2>", i, i, i)
		if i == 0 {
			want += string(big)
		}
		assert.Equal(t, want, string(got))
	}
	assert.Empty(t, openFds(mgr), "closing releases them")
	_, err = files[0].Write([]byte("x"))
	assert.ErrorIs(t, err, fs.ErrClosed)

	limited := standIn(t).Call("createFileSystemManager", map[string]any{"dataDir": t.TempDir(), "maxFds": 0})
	fsys, err = wxfs.New(limited, userData+"/db", wxfs.Options{})
	require.NoError(t, err)
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("by path"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, "by path", string(got))
}

// A file removed or replaced under an open appending file is not written
// through the old descriptor (whose bytes would go to a file no longer
// there): the appends after it go by path, and fail on a removed file.
func TestAppendAfterRemoveOrReplace(t *testing.T) {
	mgr := manager(t, 0)
	fsys, err := wxfs.New(mgr, userData+"/db", wxfs.Options{})
	require.NoError(t, err)
	other, err := wxfs.New(mgr, userData+"/db", wxfs.Options{})
	require.NoError(t, err)

	f, err := fsys.OpenAppend("gone")
	require.NoError(t, err)
	_, err = f.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, other.Remove("gone"))
	assert.Empty(t, openFds(mgr))
	_, err = f.Write([]byte("def"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "an append to a removed file fails rather than vanishing")
	require.NoError(t, f.Close())

	g, err := fsys.OpenAppend("replaced")
	require.NoError(t, err)
	_, err = g.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("replaced", []byte("XYZ"), false))
	_, err = g.Write([]byte("def"))
	require.NoError(t, err)
	require.NoError(t, g.Close())
	got, err := fsys.ReadFile("replaced")
	require.NoError(t, err)
	assert.Equal(t, "XYZdef", string(got))
}
