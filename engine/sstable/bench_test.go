package sstable_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"minibase/engine/cache"
	"minibase/engine/sstable"
)

// BenchmarkGetHashed reads random keys of a 100,000-entry segment whose
// blocks are all cached: the search a point read does per segment. The keys
// have the engine's shape, a table prefix shared by all and a number (16
// bytes). Under wasm:
//
//	GOOS=js GOARCH=wasm go test -exec="$PWD/js/test/go-wasm-exec" -run '^$' -bench GetHashed ./engine/sstable
func BenchmarkGetHashed(b *testing.B) {
	const n = 100000
	key := func(i int) []byte {
		return binary.BigEndian.AppendUint64([]byte{0, 0, 0, 1, 0, 0, 1, 5}, uint64(i)+1<<62)
	}
	w := sstable.NewWriter(0, 0)
	v := make([]byte, 120)
	for i := range n {
		w.Add(key(i), v, false)
	}
	file := w.Finish()
	read := func(off int64, l int) ([]byte, error) { return append([]byte(nil), file[off:off+int64(l)]...), nil }
	r, err := sstable.Open("x", 1, int64(len(file)), read, cache.New(64<<20))
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 4096)
	hashes := make([]uint64, len(keys))
	for j := range keys {
		keys[j] = key(rand.IntN(n))
		hashes[j] = sstable.Hash(keys[j])
		if _, _, ok, err := r.GetHashed(keys[j], hashes[j]); !ok || err != nil {
			b.Fatal("not found", err)
		}
	}
	i := 0
	for b.Loop() {
		if _, _, ok, _ := r.GetHashed(keys[i&4095], hashes[i&4095]); !ok {
			b.Fatal("not found")
		}
		i++
	}
}
