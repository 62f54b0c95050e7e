package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

func TestChangeFeedOps(t *testing.T) {
	b := newBridge(t)
	h := ok(t, b, "open", o("adapter", s("memory"), "root", s("feed")))
	h2 := ok(t, b, "open", o("adapter", s("memory"), "root", s("feed"))) // the same engine connection
	ok(t, b, "createDatabase", h, s("d"), o())
	ok(t, b, "createTable", h, s("d"), s("t"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("g"), "type", s("number")),
	), "indexes", a(o("columns", a(s("g"))))))

	w := ok(t, b, "changesWatch", h, value.BoolOf(true))
	w2 := ok(t, b, "changesWatch", h2, value.BoolOf(true))
	require.Equal(t, w.String(), w2.String(), "handles of one engine connection share the feed and its flag")
	conn, err := (&call{b: b, args: []value.Value{h}}).conn()
	require.NoError(t, err)
	flag := feedFlags[conn]
	require.NotNil(t, flag)

	rs := ok(t, b, "readRanges", h, n(0), s("d"), s("t"), o("where", o("g", n(3))))
	require.Equal(t, 1, rs.Len())
	ok(t, b, "changesFilter", h, value.BoolOf(false), rs)

	before := *flag
	ok(t, b, "insert", h, n(0), s("d"), s("t"), o("id", n(1), "g", n(4)))
	require.Equal(t, before, *flag, "outside the ranges: no change kept, the flag stays")
	ok(t, b, "insert", h, n(0), s("d"), s("t"), o("id", n(2), "g", n(3)))
	require.Equal(t, before+1, *flag)
	got := ok(t, b, "changesTake", h2, value.BoolOf(true))
	cs, _ := got.Get("changes")
	require.Equal(t, 1, cs.Len())
	ch := cs.Index(0)
	for k, want := range map[string]string{"db": `"d"`, "table": `"t"`, "op": `"insert"`, "key": "2", "row": `{"id":2,"g":3}`} {
		v, _ := ch.Get(k)
		require.Equal(t, want, v.String(), k)
	}
	keys, _ := ch.Get("keys")
	require.Equal(t, 2, keys.Len(), "row key and the g entry")
	lo, hi := rs.Index(0).Index(0).Str(), rs.Index(0).Index(1).Str()
	require.True(t, keys.Index(1).Str() >= lo && keys.Index(1).Str() < hi, "hex order is byte order: the g entry lies in the range")

	kr := ok(t, b, "keyRange", h, n(0), s("d"), s("t"), n(2))
	require.True(t, keys.Index(0).Str() >= kr.Index(0).Index(0).Str() && keys.Index(0).Str() < kr.Index(0).Index(1).Str())

	// Without rows, and after a schema change.
	ok(t, b, "changesFilter", h, value.BoolOf(true), a())
	ok(t, b, "insert", h, n(0), s("d"), s("t"), o("id", n(3), "g", n(9)))
	got = ok(t, b, "changesTake", h)
	cs, _ = got.Get("changes")
	row, _ := cs.Index(0).Get("row")
	require.True(t, row.IsNull())
	ok(t, b, "createIndex", h, s("d"), s("t"), s("id"))
	got = ok(t, b, "changesTake", h)
	schema, _ := got.Get("schema")
	require.True(t, schema.Bool())

	ok(t, b, "changesWatch", h, value.BoolOf(false))
	require.Nil(t, feedFlags[conn])
	ok(t, b, "close", h)
	ok(t, b, "close", h2)
}

func TestChangeFeedOpsRefuseBadInput(t *testing.T) {
	b := newBridge(t)
	h := ok(t, b, "open", o("adapter", s("memory"), "root", s("bad")))
	ok(t, b, "changesWatch", h, value.BoolOf(true))
	for _, args := range [][]value.Value{
		{h, s("yes"), a()},
		{h, value.BoolOf(false), s("ranges")},
		{h, value.BoolOf(false), a(a(s("00")))},
		{h, value.BoolOf(false), a(a(s("zz"), s("00")))},
		{h, value.BoolOf(false), a(a(n(1), n(2)))},
	} {
		require.Equal(t, "BAD_QUERY", code(t, b, "changesFilter", args...))
	}
	require.Equal(t, "BAD_QUERY", code(t, b, "changesWatch", h, s("on")))
	require.Equal(t, "CLOSED", code(t, b, "changesTake", n(99)))
	require.Equal(t, "NO_SUCH_DATABASE", code(t, b, "readRanges", h, n(0), s("nope"), s("t"), o()))
	ok(t, b, "createDatabase", h, s("d"), o())
	require.Equal(t, "NO_SUCH_TABLE", code(t, b, "keyRange", h, n(0), s("d"), s("t"), n(1)))
	ok(t, b, "close", h)
}

// FuzzChangesFilter: whatever the ranges, the op answers and the engine
// keeps working.
func FuzzChangesFilter(f *testing.F) {
	f.Add("0100", "0200", true)
	f.Add("", "ff", false)
	f.Add("zz", "", false)
	f.Fuzz(func(t *testing.T, lo, hi string, all bool) {
		b := newBridge(t)
		h := ok(t, b, "open", o("adapter", s("memory"), "root", s("fz")))
		ok(t, b, "createDatabase", h, s("d"), o())
		ok(t, b, "createTable", h, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
		ok(t, b, "changesWatch", h, value.BoolOf(true))
		do(t, b, "changesFilter", h, value.BoolOf(all), a(a(s(lo), s(hi)), a(s(hi), s(lo))))
		ok(t, b, "insert", h, n(0), s("d"), s("t"), o("id", n(1)))
		ok(t, b, "changesTake", h)
	})
}
