package value_test

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/engine/value/valuetest"
)

// testRand returns a generator seeded by valuetest.Seed (MINIBASE_SEED replays a run).
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(valuetest.Seed(t), 0x76616c7565))
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
