package sstable

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeEntries, with its inline case for short entries, decodes any bytes
// exactly as decodeEntry does entry by entry: the same entries, and failure
// at the same point.
func FuzzDecodeEntries(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 'k', 'e', 'y', 0})                              // a tombstone
	f.Add([]byte{1, 'a', 3, 'v', 'v', 2, 'b', 'b', 1})              // a value, then an empty one
	f.Add([]byte{1, 'a', 5, 'v'})                                   // a value past the end
	f.Add([]byte{0x80, 0x01, 'k', 0x81, 0x01, 'v'})                 // two-byte lengths, cut short
	f.Add([]byte{2, 'k'})                                           // a key past the end
	f.Add(append([]byte{1, 'k', 0x81, 0x01}, make([]byte, 128)...)) // a 128-byte value
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []entry
		wantOK := true
		for p := 0; p < len(b); {
			e, next, ok := decodeEntry(b, p)
			if !ok {
				wantOK = false
				break
			}
			want, p = append(want, e), next
		}
		got, ok := decodeEntries(nil, b)
		require.Equal(t, wantOK, ok)
		require.Equal(t, want, got)
	})
}
