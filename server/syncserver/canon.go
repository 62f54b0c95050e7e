package syncserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// maxKeyLen bounds the canonical text of a row key (it is part of the
// primary key of every stored row).
const maxKeyLen = 1024

// canonicalKey returns the canonical JSON text of a row key, so that keys
// that are equal as JSON values (1, 1.0, 1e0) are the same stored key.
// A key is a string, a number, or a non-empty array of strings and numbers
// (a compound key).
func canonicalKey(raw json.RawMessage) (string, error) {
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
