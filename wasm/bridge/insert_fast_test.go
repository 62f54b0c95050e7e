package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/value"
)

// handleGeneral runs a request the general way (decoded whole, then the
// op's handler), past the fast paths: what handleInsert must answer alike.
func (b *Bridge) handleGeneral(req, out []byte) []byte {
	v, err := value.Decode(req)
	if err != nil {
		return appendError(out, engine.CodeBadValue, "malformed request: "+err.Error())
	}
	c := &call{b: b, op: v.Index(0).Str(), args: v.Items()[1:], out: append(out, StatusOK), start: len(out)}
	if err := c.run(); err != nil {
		return appendError(out, engine.CodeOf(err), err.Error())
	}
	return c.out
}

// Single-row inserts answer byte for byte as the general path answers
// them, on two identical databases, through every error a row can meet,
// and in a once envelope (answered from its record when sent again).
func TestInsertFastPathAnswersAsTheGeneralPath(t *testing.T) {
	fast, general := newBridge(t), newBridge(t)
	setup := func(b *Bridge) value.Value {
		conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("x")))
		ok(t, b, "createDatabase", conn, s("d"), o())
		ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(
			o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true), "autoIncrement", value.BoolOf(true)),
			o("name", s("name"), "type", s("string"), "unique", value.BoolOf(true), "notNull", value.BoolOf(true)),
			o("name", s("tags"), "type", s("array")),
			o("name", s("n"), "type", s("number"), "default", n(7)))))
		ok(t, b, "createTable", conn, s("d"), s("k"), o("columns", a(
			o("name", s("code"), "type", s("string"), "primaryKey", value.BoolOf(true)))))
		return conn
	}
	cf, cg := setup(fast), setup(general)
	require.True(t, value.Equal(cf, cg))
	conn := cf
	rows := []struct {
		table string
		row   value.Value
	}{
		{"t", o("name", s("ann"))},
		{"t", o("name", s("bob"), "tags", a(s("x"), n(1)), "n", n(2))},
		{"t", o("name", s("ann"))},                   // UNIQUE_VIOLATION
		{"t", o("tags", a())},                        // NOT_NULL
		{"t", o("name", s("cid"), "nope", n(1))},     // NO_SUCH_COLUMN
		{"t", o("name", n(5))},                       // TYPE_MISMATCH
		{"t", o("id", n(100), "name", s("dee"))},     // explicit id
		{"t", o("id", n(100), "name", s("eve"))},     // duplicate key
		{"t", o("name", s("fay"), "name", s("gus"))}, // a column twice: the last wins
		{"k", o("code", s("a-very-long-primary-key-string-that-is-returned-as-the-id"))},
		{"k", o("code", s("a-very-long-primary-key-string-that-is-returned-as-the-id"))},
		{"nope", o("x", n(1))}, // NO_SUCH_TABLE
		{"t", a()},             // not an object: the general path
		{"t", n(3)},
	}
	for i, r := range rows {
		req := value.Encode(a(s("insert"), conn, n(0), s("d"), s(r.table), r.row))
		got := fast.Handle(req, nil)
		want := general.handleGeneral(req, nil)
		require.Equal(t, want, got, "row %d: %s", i, r.row)
	}
	// In a once envelope: run, then answered from the record.
	for range 2 {
		req := func() []byte { // unwrapping an envelope rewrites it in place: one each
			return value.Encode(a(s("once"), s("tab"), n(1), s("insert"), conn, n(0), s("d"), s("t"), o("name", s("hal"))))
		}
		require.Equal(t, general.Handle(req(), nil), fast.Handle(req(), nil))
	}
	all := value.Encode(a(s("select"), conn, n(0), s("d"), s("t"), o("orderBy", s("id"))))
	require.Equal(t, general.handleGeneral(all, nil), fast.Handle(all, nil))
	// Malformed after the head, and a sixth argument: the general path words them.
	bad := value.Encode(a(s("insert"), conn, n(0), s("d"), s("t"), o("name", s("ivy"))))
	bad = bad[:len(bad)-2]
	require.Equal(t, general.handleGeneral(bad, nil), fast.Handle(bad, nil))
	extra := value.Encode(a(s("insert"), conn, n(0), s("d"), s("t"), o("name", s("jon")), n(1)))
	require.Equal(t, general.handleGeneral(extra, nil), fast.Handle(extra, nil))
}
