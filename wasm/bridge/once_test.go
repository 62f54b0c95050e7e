package bridge

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// once sends call seq of caller from in a once envelope and returns the raw
// response.
func once(t testing.TB, b *Bridge, from string, seq float64, op string, args ...value.Value) []byte {
	t.Helper()
	req := value.Encode(a(append([]value.Value{s("once"), s(from), n(seq), s(op)}, args...)...))
	resp := b.Handle(req, nil)
	require.NotEmpty(t, resp)
	return append([]byte(nil), resp...)
}

func answer(t testing.TB, resp []byte) (string, bool) {
	t.Helper()
	v, err := value.Decode(resp[1:])
	require.NoError(t, err)
	return v.String(), resp[0] == StatusOK
}

func onceDB(t testing.TB) (*Bridge, value.Value) {
	t.Helper()
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("once")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true), "autoIncrement", value.BoolOf(true)),
		o("name", s("v"), "type", s("string")))))
	return b, conn
}

func count(t testing.TB, b *Bridge, conn value.Value) float64 {
	t.Helper()
	return ok(t, b, "count", conn, n(0), s("d"), s("t"), o()).Number()
}

func TestOnceAnswersAResentWriteFromItsRecord(t *testing.T) {
	b, conn := onceDB(t)
	rows := a(o("v", s("x")), o("v", s("y")))
	cases := []struct {
		op   string
		args []value.Value
		want string
	}{
		{"insert", []value.Value{conn, n(0), s("d"), s("t"), o("v", s("a"))}, `{"id":1}`},
		{"insertMany", []value.Value{conn, n(0), s("d"), s("t"), rows}, `2`}, // streamed from the request
		{"upsert", []value.Value{conn, n(0), s("d"), s("t"), o("v", s("u"))}, `{"id":4}`},
		{"update", []value.Value{conn, n(0), s("d"), s("t"), o("v", s("b")), o("where", o("id", o(">", n(0))))}, `4`},
		{"delete", []value.Value{conn, n(0), s("d"), s("t"), o("where", o("id", n(2)))}, `1`},
	}
	for i, tc := range cases {
		first, good := answer(t, once(t, b, "tab1", float64(i+1), tc.op, tc.args...))
		require.True(t, good, "%s: %s", tc.op, first)
		assert.Equal(t, tc.want, first, tc.op)
		before := count(t, b, conn)
		again, good := answer(t, once(t, b, "tab1", float64(i+1), tc.op, tc.args...))
		require.True(t, good)
		assert.Equal(t, first, again, "%s resent: the recorded answer", tc.op)
		assert.Equal(t, before, count(t, b, conn), "%s resent: not run again", tc.op)
	}
	assert.Equal(t, `[{"id":1,"v":"b"},{"id":3,"v":"b"},{"id":4,"v":"b"}]`,
		ok(t, b, "select", conn, n(0), s("d"), s("t"), o()).String())

	// Asked without running it (its handles may be gone): the same answer.
	assert.Equal(t, `[0,{"id":1}]`, ok(t, b, "recorded", conn, s("tab1"), n(1)).String())
	assert.Equal(t, `[0,2]`, ok(t, b, "recorded", conn, s("tab1"), n(2)).String())
	assert.Equal(t, `null`, ok(t, b, "recorded", conn, s("tab1"), n(99)).String())
	assert.Equal(t, "BAD_QUERY", code(t, b, "recorded", conn, s("tab1"), n(-1)))

	// Another caller's call of the same number is another call.
	got, good := answer(t, once(t, b, "tab2", 1, "insert", conn, n(0), s("d"), s("t"), o("v", s("a"))))
	require.True(t, good)
	assert.Equal(t, `{"id":5}`, got)

	// Settled calls are forgotten: sent again, they run again.
	assert.Equal(t, 5.0, ok(t, b, "settle", conn, s("tab1"), n(6)).Number())
	assert.Equal(t, 0.0, ok(t, b, "settle", conn, s("tab1"), n(6)).Number())
	got, _ = answer(t, once(t, b, "tab1", 1, "insert", conn, n(0), s("d"), s("t"), o("v", s("a"))))
	assert.Equal(t, `{"id":6}`, got)
	got, _ = answer(t, once(t, b, "tab2", 1, "insert", conn, n(0), s("d"), s("t"), o("v", s("a"))))
	assert.Equal(t, `{"id":5}`, got, "tab2's record stays")
}

func TestOnceCommit(t *testing.T) {
	b, conn := onceDB(t)
	tx := ok(t, b, "begin", conn)
	// A write inside a transaction commits with commit: its envelope records nothing.
	got, good := answer(t, once(t, b, "tab", 1, "insert", conn, tx, s("d"), s("t"), o("v", s("a"))))
	require.True(t, good)
	assert.Equal(t, `{"id":1}`, got)
	got, good = answer(t, once(t, b, "tab", 2, "commit", conn, tx))
	require.True(t, good)
	assert.Equal(t, `null`, got)
	// Resent after it committed (its transaction is gone): the recorded null, not TX_CLOSED.
	got, good = answer(t, once(t, b, "tab", 2, "commit", conn, tx))
	assert.True(t, good, got)
	assert.Equal(t, `null`, got)
	assert.Equal(t, "TX_CLOSED", code(t, b, "commit", conn, tx), "without the envelope it is closed")
	assert.Equal(t, 1.0, count(t, b, conn))
}

func TestOnceWithoutRecord(t *testing.T) {
	b, conn := onceDB(t)
	ok(t, b, "insert", conn, n(0), s("d"), s("t"), o("id", n(7), "v", s("a")))
	// A failed write records nothing: resent, it runs (and fails) again.
	for range 2 {
		got, good := answer(t, once(t, b, "tab", 1, "insert", conn, n(0), s("d"), s("t"), o("id", n(7), "v", s("b"))))
		assert.False(t, good)
		assert.Contains(t, got, "UNIQUE_VIOLATION")
	}
	// A write that changed nothing records nothing: running it again is harmless.
	got, _ := answer(t, once(t, b, "tab", 2, "delete", conn, n(0), s("d"), s("t"), o("where", o("id", n(99)))))
	assert.Equal(t, "0", got)
	// Reads and ops not declared once just run.
	got, good := answer(t, once(t, b, "tab", 3, "count", conn, n(0), s("d"), s("t"), o()))
	require.True(t, good)
	assert.Equal(t, "1", got)
	got, good = answer(t, once(t, b, "tab", 4, "createTable", conn, s("d"), s("u"), o("columns", a(o("name", s("k"), "type", s("number"), "primaryKey", value.BoolOf(true))))))
	require.True(t, good, got)
	got, _ = answer(t, once(t, b, "tab", 4, "createTable", conn, s("d"), s("u"), o("columns", a(o("name", s("k"), "type", s("number"), "primaryKey", value.BoolOf(true))))))
	assert.Contains(t, got, "ALREADY_EXISTS", "DDL is not recorded")
	// A closed handle fails as it would outside an envelope.
	got, good = answer(t, once(t, b, "tab", 5, "insert", n(999), n(0), s("d"), s("t"), o("v", s("a"))))
	assert.False(t, good)
	assert.Contains(t, got, "CLOSED")
	// No record was made by any of these.
	assert.Equal(t, 0.0, ok(t, b, "settle", conn, s("tab"), n(100)).Number())
}

func TestOnceMalformed(t *testing.T) {
	b, conn := onceDB(t)
	for _, req := range []value.Value{
		a(s("once")),
		a(s("once"), s("tab"), n(1)),
		a(s("once"), n(1), n(1), s("insert"), conn),
		a(s("once"), s("tab"), n(-1), s("insert"), conn),
		a(s("once"), s("tab"), n(1.5), s("insert"), conn),
		a(s("once"), s("tab"), s("1"), s("insert"), conn),
		a(s("once"), s(strings.Repeat("x", maxCallerBytes+1)), n(1), s("insert"), conn, n(0), s("d"), s("t"), o("v", s("a"))),
	} {
		resp := b.Handle(value.Encode(req), nil)
		got, good := answer(t, resp)
		assert.False(t, good, req.String())
		assert.Contains(t, got, "BAD_QUERY", req.String())
	}
	got, good := answer(t, once(t, b, "tab", 1, "nope", conn))
	assert.False(t, good)
	assert.Contains(t, got, "unknown operation")
	assert.Equal(t, "BAD_QUERY", code(t, b, "settle", conn, s("tab"), n(-1)))
	assert.Equal(t, "BAD_QUERY", code(t, b, "settle", conn, n(1), n(1)))
	assert.Equal(t, "BAD_QUERY", code(t, b, "recorded", conn, s(strings.Repeat("x", maxCallerBytes+1)), n(1)))
	assert.Equal(t, 0.0, count(t, b, conn), "nothing ran")
}

// TestOnceAnswerWithoutPrefix checks that the record holds the response
// alone, not what the caller's buffer held before it.
func TestOnceAnswerWithoutPrefix(t *testing.T) {
	b, conn := onceDB(t)
	req := value.Encode(a(s("once"), s("tab"), n(1), s("insert"), conn, n(0), s("d"), s("t"), o("v", s("a"))))
	first := b.Handle(bytes.Clone(req), []byte("prefix"))
	require.Equal(t, "prefix", string(first[:6]))
	again := b.Handle(bytes.Clone(req), nil)
	assert.Equal(t, first[6:], again)
}

// FuzzUnwrapOnce: unwrapping an envelope in place yields the request it
// holds, whatever the bytes.
func FuzzUnwrapOnce(f *testing.F) {
	for _, v := range []value.Value{
		a(s("once"), s("tab"), n(1), s("insert"), n(1), n(0), s("d"), s("t"), o("v", s("a"))),
		a(s("once"), s(""), n(1<<53), s("commit"), n(1), n(2)),
		a(s("once"), s("x"), n(0), s("insertMany"), n(1), n(0), s("d"), s("t"), a(o("v", n(1)))),
	} {
		f.Add(value.Encode(v))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		orig := bytes.Clone(req)
		id, inner, ok := unwrapOnce(req)
		if !ok {
			require.Equal(t, orig, req, "left alone")
			return
		}
		v, err := value.Decode(orig)
		w, err2 := value.Decode(inner)
		require.Equal(t, err == nil, err2 == nil, "inner decodes exactly when the envelope does")
		if err != nil {
			return
		}
		require.Equal(t, "once", v.Index(0).Str())
		require.Equal(t, v.Index(1).Str(), id.From)
		require.Equal(t, uint64(v.Index(2).Number()), id.Seq)
		require.Equal(t, v.Len()-3, w.Len())
		for i := range w.Len() {
			require.Equal(t, v.Index(i+3).String(), w.Index(i).String())
		}
	})
}

// TestOnceAfterReopen: the record is in the store, not in the bridge: a new
// connection to the root (a new owner) answers the resent call from it.
func TestOnceAfterReopen(t *testing.T) {
	b, conn := onceDB(t)
	first, good := answer(t, once(t, b, "tab", 7, "insert", conn, n(0), s("d"), s("t"), o("v", s("a"))))
	require.True(t, good)
	ok(t, b, "close", conn)
	conn = ok(t, b, "open", o("adapter", s("memory"), "root", s("once")))
	assert.Equal(t, `[0,`+first+`]`, ok(t, b, "recorded", conn, s("tab"), n(7)).String())
	again, good := answer(t, once(t, b, "tab", 7, "insert", conn, n(0), s("d"), s("t"), o("v", s("a"))))
	require.True(t, good)
	assert.Equal(t, first, again)
	assert.Equal(t, 1.0, count(t, b, conn))
}

// A bulk load under an envelope: an autocommit insertMany large enough to be
// loaded in bulk, and a bulk transaction's commit, are recorded with their
// rows and answered from the record when resent.
func TestOnceBulkLoads(t *testing.T) {
	b, conn := onceDB(t)
	many := func(n int) value.Value {
		rows := make([]value.Value, n)
		for i := range rows {
			rows[i] = o("v", s("x"))
		}
		return a(rows...)
	}
	first, good := answer(t, once(t, b, "tab", 1, "insertMany", conn, n(0), s("d"), s("t"), many(300)))
	require.True(t, good, first)
	assert.Equal(t, `300`, first)
	again, good := answer(t, once(t, b, "tab", 1, "insertMany", conn, n(0), s("d"), s("t"), many(300)))
	require.True(t, good)
	assert.Equal(t, first, again)
	assert.Equal(t, 300.0, count(t, b, conn))

	tx := ok(t, b, "begin", conn, o("bulk", value.BoolOf(true)))
	ok(t, b, "insertMany", conn, tx, s("d"), s("t"), many(500))
	got, good := answer(t, once(t, b, "tab", 2, "commit", conn, tx))
	require.True(t, good, got)
	got, good = answer(t, once(t, b, "tab", 2, "commit", conn, tx))
	require.True(t, good, got)
	assert.Equal(t, `null`, got)
	assert.Equal(t, 800.0, count(t, b, conn))
	assert.Equal(t, "BAD_QUERY", code(t, b, "get", conn, ok(t, b, "begin", conn, o("bulk", value.BoolOf(true))), s("d"), s("t"), n(1)), "a bulk transaction takes insertMany only")
}
