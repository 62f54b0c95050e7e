package lsm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/internal/recycle"
	"minibase/engine/kv"
	"minibase/engine/lsm"
)

func benchKey(i int) []byte { return fmt.Appendf(nil, "user/%015d", i) }

// BenchmarkApply1000 measures batches of 1,000 sets of 20-byte keys and
// 100-byte values, on the memory backend in both layouts.
func BenchmarkApply1000(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := open(b, m.wrap(newMemFS(b)), lsm.Options{})
			defer s.Close()
			value := make([]byte, 100)
			batch := &kv.Batch{}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset()
				for range 1000 {
					batch.Set(benchKey(i), value)
					i++
				}
				require.NoError(b, s.Apply(batch))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/key")
		})
	}
}

// BenchmarkApply1 measures one set per commit.
func BenchmarkApply1(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := open(b, m.wrap(newMemFS(b)), lsm.Options{})
			defer s.Close()
			value := make([]byte, 100)
			batch := &kv.Batch{}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset()
				batch.Set(benchKey(i%100000), value)
				i++
				require.NoError(b, s.Apply(batch))
			}
		})
	}
}

// BenchmarkGet measures point reads in a store of 300,000 keys, with a
// block cache large enough to hold them all once warm: the cost of the read
// path itself (memtable, bloom filters, index, block search). BenchmarkGetDisk
// measures reads of a store much larger than the cache.
func BenchmarkGet(b *testing.B) {
	s := open(b, newMemFS(b), lsm.Options{CacheBytes: 256 << 20})
	defer s.Close()
	const n = 300000
	batch := &kv.Batch{}
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = benchKey(i)
		batch.Set(keys[i], make([]byte, 100))
		if batch.Len() == 1000 {
			require.NoError(b, s.Apply(batch))
			batch = &kv.Batch{}
		}
	}
	for _, k := range keys {
		if _, err := s.Get(k); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(keys[i%n]); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
	st := s.Stats()
	b.ReportMetric(float64(st.CacheHits)/float64(max(st.CacheHits+st.CacheMisses, 1)), "hit-rate")
}

// BenchmarkOpen measures opening a compacted store of 300,000 keys: the
// manifest, and the index and bloom filter of every segment.
func BenchmarkOpen(b *testing.B) {
	f := newMemFS(b)
	s := open(b, f, lsm.Options{})
	batch := &kv.Batch{}
	for i := range 300000 {
		batch.Set(benchKey(i), make([]byte, 100))
		if batch.Len() == 1000 {
			require.NoError(b, s.Apply(batch))
			batch = &kv.Batch{}
		}
	}
	require.NoError(b, s.Compact())
	require.NoError(b, s.Close())
	for b.Loop() {
		s := open(b, f, lsm.Options{})
		require.NoError(b, s.Close())
	}
}

// BenchmarkScan measures a full forward scan of 200,000 keys with 100-byte
// values past a 1 MiB block cache (so it reads ahead): over one compacted
// run, and over four runs whose keys interleave, where the merge compares
// its sources at every key. B/op is what a scan allocates: its read
// buffers, not one per chunk read.
func BenchmarkScan(b *testing.B) {
	was := recycle.SetPoison(false) // the package's tests run poisoned; a benchmark must not
	defer recycle.SetPoison(was)
	const n = 200000
	for _, shape := range []struct {
		name string
		runs int
	}{{"one-run", 1}, {"interleaved", 4}} {
		b.Run(shape.name, func(b *testing.B) {
			s := open(b, newMemFS(b), lsm.Options{CacheBytes: 1 << 20, CompactInSteps: true})
			defer s.Close()
			value := make([]byte, 100)
			for r := range shape.runs {
				batch := &kv.Batch{}
				for i := r; i < n; i += shape.runs {
					batch.Set(benchKey(i), value)
					if batch.Len() == 1000 {
						require.NoError(b, s.Apply(batch))
						batch = &kv.Batch{}
					}
				}
				require.NoError(b, s.Apply(batch))
				if shape.runs == 1 {
					require.NoError(b, s.Compact())
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				it := s.NewIter(kv.IterOptions{})
				got := 0
				for it.Next() {
					got++
				}
				require.NoError(b, it.Close())
				require.Equal(b, n, got)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
			b.ReportMetric(float64(s.Stats().Runs), "runs")
		})
	}
}
