package kvstore

import (
	"bytes"
	"testing"

	"minibase/engine/value"
)

// FuzzDecodeRecord feeds arbitrary stored records to the decoder, with and
// without a key: it must return a value or a coded error, never panic, and
// a record it made itself must decode to the value it was made from.
func FuzzDecodeRecord(f *testing.F) {
	aead, err := newAEAD(bytes.Repeat([]byte{1}, keySize))
	if err != nil {
		f.Fatal(err)
	}
	v := value.ObjectOf(value.Member{Key: "a", Value: value.StringOf("hello hello hello hello")})
	for _, o := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		rec, err := encodeRecord("mp_k", value.Encode(v), o[0], o[1], aead)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add([]byte{})
	f.Add([]byte{flagCompressed, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, a := range []any{nil, aead} {
			var got value.Value
			var err error
			if a == nil {
				got, err = decodeRecord("mp_k", rec, nil)
			} else {
				got, err = decodeRecord("mp_k", rec, aead)
			}
			if err != nil {
				if codeOf(err) == "" {
					t.Fatalf("error without a code: %v", err)
				}
				continue
			}
			// Whatever decodes re-encodes and decodes to the same value.
			again, err := encodeRecord("mp_k", value.Encode(got), true, a != nil, aead)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeRecord("mp_k", again, aead)
			if err != nil || !value.Equal(back, got) {
				t.Fatalf("round trip: %v %v != %v", err, back, got)
			}
		}
	})
}
