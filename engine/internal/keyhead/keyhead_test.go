package keyhead

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// keys of every length around 8 and 16 bytes over 0x00, 0x01 and 0xff,
// prefixes of each other: the shapes where zero padding could mislead.
func keys() [][]byte {
	var out [][]byte
	var gen func(k []byte)
	gen = func(k []byte) {
		out = append(out, k)
		if len(k) < 19 && (len(k) < 5 || len(k)%4 == 0 || len(out)%5 == 0) {
			for _, c := range []byte{0, 1, 0xff} {
				gen(append(append([]byte(nil), k...), c))
			}
		}
	}
	gen(nil)
	return out
}

// Heads that differ order keys as bytes.Compare; heads that tie leave the
// order to CompareTail, which agrees with bytes.Compare; Compare is
// bytes.Compare; and At(k, d)
// orders keys agreeing on their first d bytes the same way.
func TestHeadsOrderAsBytes(t *testing.T) {
	ks := keys()
	if len(ks) < 500 {
		t.Fatalf("only %d keys", len(ks))
	}
	cmpHeads := func(a0, a1, b0, b1 uint64) int {
		switch {
		case a0 != b0 && a0 < b0, a0 == b0 && a1 < b1:
			return -1
		case a0 != b0, a1 > b1:
			return 1
		}
		return 0
	}
	for _, a := range ks {
		a0, a1 := Of(a)
		for _, b := range ks {
			b0, b1 := Of(b)
			want := bytes.Compare(a, b)
			got := cmpHeads(a0, a1, b0, b1)
			if got == 0 {
				got = CompareTail(a, b)
			}
			if got != want {
				t.Fatalf("%x and %x: %d, want %d", a, b, got, want)
			}
			if got := Compare(a, b); got != want {
				t.Fatalf("Compare(%x, %x) = %d, want %d", a, b, got, want)
			}
			for _, d := range []int{1, 3} {
				if len(a) < d || len(b) < d || !bytes.Equal(a[:d], b[:d]) {
					continue
				}
				x0, x1 := At(a, d)
				y0, y1 := At(b, d)
				if c := cmpHeads(x0, x1, y0, y1); c != 0 && c != want {
					t.Fatalf("%x and %x at %d: heads say %d, want %d", a, b, d, c, want)
				}
			}
		}
	}
}

// At is the key's bytes from d, zero-padded to 16, read as two big-endian
// integers, whatever the key's length (each length takes its own path).
func TestAtIsPaddedBytes(t *testing.T) {
	k := make([]byte, 24)
	for i := range k {
		k[i] = byte(0xa1 + 7*i)
	}
	for n := 0; n <= len(k); n++ {
		for d := 0; d <= n+1; d++ {
			var want [16]byte
			if d < n {
				copy(want[:], k[d:n])
			}
			got0, got1 := At(k[:n], d)
			if got0 != binary.BigEndian.Uint64(want[:8]) || got1 != binary.BigEndian.Uint64(want[8:]) {
				t.Fatalf("At(%d-byte key, %d) = %x %x, want %x", n, d, got0, got1, want)
			}
		}
	}
}
