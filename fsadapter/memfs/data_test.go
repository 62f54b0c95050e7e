package memfs

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"minibase/engine/value/valuetest"
)

// fileData agrees with a plain byte slice under random appends (of sizes
// around and past a chunk), truncations (shrinking into the middle of a
// chunk, to zero, and growing) and reads across chunk boundaries.
func TestFileDataMatchesSlice(t *testing.T) {
	base := valuetest.Seed(t)
	for seed := base; seed < base+10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		var d fileData
		var want []byte
		for step := range 200 {
			switch rng.IntN(6) {
			case 0, 1, 2:
				p := make([]byte, []int{1, 100, minChunk - 1, minChunk + 7, 3 * minChunk, maxChunk + 3}[rng.IntN(6)])
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				d.append(p)
				want = append(want, p...)
			case 3:
				size := int64(rng.IntN(len(want) + 1))
				if rng.IntN(5) == 0 {
					size = int64(len(want) + rng.IntN(3*minChunk))
				}
				d.truncate(size)
				if size <= int64(len(want)) {
					want = want[:size:size]
				} else {
					want = append(want, make([]byte, size-int64(len(want)))...)
				}
			default:
				if len(want) == 0 {
					continue
				}
				off := rng.IntN(len(want))
				n := rng.IntN(len(want) - off + 1)
				if got := d.read(int64(off), n); !bytes.Equal(got, want[off:off+n]) {
					t.Fatalf("seed %d step %d: read(%d, %d) differs", seed, step, off, n)
				}
			}
			if d.size != int64(len(want)) {
				t.Fatalf("seed %d step %d: size %d, want %d", seed, step, d.size, len(want))
			}
		}
		if !bytes.Equal(d.read(0, int(d.size)), want) {
			t.Fatalf("seed %d: contents differ", seed)
		}
	}
}
