package keys_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"minibase/engine/keys"
	"minibase/engine/value"
)

// FuzzDecode: Decode never panics, rejects with ErrMalformed, and what it
// accepts is canonical: re-encoding the value gives exactly the bytes it
// consumed, and rest is what follows them.
func FuzzDecode(f *testing.F) {
	seeds := [][]value.Value{
		{value.NullValue},
		{value.BoolOf(false), value.BoolOf(true)},
		{num(0), num(-1.5), num(math.MaxFloat64), num(math.SmallestNonzeroFloat64), num(-math.SmallestNonzeroFloat64)},
		{str(""), str("a\x00b"), str("\xff\x00\xff")},
		{byt("\x00\x01\xff")},
		{str("日本"), num(1e300), value.NullValue},
	}
	for _, s := range seeds {
		f.Add(mustEncode(f, s...))
	}
	f.Add([]byte{})
	f.Add([]byte{0x05, 0x00, 0x02})

	f.Fuzz(func(t *testing.T, b []byte) {
		v, rest, err := keys.Decode(b)
		if err != nil {
			if !errors.Is(err, keys.ErrMalformed) {
				t.Fatalf("Decode(% x): error %v does not wrap ErrMalformed", b, err)
			}
		} else {
			if len(rest) > len(b) || !bytes.Equal(b[len(b)-len(rest):], rest) {
				t.Fatalf("Decode(% x): rest % x is not a suffix of the input", b, rest)
			}
			consumed := b[:len(b)-len(rest)]
			enc, err := keys.Append(nil, v)
			if err != nil {
				t.Fatalf("Decode(% x) = %v, which does not encode: %v", b, v, err)
			}
			if !bytes.Equal(enc, consumed) {
				t.Fatalf("Decode(% x) = %v consumed % x, but it encodes as % x", b, v, consumed, enc)
			}
		}
		// DecodeAll agrees with repeated Decode.
		n := 0
		for rest := b; len(rest) > 0; n++ {
			if _, rest, err = keys.Decode(rest); err != nil {
				n = -1
				break
			}
		}
		if n >= 0 {
			vs, err := keys.DecodeAll(b, n)
			if err != nil || len(vs) != n {
				t.Fatalf("DecodeAll(% x, %d): %d values, %v", b, n, len(vs), err)
			}
		}
	})
}

// FuzzOrder: two strings and two numbers from the fuzzer keep their order as
// keys, alone and as tuples.
func FuzzOrder(f *testing.F) {
	f.Add("a", "a\x00", 0.0, math.Copysign(0, -1))
	f.Add("", "\x00", -1.5, 1.5)
	f.Add("a\x00b", "a\xff", math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64)
	f.Add("日本", "😀", math.MaxFloat64, 1e300)
	f.Add("\x00\x01", "\x00", 1.0, 1.0)

	f.Fuzz(func(t *testing.T, a, b string, x, y float64) {
		check := func(what string, va, vb value.Value, ka, kb []byte) {
			t.Helper()
			if got, want := bytes.Compare(ka, kb), sign(value.Compare(va, vb)); got != want {
				t.Fatalf("%s: %v vs %v: keys compare %d, values %d (% x, % x)", what, va, vb, got, want, ka, kb)
			}
		}
		sa, sb := str(a), str(b)
		ka, kb := keys.AppendString(nil, a), keys.AppendString(nil, b)
		check("strings", sa, sb, ka, kb)
		if strings.Compare(a, b) != bytes.Compare(ka, kb) {
			t.Fatalf("strings %q and %q: keys out of order", a, b)
		}
		ba, bb := mustEncode(t, byt(a)), mustEncode(t, byt(b))
		check("bytes", byt(a), byt(b), ba, bb)
		check("string vs bytes", sa, byt(b), ka, bb)

		// Round trips.
		for _, k := range [][]byte{ka, ba} {
			v, rest, err := keys.Decode(k)
			if err != nil || len(rest) != 0 {
				t.Fatalf("Decode(% x): %v, rest % x", k, err, rest)
			}
			if v.Str() != a {
				t.Fatalf("Decode(% x) = %q, want %q", k, v.Str(), a)
			}
		}

		if !value.CheckNumber(x) || !value.CheckNumber(y) {
			return
		}
		nx, ny := num(x), num(y)
		kx, ky := keys.AppendNumber(nil, x), keys.AppendNumber(nil, y)
		check("numbers", nx, ny, kx, ky)
		want := 0
		if x < y {
			want = -1
		} else if x > y {
			want = 1
		}
		if bytes.Compare(kx, ky) != want {
			t.Fatalf("numbers %v and %v: keys compare %d", x, y, bytes.Compare(kx, ky))
		}
		v, _, err := keys.Decode(kx)
		if err != nil || v.Number() != x || (x == 0 && math.Signbit(v.Number())) {
			t.Fatalf("Decode(AppendNumber(%v)) = %v, %v", x, v, err)
		}

		// Tuples: (a, x) vs (b, y), (x, a) vs (y, b) and (a) vs (a, x).
		check("tuples", value.ArrayOf([]value.Value{sa, nx}), value.ArrayOf([]value.Value{sb, ny}),
			append(bytes.Clone(ka), kx...), append(bytes.Clone(kb), ky...))
		check("tuples", value.ArrayOf([]value.Value{nx, sa}), value.ArrayOf([]value.Value{ny, sb}),
			append(bytes.Clone(kx), ka...), append(bytes.Clone(ky), kb...))
		check("prefix", value.ArrayOf([]value.Value{sa}), value.ArrayOf([]value.Value{sa, nx}),
			ka, append(bytes.Clone(ka), kx...))
	})
}
