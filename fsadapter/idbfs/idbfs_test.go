//go:build js && wasm

package idbfs_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/idbfs"
)

// api is the JS side installed by testdata/node-setup.mjs (fake-indexeddb
// and the real host of js/src/browser-idb.js). `make test-go-wasm` runs this
// package with it and MINIBASE_IDBFS_TEST=1; elsewhere the tests skip.
func api(tb testing.TB) js.Value {
	v := js.Global().Get("__idbfsTest")
	if v.Type() != js.TypeObject {
		if os.Getenv("MINIBASE_IDBFS_TEST") != "" {
			tb.Fatal("__idbfsTest is missing: NODE_OPTIONS must --import fsadapter/idbfs/testdata/node-setup.mjs")
		}
		tb.Skip("needs NODE_OPTIONS=--import ./fsadapter/idbfs/testdata/node-setup.mjs (see make test-go-wasm)")
	}
	return v
}

// await blocks the test goroutine on a JS promise; the event loop runs meanwhile.
func await(p js.Value) error {
	ch := make(chan error, 1)
	ok := js.FuncOf(func(js.Value, []js.Value) any { ch <- nil; return nil })
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- errors.New(args[0].Call("toString").String())
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	return <-ch
}

var dbs int

// open loads database name from (fake) IndexedDB and returns its mirror.
func open(tb testing.TB, name string) fsadapter.FS {
	a := api(tb)
	require.NoError(tb, await(a.Call("open", name)))
	fsys, err := idbfs.New(a.Get("host"), name)
	require.NoError(tb, err)
	return fsys
}

func flush(tb testing.TB, name string) {
	require.NoError(tb, await(api(tb).Call("flush", name, "relaxed")))
}

// flushing commits to IndexedDB after every change, so the conformance suite
// drives real transactions, not only the mirror.
type flushing struct {
	fsadapter.FS
	tb   testing.TB
	name string
}

func (f flushing) WriteFile(name string, data []byte, sync bool) error {
	defer flush(f.tb, f.name)
	return f.FS.WriteFile(name, data, sync)
}

func (f flushing) Remove(name string) error {
	defer flush(f.tb, f.name)
	return f.FS.Remove(name)
}

func (f flushing) MkdirAll(dir string) error {
	defer flush(f.tb, f.name)
	return f.FS.MkdirAll(dir)
}

// ReadRange and ReadRangeInto pass the backend's range reads through (the
// embedded interface hides them).
func (f flushing) ReadRange(name string, off int64, n int) ([]byte, error) {
	return f.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

func (f flushing) ReadRangeInto(name string, off int64, dst []byte) error {
	return f.FS.(fsadapter.RangeIntoReader).ReadRangeInto(name, off, dst)
}

func (f flushing) Truncate(name string, size int64) error {
	defer flush(f.tb, f.name)
	return f.FS.Truncate(name, size)
}

func TestConformance(t *testing.T) {
	fstest.Run(t, func(tb testing.TB) fsadapter.FS {
		dbs++
		name := fmt.Sprintf("conformance-%d", dbs)
		return flushing{FS: open(tb, name), tb: tb, name: name}
	})
}

func TestCaps(t *testing.T) {
	assert.Equal(t, fsadapter.Caps{Name: "indexeddb", AppendCheap: false, Sync: false, LoadsOnDemand: true}, open(t, "caps").Caps())
}

// tree reads every file and directory of fsys.
func tree(t *testing.T, fsys fsadapter.FS) map[string]string {
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		names, err := fsys.ReadDir(dir)
		require.NoError(t, err)
		for _, n := range names {
			p := path.Join(dir, n)
			info, err := fsys.Stat(p)
			require.NoError(t, err)
			if info.IsDir() {
				out[p] = "<dir>"
				walk(p)
				continue
			}
			data, err := fsys.ReadFile(p)
			require.NoError(t, err)
			out[p] = string(data)
		}
	}
	walk(".")
	return out
}

// What was flushed is what a reload finds; what was not flushed is gone.
func TestReloadSeesFlushedChanges(t *testing.T) {
	fsys := open(t, "reload")
	require.NoError(t, fsys.MkdirAll("db/seg"))
	require.NoError(t, fsys.MkdirAll("empty/dir"))
	require.NoError(t, fsys.WriteFile("db/MANIFEST", []byte("m1"), false))
	require.NoError(t, fsys.WriteFile("db/seg/000001.log", []byte("commit one"), true))
	require.NoError(t, fsys.WriteFile("db/seg/000002.log", []byte("commit two"), false))
	require.NoError(t, fsys.WriteFile("db/gone", []byte("x"), false))
	require.NoError(t, fsys.Remove("db/gone"))
	a, err := fsys.OpenAppend("db/appended")
	require.NoError(t, err)
	_, err = a.Write([]byte("hello "))
	require.NoError(t, err)
	_, err = a.Write([]byte("world"))
	require.NoError(t, err)
	require.NoError(t, a.Close())
	require.NoError(t, fsys.Truncate("db/seg/000002.log", 6))
	want := tree(t, fsys)
	assert.Equal(t, map[string]string{
		"db": "<dir>", "db/seg": "<dir>", "empty": "<dir>", "empty/dir": "<dir>",
		"db/MANIFEST": "m1", "db/seg/000001.log": "commit one", "db/seg/000002.log": "commit",
		"db/appended": "hello world",
	}, want)
	flush(t, "reload")

	// Unflushed changes are lost on reload, as after a killed tab.
	require.NoError(t, fsys.WriteFile("db/MANIFEST", []byte("m2"), false))
	require.NoError(t, fsys.Remove("db/seg/000001.log"))

	assert.Equal(t, want, tree(t, open(t, "reload")))
}

func TestNewRejectsBadHosts(t *testing.T) {
	a := api(t)
	object := js.Global().Get("Object")
	tests := []struct {
		name string
		host js.Value
	}{
		{"undefined", js.Undefined()},
		{"empty object", object.New()},
		{"take throws", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("throw new Error('boom')"),
		})},
		{"not loaded", a.Get("host")},
		{"bad record", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("return [['f', {}]]"),
		})},
		{"negative size", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("return [['f', -1]]"),
		})},
		{"fractional size", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("return [['f', 1.5]]"),
		})},
		{"no chunk size", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("return []"), "chunkBytes": 0,
		})},
		{"bad name", object.Call("assign", object.New(), a.Get("host"), map[string]any{
			"take": js.Global().Get("Function").New("return [['../f', new Uint8Array(1)]]"),
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = idbfs.New(tc.host, "never-loaded") })
			assert.Error(t, err)
		})
	}
}

// A host that throws on put turns into an error of the write, not a panic.
func TestHostFailureIsAnError(t *testing.T) {
	a := api(t)
	require.NoError(t, await(a.Call("open", "hostfail")))
	object := js.Global().Get("Object")
	host := object.Call("assign", object.New(), a.Get("host"), map[string]any{
		"put": js.Global().Get("Function").New("throw new Error('no')"),
	})
	fsys, err := idbfs.New(host, "hostfail")
	require.NoError(t, err)
	err = fsys.WriteFile("f", []byte("x"), false)
	require.Error(t, err)
	assert.False(t, errors.Is(err, fs.ErrNotExist))
}

func TestReadRange(t *testing.T) {
	fsys := open(t, "ranges")
	rr, ok := fsys.(interface {
		ReadRange(name string, off int64, n int) ([]byte, error)
	})
	require.True(t, ok, "idbfs.FS reads ranges")
	require.NoError(t, fsys.MkdirAll("d"))
	require.NoError(t, fsys.WriteFile("d/seg", []byte("0123456789"), false))
	tests := []struct {
		name    string
		file    string
		off     int64
		n       int
		want    string
		wantErr error
	}{
		{"whole", "d/seg", 0, 10, "0123456789", nil},
		{"middle", "d/seg", 3, 4, "3456", nil},
		{"to the end", "d/seg", 7, 3, "789", nil},
		{"empty", "d/seg", 5, 0, "", nil},
		{"past the end", "d/seg", 8, 5, "", io.ErrUnexpectedEOF},
		{"starts past the end", "d/seg", 20, 1, "", io.ErrUnexpectedEOF},
		{"missing", "d/nope", 0, 1, "", fs.ErrNotExist},
		{"invalid", "../x", 0, 1, "", fs.ErrInvalid},
		{"negative", "d/seg", -1, 1, "", fs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rr.ReadRange(tc.file, tc.off, tc.n)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
	// The caller owns the slice: changing it changes nothing in the file.
	got, err := rr.ReadRange("d/seg", 0, 3)
	require.NoError(t, err)
	got[0] = 'x'
	data, err := fsys.ReadFile("d/seg")
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(data))
}
