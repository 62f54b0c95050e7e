package value_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/engine/value/valuetest"
)

func TestKindString(t *testing.T) {
	names := map[value.Kind]string{
		value.Null: "null", value.Bool: "boolean", value.Number: "number", value.String: "string",
		value.Bytes: "bytes", value.Array: "array", value.Object: "object", value.Kind(7): "kind(7)",
		value.Kind(255): "kind(255)",
	}
	for k, want := range names {
		assert.Equal(t, want, k.String())
	}
}

func TestAccessors(t *testing.T) {
	var zero value.Value
	assert.True(t, zero.IsNull())
	assert.Equal(t, value.Null, zero.Kind())
	assert.True(t, value.Equal(zero, value.NullValue))

	assert.True(t, value.BoolOf(true).Bool())
	assert.False(t, value.BoolOf(false).Bool())
	assert.False(t, num(1).Bool(), "Bool of a number")
	assert.Equal(t, 0.0, value.BoolOf(true).Number(), "Number of a boolean")

	assert.Equal(t, 2.5, num(2.5).Number())
	assert.True(t, num(3).IsInteger())
	assert.True(t, num(-1e300).IsInteger())
	assert.False(t, num(3.25).IsInteger())
	assert.False(t, str("3").IsInteger())

	z := num(math.Copysign(0, -1))
	assert.False(t, math.Signbit(z.Number()), "NumberOf folds -0 to 0")

	b := []byte{1, 2, 3}
	bv := value.BytesOf(b)
	b[0] = 9
	assert.Equal(t, "\x01\x02\x03", bv.Str(), "BytesOf copies its argument")
	assert.Equal(t, value.Bytes, bv.Kind())
	assert.Equal(t, "hé", str("hé").Str())

	a := arr(num(1), str("x"))
	assert.Equal(t, 2, a.Len())
	assert.True(t, value.Equal(str("x"), a.Index(1)))
	assert.Len(t, a.Items(), 2)
	assert.Nil(t, a.Keys())
	_, ok := a.Get("x")
	assert.False(t, ok, "Get on an array")

	o := obj("b", num(2), "a", num(1), "b", num(3))
	assert.Equal(t, 3, o.Len())
	assert.Equal(t, []string{"b", "a", "b"}, o.Keys(), "objects keep their key order")
	assert.Equal(t, "a", o.KeyAt(1))
	got, ok := o.Get("b")
	require.True(t, ok)
	assert.Equal(t, 2.0, got.Number(), "Get returns the first member of that name")
	_, ok = o.Get("c")
	assert.False(t, ok)

	for _, scalar := range []value.Value{value.NullValue, value.BoolOf(true), num(1), str("ab"), value.BytesOf([]byte("ab"))} {
		assert.Zero(t, scalar.Len(), scalar.Kind())
		assert.Nil(t, scalar.Items(), scalar.Kind())
		assert.Nil(t, scalar.Keys(), scalar.Kind())
	}

	assert.True(t, value.CheckNumber(0))
	assert.True(t, value.CheckNumber(-math.MaxFloat64))
	assert.False(t, value.CheckNumber(math.NaN()))
	assert.False(t, value.CheckNumber(math.Inf(1)))
	assert.False(t, value.CheckNumber(math.Inf(-1)))
}

// TestCompareOrder lists values in strictly increasing order: every pair must
// compare as their positions do.
func TestCompareOrder(t *testing.T) {
	ordered := []value.Value{
		value.NullValue,
		value.BoolOf(false),
		value.BoolOf(true),
		num(-math.MaxFloat64),
		num(-(1<<53 + 2)),
		num(-(1 << 53)),
		num(-1.5),
		num(-1),
		num(-math.SmallestNonzeroFloat64),
		num(0),
		num(math.SmallestNonzeroFloat64),
		num(0.5),
		num(1),
		num(1 << 53),
		num(1<<53 + 2),
		num(math.MaxFloat64),
		str(""),
		str("\x00"),
		str("A"),
		str("a"),
		str("a\x00"),
		str("a\x00b"),
		str("ab"),
		str("b"),
		str("é"),      // U+00E9, C3 A9
		str("\uffff"), // EF BF BF
		str("😀"),      // U+1F600, F0 9F 98 80: code point order, not UTF-16 order
		str("\xff"),
		value.BytesOf(nil),
		value.BytesOf([]byte{0}),
		value.BytesOf([]byte{0xff}),
		arr(),
		arr(value.NullValue),
		arr(num(1)),
		arr(num(1), num(1)),
		arr(num(2)),
		arr(str("a")),
		arr(arr()),
		obj(),
		obj("", num(5)),
		obj("a", num(1)),
		obj("a", num(1), "a", num(1)),
		obj("a", num(2)),
		obj("a", str("")),
		obj("b", value.NullValue),
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := sign(i - j)
			assert.Equal(t, want, value.Compare(a, b), "Compare(%v, %v)", a, b)
			assert.Equal(t, want == 0, value.Equal(a, b), "Equal(%v, %v)", a, b)
		}
	}
}

func TestCompareEquals(t *testing.T) {
	same := [][2]value.Value{
		{num(0), num(math.Copysign(0, -1))},
		{str("x"), str(string([]byte{'x'}))},
		{value.BytesOf(nil), value.BytesOf([]byte{})},
		{arr(), value.ArrayOf(nil)},
		{obj(), value.ObjectFrom(nil, nil)},
		{obj("a", arr(num(1))), value.ObjectFrom([]string{"a"}, []value.Value{arr(num(1))})},
	}
	for _, p := range same {
		assert.True(t, value.Equal(p[0], p[1]), "%v == %v", p[0], p[1])
	}
	different := [][2]value.Value{
		{str("ab"), value.BytesOf([]byte("ab"))},
		{num(0), value.BoolOf(false)},
		{num(1), value.BoolOf(true)},
		{value.NullValue, num(0)},
		{obj("a", num(1), "b", num(2)), obj("b", num(2), "a", num(1))}, // key order matters
		{arr(num(1)), obj("", num(1))},
	}
	for _, p := range different {
		assert.False(t, value.Equal(p[0], p[1]), "%v != %v", p[0], p[1])
	}
}

// TestCompareProperties checks on random values that Compare is a total
// order (reflexive, antisymmetric, transitive), that Equal is Compare == 0,
// and that equal values, and only those, have equal encodings.
func TestCompareProperties(t *testing.T) {
	r := testRand(t)
	vals := make([]value.Value, 400)
	for i := range vals {
		vals[i] = valuetest.Value(r, 0)
	}
	enc := make([][]byte, len(vals))
	for i, v := range vals {
		enc[i] = value.Encode(v)
	}
	equalPairs := 0
	for i, a := range vals {
		require.Zero(t, value.Compare(a, a), "Compare(%v, itself)", a)
		require.True(t, value.Equal(a, a))
		for j, b := range vals {
			// plain ifs: this loop runs 160,000 times, also under wasm
			c := value.Compare(a, b)
			if value.Compare(b, a) != -c {
				t.Fatalf("not antisymmetric: Compare(%v, %v) = %d, reversed %d", a, b, c, value.Compare(b, a))
			}
			if value.Equal(a, b) != (c == 0) {
				t.Fatalf("Equal(%v, %v) = %v but Compare = %d", a, b, value.Equal(a, b), c)
			}
			if bytes.Equal(enc[i], enc[j]) != (c == 0) {
				t.Fatalf("Compare(%v, %v) = %d but encodings % x and % x", a, b, c, enc[i], enc[j])
			}
			if c == 0 && i != j {
				equalPairs++
			}
		}
	}
	t.Logf("%d equal pairs among distinct draws", equalPairs)

	// Transitivity: after sorting, every earlier value is ≤ every later one.
	sorted := slices.Clone(vals)
	slices.SortFunc(sorted, value.Compare)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if value.Compare(sorted[i], sorted[j]) > 0 {
				t.Fatalf("not transitive: sorted %v before %v", sorted[i], sorted[j])
			}
		}
	}
	// Random triples, for good measure.
	for range 20000 {
		a, b, c := vals[r.IntN(len(vals))], vals[r.IntN(len(vals))], vals[r.IntN(len(vals))]
		if value.Compare(a, b) <= 0 && value.Compare(b, c) <= 0 && value.Compare(a, c) > 0 {
			t.Fatalf("not transitive: %v ≤ %v ≤ %v but the first is greater than the last", a, b, c)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct {
		v    value.Value
		want string
	}{
		{value.NullValue, "null"},
		{value.BoolOf(true), "true"},
		{value.BoolOf(false), "false"},
		{num(1.5), "1.5"},
		{num(-3), "-3"},
		{num(1e300), "1e+300"},
		{num(math.Copysign(0, -1)), "0"},
		{str("a\"b\n"), `"a\"b\n"`},
		{str("é"), `"é"`},
		{value.BytesOf([]byte{1, 2, 3}), "bytes(3)"},
		{arr(), "[]"},
		{arr(num(1), str("a"), value.NullValue), `[1,"a",null]`},
		{obj(), "{}"},
		{obj("a", num(1), "b", arr(value.BoolOf(true))), `{"a":1,"b":[true]}`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.v.String())
	}
}

func TestStringTruncates(t *testing.T) {
	exactly64 := str(strings.Repeat("x", 62)) // 62 + two quotes
	assert.Equal(t, `"`+strings.Repeat("x", 62)+`"`, exactly64.String(), "64 characters are not cut")

	long := []value.Value{
		str(strings.Repeat("x", 63)),
		str(strings.Repeat("x", 10000)),
		arr(slices.Repeat([]value.Value{num(12345)}, 1000)...),
		obj("key", str(strings.Repeat("v", 100)), "other", num(1)),
		str("x" + strings.Repeat("é", 40)),  // a cut at byte 61 splits an é
		str("xx" + strings.Repeat("😀", 30)), // and here a 4-byte rune
		obj(strings.Repeat("日", 40), value.NullValue),
	}
	for _, v := range long {
		s := v.String()
		assert.LessOrEqual(t, len(s), 64, s)
		assert.True(t, strings.HasSuffix(s, "..."), s)
		assert.True(t, utf8.ValidString(s), "String() cut inside a rune: %q", s)
		full := strings.TrimSuffix(s, "...")
		assert.Greater(t, len(full), 55, "the cut keeps most of the room: %q", s)
		assert.Equal(t, s, v.String(), "String is deterministic")
	}
	assert.Equal(t, `"`+strings.Repeat("x", 60)+"...", long[0].String())
	assert.Equal(t, "[12345,12345,12345,12345,12345,12345,12345,12345,12345,12345,...", long[2].String())
}
