package value

import (
	"encoding/binary"
	"math"
)

// WellFormed reports whether b is exactly one value in the wire encoding,
// walking it without building it. It lets a reader hand a stored encoding
// across the JS boundary as it is, instead of decoding it into a Value only
// to encode it again. It is sound but not complete: it accepts nothing that
// Decode rejects (a fuzz test holds it to that); what it does not accept (a
// rowset, say) must take the decoding path.
func WellFormed(b []byte) bool {
	pos, ok := skipValue(b, 0, 0)
	return ok && pos == len(b)
}

func skipValue(b []byte, pos, depth int) (int, bool) {
	if depth > MaxDepth || pos >= len(b) {
		return 0, false
	}
	tag := b[pos]
	pos++
	switch tag {
	case TagNull, TagFalse, TagTrue:
		return pos, true
	case TagFloat:
		if len(b)-pos < 8 {
			return 0, false
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b[pos:]))
		return pos + 8, CheckNumber(f)
	case TagInt:
		u, n := binary.Uvarint(b[pos:])
		if n <= 0 {
			return 0, false
		}
		i := int64(u>>1) ^ -int64(u&1)
		return pos + n, i <= 1<<53 && i >= -(1<<53)
	case TagString, TagBytes:
		return skipBytes(b, pos)
	case TagArray, TagObject:
		u, n := binary.Uvarint(b[pos:])
		if n <= 0 || u > uint64(len(b)-pos-n) {
			return 0, false
		}
		pos += n
		for range u {
			var ok bool
			if tag == TagObject {
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
