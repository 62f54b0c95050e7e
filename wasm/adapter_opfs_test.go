//go:build js && wasm && !wx

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
)

// opfsAPI is what js/test/browser/opfs-fs.test.mjs installs in the Chromium
// worker it runs this test binary in: the real OPFS host of
// js/src/browser-opfs.js. Elsewhere (Node) the tests skip.
func opfsAPI(tb testing.TB) js.Value {
	v := js.Global().Get("__opfsTest")
	if v.Type() != js.TypeObject {
		tb.Skip("runs in a Chromium worker (js/test/browser/opfs-fs.test.mjs)")
	}
	host = v.Get("host")
	return v
}

// awaitJS blocks the test goroutine on a JS promise; the event loop runs meanwhile.
func awaitJS(p js.Value) error {
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

var opfsDBs int

// openPool (re)opens the OPFS pool of database name and the adapter on it.
func openPool(tb testing.TB, name string) fsadapter.FS {
	api := opfsAPI(tb)
	require.NoError(tb, awaitJS(api.Call("open", name)))
	fsys, err := openOPFS(name)
	require.NoError(tb, err)
	return fsys
}

func TestOPFSConformance(t *testing.T) {
	opfsAPI(t)
	fstest.Run(t, func(tb testing.TB) fsadapter.FS {
		opfsDBs++
		name := fmt.Sprintf("conformance-%d", opfsDBs)
		fsys := openPool(tb, name)
		tb.Cleanup(func() { opfsAPI(tb).Call("close", name) })
		return fsys
	})
}

// Files and directories are found again by a new pool on the same OPFS files
// (a reload): the headers name them.
func TestOPFSReopen(t *testing.T) {
	fsys := openPool(t, "reopen")
	require.NoError(t, fsys.MkdirAll("d/e"))
	require.NoError(t, fsys.WriteFile("d/a", []byte("written"), true))
	f, err := fsys.OpenAppend("d/e/log")
	require.NoError(t, err)
	for _, p := range []string{"one ", "two ", "three"} {
		_, err := f.Write([]byte(p))
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fsys.WriteFile("d/gone", []byte("x"), false))
	require.NoError(t, fsys.Remove("d/gone"))

	fsys = openPool(t, "reopen")
	got, err := fsys.ReadFile("d/a")
	require.NoError(t, err)
	assert.Equal(t, "written", string(got))
	got, err = fsys.ReadFile("d/e/log")
	require.NoError(t, err)
	assert.Equal(t, "one two three", string(got))
	names, err := fsys.ReadDir("d")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "e"}, names)
	_, err = fsys.Stat("d/gone")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, "opfs", fsys.Caps().Name)
	rr, ok := fsys.(fsadapter.RangeReader)
	require.True(t, ok, "reads one block at a time")
	part, err := rr.ReadRange("d/e/log", 4, 3)
	require.NoError(t, err)
	assert.Equal(t, "two", string(part))
}

// Databases named "nest" and "nest/inner" are two: each path goes to the
// pool of the longest name above it.
func TestOPFSNestedNames(t *testing.T) {
	outer := openPool(t, "nest")
	inner := openPool(t, "nest/inner")
	require.NoError(t, outer.WriteFile("f", []byte("outer"), false))
	require.NoError(t, inner.WriteFile("f", []byte("inner"), false))
	got, err := outer.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, "outer", string(got))
	got, err = inner.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, "inner", string(got))
	names, err := inner.ReadDir(".")
	require.NoError(t, err)
	assert.Equal(t, []string{"f"}, names)

	// Each file is in its own database's OPFS files: the inner one alone, reopened, has it.
	opfsAPI(t).Call("close", "nest")
	inner = openPool(t, "nest/inner")
	got, err = inner.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, "inner", string(got))
}
