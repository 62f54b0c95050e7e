package lsm_test

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/cache"
	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
)

// underMemoryPressure runs fn with the process's memory limit below its
// heap, where a flush copies nothing into the block cache (as a bulk load's
// flush, with the load's garbage still in the heap).
func underMemoryPressure(fn func()) {
	old := debug.SetMemoryLimit(1)
	defer debug.SetMemoryLimit(old)
	fn()
}

// loadCold writes n keys in one batch larger than the memtable (so it is
// flushed) under memory pressure, from key from on.
func loadCold(t *testing.T, s *lsm.Store, from, n int) {
	t.Helper()
	b := &kv.Batch{}
	for i := from; i < from+n; i++ {
		b.Set([]byte(fmt.Sprintf("key%05d", i)), []byte(fmt.Sprintf("value-%d", i)))
	}
	underMemoryPressure(func() { require.NoError(t, s.Apply(b)) })
}

// A flush that could not copy its blocks into the cache leaves them to
// WarmCache, which reads them into the cache's free room once the host has
// collected: the reads after it go to no storage, and the cache stays
// within its limit.
func TestWarmCacheAfterAColdFlush(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cacheBytes int64
		allCached  bool
	}{
		{"cache holds the run", 1 << 20, true},
		{"cache smaller than the run", 8 << 10, false},
		{"no cache", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &blockReads{FS: newMemFS(t)}
			s := open(t, fs, lsm.Options{CacheBytes: tc.cacheBytes, BlockSize: 1 << 10, MemtableBytes: 4 << 10})
			loadCold(t, s, 0, 2000)
			require.Zero(t, s.Stats().CacheBytes, "the flush under memory pressure primed nothing")
			require.NoError(t, s.WarmCache())
			st := s.Stats()
			if tc.cacheBytes > 0 {
				assert.Positive(t, st.CacheBytes)
				assert.LessOrEqual(t, st.CacheBytes, tc.cacheBytes, "warming stays within the limit")
			}
			checkReadsFromCache(t, s, fs, tc.allCached)
			reads := fs.reads
			require.NoError(t, s.WarmCache())
			assert.Equal(t, reads, fs.reads, "a second WarmCache has nothing left to read")
		})
	}
}

// What a compaction merged away since the flush is not warmed: its files
// are gone, and the merged run is not what was just written.
func TestWarmCacheSkipsMergedSegments(t *testing.T) {
	fs := &blockReads{FS: newMemFS(t)}
	s := open(t, fs, lsm.Options{CacheBytes: 1 << 20, BlockSize: 1 << 10, MemtableBytes: 4 << 10})
	loadCold(t, s, 0, 2000)
	loadCold(t, s, 5000, 2000)
	require.Equal(t, 2, s.Stats().Runs)
	require.NoError(t, s.Compact())
	require.Equal(t, 1, s.Stats().Runs)
	cached := s.Stats().CacheBytes
	reads := fs.reads
	require.NoError(t, s.WarmCache())
	assert.Equal(t, reads, fs.reads, "no segment read")
	assert.Equal(t, cached, s.Stats().CacheBytes)
}

// A damaged block fails WarmCache with ErrCorrupt, as a read of it would,
// and leaves the store serving what is intact.
func TestWarmCacheReportsDamage(t *testing.T) {
	mem := newMemFS(t)
	fs := &blockReads{FS: mem}
	s, err := lsm.Open(fs, lsm.Options{CacheBytes: 1 << 20, BlockSize: 1 << 10, MemtableBytes: 4 << 10})
	require.NoError(t, err)
	defer s.Close()
	loadCold(t, s, 0, 2000)
	seg := segmentNames(t, mem)
	require.NotEmpty(t, seg)
	data, err := mem.ReadFile(seg[0])
	require.NoError(t, err)
	data[len(data)/4] ^= 0xff // inside a data block, before the index
	require.NoError(t, mem.WriteFile(seg[0], data, false))

	err = s.WarmCache()
	require.ErrorIs(t, err, kv.ErrCorrupt)
	v, err := s.Get([]byte("key01999"))
	require.NoError(t, err, "the last key's block is intact")
	require.Equal(t, "value-1999", string(v))
}

// segmentNames lists the store's segment files.
func segmentNames(t *testing.T, fs fsadapter.FS) []string {
	t.Helper()
	names, err := fs.ReadDir(".")
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".sst") {
			out = append(out, n)
		}
	}
	return out
}

// The run a bulk load wrote is warmed into the cache's loan too, the cache
// keeping there what it evicts, so that the reads after the load go to no
// storage; a memtable's flush is warmed only into the cache's own room
// (in a stream of loads, each would read its run into a loan the next one
// takes back), and so is a load on a backend that loads on demand.
func TestWarmCacheFillsTheLoanAfterALoad(t *testing.T) {
	const cacheBytes = 8 << 10
	for _, tc := range []struct {
		name     string
		load     bool // one batch larger than the memtable, else many small ones
		onDemand bool
		loan     int64
		intoLoan bool
	}{
		{"a load, with a loan", true, false, 2 * cache.RingChunk, true},
		{"a load, without a loan", true, false, 0, false},
		{"a memtable's flush, with a loan", false, false, 2 * cache.RingChunk, false},
		{"a load on a backend that loads on demand, with a loan", true, true, 2 * cache.RingChunk, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &blockReads{FS: newMemFS(t), loadsOnDemand: tc.onDemand}
			s := open(t, fs, lsm.Options{CacheBytes: cacheBytes, BlockSize: 1 << 10, MemtableBytes: 16 << 10})
			if tc.load {
				loadCold(t, s, 0, 2000)
			} else {
				underMemoryPressure(func() {
					for i := 0; i < 2000; i += 10 {
						b := &kv.Batch{}
						for j := i; j < i+10; j++ {
							b.Set([]byte(fmt.Sprintf("key%05d", j)), []byte(fmt.Sprintf("value-%d", j)))
						}
						require.NoError(t, s.Apply(b))
					}
				})
				require.Positive(t, s.Stats().Flushes, "the memtable was flushed")
			}
			require.Equal(t, tc.loan, s.LendCache(tc.loan))
			require.NoError(t, s.WarmCache())
			st := s.Stats()
			if tc.intoLoan {
				assert.Greater(t, st.CacheBytes, int64(cacheBytes), "the loan holds part of the run")
				checkReadsFromCache(t, s, fs, true)
			} else {
				assert.Positive(t, st.CacheBytes)
				assert.LessOrEqual(t, st.CacheBytes, int64(cacheBytes), "warmed within the cache's own room")
			}
		})
	}
}
