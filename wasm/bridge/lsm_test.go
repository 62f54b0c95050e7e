package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// TestBridgeStoreOptionsAndStats opens a root with a tiny memtable and
// cache, writes enough to flush, and reads the storage engine's stats back;
// compact merges the segments into one run.
func TestBridgeStoreOptionsAndStats(t *testing.T) {
	b := newBridge(t)
	require.Equal(t, "BAD_QUERY", code(t, b, "open", o("adapter", s("memory"), "root", s("r"), "memtableBytes", s("big"))))
	c := ok(t, b, "open", o("adapter", s("memory"), "root", s("r"), "memtableBytes", n(2048), "cacheBytes", n(4096)))
	ok(t, b, "createDatabase", c, s("d"), o())
	ok(t, b, "createTable", c, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	for i := 0; i < 200; i++ {
		ok(t, b, "insert", c, n(0), s("d"), s("t"), o("id", n(float64(i))))
	}
	st := ok(t, b, "stats", c)
	num := func(k string) float64 {
		v, found := st.Get(k)
		require.True(t, found, k)
		return v.Number()
	}
	require.Greater(t, num("flushes"), 0.0)
	require.Greater(t, num("segments"), 0.0)
	require.Equal(t, 4096.0, num("cacheLimit"))
	require.LessOrEqual(t, num("cacheBytes"), 4096.0)
	rate := num("cacheHitRate")
	require.True(t, rate >= 0 && rate <= 1, "hit rate %v", rate)
	ok(t, b, "compact", c)
	st = ok(t, b, "stats", c)
	require.Equal(t, 1.0, num("runs"))
	require.Equal(t, 200.0+1, num("keys"), "rows plus the catalog, exact after compaction")
}
