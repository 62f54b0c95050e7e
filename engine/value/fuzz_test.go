package value_test

import (
	"bytes"
	"errors"
	"testing"

	"minibase/engine/value"
)

// FuzzDecode: Decode never panics; what it accepts re-encodes to bytes that
// decode to an equal value, and that encoding is stable. What it rejects is
// rejected with ErrMalformed.
func FuzzDecode(f *testing.F) {
	for _, c := range wireVectors {
		f.Add(unhex(f, c.hex))
	}
	f.Add(unhex(f, wireRowset))
	f.Add(complexEncoding(f))
	f.Add(value.Encode(row))
	f.Add([]byte{})
	f.Add([]byte{value.TagArray, 2, value.TagRowset, 0, 0, value.TagNull})
	f.Add(append(bytes.Repeat([]byte{value.TagArray, 1}, value.MaxDepth), value.TagNull))

	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := value.Decode(b)
		if err != nil {
			if !errors.Is(err, value.ErrMalformed) {
				t.Fatalf("Decode(% x): error %v does not wrap ErrMalformed", b, err)
			}
			return
		}
		enc := value.Encode(v)
		again, err := value.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(% x) = %v, whose encoding % x does not decode: %v", b, v, enc, err)
		}
		if !value.Equal(v, again) {
			t.Fatalf("Decode(% x) = %v, re-encoded and decoded %v", b, v, again)
		}
		if enc2 := value.Encode(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding of %v is not stable: % x then % x", v, enc, enc2)
		}
		// A stream of the same bytes decodes the same value and consumes it all.
		d := value.NewDecoder(b)
		if err := d.Skip(); err != nil || d.More() {
			t.Fatalf("Decoder.Skip(% x): err %v, more %v", b, err, d.More())
		}
		// A view of it encodes back to the same value, and consumes it all.
		d = value.NewDecoder(b)
		vv, err := d.NextView()
		if err != nil || d.More() {
			t.Fatalf("Decoder.NextView(% x): err %v, more %v", b, err, d.More())
		}
		if back, err := value.Decode(value.Encode(vv)); err != nil || !value.Equal(back, v) {
			t.Fatalf("NextView(% x) encodes to %v (%v), want %v", b, back, err, v)
		}
		if end, ok := value.SkipEncoded(b, 0); ok {
			if w, err := value.View(b[:end]); err != nil || !value.Equal(w, v) {
				t.Fatalf("View(% x) = %v (%v), want %v", b, w, err, v)
			}
		}
	})
}

// FuzzWellFormed holds WellFormed to Decode: whatever it accepts
// must decode, so a reader never hands JS an encoding it cannot read.
func FuzzWellFormed(f *testing.F) {
	f.Add(value.Encode(value.ObjectOf(value.Member{Key: "a", Value: value.ArrayOf([]value.Value{value.NumberOf(1.5), value.NumberOf(-3), value.BytesOf([]byte{1})})})))
	f.Add([]byte{value.TagInt, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{value.TagObject, 1, 1, 'k'})
	f.Add([]byte{value.TagRowset, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if !value.WellFormed(b) {
			return
		}
		if _, err := value.Decode(b); err != nil {
			t.Fatalf("WellFormed accepted %x, Decode says %v", b, err)
		}
	})
}
