package lsm

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"minibase/engine/kv"
	"minibase/engine/value/valuetest"
)

// sortedOps agrees with a stable sort by bytes.Compare, on keys built to
// tie on long prefixes, to be prefixes of each other, to differ only in
// trailing zero bytes, and to repeat.
func TestSortedOpsMatchesBytesCompare(t *testing.T) {
	prefixes := [][]byte{nil, []byte("\x01\x00\x00\x00\x07"), bytes.Repeat([]byte{'p'}, 16), bytes.Repeat([]byte{'q'}, 31), bytes.Repeat([]byte{0}, 20)}
	base := valuetest.Seed(t)
	for seed := base; seed < base+50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 1 + rng.IntN(600)
		var b kv.Batch
		for range n {
			k := append([]byte(nil), prefixes[rng.IntN(len(prefixes))]...)
			for range rng.IntN(40) {
				k = append(k, byte(rng.IntN(3))) // small alphabet: many ties and zeros
			}
			if rng.IntN(4) == 0 && b.Len() > 0 {
				k = append([]byte(nil), b.Op(rng.IntN(b.Len())).Key...) // a repeat
			}
			b.Set(k, []byte{byte(b.Len())})
		}
		want := make([]int32, b.Len())
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(x, y int32) int { return bytes.Compare(b.Op(int(x)).Key, b.Op(int(y)).Key) })
		if got := sortedOps(b.Len(), b.Op); !slices.Equal(got, want) {
			t.Fatalf("seed %d: order differs from a stable byte sort", seed)
		}
	}
}

// FuzzSortedOps: any set of keys comes out in stable byte order.
func FuzzSortedOps(f *testing.F) {
	f.Add([]byte("a\x00b\x00\x00ab"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, width uint8) {
		w := int(width%40) + 1
		var b kv.Batch
		for len(data) > 0 {
			k := data[:min(w, len(data))]
			data = data[len(k):]
			b.Set(k, nil)
			w = w%40 + 1 + int(k[0]%3)
		}
		want := make([]int32, b.Len())
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(x, y int32) int { return bytes.Compare(b.Op(int(x)).Key, b.Op(int(y)).Key) })
		if got := sortedOps(b.Len(), b.Op); !slices.Equal(got, want) {
			t.Fatalf("order differs from a stable byte sort: %v vs %v", got, want)
		}
	})
}
