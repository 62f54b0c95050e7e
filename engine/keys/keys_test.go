package keys_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/keys"
	"minibase/engine/value"
	"minibase/engine/value/valuetest"
)

// testRand returns a generator seeded by valuetest.Seed (MINIBASE_SEED replays a run).
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(valuetest.Seed(t), 0x6b657973))
}

func num(f float64) value.Value { return value.NumberOf(f) }
func str(s string) value.Value  { return value.StringOf(s) }
func byt(s string) value.Value  { return value.BytesOf([]byte(s)) }

var negZero = math.Copysign(0, -1)

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func mustEncode(t testing.TB, vs ...value.Value) []byte {
	t.Helper()
	var b []byte
	for _, v := range vs {
		var err error
		b, err = keys.Append(b, v)
		require.NoError(t, err, "Append(%v)", v)
	}
	return b
}

// compareTuples is the order of tuples: element by element, a prefix first.
func compareTuples(a, b []value.Value) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := value.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}

// TestLayout pins the documented layout: keys are stored, so it must not change.
func TestLayout(t *testing.T) {
	cases := []struct {
		v   value.Value
		hex string
	}{
		{value.NullValue, "01"},
		{value.BoolOf(false), "02"},
		{value.BoolOf(true), "03"},
		{num(0), "048000000000000000"},
		{num(negZero), "048000000000000000"},
		{num(1), "04bff0000000000000"},
		{num(-1), "04400fffffffffffff"},
		{num(1.5), "04bff8000000000000"},
		{num(math.SmallestNonzeroFloat64), "048000000000000001"},
		{num(-math.SmallestNonzeroFloat64), "047ffffffffffffffe"},
		{str(""), "050001"},
		{str("ab"), "0561620001"},
		{str("a\x00b"), "056100ff620001"},
		{str("\x00"), "0500ff0001"},
		{str("\xff"), "05ff0001"},
		{str("é"), "05c3a90001"},
		{byt(""), "060001"},
		{byt("\x00\x01"), "0600ff010001"},
	}
	for _, c := range cases {
		b, err := keys.Append(nil, c.v)
		require.NoError(t, err)
		assert.Equal(t, c.hex, hex.EncodeToString(b), "%v", c.v)
	}
	assert.Equal(t, "0561620001", hex.EncodeToString(keys.AppendString(nil, "ab")))
	assert.Equal(t, "04bff8000000000000", hex.EncodeToString(keys.AppendNumber(nil, 1.5)))
	assert.Equal(t, "048000000000000000", hex.EncodeToString(keys.AppendNumber(nil, negZero)))
}

// TestOrderExamples lists values in strictly increasing order.
func TestOrderExamples(t *testing.T) {
	ordered := []value.Value{
		value.NullValue,
		value.BoolOf(false),
		value.BoolOf(true),
		num(-math.MaxFloat64),
		num(-1e300),
		num(-(1 << 53)),
		num(-2),
		num(-1.5),
		num(-1),
		num(-0.5),
		num(-0x1p-1022),
		num(-math.SmallestNonzeroFloat64),
		num(0),
		num(math.SmallestNonzeroFloat64),
		num(0x1p-1022),
		num(1e-300),
		num(0.5),
		num(1),
		num(1.5),
		num(2),
		num(1 << 53),
		num(1<<53 + 2),
		num(1e300),
		num(math.MaxFloat64),
		str(""),
		str("\x00"),
		str("\x00\x00"),
		str("\x00\x01"),
		str("\x00\xff"),
		str("\x01"),
		str("a"),
		str("a\x00"),
		str("a\x00\x00"),
		str("a\x00b"),
		str("a\x01"),
		str("ab"),
		str("b"),
		str("é"),
		str("\uffff"),
		str("😀"),
		str("\xfe"),
		str("\xff"),
		str("\xff\x00"),
		str("\xff\xff"),
		byt(""),
		byt("\x00"),
		byt("\x00\xff"),
		byt("\xff"),
	}
	enc := make([][]byte, len(ordered))
	for i, v := range ordered {
		enc[i] = mustEncode(t, v)
	}
	for i := range ordered {
		for j := range ordered {
			require.Equal(t, sign(i-j), value.Compare(ordered[i], ordered[j]), "value.Compare(%v, %v)", ordered[i], ordered[j])
			require.Equal(t, sign(i-j), bytes.Compare(enc[i], enc[j]), "keys of %v and %v", ordered[i], ordered[j])
		}
	}
}

// TestOrderProperty: for random indexable values, the order of the keys is
// the order of the values.
func TestOrderProperty(t *testing.T) {
	r := testRand(t)
	vals := make([]value.Value, 600)
	for i := range vals {
		vals[i] = valuetest.Indexable(r)
	}
	enc := make([][]byte, len(vals))
	for i, v := range vals {
		enc[i] = mustEncode(t, v)
	}
	equal := 0
	for i, a := range vals {
		for j, b := range vals {
			want := sign(value.Compare(a, b))
			if got := bytes.Compare(enc[i], enc[j]); got != want {
				t.Fatalf("keys of %v and %v compare %d, values %d (% x, % x)", a, b, got, want, enc[i], enc[j])
			}
			if want == 0 && i != j {
				equal++
			}
		}
	}
	t.Logf("%d equal pairs", equal)

	// Sorting the keys sorts the values.
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return bytes.Compare(enc[i], enc[j]) })
	for k := 1; k < len(idx); k++ {
		require.LessOrEqual(t, value.Compare(vals[idx[k-1]], vals[idx[k]]), 0)
	}
}

// TestTupleOrder: concatenated keys order tuples element by element, with a
// tuple before every longer tuple that starts with it.
func TestTupleOrder(t *testing.T) {
	tuple := func(vs ...value.Value) []value.Value { return vs }
	ordered := [][]value.Value{
		tuple(value.NullValue),
		tuple(value.NullValue, value.NullValue),
		tuple(num(-1)),
		tuple(num(-1), str("z")),
		tuple(num(0)),
		tuple(num(0), num(-1)),
		tuple(num(0), num(0)),
		tuple(num(0), num(0), num(0)),
		tuple(num(0), num(1)),
		tuple(num(1)),
		tuple(str("")),
		tuple(str(""), value.NullValue),
		tuple(str(""), str("")),
		tuple(str(""), str("a")),
		tuple(str("\x00")),
		tuple(str("a")),
		tuple(str("a"), value.NullValue),
		tuple(str("a"), str("")),
		tuple(str("a"), str("b")),
		tuple(str("a"), str("b"), str("c")),
		tuple(str("a"), str("\xff")),
		tuple(str("a"), byt("")),
		tuple(str("a\x00")), // after ("a", anything): "a" < "a\x00"
		tuple(str("a\x00"), str("a")),
		tuple(str("a\x00b")),
		tuple(str("a\x01")),
		tuple(str("ab")),
		tuple(str("ab"), str("")),
		tuple(str("a\xff")),
		tuple(byt("a")),
		tuple(byt("a"), str("a")),
		tuple(byt("a\x00")),
	}
	enc := make([][]byte, len(ordered))
	for i, tu := range ordered {
		enc[i] = mustEncode(t, tu...)
	}
	for i := range ordered {
		for j := range ordered {
			require.Equal(t, sign(i-j), compareTuples(ordered[i], ordered[j]), "tuples %v and %v", ordered[i], ordered[j])
			require.Equal(t, sign(i-j), bytes.Compare(enc[i], enc[j]), "keys of %v and %v", ordered[i], ordered[j])
		}
	}
}

func TestTupleOrderProperty(t *testing.T) {
	r := testRand(t)
	// A small pool of parts, so that tuples often share a prefix.
	parts := make([]value.Value, 12)
	for i := range parts {
		parts[i] = valuetest.Indexable(r)
	}
	parts = append(parts, str("a"), str("a\x00"), str(""), byt(""), num(0), num(negZero))
	tuples := make([][]value.Value, 500)
	enc := make([][]byte, len(tuples))
	for i := range tuples {
		tu := make([]value.Value, 1+r.IntN(3))
		for k := range tu {
			if r.IntN(3) == 0 {
				tu[k] = valuetest.Indexable(r)
			} else {
				tu[k] = parts[r.IntN(len(parts))]
			}
		}
		tuples[i], enc[i] = tu, mustEncode(t, tu...)
	}
	for i := range tuples {
		for j := range tuples {
			want, got := compareTuples(tuples[i], tuples[j]), bytes.Compare(enc[i], enc[j])
			if got != want {
				t.Fatalf("keys of %v and %v compare %d, tuples %d (% x, % x)", tuples[i], tuples[j], got, want, enc[i], enc[j])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	vals := []value.Value{
		value.NullValue, value.BoolOf(false), value.BoolOf(true),
		str(""), str("a\x00b"), str("\x00"), str("\x00\xff"), str("\xff\xff"), str("日本 😀"), str("\x00\x01"),
		byt(""), byt("\x00"), byt("\x00\x00\x01\xff"),
	}
	for _, f := range valuetest.Numbers {
		vals = append(vals, num(f))
	}
	r := testRand(t)
	for range 500 {
		vals = append(vals, valuetest.Indexable(r))
	}
	for _, v := range vals {
		b := mustEncode(t, v)
		got, rest, err := keys.Decode(b)
		require.NoError(t, err, "Decode(% x)", b)
		require.Empty(t, rest)
		require.True(t, value.Equal(v, got), "Decode(Encode(%v)) = %v", v, got)
		require.Equal(t, v.Kind(), got.Kind())
		if got.Number() == 0 {
			require.False(t, math.Signbit(got.Number()), "no -0 comes out")
		}

		// Decode leaves what follows.
		tail := []byte{0x05, 0x00, 0x00, 0x01}
		got, rest, err = keys.Decode(append(bytes.Clone(b), tail...))
		require.NoError(t, err)
		require.True(t, value.Equal(v, got))
		require.Equal(t, tail, rest)

		all, err := keys.DecodeAll(b, 1)
		require.NoError(t, err)
		require.Len(t, all, 1)
		require.True(t, value.Equal(v, all[0]))
	}

	// Tuples through DecodeAll.
	for range 300 {
		tu := make([]value.Value, r.IntN(5))
		for k := range tu {
			tu[k] = valuetest.Indexable(r)
		}
		b := mustEncode(t, tu...)
		got, err := keys.DecodeAll(b, len(tu))
		require.NoError(t, err, "DecodeAll(% x, %d)", b, len(tu))
		require.Len(t, got, len(tu))
		for k := range tu {
			require.True(t, value.Equal(tu[k], got[k]), "part %d: %v != %v", k, tu[k], got[k])
		}
		if len(tu) > 0 {
			_, err = keys.DecodeAll(b, len(tu)-1)
			require.ErrorIs(t, err, keys.ErrMalformed, "a part left over")
		}
		_, err = keys.DecodeAll(b, len(tu)+1)
		require.ErrorIs(t, err, keys.ErrMalformed, "a part missing")
	}
	got, err := keys.DecodeAll(nil, 0)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestAppendExtends(t *testing.T) {
	prefix := []byte{0xaa, 0xbb}
	for _, v := range []value.Value{value.NullValue, num(3), str("x\x00"), byt("y")} {
		b, err := keys.Append(bytes.Clone(prefix), v)
		require.NoError(t, err)
		assert.Equal(t, append(bytes.Clone(prefix), mustEncode(t, v)...), b)
	}
	assert.Equal(t, append(bytes.Clone(prefix), mustEncode(t, str("q"))...), keys.AppendString(bytes.Clone(prefix), "q"))
	assert.Equal(t, append(bytes.Clone(prefix), mustEncode(t, num(-7))...), keys.AppendNumber(bytes.Clone(prefix), -7))
}

func TestNotIndexable(t *testing.T) {
	for _, v := range []value.Value{
		value.ArrayOf(nil),
		value.ArrayOf([]value.Value{num(1)}),
		value.ObjectOf(),
		value.ObjectOf(value.Member{Key: "a", Value: num(1)}),
	} {
		prefix := []byte{1, 2, 3}
		b, err := keys.Append(prefix, v)
		require.ErrorIs(t, err, keys.ErrNotIndexable, "%v", v)
		assert.NotErrorIs(t, err, keys.ErrMalformed)
		assert.Equal(t, prefix, b, "a failed Append leaves the buffer as it was")
		assert.Contains(t, err.Error(), v.Kind().String())
	}
}

func TestDecodeMalformed(t *testing.T) {
	cases := []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"tag 0x00", "00"},
		{"tag 0x07", "07"},
		{"tag 0xff", "ff"},
		{"number without bits", "04"},
		{"number of 7 bytes", "0480000000000000"},
		{"+Inf", "04fff0000000000000"},
		{"-Inf", "04000fffffffffffff"},
		{"NaN", "04fff8000000000000"},
		{"negative NaN", "040007ffffffffffff"},
		{"-0 (not canonical: 0 has one key)", "047fffffffffffffff"},
		{"unterminated string", "0561"},
		{"string ending in 0x00", "056100"},
		{"string ending in an escape", "0500ff"},
		{"bad escape", "05610002"},
		{"bad escape 0x00 0x00", "05000001"},
		{"unterminated bytes", "06"},
		{"bytes bad escape", "0600fe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := hex.DecodeString(c.hex)
			require.NoError(t, err)
			var rest []byte
			require.NotPanics(t, func() { _, rest, err = keys.Decode(b) })
			require.ErrorIs(t, err, keys.ErrMalformed)
			assert.Nil(t, rest)
			_, err = keys.DecodeAll(b, 1)
			require.ErrorIs(t, err, keys.ErrMalformed)
		})
	}
	// Every strict prefix of a key is malformed.
	full := mustEncode(t, num(-2.5), str("a\x00b"), byt("\x00"), value.BoolOf(true))
	for i := range len(full) {
		_, err := keys.DecodeAll(full[:i], 4)
		require.ErrorIs(t, err, keys.ErrMalformed, "truncated to %d", i)
	}
}

func TestDecodeAllCounts(t *testing.T) {
	b := mustEncode(t, num(1), num(2))
	for _, n := range []int{-1, math.MinInt, 3, 1 << 40, math.MaxInt} {
		var err error
		require.NotPanics(t, func() { _, err = keys.DecodeAll(b, n) }, "n = %d", n)
		require.ErrorIs(t, err, keys.ErrMalformed, "n = %d", n)
	}
	_, err := keys.DecodeAll(b, 0)
	require.ErrorIs(t, err, keys.ErrMalformed, "trailing bytes")
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"a", "b"},
		{"ab", "ac"},
		{"a\xff", "b"},
		{"a\xff\xff", "b"},
		{"\x00", "\x01"},
		{"\xfe", "\xff"},
		{"\xfe\xff", "\xff"},
		{"\xff", ""},
		{"\xff\xff\xff", ""},
	}
	for _, c := range cases {
		in := []byte(c.in)
		orig := bytes.Clone(in)
		got := keys.PrefixEnd(in)
		if c.want == "" {
			assert.Nil(t, got, "PrefixEnd(%q)", c.in)
		} else {
			assert.Equal(t, []byte(c.want), got, "PrefixEnd(%q)", c.in)
		}
		assert.Equal(t, orig, in, "PrefixEnd must not modify its argument")
	}
	// The result does not alias the argument.
	in := []byte("ab")
	end := keys.PrefixEnd(in)
	end[0] = 'z'
	assert.Equal(t, []byte("ab"), in)
}

// TestPrefixEndProperty: k starts with p exactly when p ≤ k < PrefixEnd(p)
// (no upper bound when PrefixEnd is nil).
func TestPrefixEndProperty(t *testing.T) {
	r := testRand(t)
	alphabet := []byte{0x00, 0x01, 0x7f, 0xfe, 0xff}
	randBytes := func(max int) []byte {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	for range 20000 {
		p, k := randBytes(3), randBytes(5)
		if r.IntN(2) == 0 {
			k = append(bytes.Clone(p), k...)
		}
		end := keys.PrefixEnd(p)
		in := bytes.Compare(p, k) <= 0 && (end == nil || bytes.Compare(k, end) < 0)
		require.Equal(t, bytes.HasPrefix(k, p), in, "p=% x k=% x end=% x", p, k, end)
	}
}

// TestPrefixEndOfTuples: the tuples that start with a value are the keys in
// [key(v), PrefixEnd(key(v))), which is how an index scans one value.
func TestPrefixEndOfTuples(t *testing.T) {
	r := testRand(t)
	for range 2000 {
		v, w, x := valuetest.Indexable(r), valuetest.Indexable(r), valuetest.Indexable(r)
		lo := mustEncode(t, v)
		hi := keys.PrefixEnd(lo)
		require.NotNil(t, hi)
		k := mustEncode(t, w, x)
		in := bytes.Compare(lo, k) <= 0 && bytes.Compare(k, hi) < 0
		require.Equal(t, value.Equal(v, w), in, "prefix %v, tuple (%v, %v)", v, w, x)
	}
}

func BenchmarkAppendNumber(b *testing.B) {
	buf := make([]byte, 0, 64)
	nums := []float64{0, 1, -1, 123456, -0.001, 1e300}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = keys.AppendNumber(buf[:0], nums[i%len(nums)])
		i++
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	strs := []string{"ada@example.com", "Ada Lovelace", "a\x00b\x00c", strings.Repeat("x", 100)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = keys.AppendString(buf[:0], strs[i%len(strs)])
		i++
	}
}

func BenchmarkDecodeString(b *testing.B) {
	k := keys.AppendString(nil, "ada@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := keys.Decode(k); err != nil {
			b.Fatal(err)
		}
	}
}
