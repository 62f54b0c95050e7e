//go:build !js

package osfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter"
	"minibase/fsadapter/fstest"
	"minibase/fsadapter/osfs"
)

func newFS(tb testing.TB) fsadapter.FS {
	fsys, err := osfs.New(tb.TempDir())
	require.NoError(tb, err)
	return fsys
}

func TestConformance(t *testing.T) {
	fstest.Run(t, newFS)
}

func TestCaps(t *testing.T) {
	assert.Equal(t, fsadapter.Caps{Name: "os", AppendCheap: true, Sync: true}, newFS(t).Caps())
}

func TestCreatesMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	fsys, err := osfs.New(root)
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("f", []byte("x"), true))
	got, err := os.ReadFile(filepath.Join(root, "f"))
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), got)
}

func TestRootIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := osfs.New(file)
	assert.Error(t, err)
}

// Names map to files under the root and nowhere else.
func TestFilesLandUnderRoot(t *testing.T) {
	root := t.TempDir()
	fsys, err := osfs.New(root)
	require.NoError(t, err)
	require.NoError(t, fsys.MkdirAll("db"))
	require.NoError(t, fsys.WriteFile("db/000001.sst", []byte("segment"), true))
	f, err := fsys.OpenAppend("db/000002.log")
	require.NoError(t, err)
	_, err = f.Write([]byte("record"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())

	got, err := os.ReadFile(filepath.Join(root, "db", "000001.sst"))
	require.NoError(t, err)
	assert.Equal(t, "segment", string(got))
	got, err = os.ReadFile(filepath.Join(root, "db", "000002.log"))
	require.NoError(t, err)
	assert.Equal(t, "record", string(got))
}

// A second adapter on the same root, as after a restart, sees everything.
func TestReopenSeesData(t *testing.T) {
	root := t.TempDir()
	first, err := osfs.New(root)
	require.NoError(t, err)
	require.NoError(t, first.MkdirAll("d"))
	require.NoError(t, first.WriteFile("d/f", []byte("persisted"), true))

	second, err := osfs.New(root)
	require.NoError(t, err)
	got, err := second.ReadFile("d/f")
	require.NoError(t, err)
	assert.Equal(t, []byte("persisted"), got)
}

// A relative root is resolved once, at New.
func TestRelativeRoot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	fsys, err := osfs.New("rel")
	require.NoError(t, err)
	require.NoError(t, fsys.WriteFile("f", []byte("x"), false))
	t.Chdir(t.TempDir())
	got, err := fsys.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), got)
	_, err = os.Stat(filepath.Join(dir, "rel", "f"))
	assert.NoError(t, err)
}

func TestLockAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	fsys, err := osfs.New(dir)
	require.NoError(t, err)
	l, ok := fsys.(fsadapter.Locker)
	require.True(t, ok, "the disk backend can be shared by processes, so it locks")
	release, err := l.Lock("LOCK")
	require.NoError(t, err)
	again, err := osfs.New(dir)
	require.NoError(t, err)
	_, err = again.(fsadapter.Locker).Lock("LOCK")
	require.ErrorIs(t, err, fsadapter.ErrLocked)
	require.NoError(t, release())
	release, err = again.(fsadapter.Locker).Lock("LOCK")
	require.NoError(t, err)
	require.NoError(t, release())

	// A lock file naming a process that does not run is taken over. The
	// largest pid Linux allows is 2^22; this one is above it.
	require.NoError(t, fsys.WriteFile("LOCK", []byte("4999999"), false))
	release, err = l.Lock("LOCK")
	require.NoError(t, err)
	require.NoError(t, release())
}
