package lsm_test

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
)

// scanBufOptions make a store whose scans read ahead past a cache that
// holds nearly nothing, over segments of several read-ahead chunks each
// (256 KiB), which put what blocks fit in the cache's free room there
// (copies, or point reads later read a recycled buffer), and whose
// compactions read every input in several chunks: the
// read buffers are recycled many times per walk (and poisoned on the way,
// see poison_test.go).
var scanBufOptions = lsm.Options{
	MemtableBytes:  512 << 10,
	SegmentBytes:   700 << 10,
	BlockSize:      1 << 10,
	CacheBytes:     64 << 10, // a hundredth of the data
	CompactInSteps: true,     // runs pile up until the test merges them
}

// scanBufKey is key i: fixed width, so that key order is number order.
func scanBufKey(i int) []byte { return fmt.Appendf(nil, "key%07d", i) }

// fillOverlapping writes n keys over rounds interleaved runs: round r
// writes every key i with i%rounds == r (and overwrites or deletes a few
// of the earlier rounds'), each round flushed as a run of its own, so that
// a merged walk switches source at nearly every key and compares the
// other sources against the key it just stepped past.
func fillOverlapping(t *testing.T, s *lsm.Store, r *rand.Rand, n, rounds int, want state) {
	t.Helper()
	for round := range rounds {
		b := &kv.Batch{}
		for i := round; i < n; i += rounds {
			v := bytes.Repeat([]byte{byte('a' + round)}, 20+r.IntN(120))
			v = fmt.Appendf(v, "/%d/%d", i, round)
			b.Set(scanBufKey(i), v)
			if round > 0 && r.IntN(8) == 0 {
				j := r.IntN(n)
				if r.IntN(2) == 0 {
					b.Delete(scanBufKey(j))
				} else {
					b.Set(scanBufKey(j), fmt.Appendf(nil, "over/%d/%d", j, round))
				}
			}
			if b.Len() >= 500 {
				require.NoError(t, s.Apply(b))
				want.apply(b)
				b = &kv.Batch{}
			}
		}
		require.NoError(t, s.Apply(b))
		want.apply(b)
	}
}

// scanAll walks [lo, hi) forward or in reverse, through Walk when walk is
// set, and returns the entries as a state, checking order on the way.
func scanAll(t *testing.T, s *lsm.Store, lo, hi []byte, reverse, walk bool) state {
	t.Helper()
	it := s.NewIter(kv.IterOptions{Lower: lo, Upper: hi, Reverse: reverse})
	got := state{}
	var prev string
	visit := func(k, v []byte) bool {
		if prev != "" {
			if reverse {
				require.Greater(t, prev, string(k))
			} else {
				require.Less(t, prev, string(k))
			}
		}
		prev = string(k)
		got[prev] = string(v)
		return true
	}
	if w, ok := it.(kv.Walker); ok && walk {
		w.Walk(visit)
	} else {
		for it.Next() && visit(it.Key(), it.Value()) {
		}
	}
	require.NoError(t, it.Close())
	return got
}

// within is the part of want in [lo, hi).
func within(want state, lo, hi []byte) state {
	out := state{}
	for k, v := range want {
		if (lo == nil || k >= string(lo)) && (hi == nil || k < string(hi)) {
			out[k] = v
		}
	}
	return out
}

// TestScanBuffersAgainstModel walks, merges and compacts multi-segment
// stores with interleaved runs, with poisoned read buffers, and compares
// every walk with a map: a merge that compared against a key whose buffer
// was recycled, a block cached without being copied out of one, or a
// consumer (the compaction's writer, the iterators' wrappers) keeping a
// slice into one reads garbage and fails here.
func TestScanBuffersAgainstModel(t *testing.T) {
	seed := modelSeed(t)
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	n := 40000
	if testing.Short() {
		n = 15000
	}
	s := open(t, newMemFS(t), scanBufOptions)
	defer func() { _ = s.Close() }()
	want := state{}
	fillOverlapping(t, s, r, n, 4, want)
	require.Greater(t, s.Stats().Runs, 2, "the walks must merge several runs")

	check := func(stage string) {
		t.Helper()
		for _, walk := range []bool{false, true} {
			require.Equal(t, want, scanAll(t, s, nil, nil, false, walk), "%s: forward, walk %v", stage, walk)
		}
		require.Equal(t, want, scanAll(t, s, nil, nil, true, false), "%s: reverse", stage)
		// Point reads, in key order, find the blocks scans cached.
		keys := slices.Sorted(maps.Keys(want))
		for _, k := range keys {
			v, err := s.Get([]byte(k))
			require.NoError(t, err, "%s: get %s", stage, k)
			require.Equal(t, want[k], string(v), "%s: get %s", stage, k)
		}
		for range 3 {
			a, b := r.IntN(n), r.IntN(n)
			lo, hi := scanBufKey(min(a, b)), scanBufKey(max(a, b))
			require.Equal(t, within(want, lo, hi), scanAll(t, s, lo, hi, false, true), "%s: [%s, %s)", stage, lo, hi)
		}
	}
	check("runs")

	// Compaction steps walk their inputs with read-ahead iterators.
	for range 3 {
		more, err := s.CompactStep()
		require.NoError(t, err)
		if !more {
			break
		}
	}
	check("after compaction steps")

	// Writes since, in the memtable, then a whole compaction: scan
	// iterators reading chunks, feeding the segment writer.
	fillOverlapping(t, s, r, n/2, 2, want)
	check("memtable over runs")
	require.NoError(t, s.Compact())
	require.Equal(t, 1, s.Stats().Runs)
	check("compacted")
}

// TestPoisonedBufferCatchesStaleSlice shows what the test above relies on:
// a slice kept past the iterators' contract (here, the first key of a
// scan, kept while the scan reads on for several read-ahead chunks) no
// longer holds the bytes it did.
func TestPoisonedBufferCatchesStaleSlice(t *testing.T) {
	s := open(t, newMemFS(t), scanBufOptions)
	defer func() { _ = s.Close() }()
	want := state{}
	fillOverlapping(t, s, rand.New(rand.NewPCG(1, 2)), 20000, 1, want)
	require.NoError(t, s.Compact())
	it := s.NewIter(kv.IterOptions{})
	var kept []byte // deliberately not copied
	var keptCopy string
	n := 0
	for it.Next() {
		if n == 100 { // past the first blocks, which come through the cache
			kept, keptCopy = it.Key(), string(it.Key())
		}
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, len(want), n)
	require.NotEqual(t, keptCopy, string(kept), "a key kept past two chunks still reads as it was")
}
