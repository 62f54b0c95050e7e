//go:build js && wasm

package idbfs_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/idbfs"
)

// chunkBytes is the host's chunk size (browser-idb.js).
func chunkBytes(tb testing.TB) int {
	return api(tb).Get("host").Get("chunkBytes").Int()
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i/251 + seed)
	}
	return b
}

// openWith loads database name with a chunk cache of residentBytes.
func openWith(tb testing.TB, name string, residentBytes int) fsadapter.FS {
	a := api(tb)
	require.NoError(tb, await(a.Call("open", name, residentBytes)))
	fsys, err := idbfs.New(a.Get("host"), name)
	require.NoError(tb, err)
	return fsys
}

// run calls fn through the host's run(), which loads what fn missed and
// calls it again while it fails; it returns fn's last error. extra goes to
// run() after the callback (true: fn is a compaction step).
func run(tb testing.TB, name string, fn func() error, extra ...any) error {
	var last error
	cb := js.FuncOf(func(js.Value, []js.Value) any {
		last = fn()
		if last != nil {
			return map[string]any{"error": last.Error()}
		}
		return map[string]any{"value": true}
	})
	defer cb.Release()
	if err := await(api(tb).Call("run", append([]any{name, cb}, extra...)...)); err != nil {
		return last
	}
	return nil
}

func stat(tb testing.TB, name, key string) int {
	return api(tb).Call("stats", name).Get(key).Int()
}

// A file of several chunks is read from IndexedDB a chunk at a time: after a
// reload only what a read needs is loaded, and past the budget it is let go.
func TestChunkedFileReadsOnDemand(t *testing.T) {
	const name = "chunked"
	chunk := chunkBytes(t)
	big := pattern(5*chunk+123, 1)
	fsys := openWith(t, name, 0)
	require.NoError(t, fsys.MkdirAll("db"))
	require.NoError(t, fsys.WriteFile("db/big", big, false))
	require.NoError(t, fsys.WriteFile("db/small", []byte("small"), false))
	// Readable before and after its commit.
	got, err := fsys.ReadFile("db/big")
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got))
	flush(t, name)
	assert.Zero(t, stat(t, name, "residentBytes"), "a budget of 0 keeps nothing after the commit")

	fsys = openWith(t, name, 0)
	names, err := fsys.ReadDir("db")
	require.NoError(t, err)
	assert.Equal(t, []string{"big", "small"}, names)
	info, err := fsys.Stat("db/big")
	require.NoError(t, err)
	assert.EqualValues(t, len(big), info.Size())
	assert.False(t, info.IsDir())
	small, err := fsys.ReadFile("db/small")
	require.NoError(t, err)
	assert.Equal(t, "small", string(small))

	rr := fsys.(fsadapter.RangeReader)
	// No chunk is loaded with the database (the engine opens a segment on
	// its first read): a read of its end or its start fails, changes
	// nothing, and names the chunk.
	_, err = rr.ReadRange("db/big", int64(len(big)-100), 100)
	require.ErrorIs(t, err, idbfs.ErrNotResident)
	_, err = rr.ReadRange("db/big", 10, 100)
	require.ErrorIs(t, err, idbfs.ErrNotResident)

	tests := []struct{ off, n int }{
		{0, 1}, {10, 100}, {chunk - 5, 10}, {chunk, chunk}, {1, 3*chunk + 7}, {0, len(big)}, {len(big) - 1, 1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d+%d", tc.off, tc.n), func(t *testing.T) {
			var got []byte
			require.NoError(t, run(t, name, func() (err error) {
				got, err = rr.ReadRange("db/big", int64(tc.off), tc.n)
				return err
			}))
			assert.True(t, bytes.Equal(big[tc.off:tc.off+tc.n], got))
			assert.Zero(t, stat(t, name, "residentBytes"), "let go after the call (budget 0)")
		})
	}
	var whole []byte
	require.NoError(t, run(t, name, func() (err error) { whole, err = fsys.ReadFile("db/big"); return err }))
	assert.True(t, bytes.Equal(big, whole))
	assert.Positive(t, stat(t, name, "evictions"))
}

// Under a budget, the most recently read chunks stay.
func TestChunkCacheKeepsRecentWithinBudget(t *testing.T) {
	const name = "budget"
	chunk := chunkBytes(t)
	fsys := openWith(t, name, 3*chunk)
	big := pattern(20*chunk, 2)
	require.NoError(t, fsys.WriteFile("big", big, false))
	flush(t, name)
	assert.LessOrEqual(t, stat(t, name, "residentBytes"), 3*chunk)
	fsys = openWith(t, name, 3*chunk)
	rr := fsys.(fsadapter.RangeReader)
	for i := range 20 {
		require.NoError(t, run(t, name, func() error {
			got, err := rr.ReadRange("big", int64(i*chunk), 10)
			if err == nil && !bytes.Equal(got, big[i*chunk:i*chunk+10]) {
				return fmt.Errorf("chunk %d differs", i)
			}
			return err
		}))
		assert.LessOrEqual(t, stat(t, name, "residentBytes"), 3*chunk)
	}
	_, err := rr.ReadRange("big", int64(19*chunk), 10)
	assert.NoError(t, err, "the last chunk read is still loaded")
}

// A chunk gone from IndexedDB, or of the wrong size, is a stable CORRUPT
// error (fsadapter.ErrCorrupt), never a panic or a wrong answer.
func TestDamagedChunkIsCorrupt(t *testing.T) {
	chunk := chunkBytes(t)
	for _, tc := range []struct {
		name  string
		value any // nil: deleted
	}{
		{"missing", nil},
		{"short", js.Global().Get("Uint8Array").New(10)},
		{"not bytes", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "damaged-" + tc.name
			fsys := openWith(t, name, 0)
			require.NoError(t, fsys.WriteFile("seg", pattern(4*chunk, 3), false))
			flush(t, name)
			v := js.Undefined()
			if tc.value != nil {
				v = js.ValueOf(tc.value)
			}
			require.NoError(t, await(api(t).Call("damageChunk", name, "seg", 1, v)))
			fsys = openWith(t, name, 0)
			var err error
			require.NotPanics(t, func() {
				err = run(t, name, func() error { _, err := fsys.ReadFile("seg"); return err })
			})
			require.ErrorIs(t, err, fsadapter.ErrCorrupt)
			// Chunks before it still read.
			require.NoError(t, run(t, name, func() error {
				_, err := fsys.(fsadapter.RangeReader).ReadRange("seg", 0, chunk)
				return err
			}))
		})
	}
}

// A database written before chunks (every file one record) opens, its large
// files now in chunks, and reads the same.
func TestOpensTheWholeFileLayout(t *testing.T) {
	const name = "v2"
	chunk := chunkBytes(t)
	big := pattern(3*chunk+1, 4)
	u8 := func(b []byte) js.Value {
		v := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(v, b)
		return v
	}
	files := js.ValueOf([]any{
		[]any{"db", "dir"},
		[]any{"db/big", u8(big)},
		[]any{"db/log", u8([]byte("a log"))},
	})
	require.NoError(t, await(api(t).Call("createV2", name, files)))
	fsys := openWith(t, name, 0)
	assert.Equal(t, map[string]string{"db": "<dir>", "db/big": string(big), "db/log": "a log"}, treeRun(t, name, fsys))
	assert.Positive(t, stat(t, name, "chunkLoads"), "the big file is read in chunks")
	// And again, now in the new layout.
	fsys = openWith(t, name, 0)
	assert.Equal(t, map[string]string{"db": "<dir>", "db/big": string(big), "db/log": "a log"}, treeRun(t, name, fsys))
}

// treeRun is tree with every read through run().
func treeRun(t *testing.T, name string, fsys fsadapter.FS) map[string]string {
	var out map[string]string
	require.NoError(t, run(t, name, func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		out = treeOrPanic(fsys)
		return nil
	}))
	return out
}

func treeOrPanic(fsys fsadapter.FS) map[string]string {
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		names, err := fsys.ReadDir(dir)
		if err != nil {
			panic(err)
		}
		for _, n := range names {
			p := dir + "/" + n
			if dir == "." {
				p = n
			}
			info, err := fsys.Stat(p)
			if err != nil {
				panic(err)
			}
			if info.IsDir() {
				out[p] = "<dir>"
				walk(p)
				continue
			}
			data, err := fsys.ReadFile(p)
			if err != nil {
				panic(err)
			}
			out[p] = string(data)
		}
	}
	walk(".")
	return out
}

// Names stay consistent between the mirror and the chunked files.
func TestChunkedFileNames(t *testing.T) {
	chunk := chunkBytes(t)
	fsys := openWith(t, "names", 1<<20)
	require.NoError(t, fsys.MkdirAll("d"))
	require.NoError(t, fsys.WriteFile("d/big", pattern(chunk, 5), false))
	assert.Error(t, fsys.Remove("d"), "a directory holding a chunked file is not empty")
	assert.ErrorIs(t, fsys.MkdirAll("d/big/sub"), fs.ErrExist)
	assert.Error(t, fsys.WriteFile("nodir/big", pattern(chunk, 5), false))
	// Replaced by a small file, then appended to.
	require.NoError(t, fsys.WriteFile("d/big", []byte("now small"), false))
	got, err := fsys.ReadFile("d/big")
	require.NoError(t, err)
	assert.Equal(t, "now small", string(got))
	require.NoError(t, fsys.WriteFile("d/big2", pattern(chunk+1, 6), false))
	a, err := fsys.OpenAppend("d/big2")
	require.NoError(t, err)
	_, err = a.Write([]byte("tail"))
	require.NoError(t, err)
	require.NoError(t, a.Close())
	got, err = fsys.ReadFile("d/big2")
	require.NoError(t, err)
	assert.Equal(t, append(pattern(chunk+1, 6), "tail"...), got)
	require.NoError(t, fsys.Truncate("d/big2", 3))
	got, err = fsys.ReadFile("d/big2")
	require.NoError(t, err)
	assert.Equal(t, pattern(3, 6), got)
	require.NoError(t, fsys.Remove("d/big2"))
	require.NoError(t, fsys.Remove("d/big"))
	require.NoError(t, fsys.Remove("d"))
	flush(t, "names")
	assert.Empty(t, tree(t, openWith(t, "names", 1<<20)))
}

// Prefetch asks for every chunk of every named chunked file at once: one run
// fails naming them all, the next finds them loaded.
func TestPrefetchNamesEveryFile(t *testing.T) {
	const name = "prefetch"
	chunk := chunkBytes(t)
	fsys := openWith(t, name, 0)
	files := map[string][]byte{"a": pattern(3*chunk, 7), "b": pattern(2*chunk+9, 8), "small": []byte("s")}
	for n, data := range files {
		require.NoError(t, fsys.WriteFile(n, data, false))
	}
	flush(t, name)
	fsys = openWith(t, name, 0)
	p := fsys.(fsadapter.Prefetcher)
	names := []string{"a", "b", "small"}
	require.ErrorIs(t, p.Prefetch(names), idbfs.ErrNotResident)
	runs := 0
	got := map[string][]byte{}
	require.NoError(t, run(t, name, func() error {
		runs++
		if err := p.Prefetch(names); err != nil {
			return err
		}
		for _, n := range names {
			data, err := fsys.ReadFile(n)
			if err != nil {
				return err
			}
			got[n] = data
		}
		return nil
	}))
	assert.Equal(t, 2, runs, "one run to ask, one to read")
	assert.Equal(t, files, got)
}
