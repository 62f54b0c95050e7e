package replica

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"minibase/engine/value"
)

// The protocol speaks JSON; the engine speaks value.Value. These convert
// between them keeping the order of object members, so every replica stores
// a received object exactly as it was sent. They are written by hand rather
// than with encoding/json, whose reflection would add ~150 KB (brotli) to
// the wasm build that ships inside mini-programs.

const maxDepth = 64

var errInvalidUTF8 = errors.New("a string that is not valid UTF-8 cannot be synced (the protocol is JSON)")

// ToJSON encodes v as JSON. Bytes, non-finite numbers and strings that are
// not valid UTF-8 have no JSON form (writing U+FFFD instead would make two
// different keys one on the server).
func ToJSON(v value.Value) ([]byte, error) {
	return appendJSON(nil, v, 0)
}

func appendJSON(b []byte, v value.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply")
	}
	switch v.Kind() {
	case value.Null:
		return append(b, "null"...), nil
	case value.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case value.Number:
		return appendNumber(b, v.Number())
	case value.String:
		if !utf8.ValidString(v.Str()) {
			return nil, errInvalidUTF8
		}
		return appendString(b, v.Str()), nil
	case value.Array:
		b = append(b, '[')
		for i, it := range v.Items() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, it, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case value.Object:
		b = append(b, '{')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if !utf8.ValidString(v.KeyAt(i)) {
				return nil, errInvalidUTF8
			}
			b = append(appendString(b, v.KeyAt(i)), ':')
			var err error
			if b, err = appendJSON(b, v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("a %s value cannot be synced (the protocol is JSON)", v.Kind())
}

// appendNumber writes f the way JavaScript (and encoding/json) does:
// integers without exponent, exponents only for very large or small values.
func appendNumber(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.New("a non-finite number cannot be synced")
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// FromJSON decodes one JSON value (RFC 8259); empty input is null. Invalid
// UTF-8 and lone surrogate escapes are errors: read as U+FFFD they would
// make different keys one.
func FromJSON(data []byte) (value.Value, error) {
	return fromJSON(data, true)
}

// fromJSON decodes with strict strings (FromJSON) or with encoding/json's
// substitution of U+FFFD. Whole server answers are read leniently, so one
// odd row stored by another client cannot block every later pull; the
// server refuses such keys, so the substitution never merges two keys.
func fromJSON(data []byte, strict bool) (value.Value, error) {
	p := &parser{b: data, strict: strict}
	p.space()
	if p.i == len(p.b) {
		return value.NullValue, nil
	}
	v, err := p.value(0)
	if err != nil {
		return value.Value{}, err
	}
	p.space()
	if p.i != len(p.b) {
		return value.Value{}, p.fail("trailing data")
	}
	return v, nil
}

type parser struct {
	b      []byte
	i      int
	strict bool // invalid UTF-8 and lone surrogates are errors, not U+FFFD
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("json: %s at offset %d", what, p.i)
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) lit(word string, v value.Value) (value.Value, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return value.Value{}, p.fail("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *parser) value(depth int) (value.Value, error) {
	if depth > maxDepth {
		return value.Value{}, p.fail("nested too deeply")
	}
	p.space()
	if p.i >= len(p.b) {
		return value.Value{}, p.fail("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == 'n':
		return p.lit("null", value.NullValue)
	case c == 't':
		return p.lit("true", value.BoolOf(true))
	case c == 'f':
		return p.lit("false", value.BoolOf(false))
	case c == '"':
		s, err := p.str()
		return value.StringOf(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == '[':
		p.i++
		var items []value.Value
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return value.ArrayOf(items), nil
		}
		for {
			it, err := p.value(depth + 1)
			if err != nil {
				return value.Value{}, err
			}
			items = append(items, it)
			p.space()
			if p.i >= len(p.b) {
				return value.Value{}, p.fail("unexpected end in array")
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
				continue
			case ']':
				return value.ArrayOf(items), nil
			}
			return value.Value{}, p.fail("expected , or ]")
		}
	case c == '{':
		p.i++
		var m []value.Member
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return value.ObjectOf(m...), nil
		}
		for {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return value.Value{}, p.fail("expected a member name")
			}
			k, err := p.str()
			if err != nil {
				return value.Value{}, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return value.Value{}, p.fail("expected :")
			}
			p.i++
			it, err := p.value(depth + 1)
			if err != nil {
				return value.Value{}, err
			}
			m = append(m, value.Member{Key: k, Value: it})
			p.space()
			if p.i >= len(p.b) {
				return value.Value{}, p.fail("unexpected end in object")
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
				continue
			case '}':
				return value.ObjectOf(m...), nil
			}
			return value.Value{}, p.fail("expected , or }")
		}
	}
	return value.Value{}, p.fail(fmt.Sprintf("unexpected %q", p.b[p.i]))
}

func (p *parser) number() (value.Value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return value.Value{}, p.fail("bad number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return value.Value{}, p.fail("bad number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return value.Value{}, p.fail("bad number")
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return value.Value{}, p.fail("number out of range")
	}
	return value.NumberOf(f), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// str reads a quoted string at p.i; invalid UTF-8 and lone surrogates are
// errors when p.strict, else they become U+FFFD (as encoding/json does).
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", p.fail("unexpected end in string")
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(p.b[p.i:])
				if !ok {
					return "", p.fail("bad \\u escape")
				}
				p.i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
						r2, ok = hex4(p.b[p.i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						p.i += 6
						r = dec
					} else if p.strict {
						return "", p.fail("lone surrogate escape in string")
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.fail("bad escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				if p.strict {
					return "", p.fail("invalid UTF-8 in string")
				}
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, p.b[p.i:p.i+size]...)
			}
			p.i += size
		}
	}
	return "", p.fail("unterminated string")
}
