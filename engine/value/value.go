// Package value is the data model that crosses every boundary in minibase:
// a JSON-like value (null, boolean, number, string, bytes, array, object) with
// a compact binary encoding that the JS wrapper writes and reads directly
// (js/src/codec.js mirrors this file and codec.go).
//
// Numbers are IEEE-754 doubles, as in JS; NaN and ±Infinity are rejected at
// every entry point because they have no place in an order or in JSON.
// Objects keep their key order.
package value

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind says which of the variants a Value holds.
type Kind uint8

// The kinds, in the order values of different kinds sort (see Compare).
const (
	Null Kind = iota
	Bool
	Number
	String
	Bytes
	Array
	Object
)

var kindNames = [...]string{"null", "boolean", "number", "string", "bytes", "array", "object"}

// String names the kind as the JS API does.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one JSON-like value. The zero Value is null. Values are immutable
// once built: share them freely.
type Value struct {
	k Kind
	n float64 // Number; 1 or 0 for Bool
	s string  // String and Bytes
	c *composite
}

type composite struct {
	keys  []string // Object only, parallel to items
	items []Value
}

// Member is one key/value pair of an object.
type Member struct {
	Key   string
	Value Value
}

// NullValue is the null value.
var NullValue = Value{}

// BoolOf returns a boolean value.
func BoolOf(b bool) Value {
	if b {
		return Value{k: Bool, n: 1}
	}
	return Value{k: Bool}
}

// NumberOf returns a number value. Callers must not pass NaN or ±Inf; use
// CheckNumber on untrusted input. Negative zero is kept as zero.
func NumberOf(f float64) Value {
	if f == 0 {
		f = 0 // fold -0: one zero, as JS equality sees it
	}
	return Value{k: Number, n: f}
}

// StringOf returns a string value.
func StringOf(s string) Value { return Value{k: String, s: s} }

// BytesOf returns a bytes value holding a copy of b.
func BytesOf(b []byte) Value { return Value{k: Bytes, s: string(b)} }

// ArrayOf returns an array value over items (not copied).
func ArrayOf(items []Value) Value { return Value{k: Array, c: &composite{items: items}} }

// ObjectOf returns an object value with the given members in order.
func ObjectOf(members ...Member) Value {
	c := &composite{keys: make([]string, len(members)), items: make([]Value, len(members))}
	for i, m := range members {
		c.keys[i], c.items[i] = m.Key, m.Value
	}
	return Value{k: Object, c: c}
}

// ObjectFrom returns an object value over parallel keys and values (not copied).
func ObjectFrom(keys []string, values []Value) Value {
	return Value{k: Object, c: &composite{keys: keys, items: values}}
}

// Kind reports the variant.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.k == Null }

// Bool returns the boolean (false for other kinds).
func (v Value) Bool() bool { return v.k == Bool && v.n != 0 }

// Number returns the number (0 for other kinds).
func (v Value) Number() float64 {
	if v.k != Number {
		return 0
	}
	return v.n
}

// Str returns the string (or the bytes, as a string, for Bytes).
func (v Value) Str() string { return v.s }

// Len is the number of items of an array or members of an object.
func (v Value) Len() int {
	if v.c == nil {
		return 0
	}
	return len(v.c.items)
}

// Index returns item i of an array or the value of member i of an object.
func (v Value) Index(i int) Value { return v.c.items[i] }

// KeyAt returns the key of member i of an object.
func (v Value) KeyAt(i int) string { return v.c.keys[i] }

// Items returns the items of an array or the values of an object; do not modify.
func (v Value) Items() []Value {
	if v.c == nil {
		return nil
	}
	return v.c.items
}

// Keys returns the keys of an object; do not modify.
func (v Value) Keys() []string {
	if v.c == nil {
		return nil
	}
	return v.c.keys
}

// Get returns the member named key of an object, and whether it exists.
func (v Value) Get(key string) (Value, bool) {
	if v.k != Object {
		return Value{}, false
	}
	for i, k := range v.c.keys {
		if k == key {
			return v.c.items[i], true
		}
	}
	return Value{}, false
}

// IsInteger reports whether v is a number with no fractional part.
func (v Value) IsInteger() bool {
	return v.k == Number && v.n == math.Trunc(v.n)
}

// CheckNumber reports whether f may be stored (it is finite).
func CheckNumber(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Compare orders two values: first by kind (null < boolean < number < string
// < bytes < array < object), then by value: numbers numerically, strings by
// code point (UTF-8 byte order), arrays and objects element by element. It is
// the order of keys.Encode.
func Compare(a, b Value) int {
	if a.k != b.k {
		if a.k < b.k {
			return -1
		}
		return 1
	}
	switch a.k {
	case Null:
		return 0
	case Bool, Number:
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	case String, Bytes:
		return strings.Compare(a.s, b.s)
	}
	ai, bi := a.Items(), b.Items()
	for i := 0; i < len(ai) && i < len(bi); i++ {
		if a.k == Object {
			if c := strings.Compare(a.c.keys[i], b.c.keys[i]); c != 0 {
				return c
			}
		}
		if c := Compare(ai[i], bi[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(ai) < len(bi):
		return -1
	case len(ai) > len(bi):
		return 1
	}
	return 0
}

// Equal reports whether a and b are the same value (Compare(a, b) == 0).
// Scalars compare with ==, which for strings checks the length and the
// pointer before the bytes: an update compares every index column of a row
// with its unchanged copy, and a byte-by-byte Compare was a good part of
// its cost under wasm.
func Equal(a, b Value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case Null:
		return true
	case Bool, Number:
		// NaN is never stored (CheckNumber); Compare holds it equal to itself.
		return a.n == b.n || (a.n != a.n && b.n != b.n)
	case String, Bytes:
		return a.s == b.s
	}
	return Compare(a, b) == 0
}

// String renders v for messages, in a JSON-like form, cut to at most 64
// bytes (never inside a UTF-8 sequence).
func (v Value) String() string {
	var sb strings.Builder
	v.render(&sb)
	s := sb.String()
	if len(s) > 64 {
		cut := 61
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func (v Value) render(sb *strings.Builder) {
	if sb.Len() > 64 {
		return
	}
	switch v.k {
	case Null:
		sb.WriteString("null")
	case Bool:
		sb.WriteString(strconv.FormatBool(v.Bool()))
	case Number:
		sb.WriteString(strconv.FormatFloat(v.n, 'g', -1, 64))
	case String:
		sb.WriteString(strconv.Quote(v.s))
	case Bytes:
		sb.WriteString("bytes(" + strconv.Itoa(len(v.s)) + ")")
	case Array:
		sb.WriteByte('[')
		for i, it := range v.c.items {
			if i > 0 {
				sb.WriteByte(',')
			}
			it.render(sb)
		}
		sb.WriteByte(']')
	case Object:
		sb.WriteByte('{')
		for i, it := range v.c.items {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Quote(v.c.keys[i]) + ":")
			it.render(sb)
		}
		sb.WriteByte('}')
	}
}
