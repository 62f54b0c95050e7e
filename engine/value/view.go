package value

import (
	"strings"
	"unsafe"
)

// SkipEncoded returns the offset just past the encoded value that starts at
// b[pos], or false when the bytes there are not a well-formed value (the
// same walk WellFormed makes). Readers of stored rows use it to find a
// column's bytes without decoding the columns before it.
func SkipEncoded(b []byte, pos int) (int, bool) { return skipValue(b, pos, 0) }

// View returns the value encoded in b, which must be exactly one value that
// SkipEncoded accepted. A string or bytes value shares b's memory instead of
// copying it, so the result is valid only while b is unchanged and must not
// be kept: it is for comparing a stored value in place (a filter on a
// column) without allocating. Arrays and objects are decoded (and copied).
func View(b []byte) (Value, error) {
	if len(b) > 0 && (b[0] == TagString || b[0] == TagBytes) {
		d := Decoder{buf: b}
		if v, err := d.NextView(); err == nil && !d.More() {
			return v, nil
		}
	}
	return Decode(b) // nothing else shares b: decoding copies no string
}

// Clone returns v with no memory shared with the bytes a View read it from.
func Clone(v Value) Value {
	if v.k == String || v.k == Bytes {
		v.s = strings.Clone(v.s)
	}
	return v
}

// NextView is Next for a value that only has to be encoded again while the
// decoder's buffer is unchanged (a row of a bulk insert, which is stored and
// dropped): strings and bytes share the buffer, and an array or object is
// kept as its encoding instead of being decoded. Such a composite encodes
// (Append) as it was, and has its kind, but no items: it must not be
// inspected or kept.
func (d *Decoder) NextView() (Value, error) {
	if d.pos >= len(d.buf) {
		return Value{}, d.fail("unexpected end")
	}
	switch tag := d.buf[d.pos]; tag {
	case TagString, TagBytes:
		start := d.pos
		d.pos++
		n, err := d.length(1)
		if err != nil {
			d.pos = start
			return d.value(0) // words the error as Next does
		}
		s := ""
		if n > 0 {
			s = unsafe.String(&d.buf[d.pos], n)
		}
		d.pos += n
		if tag == TagBytes {
			return Value{k: Bytes, s: s}, nil
		}
		return Value{k: String, s: s}, nil
	case TagArray, TagObject:
		end, ok := skipValue(d.buf, d.pos, 0)
		if !ok {
			return d.value(0) // a rowset inside, or damage: decode it
		}
		v := Value{k: Array, s: unsafe.String(&d.buf[d.pos], end-d.pos)}
		if tag == TagObject {
			v.k = Object
		}
		d.pos = end
		return v, nil
	}
	return d.value(0)
}

// raw reports whether v is a composite kept as its encoding (NextView).
func (v Value) raw() bool { return v.c == nil && v.s != "" && (v.k == Array || v.k == Object) }
