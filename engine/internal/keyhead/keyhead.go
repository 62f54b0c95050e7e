// Package keyhead compares byte-string keys by 16 of their bytes read as two
// big-endian integers (their heads), so that a search compares integers
// inline and calls bytes.Compare only when the heads tie.
//
// Under wasm every bytes.Compare is a call into a byte loop, and the
// engine's keys share their first 7 bytes (table and index ids): a single
// 8-byte head ties on nearly every comparison, two rarely do.
package keyhead

import (
	"bytes"
	"encoding/binary"
)

// At returns k[d:d+16] as two big-endian integers, zero-padded. Of two keys
// that agree on their first d bytes and whose heads at d differ, the one
// with the smaller heads is the smaller key (bytes.Compare).
func At(k []byte, d int) (uint64, uint64) {
	switch n := len(k) - d; {
	case n >= 16:
		return binary.BigEndian.Uint64(k[d:]), binary.BigEndian.Uint64(k[d+8:])
	case n >= 8:
		// The second head from the key's last 8 bytes, shifted past those
		// the first head holds (all of them when n is 8: a shift of 64 is
		// 0): no copy into a buffer, which is a call under wasm.
		return binary.BigEndian.Uint64(k[d:]), binary.BigEndian.Uint64(k[len(k)-8:]) << (8 * uint(16-n))
	}
	var buf [16]byte
	if d < len(k) {
		copy(buf[:], k[d:])
	}
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

// Of is At(k, 0).
func Of(k []byte) (uint64, uint64) { return At(k, 0) }

// CompareTail is bytes.Compare(a, b) for keys whose heads (Of) are equal.
func CompareTail(a, b []byte) int {
	if len(a) >= 16 && len(b) >= 16 {
		return bytes.Compare(a[16:], b[16:])
	}
	// A key shorter than 16 bytes ties with its zero-padded extensions.
	return bytes.Compare(a, b)
}

// Compare is bytes.Compare(a, b), deciding on the heads without a call into
// the byte loop when both keys have 16 bytes or more and their heads differ.
func Compare(a, b []byte) int {
	if len(a) >= 16 && len(b) >= 16 {
		if a0, b0 := binary.BigEndian.Uint64(a), binary.BigEndian.Uint64(b); a0 != b0 {
			return cmp(a0, b0)
		}
		if a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); a1 != b1 {
			return cmp(a1, b1)
		}
		return bytes.Compare(a[16:], b[16:])
	}
	return bytes.Compare(a, b)
}

// cmp compares two unequal integers: -1 when a < b, else 1.
func cmp(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
