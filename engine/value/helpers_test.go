package value_test

import (
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
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

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
