//go:build !wasm

package lsm_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/osfs"
)

// TestLargerThanCache stores about ten times the block cache on disk and
// reads it all back by scans and point lookups. The cache never holds more
// than its limit; heap numbers are logged, not asserted (they depend on the
// collector's timing).
func TestLargerThanCache(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few MB to disk")
	}
	f, err := osfs.New(t.TempDir())
	require.NoError(t, err)
	const cacheBytes = 256 << 10
	opts := lsm.Options{CacheBytes: cacheBytes, MemtableBytes: 256 << 10, SegmentBytes: 256 << 10}
	s := open(t, f, opts)
	value := bytes.Repeat([]byte("v"), 90)
	const n = 30000
	b := &kv.Batch{}
	for i := 0; i < n; i++ {
		b.Set(fmt.Appendf(nil, "key%08d", i), value)
		if b.Len() == 500 {
			require.NoError(t, s.Apply(b))
			b = &kv.Batch{}
		}
	}
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())
	s = open(t, f, opts)
	defer s.Close()
	st := s.Stats()
	require.Greater(t, st.DiskBytes, int64(10*cacheBytes))
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	start := heap()
	var peak uint64
	it := s.NewIter(kv.IterOptions{})
	count := 0
	for it.Next() {
		count++
		if count%5000 == 0 {
			peak = max(peak, heap())
			require.LessOrEqual(t, s.Stats().CacheBytes, int64(cacheBytes))
		}
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, count)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		k := r.IntN(n)
		v, err := s.Get(fmt.Appendf(nil, "key%08d", k))
		require.NoError(t, err)
		require.Equal(t, value, v)
		if i%1000 == 0 {
			peak = max(peak, heap())
		}
	}
	st = s.Stats()
	require.LessOrEqual(t, st.CacheBytes, int64(cacheBytes))
	require.Greater(t, st.CacheMisses, int64(0))
	t.Logf("disk %d bytes, cache limit %d, cache %d, index+bloom %d, heap after open %d, peak heap while reading %d, hits %d misses %d",
		st.DiskBytes, cacheBytes, st.CacheBytes, st.IndexBytes, start, peak, st.CacheHits, st.CacheMisses)
}

// rangeFS adds the range reads the store uses when a backend offers them
// (lsm.RangeReader) to osfs, which lacks them, so benchmarks can compare
// both ways of reading a block.
type rangeFS struct {
	fsadapter.FS
	root string
}

func (r rangeFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	f, err := os.Open(filepath.Join(r.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// BenchmarkGetDisk measures point reads of random keys in a store of
// 1,000,000 keys (about 16 times the default 8 MB block cache) on disk,
// with and without range reads.
func BenchmarkGetDisk(b *testing.B) {
	dir := b.TempDir()
	base, err := osfs.New(dir)
	require.NoError(b, err)
	const n = 1000000
	s := open(b, base, lsm.Options{})
	batch := &kv.Batch{}
	value := make([]byte, 100)
	for i := range n {
		batch.Set(benchKey(i), value)
		if batch.Len() == 1000 {
			require.NoError(b, s.Apply(batch))
			batch = &kv.Batch{}
		}
	}
	require.NoError(b, s.Compact())
	st := s.Stats()
	b.Logf("%d keys: %d bytes on disk in %d segments, %d bytes written while loading", n, st.DiskBytes, st.Segments, st.BytesWritten)
	require.NoError(b, s.Close())
	for _, tc := range []struct {
		name string
		fs   fsadapter.FS
	}{{"range", rangeFS{base, dir}}, {"whole-file", base}} {
		b.Run(tc.name, func(b *testing.B) {
			s := open(b, tc.fs, lsm.Options{})
			defer s.Close()
			r := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				if _, err := s.Get(benchKey(r.IntN(n))); err != nil {
					b.Fatal(err)
				}
			}
			st := s.Stats()
			b.ReportMetric(float64(st.CacheHits)/float64(max(st.CacheHits+st.CacheMisses, 1)), "hit-rate")
		})
	}
}

// BenchmarkLoadDisk measures loading 1,000,000 keys of 100-byte values in
// batches of 1,000 on disk, flushes and compactions included.
func BenchmarkLoadDisk(b *testing.B) {
	for b.Loop() {
		f, err := osfs.New(b.TempDir())
		require.NoError(b, err)
		s := open(b, f, lsm.Options{})
		batch := &kv.Batch{}
		value := make([]byte, 100)
		for i := range 1000000 {
			batch.Set(benchKey(i*7919%1000000), value)
			if batch.Len() == 1000 {
				require.NoError(b, s.Apply(batch))
				batch = &kv.Batch{}
			}
		}
		st := s.Stats()
		b.ReportMetric(float64(st.BytesWritten)/float64(1000000*(20+100)), "write-amp")
		require.NoError(b, s.Close())
	}
}

// A flush or a merge of a few KB sizes its segment buffer for what it
// writes, not for SegmentBytes: a small flush (a checkpoint's, a close's)
// allocated a whole segment's room each time.
func TestSmallFlushAllocatesForItsSize(t *testing.T) {
	f, err := osfs.New(t.TempDir())
	require.NoError(t, err)
	s := open(t, f, lsm.Options{SegmentBytes: 64 << 20})
	defer s.Close()
	allocated := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for round := range 3 {
		b := &kv.Batch{}
		for i := range 100 {
			b.Set(fmt.Appendf(nil, "key%d-%03d", round, i), []byte("value"))
		}
		require.NoError(t, s.Apply(b))
		// Compact flushes the memtable and merges the new run into the last.
		n := allocated(func() { require.NoError(t, s.Compact()) })
		require.Less(t, n, uint64(4<<20), "round %d: a flush and merge of 2 KB allocated %d bytes", round, n)
	}
	require.Equal(t, 1, s.Stats().Runs)
}
