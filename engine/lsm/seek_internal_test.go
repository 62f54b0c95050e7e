package lsm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/fsadapter/memfs"
)

// A run read by a compaction's scan (bulk reads, no seeking in its
// segments) still answers SeekGE, by stepping: a merge may hold any source.
func TestScanRunSourceSeeks(t *testing.T) {
	f, err := memfs.New()
	require.NoError(t, err)
	s, err := Open(f, Options{MemtableBytes: 4 << 10, SegmentBytes: 2 << 10, BlockSize: 256})
	require.NoError(t, err)
	defer s.Close()
	for i := 0; i < 600; i += 2 {
		b := &kv.Batch{}
		b.Set(fmt.Appendf(nil, "k%04d", i), fmt.Appendf(nil, "v%d", i))
		require.NoError(t, s.Apply(b))
	}
	require.NoError(t, s.Compact())
	s.mu.Lock()
	v := s.cur
	s.mu.Unlock()
	require.NotEmpty(t, v)
	src := newRunSource(v[0], nil, nil, false)
	src.scan = true
	require.Greater(t, len(src.segs), 1, "the run has several segments")
	// Ascending targets, the current key among them (it stays), a key
	// not held (the next one), across the run's segments.
	for _, target := range []int{0, 2, 2, 100, 377, 598} {
		want := target + target%2
		require.True(t, src.SeekGE(fmt.Appendf(nil, "k%04d", target)))
		require.Equal(t, fmt.Sprintf("k%04d", want), string(src.Key()))
	}
	require.False(t, src.SeekGE([]byte("k0599")))
	require.NoError(t, src.Err())
}
