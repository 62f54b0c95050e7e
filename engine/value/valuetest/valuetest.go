// Package valuetest makes random values for the property tests of the
// packages that encode, compare and index them (value, keys). The pools are
// small so that random values are often equal or share a prefix, which is
// what reaches every branch of a comparison or an encoding.
package valuetest

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"minibase/engine/value"
)

// Numbers are awkward numbers: both zeros, extremes, smallest normals and
// subnormals, and the edges of exactly representable integers.
var Numbers = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1.5, -1.5, 2, -2, 1e-300, -1e-300, 1e300, -1e300,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
	0x1p-1022, -0x1p-1022, // smallest normals
	1 << 53, -(1 << 53), 1<<53 + 2, -(1<<53 + 2), 1 << 62, 1 << 63, -(1 << 63),
}

// pieces are joined into strings: empty, NUL, high bytes and multi-byte runes.
var pieces = []string{"", "a", "b", "\x00", "\x00\xff", "\x01", "\xfe", "\xff", "é", "日", "😀", "\uffff"}

// objectKeys are the member names of random objects.
var objectKeys = []string{"", "a", "b", "id", "é"}

// Number returns a random valid number (value.CheckNumber holds).
func Number(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return Numbers[r.IntN(len(Numbers))]
	case 1:
		return float64(r.IntN(9) - 4)
	case 2:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(80)-40))
	}
	for {
		if f := math.Float64frombits(r.Uint64()); value.CheckNumber(f) {
			return f
		}
	}
}

// String returns a random string of up to three pieces.
func String(r *rand.Rand) string {
	var sb strings.Builder
	for n := r.IntN(4); n > 0; n-- {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

// Indexable returns a random null, boolean, number, string or bytes value:
// the kinds a key can hold.
func Indexable(r *rand.Rand) value.Value {
	switch r.IntN(8) {
	case 0:
		return value.NullValue
	case 1:
		return value.BoolOf(r.IntN(2) == 0)
	case 2, 3:
		return value.NumberOf(Number(r))
	case 4, 5, 6:
		return value.StringOf(String(r))
	}
	return value.BytesOf([]byte(String(r)))
}

// Value returns a random value of any kind; below depth 3 it may be an
// array or an object.
func Value(r *rand.Rand, depth int) value.Value {
	kinds := 7
	if depth >= 3 {
		kinds = 5
	}
	switch r.IntN(kinds) {
	case 0:
		return value.NullValue
	case 1:
		return value.BoolOf(r.IntN(2) == 0)
	case 2:
		return value.NumberOf(Number(r))
	case 3:
		return value.StringOf(String(r))
	case 4:
		return value.BytesOf([]byte(String(r)))
	case 5:
		items := make([]value.Value, r.IntN(4))
		for i := range items {
			items[i] = Value(r, depth+1)
		}
		return value.ArrayOf(items)
	}
	n := r.IntN(4)
	keys, items := make([]string, n), make([]value.Value, n)
	for i := range items {
		keys[i], items[i] = objectKeys[r.IntN(len(objectKeys))], Value(r, depth+1)
	}
	return value.ObjectFrom(keys, items)
}

// Seed returns the seed of a randomized test: MINIBASE_SEED when it is set,
// else a random one. It logs the seed so that a failure can be replayed.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("MINIBASE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MINIBASE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (rerun with MINIBASE_SEED=%d)", seed, seed)
	return seed
}
