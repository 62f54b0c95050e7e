package storage

import (
	"encoding/binary"
	"math"

	"minibase/engine/value"
)

// wellFormed reports whether b is exactly one value in the wire encoding
// (engine/value/codec.go), walking it without building it. It lets Get hand
// a stored encoding to the JS boundary as it is, instead of decoding it into
// a value.Value only to encode it again — for a 1 KB object most of a get's
// cost under wasm. It is sound but not complete: it accepts nothing that
// value.Decode rejects (a fuzz test holds it to that), and what it does not
// accept (a rowset, say) takes the decoding path.
func wellFormed(b []byte) bool {
	pos, ok := skipValue(b, 0, 0)
	return ok && pos == len(b)
}

func skipValue(b []byte, pos, depth int) (int, bool) {
	if depth > value.MaxDepth || pos >= len(b) {
		return 0, false
	}
	tag := b[pos]
	pos++
	switch tag {
	case value.TagNull, value.TagFalse, value.TagTrue:
		return pos, true
	case value.TagFloat:
		if len(b)-pos < 8 {
			return 0, false
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b[pos:]))
		return pos + 8, value.CheckNumber(f)
	case value.TagInt:
		u, n := binary.Uvarint(b[pos:])
		if n <= 0 {
			return 0, false
		}
		i := int64(u>>1) ^ -int64(u&1)
		return pos + n, i <= 1<<53 && i >= -(1<<53)
	case value.TagString, value.TagBytes:
		return skipBytes(b, pos)
	case value.TagArray, value.TagObject:
		u, n := binary.Uvarint(b[pos:])
		if n <= 0 || u > uint64(len(b)-pos-n) {
			return 0, false
		}
		pos += n
		for range u {
			var ok bool
			if tag == value.TagObject {
				if pos, ok = skipBytes(b, pos); !ok {
					return 0, false
				}
			}
			if pos, ok = skipValue(b, pos, depth+1); !ok {
				return 0, false
			}
		}
		return pos, true
	}
	return 0, false
}

// skipBytes steps over a uvarint length and that many bytes.
func skipBytes(b []byte, pos int) (int, bool) {
	u, n := binary.Uvarint(b[pos:])
	if n <= 0 || u > uint64(len(b)-pos-n) {
		return 0, false
	}
	return pos + n + int(u), true
}
