package memfs_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/memfs"
)

func newFS(tb testing.TB) fsadapter.FS {
	fsys, err := memfs.New()
	require.NoError(tb, err)
	return fsys
}

func TestConformance(t *testing.T) {
	fstest.Run(t, newFS)
}

func TestCaps(t *testing.T) {
	assert.Equal(t, fsadapter.Caps{Name: "memory", AppendCheap: true, Sync: false, InMemory: true}, newFS(t).Caps())
}

// Two filesystems share nothing.
func TestInstancesAreIndependent(t *testing.T) {
	a, b := newFS(t), newFS(t)
	require.NoError(t, a.WriteFile("f", []byte("a"), false))
	_, err := b.ReadFile("f")
	assert.Error(t, err)
}

// HeldBytes is the sum of the files' sizes after every kind of change,
// failed ones included.
func TestHeldBytesIsTheFilesSizes(t *testing.T) {
	fsys := newFS(t)
	held := fsys.(fsadapter.Holder)
	require.NoError(t, fsys.MkdirAll("d"))
	app, err := fsys.OpenAppend("d/log")
	require.NoError(t, err)
	sizes := func() int64 {
		var sum int64
		for _, dir := range []string{".", "d"} {
			names, err := fsys.ReadDir(dir)
			require.NoError(t, err)
			for _, name := range names {
				if dir != "." {
					name = dir + "/" + name
				}
				if fi, err := fsys.Stat(name); err == nil && !fi.IsDir() {
					sum += fi.Size()
				}
			}
		}
		return sum
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"write", func() error { return fsys.WriteFile("a", make([]byte, 100), false) }},
		{"overwrite smaller", func() error { return fsys.WriteFile("a", make([]byte, 30), false) }},
		{"write in a dir", func() error { return fsys.WriteFile("d/b", make([]byte, 5000), false) }},
		{"append", func() error { _, err := app.Write(make([]byte, 70000)); return err }},
		{"truncate shorter", func() error { return fsys.Truncate("d/log", 1234) }},
		{"truncate longer", func() error { return fsys.Truncate("d/log", 9999) }},
		{"write over a dir (fails)", func() error { return fsys.WriteFile("d", []byte("x"), false) }},
		{"remove", func() error { return fsys.Remove("a") }},
		{"remove a missing file (fails)", func() error { return fsys.Remove("a") }},
		{"remove the appended file", func() error { return fsys.Remove("d/log") }},
	} {
		_ = step.do()
		require.Equal(t, sizes(), held.HeldBytes(), step.name)
	}
	require.Equal(t, int64(5000), held.HeldBytes())
}

// A file's modification time is no earlier than its last append or
// truncation, and stays put while nothing writes it.
func TestModTimeFollowsWrites(t *testing.T) {
	fsys := newFS(t)
	app, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	defer app.Close()
	stat := func() time.Time {
		fi, err := fsys.Stat("log")
		require.NoError(t, err)
		return fi.ModTime()
	}
	created := stat()
	assert.Equal(t, created, stat(), "unchanged without a write")
	for _, write := range []func() error{
		func() error { _, err := app.Write([]byte("record")); return err },
		func() error { return fsys.Truncate("log", 2) },
	} {
		before := time.Now()
		require.NoError(t, write())
		got := stat()
		assert.False(t, got.Before(before), "mod time %v is before the write at %v", got, before)
		assert.Equal(t, got, stat(), "unchanged without a write")
	}
}
