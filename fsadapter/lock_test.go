package fsadapter_test

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
)

// fakeLockFS is a map of files with an exclusive create, and a set of live pids.
type fakeLockFS struct {
	files map[string]string
	alive map[int]bool
}

func (f *fakeLockFS) ops(key string, self int) fsadapter.PIDLockOps {
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
		Self:  self,
		Alive: func(pid int) bool { return f.alive[pid] },
	}
}

func TestPIDLock(t *testing.T) {
	cases := []struct {
		name     string
		existing *string // lock file content before, nil for none
		locked   bool
	}{
		{"free", nil, false},
		{"held by a live process", ptr("42"), true},
		{"left by a dead process", ptr("43"), false},
		{"left by this process's dead engine", ptr("7"), false},
		{"empty (writer died before writing)", ptr(""), false},
		{"garbled", ptr("x\x00y"), false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLockFS{files: map[string]string{}, alive: map[int]bool{42: true, 7: true}}
			if tc.existing != nil {
				f.files["LOCK"] = *tc.existing
			}
			key := fmt.Sprintf("/db%d/LOCK", i)
			release, err := fsadapter.PIDLock("LOCK", f.ops(key, 7))
			if tc.locked {
				require.ErrorIs(t, err, fsadapter.ErrLocked)
				assert.Contains(t, err.Error(), "42")
				assert.Equal(t, *tc.existing, f.files["LOCK"], "a held lock is left alone")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "7", f.files["LOCK"])
			// A second holder in this process is refused although the pid is ours.
			_, err = fsadapter.PIDLock("LOCK", f.ops(key, 7))
			require.ErrorIs(t, err, fsadapter.ErrLocked)
			require.NoError(t, release())
			assert.NotContains(t, f.files, "LOCK")
			release, err = fsadapter.PIDLock("LOCK", f.ops(key, 7))
			require.NoError(t, err, "free again after release")
			require.NoError(t, release())
		})
	}
}

func ptr(s string) *string { return &s }
