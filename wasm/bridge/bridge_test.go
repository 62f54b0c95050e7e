package bridge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

func newBridge(t testing.TB) *Bridge {
	t.Helper()
	roots := map[string]fsadapter.FS{}
	return New(func(adapter, root string) (fsadapter.FS, error) {
		if fs, ok := roots[root]; ok {
			return fs, nil
		}
		fs, err := memfs.New()
		roots[root] = fs
		return fs, err
	})
}

func s(x string) value.Value  { return value.StringOf(x) }
func n(x float64) value.Value { return value.NumberOf(x) }
func o(kv ...any) value.Value {
	var m []value.Member
	for i := 0; i < len(kv); i += 2 {
		m = append(m, value.Member{Key: kv[i].(string), Value: kv[i+1].(value.Value)})
	}
	return value.ObjectOf(m...)
}
func a(xs ...value.Value) value.Value { return value.ArrayOf(xs) }

// do sends [op, ...args] and returns the result or the error object.
func do(t testing.TB, b *Bridge, op string, args ...value.Value) (value.Value, bool) {
	t.Helper()
	req := value.Encode(a(append([]value.Value{s(op)}, args...)...))
	resp := b.Handle(req, nil)
	require.NotEmpty(t, resp)
	v, err := value.Decode(resp[1:])
	require.NoError(t, err)
	return v, resp[0] == StatusOK
}

func ok(t testing.TB, b *Bridge, op string, args ...value.Value) value.Value {
	t.Helper()
	v, good := do(t, b, op, args...)
	require.True(t, good, "%s failed: %s", op, v)
	return v
}

func code(t testing.TB, b *Bridge, op string, args ...value.Value) string {
	t.Helper()
	v, good := do(t, b, op, args...)
	require.False(t, good, "%s should fail", op)
	c, _ := v.Get("code")
	return c.Str()
}

func TestBridgeRoundTrip(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("x")))
	ok(t, b, "createDatabase", conn, s("shop"), o())
	ok(t, b, "useDatabase", conn, s("shop"))
	assert.Equal(t, "NO_SUCH_DATABASE", code(t, b, "useDatabase", conn, s("nope")))
	ok(t, b, "createTable", conn, s("shop"), s("users"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true), "autoIncrement", value.BoolOf(true)),
		o("name", s("username"), "type", s("string"), "unique", value.BoolOf(true)))))
	id := ok(t, b, "insert", conn, n(0), s("shop"), s("users"), o("username", s("ann")))
	assert.Equal(t, `{"id":1}`, id.String())
	assert.Equal(t, "UNIQUE_VIOLATION", code(t, b, "insert", conn, n(0), s("shop"), s("users"), o("username", s("ann"))))
	rows := ok(t, b, "select", conn, n(0), s("shop"), s("users"), o("where", o("username", s("ann"))))
	assert.Equal(t, `[{"id":1,"username":"ann"}]`, rows.String())

	tx := ok(t, b, "begin", conn)
	ok(t, b, "insert", conn, tx, s("shop"), s("users"), o("username", s("bob")))
	assert.Equal(t, 1.0, ok(t, b, "count", conn, n(0), s("shop"), s("users"), value.NullValue).Number())
	ok(t, b, "commit", conn, tx)
	assert.Equal(t, "TX_CLOSED", code(t, b, "commit", conn, tx))
	assert.Equal(t, 2.0, ok(t, b, "count", conn, n(0), s("shop"), s("users"), value.NullValue).Number())
	ok(t, b, "close", conn)
	assert.Equal(t, "CLOSED", code(t, b, "count", conn, n(0), s("shop"), s("users"), value.NullValue))

	conn = ok(t, b, "open", o("adapter", s("memory"), "root", s("x")))
	assert.Equal(t, 2.0, ok(t, b, "count", conn, n(0), s("shop"), s("users"), value.NullValue).Number(), "reopened")
}

func TestBridgeInsertManyStreams(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("im")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(
		o("name", s("k"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("v"), "type", s("string"), "unique", value.BoolOf(true)))))
	rows := func(vs ...string) value.Value {
		out := make([]value.Value, len(vs))
		for i, v := range vs {
			out[i] = o("k", n(float64(i)), "v", s(v))
		}
		return a(out...)
	}
	count := func() float64 {
		return ok(t, b, "count", conn, n(0), s("d"), s("t"), value.NullValue).Number()
	}
	assert.Equal(t, 0.0, ok(t, b, "insertMany", conn, n(0), s("d"), s("t"), a()).Number())
	assert.Equal(t, "UNIQUE_VIOLATION", code(t, b, "insertMany", conn, n(0), s("d"), s("t"), rows("a", "b", "a")))
	assert.Equal(t, 0.0, count(), "a failed bulk insert inserts nothing")
	assert.Equal(t, "BAD_VALUE", code(t, b, "insertMany", conn, n(0), s("d"), s("t"), o("k", n(1))))
	assert.Equal(t, 3.0, ok(t, b, "insertMany", conn, n(0), s("d"), s("t"), rows("a", "b", "c")).Number())
	assert.Equal(t, 3.0, count())

	// Trailing bytes or a truncated row: nothing is committed.
	fresh := a(o("k", n(10), "v", s("x")), o("k", n(11), "v", s("y")))
	req := value.Encode(a(s("insertMany"), conn, n(0), s("d"), s("t"), fresh))
	resp := b.Handle(append(append([]byte(nil), req...), 0x00), nil)
	assert.Equal(t, byte(StatusError), resp[0])
	assert.Contains(t, string(resp), "trailing bytes")
	resp = b.Handle(req[:len(req)-3], nil)
	assert.Equal(t, byte(StatusError), resp[0])
	assert.Equal(t, 3.0, count())
}

func TestBridgeSharesOneConnPerRoot(t *testing.T) {
	b := newBridge(t)
	c1 := ok(t, b, "open", o("adapter", s("memory"), "root", s("same")))
	c2 := ok(t, b, "open", o("adapter", s("memory"), "root", s("same")))
	ok(t, b, "createDatabase", c1, s("d"), o())
	assert.Equal(t, `["d"]`, ok(t, b, "showDatabases", c2).String(), "the second handle sees the first's commit")
	ok(t, b, "close", c1)
	assert.Equal(t, "CLOSED", code(t, b, "showDatabases", c1))
	assert.Equal(t, `["d"]`, ok(t, b, "showDatabases", c2).String(), "closing one handle keeps the other open")
	ok(t, b, "close", c2)
	assert.Equal(t, "CLOSED", code(t, b, "close", c2))
}

func TestBridgeLookups(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("lookups")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(
		o("name", s("k"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("u"), "type", s("string"), "unique", value.BoolOf(true)),
		o("name", s("n"), "type", s("number")))))
	ok(t, b, "insertMany", conn, n(0), s("d"), s("t"), a(o("k", n(1), "u", s("a"), "n", n(5)), o("k", n(2), "u", s("b"), "n", n(5))))
	assert.Equal(t, `{"k":2,"u":"b","n":5}`, ok(t, b, "get", conn, n(0), s("d"), s("t"), n(2)).String())
	assert.Equal(t, `null`, ok(t, b, "get", conn, n(0), s("d"), s("t"), n(9)).String())
	assert.Equal(t, `[{"k":1,"u":"a","n":5}]`, ok(t, b, "selectEq", conn, n(0), s("d"), s("t"), s("u"), s("a")).String())
	assert.Equal(t, `[]`, ok(t, b, "selectEq", conn, n(0), s("d"), s("t"), s("u"), s("zz")).String())
	assert.Equal(t, 2, ok(t, b, "selectEq", conn, n(0), s("d"), s("t"), s("n"), n(5)).Len(), "a non-unique column takes the query path")
	tx := ok(t, b, "begin", conn)
	ok(t, b, "insert", conn, tx, s("d"), s("t"), o("k", n(3), "u", s("c")))
	assert.Equal(t, `[{"k":3,"u":"c","n":null}]`, ok(t, b, "selectEq", conn, tx, s("d"), s("t"), s("u"), s("c")).String(), "reads its own writes")
	assert.Equal(t, `[]`, ok(t, b, "selectEq", conn, n(0), s("d"), s("t"), s("u"), s("c")).String(), "others do not")
	ok(t, b, "rollback", conn, tx)
	for _, tc := range []struct {
		args []value.Value
		code string
	}{
		{[]value.Value{conn, tx, s("d"), s("t"), n(1)}, "TX_CLOSED"},
		{[]value.Value{conn, n(0), s("d"), s("t"), s("x")}, "TYPE_MISMATCH"},
		{[]value.Value{conn, n(0), s("__storage"), s("items"), n(1)}, "BAD_QUERY"},
		{[]value.Value{conn, n(0), s("d"), s("nope"), n(1)}, "NO_SUCH_TABLE"},
		{[]value.Value{n(77), n(0), s("d"), s("t"), n(1)}, "CLOSED"},
		{[]value.Value{conn, n(0), value.NullValue, s("t"), n(1)}, "NO_SUCH_DATABASE"},
	} {
		assert.Equal(t, tc.code, code(t, b, "get", tc.args...))
	}
	assert.Equal(t, "NO_SUCH_COLUMN", code(t, b, "selectEq", conn, n(0), s("d"), s("t"), s("nope"), n(1)))
}

func TestBridgeBadRequests(t *testing.T) {
	b := newBridge(t)
	for _, req := range [][]byte{nil, {0xFF}, value.Encode(s("x")), value.Encode(a()), value.Encode(a(n(1)))} {
		resp := b.Handle(req, nil)
		require.Equal(t, byte(StatusError), resp[0])
	}
	assert.Equal(t, "BAD_QUERY", code(t, b, "nope"))
	assert.Equal(t, "CLOSED", code(t, b, "insert", n(99), n(0), s("a"), s("b"), o()))
	assert.Equal(t, "BAD_QUERY", code(t, b, "open", s("memory")))
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("sys")))
	assert.Equal(t, "BAD_QUERY", code(t, b, "useDatabase", conn, s("__storage")), "system databases are not for users")
	assert.Equal(t, "BAD_QUERY", code(t, b, "select", conn, n(0), s("__storage"), s("items"), value.NullValue))
	assert.Equal(t, "NO_SUCH_DATABASE", code(t, b, "select", conn, n(0), value.NullValue, s("items"), value.NullValue))
	assert.Equal(t, "BAD_QUERY", code(t, b, "open", o("adapter", s("ftp"))))
	assert.Equal(t, "BAD_QUERY", code(t, b, "open", o("adapter", s("memory"), "durability", n(1))))
	assert.Equal(t, "BAD_QUERY", code(t, b, "open", o("adapter", s("memory"), "rooot", s("x"))))
}

// FuzzHandle: no request, however malformed, may make the bridge panic
// (which it would report as INTERNAL).
func FuzzHandle(f *testing.F) {
	b := newBridge(f)
	conn, _ := do(f, b, "open", o("adapter", s("memory"), "root", s("f")))
	do(f, b, "createDatabase", conn, s("d"), o())
	do(f, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("k"), "type", s("number"), "primaryKey", value.BoolOf(true)), o("name", s("v")))))
	seeds := []value.Value{
		a(s("insert"), conn, n(0), s("d"), s("t"), o("k", n(1), "v", s("x"))),
		a(s("select"), conn, n(0), s("d"), s("t"), o("where", o("k", o(">", n(0))))),
		a(s("update"), conn, n(0), s("d"), s("t"), o("v", n(2)), o("where", o("k", n(1)))),
		a(s("createIndex"), conn, s("d"), s("t"), o("columns", a(s("v")))),
		a(s("modifyColumn"), conn, s("d"), s("t"), s("v"), o("type", s("string"))),
		a(s("once"), s("tab"), n(1), s("insert"), conn, n(0), s("d"), s("t"), o("k", n(2), "v", s("y"))),
		a(s("recorded"), conn, s("tab"), n(1)),
		a(s("settle"), conn, s("tab"), n(2)),
	}
	for _, sd := range seeds {
		f.Add(value.Encode(sd))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		resp := b.Handle(req, nil)
		if resp[0] == StatusError {
			v, err := value.Decode(resp[1:])
			require.NoError(t, err)
			c, _ := v.Get("code")
			m, _ := v.Get("message")
			if c.Str() == "INTERNAL" {
				t.Fatalf("panic on request: %s", m.Str())
			}
		}
	})
}
