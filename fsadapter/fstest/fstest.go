// Package fstest is the conformance suite every fsadapter backend must pass,
// natively and under js/wasm.
//
// A backend's test calls Run with a constructor for an empty filesystem:
//
//	func TestConformance(t *testing.T) {
//		fstest.Run(t, func(tb testing.TB) fsadapter.FS {
//			fsys, err := memfs.New()
//			require.NoError(tb, err)
//			return fsys
//		})
//	}
//
// Every subtest gets its own filesystem. The suite checks only what the
// fsadapter.FS contract promises, so a backend passing it is one the engine
// can run on; behaviour beyond the contract (durability across processes,
// space limits) is for the backend's own tests.
package fstest

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
)

// Run runs the whole suite, one subtest per behaviour. newFS must return an
// empty filesystem and arrange its cleanup through tb.
func Run(t *testing.T, newFS func(tb testing.TB) fsadapter.FS) {
	tests := []struct {
		name string
		run  func(t *testing.T, fsys fsadapter.FS)
	}{
		{"Caps", testCaps},
		{"WriteReadRoundTrip", testWriteRead},
		{"WriteReplaces", testWriteReplaces},
		{"EmptyFile", testEmptyFile},
		{"WriteCopiesCallerBuffer", testWriteCopiesBuffer},
		{"ReadReturnsCopy", testReadReturnsCopy},
		{"WriteInNestedDir", testNestedDir},
		{"WriteInMissingDir", testWriteMissingDir},
		{"MkdirAll", testMkdirAll},
		{"AppendCreatesAndAppends", testAppend},
		{"AppendAcrossReopen", testAppendReopen},
		{"AppendVisibleBeforeClose", testAppendVisible},
		{"AppendToWrittenFile", testAppendToWritten},
		{"AppendInMissingDir", testAppendMissingDir},
		{"AppendCopiesCallerBuffer", testAppendCopiesBuffer},
		{"AppendTwoFilesInterleaved", testAppendInterleaved},
		{"AppendAfterClose", testAppendAfterClose},
		{"Truncate", testTruncate},
		{"TruncateThenAppend", testTruncateThenAppend},
		{"TruncateWhileAppendOpen", testTruncateWhileAppendOpen},
		{"Remove", testRemove},
		{"RemoveDir", testRemoveDir},
		{"ReadDirSorted", testReadDirSorted},
		{"ReadDirErrors", testReadDirErrors},
		{"Stat", testStat},
		{"MissingFile", testMissingFile},
		{"LargeFile", testLargeFile},
		{"LargeAppend", testLargeAppend},
		{"ManyFiles", testManyFiles},
		{"Names", testNames},
		{"InvalidPaths", testInvalidPaths},
		{"ReadRange", testReadRange},
		{"ReadRangeInto", testReadRangeInto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := newFS(t)
			require.NotNil(t, fsys, "newFS returned nil")
			tc.run(t, fsys)
		})
	}
}

func testCaps(t *testing.T, fsys fsadapter.FS) {
	assert.NotEmpty(t, fsys.Caps().Name, "Caps().Name identifies the backend in stats and errors")
}

func testWriteRead(t *testing.T, fsys fsadapter.FS) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
		sync bool
	}{
		{"one byte", []byte{0}, false},
		{"text", []byte("hello, minibase\n"), false},
		{"text synced", []byte("hello, durable minibase\n"), true},
		{"every byte value", all, false},
		{"every byte value synced", all, true},
		{"zeros", make([]byte, 1000), true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("f%d", i)
			require.NoError(t, fsys.WriteFile(name, tc.data, tc.sync))
			got, err := fsys.ReadFile(name)
			require.NoError(t, err)
			assert.Equal(t, tc.data, got)
		})
	}
}

func testWriteReplaces(t *testing.T, fsys fsadapter.FS) {
	long := bytes.Repeat([]byte("long content "), 100)
	require.NoError(t, fsys.WriteFile("f", long, false))
	require.NoError(t, fsys.WriteFile("f", []byte("short"), true))
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, []byte("short"), got, "a replacement must not keep the old tail")
	info, err := fsys.Stat("f")
	require.NoError(t, err)
	assert.EqualValues(t, 5, info.Size())

	require.NoError(t, fsys.WriteFile("f", long, false))
	got, err = fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, long, got)
}

func testEmptyFile(t *testing.T, fsys fsadapter.FS) {
	for _, sync := range []bool{false, true} {
		name := fmt.Sprintf("empty-%v", sync)
		require.NoError(t, fsys.WriteFile(name, nil, sync))
		got, err := fsys.ReadFile(name)
		require.NoError(t, err)
		assert.Empty(t, got)
		info, err := fsys.Stat(name)
		require.NoError(t, err)
		assert.EqualValues(t, 0, info.Size())
		assert.False(t, info.IsDir())
	}
	// Replacing with empty data empties the file.
	require.NoError(t, fsys.WriteFile("f", []byte("content"), false))
	require.NoError(t, fsys.WriteFile("f", []byte{}, false))
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Empty(t, got)
}

// The engine reuses its buffers as soon as a call returns.
func testWriteCopiesBuffer(t *testing.T, fsys fsadapter.FS) {
	data := []byte("original")
	require.NoError(t, fsys.WriteFile("f", data, false))
	copy(data, "XXXXXXXX")
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, []byte("original"), got)
}

func testReadReturnsCopy(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.WriteFile("f", []byte("original"), false))
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	copy(got, "XXXXXXXX")
	again, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, []byte("original"), again)
}

func testNestedDir(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.MkdirAll("a/b/c"))
	require.NoError(t, fsys.WriteFile("a/b/c/f", []byte("deep"), true))
	got, err := fsys.ReadFile("a/b/c/f")
	require.NoError(t, err)
	assert.Equal(t, []byte("deep"), got)

	names, err := fsys.ReadDir("a/b")
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, names)
	names, err = fsys.ReadDir("a/b/c")
	require.NoError(t, err)
	assert.Equal(t, []string{"f"}, names)

	info, err := fsys.Stat("a/b")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func testWriteMissingDir(t *testing.T, fsys fsadapter.FS) {
	for _, sync := range []bool{false, true} {
		err := fsys.WriteFile("nodir/f", []byte("x"), sync)
		require.Error(t, err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	}
	_, err := fsys.Stat("nodir")
	assert.ErrorIs(t, err, fs.ErrNotExist, "a failed write must not create the directory")
}

func testMkdirAll(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.MkdirAll("."), "the root exists already")
	require.NoError(t, fsys.MkdirAll("x/y"))
	require.NoError(t, fsys.MkdirAll("x/y"), "MkdirAll is idempotent")
	require.NoError(t, fsys.MkdirAll("x"), "a parent that exists is fine")
	info, err := fsys.Stat("x/y")
	require.NoError(t, err)
	assert.True(t, info.IsDir())

	require.NoError(t, fsys.WriteFile("file", []byte("x"), false))
	assert.Error(t, fsys.MkdirAll("file"), "a file is in the way")
	assert.Error(t, fsys.MkdirAll("file/sub"), "a file is in the way of a parent")
}

func testAppend(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	info, err := fsys.Stat("log")
	require.NoError(t, err, "OpenAppend creates the file")
	assert.EqualValues(t, 0, info.Size())

	for _, p := range []string{"one,", "two,", "", "three"} {
		n, err := f.Write([]byte(p))
		require.NoError(t, err)
		assert.Equal(t, len(p), n)
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())

	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("one,two,three"), got)
}

func testAppendReopen(t *testing.T, fsys fsadapter.FS) {
	want := ""
	for i := range 3 {
		f, err := fsys.OpenAppend("log")
		require.NoError(t, err)
		for j := range 2 {
			rec := fmt.Sprintf("[%d.%d]", i, j)
			_, err := f.Write([]byte(rec))
			require.NoError(t, err)
			want += rec
		}
		require.NoError(t, f.Close())
	}
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
	info, err := fsys.Stat("log")
	require.NoError(t, err)
	assert.EqualValues(t, len(want), info.Size())
}

// An acknowledged append survives the process being killed, so it must be
// in the backend as soon as Write returns, before any Sync or Close.
func testAppendVisible(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write([]byte("first"))
	require.NoError(t, err)
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("first"), got)

	_, err = f.Write([]byte("+second"))
	require.NoError(t, err)
	got, err = fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("first+second"), got)
}

func testAppendToWritten(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.WriteFile("log", []byte("head"), false))
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("+tail"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("head+tail"), got, "OpenAppend keeps existing content")
}

func testAppendMissingDir(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("nodir/log")
	require.Error(t, err)
	assert.Nil(t, f)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func testAppendCopiesBuffer(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	defer f.Close()
	buf := []byte("abc")
	_, err = f.Write(buf)
	require.NoError(t, err)
	copy(buf, "xyz")
	_, err = f.Write(buf)
	require.NoError(t, err)
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("abcxyz"), got)
}

func testAppendInterleaved(t *testing.T, fsys fsadapter.FS) {
	a, err := fsys.OpenAppend("a")
	require.NoError(t, err)
	defer a.Close()
	b, err := fsys.OpenAppend("b")
	require.NoError(t, err)
	defer b.Close()
	for i := range 10 {
		_, err := a.Write([]byte{'a', byte('0' + i)})
		require.NoError(t, err)
		_, err = b.Write([]byte{'b', byte('0' + i)})
		require.NoError(t, err)
	}
	gotA, err := fsys.ReadFile("a")
	require.NoError(t, err)
	gotB, err := fsys.ReadFile("b")
	require.NoError(t, err)
	assert.Equal(t, "a0a1a2a3a4a5a6a7a8a9", string(gotA))
	assert.Equal(t, "b0b1b2b3b4b5b6b7b8b9", string(gotB))
}

func testAppendAfterClose(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("kept"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	require.NotPanics(t, func() {
		_, err := f.Write([]byte("lost"))
		assert.ErrorIs(t, err, fs.ErrClosed, "Write after Close")
		assert.ErrorIs(t, f.Sync(), fs.ErrClosed, "Sync after Close")
		assert.ErrorIs(t, f.Close(), fs.ErrClosed, "second Close")
	})
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, []byte("kept"), got)
}

func testTruncate(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.WriteFile("f", []byte("0123456789"), false))
	tests := []struct {
		size int64
		want string
	}{
		{10, "0123456789"},
		{4, "0123"},
		{1, "0"},
		{0, ""},
	}
	for _, tc := range tests {
		require.NoError(t, fsys.Truncate("f", tc.size))
		got, err := fsys.ReadFile("f")
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(got), "after Truncate to %d", tc.size)
		info, err := fsys.Stat("f")
		require.NoError(t, err)
		assert.Equal(t, tc.size, info.Size())
	}

	err := fsys.Truncate("missing", 0)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.Stat("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist, "Truncate must not create a file")

	assert.Error(t, fsys.Truncate("f", -1))
}

// Recovery cuts a torn tail off a log and then appends to it again.
func testTruncateThenAppend(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("good|torn"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	require.NoError(t, fsys.Truncate("log", 5))
	f, err = fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("next"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, "good|next", string(got))
}

// Appends land at the current end of the file, even when it was cut by
// Truncate through another handle.
func testTruncateWhileAppendOpen(t *testing.T, fsys fsadapter.FS) {
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write([]byte("good|torn"))
	require.NoError(t, err)
	require.NoError(t, fsys.Truncate("log", 5))
	_, err = f.Write([]byte("next"))
	require.NoError(t, err)

	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	assert.Equal(t, "good|next", string(got))
}

func testRemove(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.WriteFile("f", []byte("x"), false))
	require.NoError(t, fsys.Remove("f"))
	_, err := fsys.ReadFile("f")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.Stat("f")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	names, err := fsys.ReadDir(".")
	require.NoError(t, err)
	assert.NotContains(t, names, "f")

	assert.ErrorIs(t, fsys.Remove("f"), fs.ErrNotExist, "second Remove")
	assert.ErrorIs(t, fsys.Remove("never"), fs.ErrNotExist)
	assert.ErrorIs(t, fsys.Remove("nodir/never"), fs.ErrNotExist)

	// A removed name can be written again.
	require.NoError(t, fsys.WriteFile("f", []byte("again"), false))
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, []byte("again"), got)
}

func testRemoveDir(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.MkdirAll("full/sub"))
	require.NoError(t, fsys.WriteFile("full/f", []byte("x"), false))

	assert.Error(t, fsys.Remove("full"), "a non-empty directory stays")
	_, err := fsys.ReadFile("full/f")
	require.NoError(t, err)

	require.NoError(t, fsys.Remove("full/sub"), "an empty directory goes")
	_, err = fsys.Stat("full/sub")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, fsys.Remove("full/f"))
	require.NoError(t, fsys.Remove("full"))
	_, err = fsys.Stat("full")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func testReadDirSorted(t *testing.T, fsys fsadapter.FS) {
	names, err := fsys.ReadDir(".")
	require.NoError(t, err)
	assert.Empty(t, names, "a new filesystem is empty")

	require.NoError(t, fsys.MkdirAll("d"))
	// Created out of order; sorted bytewise, so upper case first.
	for _, n := range []string{"m", "B", "a.2", "a.10", "z", "a.1"} {
		require.NoError(t, fsys.WriteFile("d/"+n, []byte(n), false))
	}
	require.NoError(t, fsys.MkdirAll("d/c-dir"))
	names, err = fsys.ReadDir("d")
	require.NoError(t, err)
	assert.Equal(t, []string{"B", "a.1", "a.10", "a.2", "c-dir", "m", "z"}, names)

	names, err = fsys.ReadDir(".")
	require.NoError(t, err)
	assert.Equal(t, []string{"d"}, names, "ReadDir lists only direct children")

	names, err = fsys.ReadDir("d/c-dir")
	require.NoError(t, err)
	assert.Empty(t, names)
}

func testReadDirErrors(t *testing.T, fsys fsadapter.FS) {
	_, err := fsys.ReadDir("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.ReadDir("missing/deeper")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, fsys.WriteFile("file", []byte("x"), false))
	_, err = fsys.ReadDir("file")
	assert.Error(t, err, "a file is not a directory")
}

func testStat(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.MkdirAll("dir"))
	require.NoError(t, fsys.WriteFile("dir/file.sst", []byte("12345"), false))

	info, err := fsys.Stat("dir/file.sst")
	require.NoError(t, err)
	assert.Equal(t, "file.sst", info.Name())
	assert.EqualValues(t, 5, info.Size())
	assert.False(t, info.IsDir())
	assert.True(t, info.Mode().IsRegular())

	info, err = fsys.Stat("dir")
	require.NoError(t, err)
	assert.Equal(t, "dir", info.Name())
	assert.True(t, info.IsDir())

	info, err = fsys.Stat(".")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func testMissingFile(t *testing.T, fsys fsadapter.FS) {
	for _, name := range []string{"missing", "nodir/missing"} {
		_, err := fsys.ReadFile(name)
		assert.ErrorIs(t, err, fs.ErrNotExist, "ReadFile %s", name)
		_, err = fsys.Stat(name)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Stat %s", name)
		assert.NotErrorIs(t, err, fs.ErrExist)
	}
}

func testLargeFile(t *testing.T, fsys fsadapter.FS) {
	data := pattern(4<<20 + 17) // not a power of two, to catch block rounding
	require.NoError(t, fsys.WriteFile("big", data, true))
	got, err := fsys.ReadFile("big")
	require.NoError(t, err)
	require.Equal(t, len(data), len(got))
	assert.True(t, bytes.Equal(data, got), "content differs")
	info, err := fsys.Stat("big")
	require.NoError(t, err)
	assert.EqualValues(t, len(data), info.Size())

	// A small write after a big one must not see stale buffer contents.
	require.NoError(t, fsys.WriteFile("small", []byte("tiny"), false))
	got, err = fsys.ReadFile("small")
	require.NoError(t, err)
	assert.Equal(t, []byte("tiny"), got)
}

func testLargeAppend(t *testing.T, fsys fsadapter.FS) {
	data := pattern(3<<20 + 5)
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	// Chunks of growing size, the last one larger than any before.
	for off, size := 0, 1; off < len(data); size *= 2 {
		end := min(off+size, len(data))
		_, err := f.Write(data[off:end])
		require.NoError(t, err)
		off = end
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	got, err := fsys.ReadFile("log")
	require.NoError(t, err)
	require.Equal(t, len(data), len(got))
	assert.True(t, bytes.Equal(data, got), "content differs")
}

func testManyFiles(t *testing.T, fsys fsadapter.FS) {
	const n = 300
	require.NoError(t, fsys.MkdirAll("many"))
	var want []string
	for i := range n {
		name := fmt.Sprintf("%06d.sst", (i*7919)%n) // created out of order
		require.NoError(t, fsys.WriteFile("many/"+name, []byte(name), false))
		want = append(want, name)
	}
	slices.Sort(want)
	names, err := fsys.ReadDir("many")
	require.NoError(t, err)
	assert.Equal(t, want, names)
	for _, name := range want {
		got, err := fsys.ReadFile("many/" + name)
		require.NoError(t, err)
		require.Equal(t, name, string(got))
	}
	for _, name := range want[:n/2] {
		require.NoError(t, fsys.Remove("many/"+name))
	}
	names, err = fsys.ReadDir("many")
	require.NoError(t, err)
	assert.Equal(t, want[n/2:], names)
}

func testNames(t *testing.T, fsys fsadapter.FS) {
	require.NoError(t, fsys.MkdirAll("db.d/v-1"))
	names := []string{
		"000001.log", "MANIFEST-000002", "a.b.c", "x-y_z", ".hidden", "..dots",
		"trailing.", "with space", "ünïcödé", "db.d/v-1/0001.sst", "db.d/LOCK",
	}
	for _, name := range names {
		require.NoError(t, fsys.WriteFile(name, []byte(name), false), name)
	}
	for _, name := range names {
		got, err := fsys.ReadFile(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, string(got))
	}
	listed, err := fsys.ReadDir("db.d")
	require.NoError(t, err)
	assert.Equal(t, []string{"LOCK", "v-1"}, listed)
}

// Names outside the root or not in io/fs form fail with fs.ErrInvalid on every
// method, and nothing panics.
func testInvalidPaths(t *testing.T, fsys fsadapter.FS) {
	for _, name := range []string{"", "/abs", "../up", "a/../b", "a//b", "a/", "./a"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			calls := map[string]func() error{
				"ReadFile":  func() error { _, err := fsys.ReadFile(name); return err },
				"WriteFile": func() error { return fsys.WriteFile(name, []byte("x"), true) },
				"OpenAppend": func() error {
					f, err := fsys.OpenAppend(name)
					if f != nil {
						_ = f.Close()
					}
					return err
				},
				"Truncate": func() error { return fsys.Truncate(name, 0) },
				"Remove":   func() error { return fsys.Remove(name) },
				"ReadDir":  func() error { _, err := fsys.ReadDir(name); return err },
				"MkdirAll": func() error { return fsys.MkdirAll(name) },
				"Stat":     func() error { _, err := fsys.Stat(name); return err },
			}
			for method, call := range calls {
				var err error
				require.NotPanics(t, func() { err = call() }, method)
				assert.ErrorIs(t, err, fs.ErrInvalid, method)
			}
		})
	}
}

// pattern returns n bytes that differ from their neighbours and repeat only
// every 251 bytes (a prime), so a shifted or misplaced block shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// ranges are the (offset, length) pairs the range-read tests read of the
// file writeRangeFile writes: empty, one byte, a block, the last byte, most
// of the file, all of it.
var ranges = []struct{ off, n int }{{0, 0}, {0, 1}, {0, 4096}, {4096, 4096}, {69_999, 1}, {12_345, 50_000}, {0, 70_000}}

// writeRangeFile writes the file "seg" of 70,000 patterned bytes the range
// reads check, and returns its bytes.
func writeRangeFile(t *testing.T, fsys fsadapter.FS) []byte {
	data := make([]byte, 70_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	require.NoError(t, fsys.WriteFile("seg", data, false))
	return data
}

// testReadRange holds a backend's optional range read (fsadapter.RangeReader)
// to ReadFile: every slice of a file, including after the file was replaced
// or removed (a backend that keeps descriptors open must not serve stale
// bytes), and a short file is io.ErrUnexpectedEOF.
func testReadRange(t *testing.T, fsys fsadapter.FS) {
	rr, ok := fsys.(fsadapter.RangeReader)
	if !ok {
		t.Skip("the backend has no ReadRange")
	}
	data := writeRangeFile(t, fsys)
	for _, c := range ranges {
		got, err := rr.ReadRange("seg", int64(c.off), c.n)
		require.NoError(t, err, "off %d n %d", c.off, c.n)
		assert.Equal(t, data[c.off:c.off+c.n], got, "off %d n %d", c.off, c.n)
	}
	got, _ := rr.ReadRange("seg", 0, 10)
	got[0] ^= 0xff // the caller owns the slice
	again, err := rr.ReadRange("seg", 0, 10)
	require.NoError(t, err)
	assert.Equal(t, data[:10], again)

	_, err = rr.ReadRange("seg", 69_990, 20)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "past the end")

	require.NoError(t, fsys.WriteFile("seg", []byte("replaced"), false))
	got, err = rr.ReadRange("seg", 0, 8)
	require.NoError(t, err)
	assert.Equal(t, []byte("replaced"), got, "after WriteFile replaced the file")

	require.NoError(t, fsys.Remove("seg"))
	_, err = rr.ReadRange("seg", 0, 1)
	assert.ErrorIs(t, err, fs.ErrNotExist, "after Remove")
	require.NoError(t, fsys.WriteFile("seg", []byte("new"), false))
	got, err = rr.ReadRange("seg", 0, 3)
	require.NoError(t, err)
	assert.Equal(t, []byte("new"), got, "a new file of the same name")
}

// testReadRangeInto holds a backend's optional read into the caller's
// buffer (fsadapter.RangeIntoReader) to ReadFile, as testReadRange does
// ReadRange, reading every range into one reused buffer: a range must
// overwrite exactly its bytes, whatever the buffer held before.
func testReadRangeInto(t *testing.T, fsys fsadapter.FS) {
	ri, ok := fsys.(fsadapter.RangeIntoReader)
	if !ok {
		t.Skip("the backend has no ReadRangeInto")
	}
	data := writeRangeFile(t, fsys)
	buf := make([]byte, len(data))
	for _, c := range append(ranges, struct{ off, n int }{100, 10}) {
		for i := range buf {
			buf[i] = 0xee
		}
		require.NoError(t, ri.ReadRangeInto("seg", int64(c.off), buf[:c.n]), "off %d n %d", c.off, c.n)
		assert.Equal(t, data[c.off:c.off+c.n], buf[:c.n], "off %d n %d", c.off, c.n)
		for i, b := range buf[c.n:] {
			if b != 0xee {
				t.Fatalf("off %d n %d: byte %d past the range was written", c.off, c.n, c.n+i)
			}
		}
	}
	assert.ErrorIs(t, ri.ReadRangeInto("seg", 69_990, buf[:20]), io.ErrUnexpectedEOF, "past the end")

	require.NoError(t, fsys.WriteFile("seg", []byte("replaced"), false))
	require.NoError(t, ri.ReadRangeInto("seg", 0, buf[:8]))
	assert.Equal(t, []byte("replaced"), buf[:8], "after WriteFile replaced the file")

	require.NoError(t, fsys.Remove("seg"))
	assert.ErrorIs(t, ri.ReadRangeInto("seg", 0, buf[:1]), fs.ErrNotExist, "after Remove")
}
