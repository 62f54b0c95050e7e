package lsm_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
)

// segmentedStore leaves a closed store of n numbered batches in several
// runs of several segments each, plus a log of unflushed commits.
func segmentedStore(t *testing.T, n int) (fsadapter.FS, lsm.Options) {
	t.Helper()
	f := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 4 << 10, SegmentBytes: 2 << 10, BlockSize: 256}
	s := open(t, f, opts)
	for i := 1; i <= n; i++ {
		require.NoError(t, s.Apply(numberedBatch(i)))
	}
	st := s.Stats()
	require.Greater(t, st.Segments, 3)
	require.NoError(t, s.Close())
	return f, opts
}

func TestCorruptSegment(t *testing.T) {
	const n = 600
	base, opts := segmentedStore(t, n)
	segs := storeFiles(t, base, ".sst")
	require.NotEmpty(t, segs)
	damage := map[string]func([]byte) []byte{
		"flipped footer byte": func(d []byte) []byte { d[len(d)-20] ^= 1; return d },
		"flipped index byte":  func(d []byte) []byte { d[len(d)-200] ^= 1; return d },
		"truncated":           func(d []byte) []byte { return d[:len(d)-1] },
		"empty":               func([]byte) []byte { return nil },
		"flipped data byte":   func(d []byte) []byte { d[10] ^= 1; return d },
	}
	for _, victim := range []string{segs[0], segs[len(segs)-1]} {
		for name, fn := range damage {
			t.Run(victim+"/"+name, func(t *testing.T) {
				f := copyFS(t, base)
				data, err := f.ReadFile(victim)
				require.NoError(t, err)
				require.NoError(t, f.WriteFile(victim, fn(bytes.Clone(data)), false))
				s, err := lsm.Open(f, opts)
				if err == nil {
					// Data blocks are verified when read: reading
					// everything must hit the damage.
					it := s.NewIter(kv.IterOptions{})
					for it.Next() {
					}
					err = it.Close()
					require.NoError(t, s.Close())
				}
				require.ErrorIs(t, err, kv.ErrCorrupt)
				require.Contains(t, err.Error(), victim)
			})
		}
	}
	t.Run("missing", func(t *testing.T) {
		f := copyFS(t, base)
		require.NoError(t, f.Remove(segs[0]))
		_, err := lsm.Open(f, opts)
		require.ErrorIs(t, err, kv.ErrCorrupt)
		require.Contains(t, err.Error(), segs[0])
	})
}

func TestCorruptManifest(t *testing.T) {
	base, opts := segmentedStore(t, 600)
	mans := storeFiles(t, base, ".manifest")
	require.Len(t, mans, 1)
	victim := mans[0]
	for name, fn := range map[string]func([]byte) []byte{
		"flipped byte": func(d []byte) []byte { d[len(d)/2] ^= 1; return d },
		"torn":         func(d []byte) []byte { return d[:len(d)/2] },
		"empty":        func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			f := copyFS(t, base)
			data, err := f.ReadFile(victim)
			require.NoError(t, err)
			require.NoError(t, f.WriteFile(victim, fn(bytes.Clone(data)), false))
			// No older manifest is left to fall back to and the logs it
			// covered are gone: that is corruption, not an empty store.
			_, err = lsm.Open(f, opts)
			require.ErrorIs(t, err, kv.ErrCorrupt)
			require.Contains(t, err.Error(), victim)
		})
	}
}

// TestSnapshotKeepsSegments takes a snapshot, then compacts away every
// segment it reads: the snapshot still reads them, and the files go once it
// is released.
func TestSnapshotKeepsSegments(t *testing.T) {
	f := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 2 << 10, SegmentBytes: 1 << 10, BlockSize: 128}
	s := open(t, f, opts)
	for i := 1; i <= 200; i++ {
		require.NoError(t, s.Apply(numberedBatch(i)))
	}
	want := dump(t, s)
	snap := s.Snapshot()
	it := s.NewIter(kv.IterOptions{})
	before := storeFiles(t, f, ".sst")
	for i := 1; i <= 200; i++ {
		b := &kv.Batch{}
		b.Delete(numberedBatch(i).Ops()[0].Key)
		require.NoError(t, s.Apply(b))
	}
	require.NoError(t, s.Compact())
	require.Equal(t, want, dump(t, snap))
	n := 0
	for it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, len(want), n)
	still := storeFiles(t, f, ".sst")
	require.Subset(t, still, before, "segments a snapshot reads stay")
	snap.Release()
	for _, name := range storeFiles(t, f, ".sst") {
		require.NotContains(t, before, name, "released segments are deleted")
	}
	checkFiles(t, f, s)
	require.NoError(t, s.Close())
}

// TestDiskFull fills the disk for good in the middle of a workload with
// flushes: commits fail with ErrNoSpace and leave nothing behind, reads keep
// working, and once space comes back deletes, flushes and compactions go on.
func TestDiskFull(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ff := faultfs.Wrap(m.wrap(newMemFS(t)))
			opts := lsm.Options{MemtableBytes: 2 << 10, SegmentBytes: 1 << 10, BlockSize: 128}
			s := open(t, ff, opts)
			want := state{}
			for i := 1; i <= 100; i++ {
				b := numberedBatch(i)
				require.NoError(t, s.Apply(b))
				want.apply(b)
			}
			ff.FailFrom(1, fsadapter.ErrNoSpace)
			failed := 0
			for i := 101; i <= 160; i++ {
				err := s.Apply(numberedBatch(i))
				if err != nil {
					require.ErrorIs(t, err, fsadapter.ErrNoSpace)
					failed++
				}
				require.Equal(t, want, dump(t, s), "reads work on a full disk")
			}
			require.Equal(t, 60, failed)
			require.ErrorIs(t, s.Compact(), fsadapter.ErrNoSpace)
			require.Equal(t, want, dump(t, s))
			ff.Reset() // space freed
			b := &kv.Batch{}
			b.Delete(numberedBatch(1).Ops()[0].Key)
			require.NoError(t, s.Apply(b))
			want.apply(b)
			require.NoError(t, s.Compact())
			checkStore(t, s, want)
			require.NoError(t, s.Close())
			s = open(t, ff, opts)
			checkStore(t, s, want)
			checkFiles(t, ff, s)
			require.NoError(t, s.Close())
		})
	}
}

// Open reads no segment: a segment is opened (footer, index, filter) by its
// first read, and a lookup opens only the segments that may hold its key.
func TestSegmentsOpenOnFirstRead(t *testing.T) {
	base, opts := segmentedStore(t, 600)
	f := &blockReads{FS: base}
	s := open(t, f, opts)
	st := s.Stats()
	require.Greater(t, st.Segments, 3)
	require.Zero(t, f.reads, "segment reads during Open")
	require.Zero(t, st.IndexBytes, "no index or filter held before a read")
	v, err := s.Get([]byte("key00007"))
	require.NoError(t, err)
	require.Equal(t, "value-7", string(v))
	one := s.Stats().IndexBytes
	require.Positive(t, one)
	require.Positive(t, f.reads)
	it := s.NewIter(kv.IterOptions{})
	n := 0
	for it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, 601, n, "every key and \"last\" read back")
	require.Greater(t, s.Stats().IndexBytes, one, "the scan opened the rest")
}

// Open segments hold at most Options.IndexBytes (but for the one being
// read): reads past it close the least recently read ones and open them
// again when they need them, and every read still finds what it should.
func TestOpenSegmentsStayWithinIndexBytes(t *testing.T) {
	base, opts := segmentedStore(t, 600)
	s := open(t, base, opts)
	for i := 1; i <= 600; i += 3 {
		_, err := s.Get(fmt.Appendf(nil, "key%05d", i))
		require.NoError(t, err)
	}
	all := s.Stats()
	require.Zero(t, all.IndexCloses, "the default limit holds a small store's indexes")
	require.NoError(t, s.Close())

	opts.IndexBytes = all.IndexBytes / 3
	s = open(t, base, opts)
	for round := range 2 {
		for i := 1; i <= 600; i += 3 {
			v, err := s.Get(fmt.Appendf(nil, "key%05d", i))
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("value-%d", i), string(v))
		}
		it := s.NewIter(kv.IterOptions{Reverse: round == 1})
		n := 0
		for it.Next() {
			n++
		}
		require.NoError(t, it.Close())
		require.Equal(t, 601, n)
		st := s.Stats()
		require.LessOrEqual(t, st.IndexBytes, opts.IndexBytes+all.IndexBytes/int64(all.Segments)*2, "round %d", round)
		require.Positive(t, st.IndexCloses)
	}
}

// Readers opening the same segments at once (a lookup and scans from other
// goroutines, each opening what it reads first) see one consistent store,
// also while a small IndexBytes closes segments as fast as they open.
func TestSegmentsOpenConcurrently(t *testing.T) {
	for _, limit := range []int64{0, 1} {
		t.Run(fmt.Sprint("IndexBytes ", limit), func(t *testing.T) { segmentsOpenConcurrently(t, limit) })
	}
}

func segmentsOpenConcurrently(t *testing.T, limit int64) {
	base, opts := segmentedStore(t, 600)
	opts.IndexBytes = limit
	s := open(t, base, opts)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%2 == 0 {
				it := s.NewIter(kv.IterOptions{})
				n := 0
				for it.Next() {
					n++
				}
				if err := it.Close(); err != nil || n != 601 {
					errs <- fmt.Errorf("scan: %d keys, %v", n, err)
				}
				return
			}
			for i := 1 + g; i <= 600; i += 7 {
				v, err := s.Get(fmt.Appendf(nil, "key%05d", i))
				if err != nil || string(v) != fmt.Sprintf("value-%d", i) {
					errs <- fmt.Errorf("get %d: %q, %v", i, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A lookup that misses bytes the backend has not loaded in one run still
// reads the older runs, so one call names what every run needs; an older
// run's value is never the answer while a newer run was not read.
func TestLookupNamesEveryRunItMisses(t *testing.T) {
	cold := &coldSegments{FS: newMemFS(t), warm: true, loaded: map[string]bool{}, missed: map[string]bool{}}
	s := open(t, cold, lsm.Options{MemtableBytes: 1 << 10, BlockSize: 256})
	// Three runs whose key ranges all hold k001: the oldest has every key,
	// the two newer ones the even keys and the last one.
	for round := range 3 {
		b := &kv.Batch{}
		for i := 0; i < 200; i++ {
			if round == 0 || i%2 == 0 || i == 199 {
				b.Set(fmt.Appendf(nil, "k%03d", i), fmt.Appendf(nil, "v%d-%d", round, i))
			}
		}
		require.NoError(t, s.Apply(b))
		require.NoError(t, s.Apply(batchOf("pad", "flush")))
	}
	require.Equal(t, 3, s.Stats().Runs)
	require.NoError(t, s.Close())
	s = open(t, cold, lsm.Options{MemtableBytes: 1 << 10, BlockSize: 256})
	get := func(key string) (string, int) {
		cold.warm, cold.loaded = false, map[string]bool{}
		defer func() { cold.warm = true }() // the check after the test reads everything
		for runs := 1; ; runs++ {
			v, err := s.Get([]byte(key))
			if err == nil {
				return string(v), runs
			}
			require.ErrorIs(t, err, fsadapter.ErrNotResident)
			require.Less(t, runs, 20)
			cold.loadMissed()
		}
	}
	v, runs := get("k001")
	require.Equal(t, "v0-1", v, "only the oldest run holds it")
	require.Equal(t, 3, runs, "every run's index and filter in the first pass, the block in the second")
	v, runs = get("k002")
	require.Equal(t, "v2-2", v, "the newest value, not an older run's")
	require.Equal(t, 2, runs, "the newest run's block in the first pass: its segment is open")
}

// On a backend that loads bytes on demand, segments closed to stay within
// IndexBytes are opened again by the run of a call that needs them: with a
// limit that keeps one segment open, every lookup still converges on its
// value in a few runs, each run naming what it missed.
func TestClosedSegmentsReopenOnDemand(t *testing.T) {
	base, opts := segmentedStore(t, 600)
	cold := &coldSegments{FS: base, warm: true, loaded: map[string]bool{}, missed: map[string]bool{}}
	opts.IndexBytes = 1
	s := open(t, cold, opts)
	defer func() { cold.warm = true }() // the check after the test reads everything
	cold.warm = false
	for i := 1; i <= 600; i += 7 {
		for runs := 1; ; runs++ {
			v, err := s.Get(fmt.Appendf(nil, "key%05d", i))
			if err == nil {
				require.Equal(t, fmt.Sprintf("value-%d", i), string(v))
				break
			}
			require.ErrorIs(t, err, fsadapter.ErrNotResident)
			require.Less(t, runs, 20, "key %d", i)
			cold.loadMissed()
		}
	}
	st := s.Stats()
	require.Positive(t, st.IndexCloses)
	require.Less(t, st.IndexBytes, int64(64<<10))
}
