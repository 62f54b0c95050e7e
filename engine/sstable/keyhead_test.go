package sstable

import (
	"bytes"
	"testing"
)

// Of two keys whose heads differ, the smaller head is the smaller key
// (findBlock compares bytes only on equal heads): keys of every length
// around 8 bytes, zeros included, prefixes of each other.
func TestKeyHeadOrdersAsBytes(t *testing.T) {
	var keys [][]byte
	var gen func(k []byte)
	gen = func(k []byte) {
		keys = append(keys, k)
		if len(k) < 10 && (len(k) < 6 || len(keys)%3 == 0) {
			for _, c := range []byte{0, 1, 0xff} {
				gen(append(append([]byte(nil), k...), c))
			}
		}
	}
	gen(nil)
	for _, a := range keys {
		for _, b := range keys {
			ha, hb := keyHead(a), keyHead(b)
			if ha < hb && bytes.Compare(a, b) >= 0 || ha > hb && bytes.Compare(a, b) <= 0 {
				t.Fatalf("%x (head %x) and %x (head %x) order differently", a, ha, b, hb)
			}
		}
	}
}
