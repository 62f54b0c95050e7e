package memfs_test

import (
	"testing"

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
