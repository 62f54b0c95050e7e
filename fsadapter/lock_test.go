package fsadapter_test

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
)

// fakeLockFS is a map of files with an exclusive create, and a set of live
// pids with their start times.
type fakeLockFS struct {
	files map[string]string
	alive map[int]string // pid → start
}

// ops are the lock primitives of one engine instance of process self.
func (f *fakeLockFS) ops(key string, self int, instance string) fsadapter.PIDLockOps {
	return fsadapter.PIDLockOps{
		Key: key,
		CreateExclusive: func(name string, data []byte) error {
			if _, ok := f.files[name]; ok {
				return fmt.Errorf("create %s: %w", name, fs.ErrExist)
			}
			f.files[name] = string(data)
			return nil
		},
		ReadFile: func(name string) ([]byte, error) {
			d, ok := f.files[name]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return []byte(d), nil
		},
		Remove: func(name string) error {
			if _, ok := f.files[name]; !ok {
				return fs.ErrNotExist
			}
			delete(f.files, name)
			return nil
		},
		Self:     self,
		Alive:    func(pid int) bool { _, ok := f.alive[pid]; return ok },
		Start:    f.alive[self],
		StartOf:  func(pid int) string { return f.alive[pid] },
		Instance: instance,
	}
}

func lockFile(pid int, start, instance string) *string {
	s := fmt.Sprintf("minibase-lock 2\npid %d\nstart %s\ninstance %s\n", pid, start, instance)
	return &s
}

func TestPIDLock(t *testing.T) {
	cases := []struct {
		name     string
		existing *string // lock file content before, nil for none
		locked   string  // "" when the lock is taken, else what the error names
	}{
		{"free", nil, ""},
		{"held by a live process", lockFile(42, "proc:420", "a"), "process 42"},
		{"held by a live process, old format", ptr("42"), "process 42"},
		{"left by a dead process", lockFile(43, "proc:430", "a"), ""},
		{"left by a dead process, old format", ptr("43"), ""},
		{"left by a dead process whose pid a later process has", lockFile(42, "proc:1", "a"), ""},
		{"held by another engine instance in this process", lockFile(7, "proc:70", "other"), "another minibase engine"},
		{"left by an earlier process with this pid", lockFile(7, "proc:5", "other"), ""},
		{"left by this instance's unclosed store", lockFile(7, "proc:70", "me"), ""},
		{"left by this process's dead engine, old format", ptr("7"), ""},
		{"empty (writer died before writing)", ptr(""), ""},
		{"garbled", ptr("x\x00y"), ""},
		{"new format without an instance", ptr("minibase-lock 2\npid 42\n"), ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLockFS{files: map[string]string{}, alive: map[int]string{42: "proc:420", 7: "proc:70"}}
			if tc.existing != nil {
				f.files["LOCK"] = *tc.existing
			}
			key := fmt.Sprintf("/db%d/LOCK", i)
			release, err := fsadapter.PIDLock("LOCK", f.ops(key, 7, "me"))
			if tc.locked != "" {
				require.ErrorIs(t, err, fsadapter.ErrLocked)
				assert.Contains(t, err.Error(), tc.locked)
				assert.Equal(t, *tc.existing, f.files["LOCK"], "a held lock is left alone")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *lockFile(7, "proc:70", "me"), f.files["LOCK"])
			// A second holder in this instance is refused although the pid is ours.
			_, err = fsadapter.PIDLock("LOCK", f.ops(key, 7, "me"))
			require.ErrorIs(t, err, fsadapter.ErrLocked)
			require.NoError(t, release())
			assert.NotContains(t, f.files, "LOCK")
			release, err = fsadapter.PIDLock("LOCK", f.ops(key, 7, "me"))
			require.NoError(t, err, "free again after release")
			require.NoError(t, release())
		})
	}
}

// Two engine instances in one process (worker threads, or the JS module
// loaded through both import and require) see the same pid; the second must
// not take the first one's lock as stale, and gets it once the first closes.
func TestPIDLockKeepsOutASecondInstanceOfThisProcess(t *testing.T) {
	f := &fakeLockFS{files: map[string]string{}, alive: map[int]string{7: "proc:70"}}
	// Each instance has its own record of held locks; distinct keys stand
	// for the two instances' separate globals.
	releaseA, err := fsadapter.PIDLock("LOCK", f.ops("/a/LOCK", 7, "instance-a"))
	require.NoError(t, err)
	_, err = fsadapter.PIDLock("LOCK", f.ops("/b/LOCK", 7, "instance-b"))
	require.ErrorIs(t, err, fsadapter.ErrLocked)
	require.NoError(t, releaseA())
	releaseB, err := fsadapter.PIDLock("LOCK", f.ops("/b/LOCK", 7, "instance-b"))
	require.NoError(t, err)
	require.NoError(t, releaseB())
}

func TestSameStart(t *testing.T) {
	assert.True(t, fsadapter.SameStart("proc:5", "proc:5"))
	assert.False(t, fsadapter.SameStart("proc:5", "proc:6"))
	assert.True(t, fsadapter.SameStart("", "proc:6"), "unknown matches: never take a lock on a guess")
	assert.True(t, fsadapter.SameStart("ms:100000", "ms:101500"), "wall-clock readings jitter")
	assert.False(t, fsadapter.SameStart("ms:100000", "ms:190000"))
	assert.False(t, fsadapter.SameStart("ms:100000", "proc:100000"))
	assert.False(t, fsadapter.SameStart("ms:x", "ms:1"))
}

func TestProcStatStart(t *testing.T) {
	stat := "1234 (node (a) b) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 11 0 33491 1000 100\n"
	start, ok := fsadapter.ProcStatStart([]byte(stat))
	require.True(t, ok)
	assert.Equal(t, "proc:33491", start)
	for _, bad := range []string{"", "1234 (x", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 1 1 0 0 0 5 3 0 0 20 0 11 0 zz 1"} {
		_, ok := fsadapter.ProcStatStart([]byte(bad))
		assert.False(t, ok, "%q", bad)
	}
}

func ptr(s string) *string { return &s }
