package value_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/engine/value/valuetest"
)

// wireVector is one exact encoding shared with the JS codec.
type wireVector struct {
	name string
	v    value.Value
	hex  string
}

// wireVectors and wireRowset are read from testdata/vectors.json, which
// js/test/codec.test.mjs reads too: one table of the wire format between
// the JS wrapper and the engine.
var wireVectors, wireRowset = func() ([]wireVector, string) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		panic(err)
	}
	var file struct {
		Vectors []struct {
			Name  string
			Value json.RawMessage
			Hex   string
		}
		Rowset struct{ Hex string }
	}
	if err := json.Unmarshal(data, &file); err != nil {
		panic(err)
	}
	var out []wireVector
	for _, v := range file.Vectors {
		dec := json.NewDecoder(bytes.NewReader(v.Value))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			panic(fmt.Sprintf("%s: %v", v.Name, err))
		}
		out = append(out, wireVector{v.Name, fromJSON(x), v.Hex})
	}
	return out, file.Rowset.Hex
}()

// fromJSON builds the value a vector's JSON describes: {"$bytes": hex} for
// bytes, {"$object": [[key, value], ...]} for an object (members in order).
func fromJSON(x any) value.Value {
	switch x := x.(type) {
	case nil:
		return value.NullValue
	case bool:
		return value.BoolOf(x)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			panic(err)
		}
		return num(f)
	case string:
		return str(x)
	case []any:
		items := make([]value.Value, len(x))
		for i, e := range x {
			items[i] = fromJSON(e)
		}
		return arr(items...)
	case map[string]any:
		if h, ok := x["$bytes"].(string); ok {
			b, err := hex.DecodeString(h)
			if err != nil {
				panic(err)
			}
			return value.BytesOf(b)
		}
		var kv []any
		for _, m := range x["$object"].([]any) {
			pair := m.([]any)
			kv = append(kv, pair[0].(string), fromJSON(pair[1]))
		}
		return obj(kv...)
	}
	panic(fmt.Sprintf("vector value %v", x))
}

func TestWireVectors(t *testing.T) {
	for _, c := range wireVectors {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.hex, hex.EncodeToString(value.Encode(c.v)), "Encode(%v)", c.v)
			got, err := value.Decode(unhex(t, c.hex))
			require.NoError(t, err)
			assert.True(t, value.Equal(c.v, got), "Decode(%s) = %v, want %v", c.hex, got, c.v)
			assert.Equal(t, c.v.Kind(), got.Kind())
		})
	}
}

func TestWireRowset(t *testing.T) {
	buf := value.AppendRowsetHeader(nil, []string{"id", "name"}, 2)
	for _, v := range []value.Value{num(1), str("ann"), num(2), value.NullValue} {
		buf = value.Append(buf, v)
	}
	assert.Equal(t, wireRowset, hex.EncodeToString(buf))

	got, err := value.Decode(buf)
	require.NoError(t, err)
	want := arr(obj("id", num(1), "name", str("ann")), obj("id", num(2), "name", value.NullValue))
	assert.True(t, value.Equal(want, got), "got %v", got)
	require.Equal(t, value.Array, got.Kind())
	for _, row := range got.Items() {
		assert.Equal(t, value.Object, row.Kind())
		assert.Equal(t, []string{"id", "name"}, row.Keys(), "columns in order")
	}
	// A rowset re-encodes as the array of objects it decodes to.
	again, err := value.Decode(value.Encode(got))
	require.NoError(t, err)
	assert.True(t, value.Equal(got, again))
}

// TestWideObject: a count of 130 takes two varint bytes (JS widens it in place).
func TestWideObject(t *testing.T) {
	m := make([]value.Member, 130)
	for i := range m {
		m[i] = value.Member{Key: fmt.Sprintf("k%d", i), Value: num(float64(i))}
	}
	b := value.Encode(value.ObjectOf(m...))
	assert.Equal(t, "088201026b300400026b", hex.EncodeToString(b[:10]))
	roundTrip(t, value.ObjectOf(m...))
}

// roundTrip encodes v, decodes it, checks the result against v and that its
// encoding is the same bytes again, and returns it.
func roundTrip(t *testing.T, v value.Value) value.Value {
	t.Helper()
	b := value.Encode(v)
	got, err := value.Decode(b)
	require.NoError(t, err, "Decode(Encode(%v)) = % x", v, b)
	require.True(t, value.Equal(v, got), "round trip of %v gave %v", v, got)
	require.Equal(t, v.Kind(), got.Kind())
	require.Equal(t, b, value.Encode(got), "re-encoding of %v", v)
	// Append extends a buffer without touching what is there.
	prefix := []byte("prefix")
	require.Equal(t, append(prefix, b...), value.Append(bytes.Clone(prefix), v))
	return got
}

func TestRoundTrip(t *testing.T) {
	nested := obj(
		"z", num(1),
		"a", arr(num(1), num(2.5), num(-3), str("x"), value.NullValue, value.BoolOf(true),
			value.BoolOf(false), obj("k", arr()), value.BytesOf([]byte{0, 0xff})),
		"", obj("deeper", obj("deepest", arr(arr(arr(str("bottom")))))),
		"z", str("duplicate keys are kept"),
	)
	cases := []struct {
		name string
		v    value.Value
		tag  byte // expected first byte
	}{
		{"null", value.NullValue, value.TagNull},
		{"zero value", value.Value{}, value.TagNull},
		{"false", value.BoolOf(false), value.TagFalse},
		{"true", value.BoolOf(true), value.TagTrue},
		{"0", num(0), value.TagInt},
		{"-0", num(math.Copysign(0, -1)), value.TagInt},
		{"42", num(42), value.TagInt},
		{"-42", num(-42), value.TagInt},
		{"MaxInt32", num(math.MaxInt32), value.TagInt},
		{"2^53-1", num(1<<53 - 1), value.TagInt},
		{"2^53", num(1 << 53), value.TagInt},
		{"-2^53", num(-(1 << 53)), value.TagInt},
		{"2^53+2", num(1<<53 + 2), value.TagFloat},
		{"-2^53-2", num(-(1<<53 + 2)), value.TagFloat},
		{"2^63", num(1 << 63), value.TagFloat},
		{"-2^63", num(-(1 << 63)), value.TagFloat},
		{"2^64", num(1 << 64), value.TagFloat},
		{"1e300", num(1e300), value.TagFloat},
		{"-MaxFloat64", num(-math.MaxFloat64), value.TagFloat},
		{"0.5", num(0.5), value.TagFloat},
		{"-0.1", num(-0.1), value.TagFloat},
		{"1/3", num(1.0 / 3), value.TagFloat},
		{"2^51+0.5", num(1<<51 + 0.5), value.TagFloat}, // the largest magnitude with halves
		{"smallest subnormal", num(math.SmallestNonzeroFloat64), value.TagFloat},
		{"-smallest subnormal", num(-math.SmallestNonzeroFloat64), value.TagFloat},
		{"empty string", str(""), value.TagString},
		{"ascii", str("hello"), value.TagString},
		{"unicode", str("héllo, 日本, 😀, \uffff, \U0010ffff"), value.TagString},
		{"NUL", str("a\x00b\x00"), value.TagString},
		{"only NUL", str("\x00"), value.TagString},
		{"invalid UTF-8 kept as is", str("\xff\xfe"), value.TagString},
		{"long string", str(strings.Repeat("long ", 10000)), value.TagString},
		{"empty bytes", value.BytesOf(nil), value.TagBytes},
		{"bytes", value.BytesOf([]byte{0, 1, 0xfe, 0xff}), value.TagBytes},
		{"long bytes", value.BytesOf(bytes.Repeat([]byte{7}, 1000)), value.TagBytes},
		{"empty array", arr(), value.TagArray},
		{"array", arr(num(1), str("two"), arr(value.NullValue)), value.TagArray},
		{"empty object", obj(), value.TagObject},
		{"object key order", obj("b", num(1), "a", num(2), "", num(3), "日本", num(4)), value.TagObject},
		{"nested", nested, value.TagObject},
		{"array of 300", value.ArrayOf(func() []value.Value {
			out := make([]value.Value, 300)
			for i := range out {
				out[i] = num(float64(i)*1.25 - 100)
			}
			return out
		}()), value.TagArray},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.tag, value.Encode(c.v)[0], "tag")
			roundTrip(t, c.v)
		})
	}
}

func TestRoundTripDetails(t *testing.T) {
	t.Run("-0 folds to 0", func(t *testing.T) {
		assert.Equal(t, "0400", hex.EncodeToString(value.Encode(num(math.Copysign(0, -1)))))
		assert.Equal(t, "0400", hex.EncodeToString(value.AppendNumber(nil, math.Copysign(0, -1))))
		// a float -0 on the wire (the JS encoder never writes one, but may)
		got, err := value.Decode(unhex(t, "030000000000000080"))
		require.NoError(t, err)
		assert.Equal(t, value.Number, got.Kind())
		assert.False(t, math.Signbit(got.Number()), "decoded -0.0 has its sign dropped")
	})
	t.Run("integers keep their value exactly", func(t *testing.T) {
		for _, f := range []float64{1<<53 - 1, -(1<<53 - 1), 1 << 53, -(1 << 53), 1<<53 + 2, 1 << 60, -(1 << 60), 9007199254740993} {
			got := roundTrip(t, num(f))
			assert.Equal(t, f, got.Number())
		}
	})
	t.Run("object key order", func(t *testing.T) {
		got := roundTrip(t, obj("b", num(1), "a", num(2), "b", num(3)))
		assert.Equal(t, []string{"b", "a", "b"}, got.Keys())
		assert.Equal(t, 3.0, got.Index(2).Number())
	})
	t.Run("strings and bytes stay apart", func(t *testing.T) {
		assert.Equal(t, value.Bytes, roundTrip(t, value.BytesOf([]byte("ab"))).Kind())
		assert.Equal(t, value.String, roundTrip(t, str("ab")).Kind())
	})
	t.Run("a float-encoded integer decodes to the same number", func(t *testing.T) {
		b := binary.LittleEndian.AppendUint64([]byte{value.TagFloat}, math.Float64bits(3))
		got, err := value.Decode(b)
		require.NoError(t, err)
		assert.True(t, value.Equal(num(3), got))
		assert.Equal(t, "0406", hex.EncodeToString(value.Encode(got)))
	})
	t.Run("AppendString is Append of a string", func(t *testing.T) {
		for _, s := range []string{"", "a", "日本\x00", strings.Repeat("z", 300)} {
			assert.Equal(t, value.Encode(str(s)), value.AppendString(nil, s))
		}
	})
	t.Run("AppendNumber is Append of a number", func(t *testing.T) {
		for _, f := range valuetest.Numbers {
			assert.Equal(t, value.Encode(num(f)), value.AppendNumber(nil, f), "%v", f)
		}
	})
}

func TestRoundTripRandom(t *testing.T) {
	r := testRand(t)
	for range 2000 {
		roundTrip(t, valuetest.Value(r, 0))
	}
}

func TestRowset(t *testing.T) {
	rowset := func(cols []string, rows ...[]value.Value) []byte {
		b := value.AppendRowsetHeader(nil, cols, len(rows))
		for _, r := range rows {
			require.Len(t, r, len(cols))
			for _, v := range r {
				b = value.Append(b, v)
			}
		}
		return b
	}
	cases := []struct {
		name string
		enc  []byte
		want value.Value
	}{
		{"no rows", rowset([]string{"a", "b"}), arr()},
		{"no columns, no rows", rowset(nil), arr()},
		{"one column", rowset([]string{"x"}, []value.Value{num(1)}, []value.Value{num(2)}), arr(obj("x", num(1)), obj("x", num(2)))},
		{"odd column names", rowset([]string{"", "日本", "a\x00b"},
			[]value.Value{arr(num(1)), obj("k", value.NullValue), value.BytesOf([]byte{9})}),
			arr(obj("", arr(num(1)), "日本", obj("k", value.NullValue), "a\x00b", value.BytesOf([]byte{9})))},
		{"five columns", rowset([]string{"id", "name", "email", "score", "active"},
			[]value.Value{num(1), str("ann"), str("ann@example.com"), num(97.5), value.BoolOf(true)},
			[]value.Value{num(2), str("bob"), value.NullValue, num(-1), value.BoolOf(false)},
			[]value.Value{num(3), str(""), str("c@d"), num(1e300), value.NullValue}),
			arr(
				obj("id", num(1), "name", str("ann"), "email", str("ann@example.com"), "score", num(97.5), "active", value.BoolOf(true)),
				obj("id", num(2), "name", str("bob"), "email", value.NullValue, "score", num(-1), "active", value.BoolOf(false)),
				obj("id", num(3), "name", str(""), "email", str("c@d"), "score", num(1e300), "active", value.NullValue),
			)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := value.Decode(c.enc)
			require.NoError(t, err)
			assert.True(t, value.Equal(c.want, got), "got %v, want %v", got, c.want)
			assert.Equal(t, value.Array, got.Kind())
			roundTrip(t, got)
		})
	}

	t.Run("inside other values", func(t *testing.T) {
		// [rowset, 7] and {"rows": rowset}
		rs := rowset([]string{"a"}, []value.Value{str("x")})
		b := append(append([]byte{value.TagArray, 2}, rs...), value.Encode(num(7))...)
		got, err := value.Decode(b)
		require.NoError(t, err)
		assert.True(t, value.Equal(arr(arr(obj("a", str("x"))), num(7)), got), "%v", got)

		b = append([]byte{value.TagObject, 1, 4, 'r', 'o', 'w', 's'}, rs...)
		got, err = value.Decode(b)
		require.NoError(t, err)
		assert.True(t, value.Equal(obj("rows", arr(obj("a", str("x")))), got), "%v", got)
	})
}

func TestDecoder(t *testing.T) {
	vals := []value.Value{num(1), str("two"), arr(num(3)), value.NullValue, obj("five", num(5))}
	var b []byte
	var ends []int
	for _, v := range vals {
		b = value.Append(b, v)
		ends = append(ends, len(b))
	}
	b = binary.AppendUvarint(b, 1<<40) // a bare varint after the values

	d := value.NewDecoder(b)
	for i, want := range vals {
		require.True(t, d.More())
		if i == 2 {
			require.NoError(t, d.Skip())
		} else {
			got, err := d.Next()
			require.NoError(t, err)
			assert.True(t, value.Equal(want, got), "value %d: %v", i, got)
		}
		assert.Equal(t, ends[i], d.Offset())
	}
	require.True(t, d.More())
	u, err := d.Uvarint()
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<40), u)
	assert.False(t, d.More())
	assert.Equal(t, len(b), d.Offset())

	_, err = d.Next()
	assert.ErrorIs(t, err, value.ErrMalformed, "Next at the end")
	assert.ErrorIs(t, d.Skip(), value.ErrMalformed, "Skip at the end")
	_, err = d.Uvarint()
	assert.ErrorIs(t, err, value.ErrMalformed, "Uvarint at the end")

	_, err = value.NewDecoder([]byte{0xff}).Uvarint()
	assert.ErrorIs(t, err, value.ErrMalformed, "truncated varint")
	assert.ErrorIs(t, value.NewDecoder([]byte{0x7f}).Skip(), value.ErrMalformed, "Skip of an unknown tag")
}

// complexEncoding covers every tag, multi-byte varints and both number paths.
func complexEncoding(t testing.TB) []byte {
	v := obj(
		"null", value.NullValue,
		"bools", arr(value.BoolOf(false), value.BoolOf(true)),
		"int", num(-300),
		"big", num(1<<53),
		"float", num(1.5),
		"str", str("héllo\x00"),
		"bytes", value.BytesOf([]byte{0, 0xff}),
		"nested", arr(obj("k", arr(arr()))),
		strings.Repeat("long key ", 20), str(strings.Repeat("x", 200)),
	)
	b := value.Encode(v)
	// and a rowset as the last member
	b[1]++
	b = append(b, 2, 'r', 's')
	b = value.AppendRowsetHeader(b, []string{"a", "b"}, 2)
	for _, x := range []value.Value{num(1), str("x"), num(2.5), arr(value.NullValue)} {
		b = value.Append(b, x)
	}
	_, err := value.Decode(b)
	require.NoError(t, err)
	return b
}

func requireMalformed(t *testing.T, b []byte, msgAndArgs ...any) {
	t.Helper()
	var v value.Value
	var err error
	require.NotPanics(t, func() { v, err = value.Decode(b) }, msgAndArgs...)
	require.ErrorIs(t, err, value.ErrMalformed, msgAndArgs...)
	require.True(t, v.IsNull(), "a failed Decode returns the zero value")
	require.True(t, strings.HasPrefix(err.Error(), "decode value"), "error %q", err)
}

func TestDecodeTruncated(t *testing.T) {
	b := complexEncoding(t)
	for i := range len(b) {
		requireMalformed(t, b[:i], "truncated to %d of %d bytes", i, len(b))
		d := value.NewDecoder(b[:i])
		_, err := d.Next()
		require.ErrorIs(t, err, value.ErrMalformed, "Decoder.Next truncated to %d", i)
	}
	for _, c := range wireVectors {
		full := unhex(t, c.hex)
		for i := range len(full) {
			requireMalformed(t, full[:i], "%s truncated to %d bytes", c.name, i)
		}
	}
	full := unhex(t, wireRowset)
	for i := range len(full) {
		requireMalformed(t, full[:i], "rowset truncated to %d bytes", i)
	}
}

func TestDecodeTrailingBytes(t *testing.T) {
	for _, c := range wireVectors {
		for _, extra := range [][]byte{{0}, {0xff}, unhex(t, c.hex)} {
			b := append(unhex(t, c.hex), extra...)
			requireMalformed(t, b, "%s followed by % x", c.name, extra)
		}
	}
	requireMalformed(t, append(complexEncoding(t), 0))
}

func TestDecodeUnknownTags(t *testing.T) {
	for tag := 0x0a; tag <= 0xff; tag++ {
		requireMalformed(t, []byte{byte(tag)}, "tag %#x", tag)
		requireMalformed(t, []byte{byte(tag), 0, 0, 0, 0, 0, 0, 0, 0}, "tag %#x with payload", tag)
		requireMalformed(t, []byte{value.TagArray, 2, value.TagNull, byte(tag)}, "tag %#x inside an array", tag)
	}
	_, err := value.Decode([]byte{value.TagArray, 1, 0x2a})
	assert.ErrorContains(t, err, "unknown tag 0x2a")
	assert.ErrorContains(t, err, "at byte 2")
}

func TestDecodeNonFinite(t *testing.T) {
	bits := []uint64{
		math.Float64bits(math.Inf(1)),
		math.Float64bits(math.Inf(-1)),
		math.Float64bits(math.NaN()),
		0x7ff0000000000001, // signalling NaN
		0xfff8000000000000, // negative quiet NaN
		0x7fffffffffffffff, // NaN with every payload bit
	}
	for _, u := range bits {
		b := binary.LittleEndian.AppendUint64([]byte{value.TagFloat}, u)
		requireMalformed(t, b, "float bits %#x", u)
		requireMalformed(t, append([]byte{value.TagArray, 1}, b...), "float bits %#x in an array", u)
	}
}

func TestDecodeIntegerRange(t *testing.T) {
	zigzag := func(i int64) []byte {
		return binary.AppendUvarint([]byte{value.TagInt}, uint64(i<<1)^uint64(i>>63))
	}
	for _, i := range []int64{1<<53 + 1, -(1<<53 + 1), 1 << 62, math.MaxInt64, math.MinInt64} {
		requireMalformed(t, zigzag(i), "integer %d", i)
	}
	for _, i := range []int64{1 << 53, -(1 << 53), 0, -1} {
		got, err := value.Decode(zigzag(i))
		require.NoError(t, err)
		assert.Equal(t, float64(i), got.Number())
	}
	// varints that overflow 64 bits
	requireMalformed(t, unhex(t, "04ffffffffffffffffff7f"))
	requireMalformed(t, unhex(t, "04"+strings.Repeat("80", 10)+"00"))
	requireMalformed(t, unhex(t, "04ffffffffffffffffff02"))
}

func TestDecodeForgedCounts(t *testing.T) {
	huge := []string{"ffffffff0f", "ffffffffffffffff7f", "ffffffffffffffffff01", "8080808080808080808001"}
	for _, h := range huge {
		for _, prefix := range []string{
			"05",       // string length
			"06",       // bytes length
			"07",       // array count
			"08",       // object count
			"0801",     // object key length (a count of 1 is fine)
			"09",       // rowset column count
			"09016101", // rowset row count after one column "a"
			"0900",     // …and with no columns
		} {
			requireMalformed(t, unhex(t, prefix+h+"000000"), "%s then count %s", prefix, h)
		}
	}
	// Counts one past what the input can hold.
	for _, h := range []string{
		"050261",         // string of 2 bytes, 1 present
		"060200",         // bytes
		"070200",         // array of 2 values, 1 byte left
		"0802016100",     // object of 2 members needs at least 4 bytes, 3 left
		"0902016101",     // 2 columns, 1 present
		"090101610200",   // 2 rows of 1 column, 1 byte left
		"09020161016202", // 2 rows of 2 columns need 4 bytes, 0 left
	} {
		requireMalformed(t, unhex(t, h), h)
	}
	// Zero columns and some rows: each row would be empty, so the count is
	// bounded by the input like a one-column rowset (no free allocation).
	requireMalformed(t, unhex(t, "0900ffffffff0f"))
	requireMalformed(t, unhex(t, "090001"))
}

func TestDecodeDepth(t *testing.T) {
	nestedArrays := func(n int) []byte {
		return append(bytes.Repeat([]byte{value.TagArray, 1}, n), value.TagNull)
	}
	nestedObjects := func(n int) []byte {
		return append(bytes.Repeat([]byte{value.TagObject, 1, 1, 'k'}, n), value.TagNull)
	}
	for _, build := range []func(int) []byte{nestedArrays, nestedObjects} {
		// the top value is at depth 0: MaxDepth containers put null at depth MaxDepth
		v, err := value.Decode(build(value.MaxDepth))
		require.NoError(t, err)
		depth := 0
		for ; v.Len() > 0; v = v.Index(0) {
			depth++
		}
		assert.Equal(t, value.MaxDepth, depth)
		assert.True(t, v.IsNull())

		requireMalformed(t, build(value.MaxDepth+1))
		requireMalformed(t, build(10*value.MaxDepth))
		_, err = value.Decode(build(value.MaxDepth + 1))
		assert.ErrorContains(t, err, "nested too deeply")
	}
	// A rowset puts its values two levels down.
	rowsetAt := func(depth int) []byte {
		b := bytes.Repeat([]byte{value.TagArray, 1}, depth)
		b = value.AppendRowsetHeader(b, []string{"c"}, 1)
		return append(b, value.TagNull)
	}
	_, err := value.Decode(rowsetAt(value.MaxDepth - 2))
	require.NoError(t, err)
	requireMalformed(t, rowsetAt(value.MaxDepth-1))

	// A huge nesting depth fails fast instead of exhausting the stack.
	requireMalformed(t, bytes.Repeat([]byte{value.TagArray, 1}, 1<<20))

	// Encode does not limit depth, but what it writes past MaxDepth does not decode.
	deep := value.NullValue
	for range value.MaxDepth + 1 {
		deep = arr(deep)
	}
	requireMalformed(t, value.Encode(deep))
}

// row is a typical row of a five-column table.
var row = obj(
	"id", num(123456),
	"name", str("Ada Lovelace"),
	"email", str("ada@example.com"),
	"score", num(97.25),
	"active", value.BoolOf(true),
)

func BenchmarkAppendRow(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = value.Append(buf[:0], row)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRow(b *testing.B) {
	enc := value.Encode(row)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := value.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRowset(b *testing.B) {
	const rows = 100
	enc := value.AppendRowsetHeader(nil, row.Keys(), rows)
	for range rows {
		for _, v := range row.Items() {
			enc = value.Append(enc, v)
		}
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := value.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
