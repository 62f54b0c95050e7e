package value

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Wire tags. The encoding is the same in both directions across the JS
// boundary and inside stored rows:
//
//	0x00 null            0x01 false           0x02 true
//	0x03 float64         8 bytes little-endian
//	0x04 integer         zigzag uvarint (|n| ≤ 2^53, decodes to a number)
//	0x05 string          uvarint byte length, UTF-8 bytes
//	0x06 bytes           uvarint length, raw bytes
//	0x07 array           uvarint count, values
//	0x08 object          uvarint count, then (uvarint key length, key, value) each
//	0x09 rowset          uvarint column count, column names (uvarint length,
//	                     UTF-8), uvarint row count, rows×columns values; it
//	                     decodes to an array of objects and lets a result of
//	                     many rows name its columns once.
const (
	TagNull   = 0x00
	TagFalse  = 0x01
	TagTrue   = 0x02
	TagFloat  = 0x03
	TagInt    = 0x04
	TagString = 0x05
	TagBytes  = 0x06
	TagArray  = 0x07
	TagObject = 0x08
	TagRowset = 0x09
)

// MaxDepth bounds nesting so a hostile payload cannot exhaust the stack.
const MaxDepth = 64

// ErrMalformed is returned (wrapped) by Decode for bytes that are not a
// well-formed encoding: truncated, unknown tag, too deep, non-finite number.
var ErrMalformed = errors.New("value: malformed encoding")

const maxSafeInt = 1 << 53

// Append appends the encoding of v to buf.
func Append(buf []byte, v Value) []byte {
	switch v.k {
	case Null:
		return append(buf, TagNull)
	case Bool:
		if v.n != 0 {
			return append(buf, TagTrue)
		}
		return append(buf, TagFalse)
	case Number:
		return AppendNumber(buf, v.n)
	case String:
		buf = append(buf, TagString)
		buf = binary.AppendUvarint(buf, uint64(len(v.s)))
		return append(buf, v.s...)
	case Bytes:
		buf = append(buf, TagBytes)
		buf = binary.AppendUvarint(buf, uint64(len(v.s)))
		return append(buf, v.s...)
	case Array:
		if v.raw() {
			return append(buf, v.s...)
		}
		buf = append(buf, TagArray)
		buf = binary.AppendUvarint(buf, uint64(v.Len()))
		for _, it := range v.Items() {
			buf = Append(buf, it)
		}
		return buf
	case Object:
		if v.raw() {
			return append(buf, v.s...)
		}
		buf = append(buf, TagObject)
		buf = binary.AppendUvarint(buf, uint64(v.Len()))
		for i, it := range v.c.items {
			buf = binary.AppendUvarint(buf, uint64(len(v.c.keys[i])))
			buf = append(buf, v.c.keys[i]...)
			buf = Append(buf, it)
		}
		return buf
	}
	return append(buf, TagNull)
}

// AppendNumber appends a number, as an integer when it is one.
func AppendNumber(buf []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -maxSafeInt && f <= maxSafeInt {
		i := int64(f)
		buf = append(buf, TagInt)
		return binary.AppendUvarint(buf, uint64(i<<1)^uint64(i>>63))
	}
	buf = append(buf, TagFloat)
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
}

// AppendString appends a string value.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, TagString)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// AppendRowsetHeader starts a rowset of rows×len(cols) values; the caller
// appends exactly rows×len(cols) values after it, row by row.
func AppendRowsetHeader(buf []byte, cols []string, rows int) []byte {
	buf = append(buf, TagRowset)
	buf = binary.AppendUvarint(buf, uint64(len(cols)))
	for _, c := range cols {
		buf = binary.AppendUvarint(buf, uint64(len(c)))
		buf = append(buf, c...)
	}
	return binary.AppendUvarint(buf, uint64(rows))
}

// Encode returns the encoding of v.
func Encode(v Value) []byte { return Append(nil, v) }

// Decode decodes exactly one value from b; trailing bytes are an error.
func Decode(b []byte) (Value, error) {
	d := Decoder{buf: b}
	v, err := d.Next()
	if err != nil {
		return Value{}, err
	}
	if d.pos != len(b) {
		return Value{}, fmt.Errorf("decode value: %d trailing bytes: %w", len(b)-d.pos, ErrMalformed)
	}
	return v, nil
}

// Decoder reads consecutive values from a byte slice.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder reads values from b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// More reports whether bytes remain.
func (d *Decoder) More() bool { return d.pos < len(d.buf) }

// Offset is the number of bytes consumed.
func (d *Decoder) Offset() int { return d.pos }

// Uvarint reads a bare unsigned varint (used by formats that interleave
// numbers with values, such as stored rows).
func (d *Decoder) Uvarint() (uint64, error) { return d.uvarint() }

// Next decodes the next value.
func (d *Decoder) Next() (Value, error) { return d.value(0) }

// ArrayHeader reads the tag and count of an array without its items, so a
// caller can decode a long array one item at a time (Next) and never hold
// all of them at once.
func (d *Decoder) ArrayHeader() (int, error) {
	if d.pos >= len(d.buf) {
		return 0, d.fail("unexpected end")
	}
	if d.buf[d.pos] != TagArray {
		return 0, d.fail("expected an array")
	}
	d.pos++
	return d.length(1)
}

// ObjectMembers reads an object one member at a time, without building it:
// fn gets each key's bytes (valid only during the call) and must read the
// member's value with Next. A bulk insert uses it to fill rows straight from
// the request, with no object and no key string allocated per row.
func (d *Decoder) ObjectMembers(fn func(key []byte) error) error {
	if d.pos >= len(d.buf) {
		return d.fail("unexpected end")
	}
	if d.buf[d.pos] != TagObject {
		return d.fail("expected an object")
	}
	d.pos++
	n, err := d.length(2)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		kl, err := d.length(1)
		if err != nil {
			return err
		}
		key := d.buf[d.pos : d.pos+kl]
		d.pos += kl
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// StringView reads a string value and returns it without copying: the
// string shares the decoder's buffer, so it is valid only while that buffer
// is unchanged and must not be kept. Hot request paths use it for names they
// only look up.
func (d *Decoder) StringView() (string, bool) {
	if d.pos >= len(d.buf) || d.buf[d.pos] != TagString {
		return "", false
	}
	save := d.pos
	d.pos++
	n, err := d.length(1)
	if err != nil {
		d.pos = save
		return "", false
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	if n == 0 {
		return "", true
	}
	return unsafe.String(&b[0], n), true
}

// PeekTag returns the tag of the next value without reading it.
func (d *Decoder) PeekTag() (byte, bool) {
	if d.pos >= len(d.buf) {
		return 0, false
	}
	return d.buf[d.pos], true
}

// Skip steps over the next value without building it.
func (d *Decoder) Skip() error {
	if end, ok := skipValue(d.buf, d.pos, 0); ok {
		d.pos = end
		return nil
	}
	// Not accepted by the walker (a rowset, or damage): decode to find out
	// which, and to report the damage the way Decode does.
	_, err := d.value(0)
	return err
}

func (d *Decoder) fail(what string) error {
	return fmt.Errorf("decode value at byte %d: %s: %w", d.pos, what, ErrMalformed)
}

func (d *Decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf[d.pos:])
	if n <= 0 {
		return 0, d.fail("bad varint")
	}
	d.pos += n
	return x, nil
}

// length reads a length and checks that at least min(length, …) bytes could
// follow, so a forged count never triggers a huge allocation.
func (d *Decoder) length(perItem int) (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if x > uint64(len(d.buf)-d.pos)/uint64(perItem) {
		return 0, d.fail("length exceeds input")
	}
	return int(x), nil
}

func (d *Decoder) str() (string, error) {
	n, err := d.length(1)
	if err != nil {
		return "", err
	}
	s := string(d.buf[d.pos : d.pos+n])
	d.pos += n
	return s, nil
}

func (d *Decoder) value(depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, d.fail("nested too deeply")
	}
	if d.pos >= len(d.buf) {
		return Value{}, d.fail("unexpected end")
	}
	tag := d.buf[d.pos]
	d.pos++
	switch tag {
	case TagNull:
		return Value{}, nil
	case TagFalse:
		return Value{k: Bool}, nil
	case TagTrue:
		return Value{k: Bool, n: 1}, nil
	case TagFloat:
		if len(d.buf)-d.pos < 8 {
			return Value{}, d.fail("truncated number")
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.buf[d.pos:]))
		d.pos += 8
		if !CheckNumber(f) {
			return Value{}, d.fail("number is not finite")
		}
		return NumberOf(f), nil
	case TagInt:
		u, err := d.uvarint()
		if err != nil {
			return Value{}, err
		}
		i := int64(u>>1) ^ -int64(u&1)
		if i > maxSafeInt || i < -maxSafeInt {
			return Value{}, d.fail("integer out of range")
		}
		return NumberOf(float64(i)), nil
	case TagString, TagBytes:
		s, err := d.str()
		if err != nil {
			return Value{}, err
		}
		if tag == TagBytes {
			return Value{k: Bytes, s: s}, nil
		}
		return Value{k: String, s: s}, nil
	case TagArray:
		n, err := d.length(1)
		if err != nil {
			return Value{}, err
		}
		items := make([]Value, n)
		for i := range items {
			if items[i], err = d.value(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return ArrayOf(items), nil
	case TagObject:
		n, err := d.length(2)
		if err != nil {
			return Value{}, err
		}
		keys, items := make([]string, n), make([]Value, n)
		for i := range items {
			if keys[i], err = d.str(); err != nil {
				return Value{}, err
			}
			if items[i], err = d.value(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return ObjectFrom(keys, items), nil
	case TagRowset:
		return d.rowset(depth)
	}
	d.pos--
	return Value{}, d.fail(fmt.Sprintf("unknown tag 0x%02x", tag))
}

func (d *Decoder) rowset(depth int) (Value, error) {
	nc, err := d.length(1)
	if err != nil {
		return Value{}, err
	}
	cols := make([]string, nc)
	for i := range cols {
		if cols[i], err = d.str(); err != nil {
			return Value{}, err
		}
	}
	nr, err := d.length(max(nc, 1))
	if err != nil {
		return Value{}, err
	}
	rows := make([]Value, nr)
	for r := range rows {
		vals := make([]Value, nc)
		for c := range vals {
			if vals[c], err = d.value(depth + 2); err != nil {
				return Value{}, err
			}
		}
		rows[r] = ObjectFrom(cols, vals)
	}
	return ArrayOf(rows), nil
}
