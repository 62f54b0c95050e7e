package value_test

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// testRand returns a generator seeded from MINIBASE_SEED when it is set, or
// at random, and logs the seed so that a failure can be replayed.
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	var seed uint64
	if s := os.Getenv("MINIBASE_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "MINIBASE_SEED")
	} else {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with MINIBASE_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x76616c7565))
}

// unhex decodes a hex literal of a test table.
func unhex(t testing.TB, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	require.NoError(t, err)
	return b
}

func num(f float64) value.Value { return value.NumberOf(f) }
func str(s string) value.Value  { return value.StringOf(s) }

func arr(items ...value.Value) value.Value { return value.ArrayOf(items) }

// obj builds an object from alternating keys and values.
func obj(kv ...any) value.Value {
	var m []value.Member
	for i := 0; i < len(kv); i += 2 {
		m = append(m, value.Member{Key: kv[i].(string), Value: kv[i+1].(value.Value)})
	}
	return value.ObjectOf(m...)
}

// Pools small enough that random values are often equal or share a prefix,
// so that every branch of Compare is reached.
var (
	poolNumbers = []float64{
		0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1.5, 2, -2, 1e-300, -1e-300,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
		1 << 53, -(1 << 53), 1<<53 + 2, -(1<<53 + 2), 1 << 62, 1e300,
	}
	poolRunes = []string{"", "a", "b", "\x00", "\x01", "\xff", "é", "日", "😀", "\uffff"}
	poolKeys  = []string{"", "a", "b", "id", "é"}
)

func randNumber(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return poolNumbers[r.IntN(len(poolNumbers))]
	case 1:
		return float64(r.IntN(7) - 3)
	case 2:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20))
	}
	for {
		if f := math.Float64frombits(r.Uint64()); value.CheckNumber(f) {
			return f
		}
	}
}

func randString(r *rand.Rand) string {
	var sb strings.Builder
	for n := r.IntN(4); n > 0; n-- {
		sb.WriteString(poolRunes[r.IntN(len(poolRunes))])
	}
	return sb.String()
}

// randValue returns a random value; below depth 3 it may be an array or object.
func randValue(r *rand.Rand, depth int) value.Value {
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
		return value.NumberOf(randNumber(r))
	case 3:
		return value.StringOf(randString(r))
	case 4:
		return value.BytesOf([]byte(randString(r)))
	case 5:
		items := make([]value.Value, r.IntN(4))
		for i := range items {
			items[i] = randValue(r, depth+1)
		}
		return value.ArrayOf(items)
	}
	n := r.IntN(4)
	keys, items := make([]string, n), make([]value.Value, n)
	for i := range items {
		keys[i], items[i] = poolKeys[r.IntN(len(poolKeys))], randValue(r, depth+1)
	}
	return value.ObjectFrom(keys, items)
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
