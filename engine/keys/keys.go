// Package keys encodes values into byte strings whose bytewise order is the
// order of the values (value.Compare), so that an ordered key-value store can
// answer range queries and ordered scans over any indexable column.
//
// Layout of one encoded value:
//
//	null    0x01
//	false   0x02        true 0x03
//	number  0x04 + 8 bytes: the float64 bits, sign bit flipped for positives
//	        and all bits flipped for negatives (so -1.5 < -1 < 0 < 0.5 < 2)
//	string  0x05 + UTF-8 bytes with 0x00 escaped as 0x00 0xFF, then 0x00 0x01
//	bytes   0x06 + the same escaping and terminator
//
// Tuples (compound keys) are the concatenation of their encoded parts; the
// terminators keep a prefix from sorting after a longer tuple. Arrays and
// objects are not indexable.
package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"minibase/engine/value"
)

// Type tags; their order is the order of the kinds.
const (
	tagNull   = 0x01
	tagFalse  = 0x02
	tagTrue   = 0x03
	tagNumber = 0x04
	tagString = 0x05
	tagBytes  = 0x06
)

// ErrNotIndexable is returned when an array or object is used in a key.
var ErrNotIndexable = errors.New("keys: value is not indexable")

// ErrMalformed is returned (wrapped) by Decode for bytes that are not a key.
var ErrMalformed = errors.New("keys: malformed key")

// Append appends the order-preserving encoding of v to buf.
func Append(buf []byte, v value.Value) ([]byte, error) {
	switch v.Kind() {
	case value.Null:
		return append(buf, tagNull), nil
	case value.Bool:
		if v.Bool() {
			return append(buf, tagTrue), nil
		}
		return append(buf, tagFalse), nil
	case value.Number:
		return AppendNumber(buf, v.Number()), nil
	case value.String:
		return appendEscaped(append(buf, tagString), v.Str()), nil
	case value.Bytes:
		return appendEscaped(append(buf, tagBytes), v.Str()), nil
	}
	return buf, fmt.Errorf("encode key: %s: %w", v.Kind(), ErrNotIndexable)
}

// AppendNumber appends the encoding of a number.
func AppendNumber(buf []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 and 0 are one key
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(append(buf, tagNumber), u)
}

// AppendString appends the encoding of a string.
func AppendString(buf []byte, s string) []byte {
	return appendEscaped(append(buf, tagString), s)
}

func appendEscaped(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		buf = append(buf, c)
		if c == 0 {
			buf = append(buf, 0xFF)
		}
	}
	return append(buf, 0x00, 0x01)
}

// Decode decodes one value from the front of b and returns the rest.
func Decode(b []byte) (value.Value, []byte, error) {
	if len(b) == 0 {
		return value.Value{}, nil, fmt.Errorf("decode key: empty: %w", ErrMalformed)
	}
	switch b[0] {
	case tagNull:
		return value.NullValue, b[1:], nil
	case tagFalse:
		return value.BoolOf(false), b[1:], nil
	case tagTrue:
		return value.BoolOf(true), b[1:], nil
	case tagNumber:
		if len(b) < 9 {
			return value.Value{}, nil, fmt.Errorf("decode key: truncated number: %w", ErrMalformed)
		}
		u := binary.BigEndian.Uint64(b[1:])
		if u&(1<<63) != 0 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		f := math.Float64frombits(u)
		if !value.CheckNumber(f) {
			return value.Value{}, nil, fmt.Errorf("decode key: number not finite: %w", ErrMalformed)
		}
		if f == 0 && math.Signbit(f) {
			// AppendNumber writes 0 for -0; accepting the other form would
			// let two different keys stand for one value.
			return value.Value{}, nil, fmt.Errorf("decode key: negative zero: %w", ErrMalformed)
		}
		return value.NumberOf(f), b[9:], nil
	case tagString, tagBytes:
		s, rest, err := decodeEscaped(b[1:])
		if err != nil {
			return value.Value{}, nil, err
		}
		if b[0] == tagBytes {
			return value.BytesOf(s), rest, nil
		}
		return value.StringOf(string(s)), rest, nil
	}
	return value.Value{}, nil, fmt.Errorf("decode key: unknown tag 0x%02x: %w", b[0], ErrMalformed)
}

func decodeEscaped(b []byte) ([]byte, []byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			break
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 0x01:
			return out, b[i+2:], nil
		default:
			return nil, nil, fmt.Errorf("decode key: bad escape 0x00 0x%02x: %w", b[i+1], ErrMalformed)
		}
	}
	return nil, nil, fmt.Errorf("decode key: unterminated string: %w", ErrMalformed)
}

// DecodeAll decodes a tuple of n values that fills b exactly.
func DecodeAll(b []byte, n int) ([]value.Value, error) {
	if n < 0 {
		return nil, fmt.Errorf("decode key: negative tuple length %d: %w", n, ErrMalformed)
	}
	// Every value takes at least one byte: n never sizes a huge allocation.
	out := make([]value.Value, 0, min(n, len(b)))
	for i := 0; i < n; i++ {
		v, rest, err := Decode(b)
		if err != nil {
			return nil, err
		}
		out, b = append(out, v), rest
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("decode key: %d trailing bytes: %w", len(b), ErrMalformed)
	}
	return out, nil
}

// PrefixEnd returns the smallest key greater than every key that starts with
// prefix, or nil when there is none (prefix is all 0xFF).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
