package fsadapter_test

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/hack-pad/hackpadfs"
	"github.com/hack-pad/hackpadfs/mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
)

// spyFS is hackpadfs/mem that counts the calls the adapter makes on files,
// pretends to sync, and can fail every Write with writeErr.
type spyFS struct {
	*mem.FS
	writes, fileSyncs, dirSyncs int
	writeErr                    error
}

func newSpy(t *testing.T) *spyFS {
	m, err := mem.NewFS()
	require.NoError(t, err)
	return &spyFS{FS: m}
}

func (s *spyFS) Open(name string) (hackpadfs.File, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &spyFile{File: f, fs: s}, nil
}

func (s *spyFS) OpenFile(name string, flag int, perm fs.FileMode) (hackpadfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &spyFile{File: f, fs: s}, nil
}

type spyFile struct {
	hackpadfs.File
	fs *spyFS
}

func (f *spyFile) Write(p []byte) (int, error) {
	f.fs.writes++
	if f.fs.writeErr != nil {
		return 0, f.fs.writeErr
	}
	return hackpadfs.WriteFile(f.File, p)
}

func (f *spyFile) Sync() error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		f.fs.dirSyncs++
	} else {
		f.fs.fileSyncs++
	}
	return nil
}

func (f *spyFile) Truncate(size int64) error { return hackpadfs.TruncateFile(f.File, size) }

func (f *spyFile) ReadDir(n int) ([]fs.DirEntry, error) { return hackpadfs.ReadDirFile(f.File, n) }

var syncCaps = fsadapter.Caps{Name: "spy", AppendCheap: true, Sync: true}

func TestWriteFileIsOneWriteCall(t *testing.T) {
	spy := newSpy(t)
	fsys := fsadapter.New(spy, syncCaps)

	require.NoError(t, fsys.WriteFile("f", make([]byte, 1<<20), false))
	assert.Equal(t, 1, spy.writes, "one Write for the whole file")

	require.NoError(t, fsys.WriteFile("empty", nil, false))
	assert.Equal(t, 1, spy.writes, "no Write for empty data")
	info, err := fsys.Stat("empty")
	require.NoError(t, err)
	assert.EqualValues(t, 0, info.Size())
}

func TestWriteFileSync(t *testing.T) {
	tests := []struct {
		name                  string
		caps                  bool // Caps.Sync
		sync                  bool // the sync argument
		exists                bool // the file is being replaced
		wantFile, wantDirSync int
	}{
		{"new file synced", true, true, false, 1, 1},
		{"replacement synced, directory unchanged", true, true, true, 1, 0},
		{"not asked", true, false, false, 0, 0},
		{"backend cannot sync", false, true, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spy := newSpy(t)
			fsys := fsadapter.New(spy, fsadapter.Caps{Name: "spy", Sync: tc.caps})
			if tc.exists {
				require.NoError(t, fsys.WriteFile("f", []byte("old"), false))
			}
			require.NoError(t, fsys.WriteFile("f", []byte("new"), tc.sync))
			assert.Equal(t, tc.wantFile, spy.fileSyncs, "file syncs")
			assert.Equal(t, tc.wantDirSync, spy.dirSyncs, "directory syncs")
		})
	}
}

func TestAppendSyncsDirectoryOnceWhenCreated(t *testing.T) {
	spy := newSpy(t)
	fsys := fsadapter.New(spy, syncCaps)

	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	_, err = f.Write([]byte("a"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	assert.Equal(t, 2, spy.fileSyncs)
	assert.Equal(t, 1, spy.dirSyncs, "the new name is synced once")

	f, err = fsys.OpenAppend("log")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	assert.Equal(t, 3, spy.fileSyncs)
	assert.Equal(t, 1, spy.dirSyncs, "an existing file's directory is not synced again")
}

func TestAppendSyncWithoutCapsIsNoop(t *testing.T) {
	spy := newSpy(t)
	fsys := fsadapter.New(spy, fsadapter.Caps{Name: "spy"})
	f, err := fsys.OpenAppend("log")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	assert.Zero(t, spy.fileSyncs+spy.dirSyncs)
}

func TestNoSpaceMapping(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		noSpace bool
	}{
		{"ENOSPC", &fs.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}, true},
		{"EDQUOT", syscall.EDQUOT, true},
		{"ErrNoSpace itself", fsadapter.ErrNoSpace, true},
		{"IndexedDB quota", errors.New("QuotaExceededError: The quota has been exceeded."), true},
		{"message only", errors.New("writeFileSync:fail the maximum size of the file storage limit is exceeded, no space"), true},
		{"other error", errors.New("EIO: i/o error"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spy := newSpy(t)
			spy.writeErr = tc.err
			fsys := fsadapter.New(spy, syncCaps)

			err := fsys.WriteFile("f", []byte("x"), false)
			require.Error(t, err)
			assert.Equal(t, tc.noSpace, errors.Is(err, fsadapter.ErrNoSpace), "WriteFile: %v", err)
			assert.ErrorIs(t, err, tc.err, "the original error stays matchable")
			assert.Contains(t, err.Error(), "fsadapter: write f: ")

			f, err := fsys.OpenAppend("log")
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Write([]byte("x"))
			require.Error(t, err)
			assert.Equal(t, tc.noSpace, errors.Is(err, fsadapter.ErrNoSpace), "AppendFile.Write: %v", err)
		})
	}
}

func TestErrorsKeepSentinels(t *testing.T) {
	fsys := fsadapter.New(newSpy(t), syncCaps)
	_, err := fsys.ReadFile("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "fsadapter: read missing: ")
	assert.False(t, errors.Is(err, fsadapter.ErrNoSpace))

	err = fsys.Remove("missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "fsadapter: remove missing: ")
}
