package syncserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxKeyLen bounds the canonical text of a row key (it is part of the
// primary key of every stored row).
const maxKeyLen = 1024

// maxRawKeyLen bounds a key's JSON text before it is parsed at all, so an
// oversized key costs a length check, not a parse (a number of a million
// digits takes seconds to read exactly). Escapes such as \u0041 shrink at
// most six-fold on the way to the canonical form, hence the factor.
const maxRawKeyLen = 6 * maxKeyLen

// canonicalKey returns the canonical JSON text of a row key, so that keys
// that are equal as JSON values (1, 1.0, 1e0) are the same stored key.
// A key is a string, a number, or a non-empty array of strings and numbers
// (a compound key).
func canonicalKey(raw json.RawMessage) (string, error) {
	if k, ok := plainKey(raw); ok {
		return k, nil
	}
	return canonicalKeySlow(raw)
}

// plainKey recognises the keys most rows have, which are their own
// canonical text: a decimal integer without leading zeros or a minus zero,
// or a string of printable ASCII with nothing to escape. Anything else goes
// the general way (FuzzCanonicalKeyFast holds the two to the same answer).
func plainKey(raw []byte) (string, bool) {
	n := len(raw)
	if n == 0 || n > maxKeyLen {
		return "", false
	}
	if raw[0] == '"' {
		if n < 2 || raw[n-1] != '"' {
			return "", false
		}
		for _, c := range raw[1 : n-1] {
			if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				return "", false
			}
		}
		return string(raw), true
	}
	digits := raw
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && (len(digits) > 1 || len(raw) > 1) {
		return "", false // leading zero, or -0
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return string(raw), true
}

// canonicalKeySlow is canonicalKey for any key.
func canonicalKeySlow(raw json.RawMessage) (string, error) {
	if len(raw) > maxRawKeyLen {
		return "", errors.New("key is longer than 1024 bytes")
	}
	// encoding/json reads invalid UTF-8 and a lone surrogate escape as
	// U+FFFD, which would make different keys one stored key.
	if !utf8.Valid(raw) {
		return "", errors.New("key is not valid UTF-8")
	}
	if loneSurrogate(raw) {
		return "", errors.New(`key has a lone UTF-16 surrogate escape (\ud800-\udfff)`)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", errors.New("key is not valid JSON")
	}
	if dec.More() {
		return "", errors.New("key is not a single JSON value")
	}
	var b strings.Builder
	if err := writeCanonKey(&b, v, true); err != nil {
		return "", err
	}
	if b.Len() > maxKeyLen {
		return "", errors.New("key is longer than 1024 bytes")
	}
	return b.String(), nil
}

func writeCanonKey(b *strings.Builder, v any, top bool) error {
	switch x := v.(type) {
	case string:
		return writeCanonString(b, x)
	case json.Number:
		s, err := canonicalNumber(string(x))
		if err != nil {
			return err
		}
		b.WriteString(s)
		return nil
	case []any:
		if !top {
			return errors.New("a compound key may not nest arrays")
		}
		if len(x) == 0 {
			return errors.New("a compound key may not be empty")
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonKey(b, e, false); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case nil:
		return errors.New("key is null")
	default:
		return errors.New("key must be a string, a number or an array of them")
	}
}

func writeCanonString(b *strings.Builder, s string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	return nil
}

// canonicalNumber gives every JSON number one spelling. Integer literals are
// kept exact (they may exceed 2^53); anything with a fraction or exponent is
// read as a float64 (what a JS client holds) and, when integral, written as
// an integer, so 1, 1.0 and 1e0 agree.
func canonicalNumber(s string) (string, error) {
	if len(s) > maxKeyLen {
		return "", errors.New("key is longer than 1024 bytes")
	}
	if !strings.ContainsAny(s, ".eE") {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return "", errors.New("bad number in key")
		}
		return n.String(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", errors.New("number in key out of range")
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		if f == 0 {
			return "0", nil
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// loneSurrogate reports whether JSON text holds a \u escape of a UTF-16
// surrogate that is not half of a high-low pair.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character: a second backslash is not an escape
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw[i+1:])
		if !ok {
			continue // the decoder rejects it
		}
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00:
			if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw[i+3:]); ok && lo >= 0xdc00 && lo < 0xe000 {
					i += 6
					continue
				}
			}
			return true
		case utf16.IsSurrogate(r):
			return true
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape.
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
