package faultfs_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/memfs"
)

// newFS returns a wrapper and the inner filesystem it wraps, which plays the
// disk that outlives a crash.
func newFS(tb testing.TB) (*faultfs.FS, fsadapter.FS) {
	inner, err := memfs.New()
	require.NoError(tb, err)
	return faultfs.Wrap(inner), inner
}

func read(t *testing.T, fsys fsadapter.FS, name string) string {
	t.Helper()
	b, err := fsys.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

// Without faults the wrapper is invisible.
func TestConformanceWithoutFaults(t *testing.T) {
	fstest.Run(t, func(tb testing.TB) fsadapter.FS {
		f, _ := newFS(tb)
		return f
	})
}

func TestCapsPassThrough(t *testing.T) {
	f, inner := newFS(t)
	assert.Equal(t, inner.Caps(), f.Caps())
}

func TestCounting(t *testing.T) {
	tests := []struct {
		name    string
		op      func(fsys fsadapter.FS, log fsadapter.AppendFile) error
		counted bool
	}{
		{"WriteFile", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { return fsys.WriteFile("f", []byte("x"), true) }, true},
		{"AppendFile.Write", func(_ fsadapter.FS, log fsadapter.AppendFile) error { _, err := log.Write([]byte("x")); return err }, true},
		{"AppendFile.Sync", func(_ fsadapter.FS, log fsadapter.AppendFile) error { return log.Sync() }, true},
		{"Truncate", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { return fsys.Truncate("existing", 1) }, true},
		{"Remove", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { return fsys.Remove("existing") }, true},
		{"MkdirAll", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { return fsys.MkdirAll("d/e") }, true},
		{"ReadFile", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { _, err := fsys.ReadFile("existing"); return err }, false},
		{"ReadDir", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { _, err := fsys.ReadDir("."); return err }, false},
		{"Stat", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error { _, err := fsys.Stat("existing"); return err }, false},
		{"OpenAppend", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error {
			f, err := fsys.OpenAppend("other")
			if err == nil {
				err = f.Close()
			}
			return err
		}, false},
		{"AppendFile.Close", func(_ fsadapter.FS, log fsadapter.AppendFile) error { return log.Close() }, false},
		{"failing WriteFile", func(fsys fsadapter.FS, _ fsadapter.AppendFile) error {
			if err := fsys.WriteFile("nodir/f", nil, false); err == nil {
				return errors.New("WriteFile into a missing directory succeeded")
			}
			return nil
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFS(t)
			require.NoError(t, f.WriteFile("existing", []byte("content"), false))
			log, err := f.OpenAppend("log")
			require.NoError(t, err)
			before := f.Ops()
			require.NoError(t, tc.op(f, log))
			want := 0
			if tc.counted {
				want = 1
			}
			assert.Equal(t, want, f.Ops()-before)
		})
	}
}

func TestFailAt(t *testing.T) {
	f, inner := newFS(t)
	require.NoError(t, f.WriteFile("before", []byte("x"), false)) // op 1, before the injection
	f.FailAt(2, nil)

	require.NoError(t, f.WriteFile("a", []byte("a"), false)) // op 2
	err := f.WriteFile("b", []byte("b"), false)              // op 3
	require.ErrorIs(t, err, faultfs.ErrInjected)
	assert.Contains(t, err.Error(), "(op 3)")
	_, err = inner.Stat("b")
	assert.ErrorIs(t, err, fs.ErrNotExist, "a failed operation does nothing")

	require.NoError(t, f.WriteFile("c", []byte("c"), false), "only one operation fails")
	assert.False(t, f.Crashed())
	assert.Equal(t, 4, f.Ops())
}

func TestFailAtNoSpace(t *testing.T) {
	f, inner := newFS(t)
	log, err := f.OpenAppend("log")
	require.NoError(t, err)
	defer log.Close()
	_, err = log.Write([]byte("one,"))
	require.NoError(t, err)

	f.FailAt(1, fsadapter.ErrNoSpace)
	n, err := log.Write([]byte("two,"))
	assert.ErrorIs(t, err, fsadapter.ErrNoSpace)
	assert.Zero(t, n)
	assert.Equal(t, "one,", read(t, inner, "log"))

	_, err = log.Write([]byte("three"))
	require.NoError(t, err)
	assert.Equal(t, "one,three", read(t, inner, "log"))
}

func TestFailFrom(t *testing.T) {
	f, inner := newFS(t)
	require.NoError(t, f.WriteFile("keep", []byte("x"), false))
	log, err := f.OpenAppend("log")
	require.NoError(t, err)
	defer log.Close()
	f.FailFrom(2, fsadapter.ErrNoSpace)

	require.NoError(t, f.WriteFile("fits", []byte("x"), false))
	mutations := map[string]func() error{
		"WriteFile": func() error { return f.WriteFile("full", []byte("x"), false) },
		"Write":     func() error { _, err := log.Write([]byte("x")); return err },
		"Sync":      func() error { return log.Sync() },
		"Truncate":  func() error { return f.Truncate("keep", 0) },
		"Remove":    func() error { return f.Remove("keep") },
		"MkdirAll":  func() error { return f.MkdirAll("d") },
	}
	for name, op := range mutations {
		assert.ErrorIs(t, op(), fsadapter.ErrNoSpace, name)
	}
	assert.Equal(t, "x", read(t, f, "keep"), "reads still work")
	assert.Equal(t, "", read(t, inner, "log"))
	assert.False(t, f.Crashed())

	f.Reset()
	require.NoError(t, f.WriteFile("full", []byte("x"), false), "Reset frees the space")
}

func TestCrashAt(t *testing.T) {
	f, inner := newFS(t)
	log, err := f.OpenAppend("log")
	require.NoError(t, err)
	f.CrashAt(2)

	_, err = log.Write([]byte("handed over")) // op 1, never synced
	require.NoError(t, err)
	err = f.WriteFile("manifest", []byte("m"), true) // op 2: the process dies first
	require.ErrorIs(t, err, faultfs.ErrCrashed)
	assert.True(t, f.Crashed())

	everything := map[string]func() error{
		"WriteFile":  func() error { return f.WriteFile("x", nil, false) },
		"ReadFile":   func() error { _, err := f.ReadFile("log"); return err },
		"ReadDir":    func() error { _, err := f.ReadDir("."); return err },
		"Stat":       func() error { _, err := f.Stat("log"); return err },
		"OpenAppend": func() error { _, err := f.OpenAppend("log"); return err },
		"Truncate":   func() error { return f.Truncate("log", 0) },
		"Remove":     func() error { return f.Remove("log") },
		"MkdirAll":   func() error { return f.MkdirAll("d") },
		"Write":      func() error { _, err := log.Write([]byte("lost")); return err },
		"Sync":       func() error { return log.Sync() },
	}
	for name, op := range everything {
		assert.ErrorIs(t, op(), faultfs.ErrCrashed, name)
	}
	assert.ErrorIs(t, log.Close(), faultfs.ErrCrashed)
	assert.Equal(t, 2, f.Ops(), "nothing is counted after the crash")

	assert.Equal(t, "handed over", read(t, inner, "log"), "unsynced data survives a process kill")
	_, err = inner.Stat("manifest")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = inner.Stat("x")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestTearWriteFile(t *testing.T) {
	tests := []struct {
		keep int
		want string
	}{
		{0, ""},
		{3, "new"},
		{-1, ""},
		{100, "new content"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.keep), func(t *testing.T) {
			f, inner := newFS(t)
			require.NoError(t, f.WriteFile("f", []byte("old content, longer"), false))
			f.TearAt(1, tc.keep)
			err := f.WriteFile("f", []byte("new content"), true)
			require.ErrorIs(t, err, faultfs.ErrCrashed)
			assert.True(t, f.Crashed())
			assert.Equal(t, tc.want, read(t, inner, "f"))
		})
	}
}

func TestTearAppend(t *testing.T) {
	f, inner := newFS(t)
	log, err := f.OpenAppend("log")
	require.NoError(t, err)
	_, err = log.Write([]byte("abc"))
	require.NoError(t, err)

	f.TearAt(1, 2)
	n, err := log.Write([]byte("defg"))
	require.ErrorIs(t, err, faultfs.ErrCrashed)
	assert.Equal(t, 2, n, "the bytes that reached the file")
	assert.True(t, f.Crashed())
	assert.Equal(t, "abcde", read(t, inner, "log"))
}

func TestTearNonWriteAppliesNothing(t *testing.T) {
	f, inner := newFS(t)
	require.NoError(t, f.WriteFile("f", []byte("x"), false))
	f.TearAt(1, 1)
	require.ErrorIs(t, f.Remove("f"), faultfs.ErrCrashed)
	assert.True(t, f.Crashed())
	assert.Equal(t, "x", read(t, inner, "f"))
}

func TestReset(t *testing.T) {
	f, _ := newFS(t)
	old, err := f.OpenAppend("log")
	require.NoError(t, err)
	f.CrashAt(1)
	require.ErrorIs(t, f.MkdirAll("d"), faultfs.ErrCrashed)

	f.Reset()
	assert.False(t, f.Crashed())
	assert.Zero(t, f.Ops())
	_, err = old.Write([]byte("from the dead process"))
	assert.ErrorIs(t, err, faultfs.ErrCrashed, "handles opened before the crash stay dead")

	log, err := f.OpenAppend("log")
	require.NoError(t, err)
	_, err = log.Write([]byte("restarted"))
	require.NoError(t, err)
	require.NoError(t, log.Close())
	assert.Equal(t, "restarted", read(t, f, "log"))

	// Pending faults are forgotten too.
	f.FailAt(1, nil)
	f.CrashAt(2)
	f.Reset()
	for i := range 3 {
		require.NoError(t, f.WriteFile(fmt.Sprint(i), nil, false))
	}
}

func TestCrashTakesPrecedence(t *testing.T) {
	f, _ := newFS(t)
	f.FailAt(1, fsadapter.ErrNoSpace)
	f.TearAt(1, 1)
	f.CrashAt(1)
	err := f.WriteFile("f", []byte("x"), false)
	assert.ErrorIs(t, err, faultfs.ErrCrashed)
	assert.False(t, errors.Is(err, fsadapter.ErrNoSpace))
}

// TestCrashEverywhere shows the intended use: crash a workload at every
// operation in turn, with and without a torn write, then check that every
// acknowledged record survived and nothing else but a torn tail did.
func TestCrashEverywhere(t *testing.T) {
	const records = 4
	record := func(i int) string { return fmt.Sprintf("<record %d>", i) }
	// workload appends records, syncing each, and returns how many were
	// acknowledged before the first error.
	workload := func(fsys fsadapter.FS) (acked int) {
		if fsys.MkdirAll("db") != nil {
			return 0
		}
		log, err := fsys.OpenAppend("db/log")
		if err != nil {
			return 0
		}
		defer log.Close()
		for i := range records {
			if _, err := log.Write([]byte(record(i))); err != nil {
				return acked
			}
			if log.Sync() != nil {
				return acked
			}
			acked++
		}
		return acked
	}

	for _, torn := range []bool{false, true} {
		for n := 1; ; n++ {
			f, inner := newFS(t)
			if torn {
				f.TearAt(n, 5)
			} else {
				f.CrashAt(n)
			}
			acked := workload(f)
			if !f.Crashed() {
				assert.Equal(t, records, acked)
				assert.Equal(t, 1+2*records, n-1, "every operation was crashed at once")
				break
			}
			var want string
			for i := range acked {
				want += record(i)
			}
			got, err := inner.ReadFile("db/log")
			if errors.Is(err, fs.ErrNotExist) {
				require.Zero(t, acked)
				continue
			}
			require.NoError(t, err)
			assert.True(t, len(got) >= len(want) && string(got[:len(want)]) == want,
				"torn=%v n=%d: acknowledged records lost: %q", torn, n, got)
			assert.LessOrEqual(t, len(got), len(want)+len(record(acked)), "torn=%v n=%d: more than one record in flight", torn, n)
		}
	}
}

func TestReadRange(t *testing.T) {
	inner, err := memfs.New()
	require.NoError(t, err)
	f := faultfs.Wrap(inner)
	require.NoError(t, f.WriteFile("a", []byte("0123456789"), false))
	got, err := f.ReadRange("a", 3, 4)
	require.NoError(t, err)
	require.Equal(t, "3456", string(got))
	_, err = f.ReadRange("a", 8, 4)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = f.ReadRange("missing", 0, 1)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Equal(t, 1, f.Ops(), "reads are not counted")
	f.CrashAt(1)
	require.Error(t, f.WriteFile("b", nil, false))
	_, err = f.ReadRange("a", 0, 1)
	require.ErrorIs(t, err, faultfs.ErrCrashed)
}
