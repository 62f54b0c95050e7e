package kv

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value/valuetest"
)

// SortedOrder agrees with a stable sort by bytes.Compare (keeping only the
// last write of each key with lastOnly) on keys built to tie on long
// prefixes, to be prefixes of each other, to differ only in trailing zero
// bytes, and to repeat; and on batches sorted but for a tail of each length
// around the one it merges instead of sorting.
func TestSortedOrderMatchesBytesCompare(t *testing.T) {
	prefixes := [][]byte{nil, []byte("\x01\x00\x00\x00\x07"), bytes.Repeat([]byte{'p'}, 16), bytes.Repeat([]byte{'q'}, 31), bytes.Repeat([]byte{0}, 20)}
	base := valuetest.Seed(t)
	for seed := base; seed < base+80; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 1 + rng.IntN(600)
		var keys [][]byte
		for range n {
			k := append([]byte(nil), prefixes[rng.IntN(len(prefixes))]...)
			for range rng.IntN(40) {
				k = append(k, byte(rng.IntN(3))) // small alphabet: many ties and zeros
			}
			if rng.IntN(4) == 0 && len(keys) > 0 {
				k = append([]byte(nil), keys[rng.IntN(len(keys))]...) // a repeat
			}
			keys = append(keys, k)
		}
		if seed%2 == 0 {
			// Sorted and distinct, then a tail of random keys (some repeats of the prefix's).
			slices.SortFunc(keys, bytes.Compare)
			keys = slices.CompactFunc(keys, bytes.Equal)
			tail := []int{0, 1, 2, sortedTailMax - 1, sortedTailMax, sortedTailMax + 1}[rng.IntN(6)]
			for range tail {
				keys = append(keys, append([]byte(nil), keys[rng.IntN(len(keys))]...))
				if rng.IntN(2) == 0 {
					keys[len(keys)-1] = append(keys[len(keys)-1], byte(rng.IntN(3)))
				}
			}
		}
		var b Batch
		for _, k := range keys {
			b.Set(k, []byte{byte(b.Len())})
		}
		for _, lastOnly := range []bool{true, false} {
			want := stableOrder(&b, lastOnly)
			if got := SortedOrder(b.Len(), b.Key, lastOnly); !slices.Equal(got, want) {
				t.Fatalf("seed %d lastOnly %v: order differs from a stable byte sort", seed, lastOnly)
			}
		}
	}
}

// FuzzSortedOrder: any set of keys comes out in byte order, one per key.
func FuzzSortedOrder(f *testing.F) {
	f.Add([]byte("a\x00b\x00\x00ab"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, width uint8) {
		w := int(width%40) + 1
		var b Batch
		for len(data) > 0 {
			k := data[:min(w, len(data))]
			data = data[len(k):]
			b.Set(k, nil)
			w = w%40 + 1 + int(k[0]%3)
		}
		want := stableOrder(&b, true)
		if got := SortedOrder(b.Len(), b.Key, true); !slices.Equal(got, want) {
			t.Fatalf("order differs from a stable byte sort: %v vs %v", got, want)
		}
	})
}

// stableOrder sorts the batch's positions stably by key and, with
// lastOnly, keeps the last write of each key: what SortedOrder must return.
func stableOrder(b *Batch, lastOnly bool) []int32 {
	pos := make([]int32, b.Len())
	for i := range pos {
		pos[i] = int32(i)
	}
	slices.SortStableFunc(pos, func(x, y int32) int { return bytes.Compare(b.Key(int(x)), b.Key(int(y))) })
	var out []int32
	for j, p := range pos {
		if lastOnly && j+1 < len(pos) && bytes.Equal(b.Key(int(p)), b.Key(int(pos[j+1]))) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// sortEntries sorts any order of entries (random, sorted, reversed, all
// heads equal, few distinct heads) at every recursion budget, including
// none (the fallback).
func TestSortEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(valuetest.Seed(t), 9))
	shapes := map[string]func(i, n int) sortEntry{
		"random":   func(i, n int) sortEntry { return sortEntry{h1: rng.Uint64(), h2: rng.Uint64()} },
		"sorted":   func(i, n int) sortEntry { return sortEntry{h1: uint64(i)} },
		"reversed": func(i, n int) sortEntry { return sortEntry{h1: uint64(n - i)} },
		"equal":    func(i, n int) sortEntry { return sortEntry{h1: 7, h2: 7} },
		"few":      func(i, n int) sortEntry { return sortEntry{h1: uint64(rng.IntN(3)), fin: rng.IntN(2) == 0} },
	}
	for name, shape := range shapes {
		for _, n := range []int{0, 1, 2, 17, 100, 5000} {
			for _, depth := range []int{0, 1, 64} {
				a := make([]sortEntry, n)
				for i := range a {
					a[i] = shape(i, n)
					a[i].i = int32(rng.IntN(1 << 30)) // positions are distinct in use; ties here test totality
				}
				want := slices.Clone(a)
				slices.SortStableFunc(want, compareEntries)
				sortEntries(a, depth)
				if !slices.IsSortedFunc(a, compareEntries) {
					t.Fatalf("%s n=%d depth=%d: not sorted", name, n, depth)
				}
				if !slices.EqualFunc(a, want, func(x, y sortEntry) bool { return compareEntries(x, y) == 0 }) {
					t.Fatalf("%s n=%d depth=%d: not a permutation of the input", name, n, depth)
				}
			}
		}
	}
}

// sortHeads, radix or quicksort, leaves entries given in position order in
// lessEntry order: heads differing in a few low bytes (the radix case),
// in every byte (the quicksort), finished and unfinished keys mixed, all
// equal, and sizes around the radix threshold.
func TestSortHeads(t *testing.T) {
	rng := rand.New(rand.NewPCG(valuetest.Seed(t), 11))
	shapes := map[string]func(i, n int) sortEntry{
		"low bytes": func(i, n int) sortEntry { return sortEntry{h1: 0x0107 << 48, h2: uint64(rng.IntN(5000))} },
		"one byte":  func(i, n int) sortEntry { return sortEntry{h1: uint64(rng.IntN(256)) << 40, h2: 9} },
		"random":    func(i, n int) sortEntry { return sortEntry{h1: rng.Uint64(), h2: rng.Uint64()} },
		"reversed":  func(i, n int) sortEntry { return sortEntry{h1: uint64(n - i)} },
		"equal":     func(i, n int) sortEntry { return sortEntry{h1: 7, h2: 7} },
		"fin mix": func(i, n int) sortEntry {
			if rng.IntN(3) == 0 {
				return sortEntry{h2: uint64(rng.IntN(17)), fin: true}
			}
			return sortEntry{h1: uint64(rng.IntN(4)) << 56, h2: uint64(rng.IntN(300))}
		},
	}
	for name, shape := range shapes {
		for _, n := range []int{radixMin - 1, radixMin, 1000, 40000} {
			a := make([]sortEntry, n)
			for i := range a {
				a[i] = shape(i, n)
				a[i].i = int32(i)
			}
			want := slices.Clone(a)
			slices.SortStableFunc(want, compareEntries)
			sortHeads(a)
			if !slices.Equal(a, want) {
				t.Fatalf("%s n=%d: not the stable order", name, n)
			}
		}
	}
}

// A batch assembled from sorted runs (AppendSorted) sorts as any batch
// does, whether the runs follow each other or not, with writes added after.
func TestBatchSortedOrderAfterAppendSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(valuetest.Seed(t), 3))
	for round := 0; round < 200; round++ {
		var b Batch
		for range rng.IntN(4) {
			var run Batch
			for range rng.IntN(50) {
				run.Set([]byte{byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}, nil)
			}
			b.AppendSorted(&run, SortedOrder(run.Len(), run.Key, true))
		}
		for range rng.IntN(3) * rng.IntN(40) {
			b.Set([]byte{byte(rng.IntN(4)), byte(rng.IntN(256))}, nil)
		}
		if rng.IntN(4) == 0 && b.Len() > 0 {
			m := b.Mark()
			b.Set([]byte{9}, nil)
			b.Truncate(m)
		}
		for _, lastOnly := range []bool{true, false} {
			require.True(t, slices.Equal(stableOrder(&b, lastOnly), b.SortedOrder(lastOnly)), "round %d", round)
		}
	}
}

// Appending a whole batch in its own order to an empty one takes it over
// (no copy of its refs); the result reads as any Append's, and both
// batches go on taking writes apart.
func TestBatchAppendWholeInOrder(t *testing.T) {
	var src, other Batch
	for i := range 40 {
		src.Set([]byte{byte(i)}, []byte{byte(100 + i)})
		other.Set([]byte{200, byte(i)}, nil)
	}
	want := append(src.Ops(), other.Ops()...)
	var out Batch
	out.AppendSorted(&src, identity(src.Len()))
	require.Zero(t, src.Len())
	out.AppendSorted(&other, identity(other.Len()))
	require.Equal(t, want, out.Ops())
	require.True(t, slices.Equal(identity(out.Len()), out.SortedOrder(true)))
	src.Set([]byte("again"), nil)
	out.Set([]byte{255}, []byte("x"))
	require.Equal(t, 1, src.Len())
	require.Equal(t, 81, out.Len())
	require.Equal(t, want, out.Ops()[:80])
}
