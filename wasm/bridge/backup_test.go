package bridge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

func TestBackupOpsRefuseBadArguments(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("x")))
	ok(t, b, "createDatabase", conn, s("shop"), o())
	ok(t, b, "createTable", conn, s("shop"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	for _, tc := range []struct {
		name, want, op string
		args           []value.Value
	}{
		{"limit 0", "BAD_QUERY", "exportPage", []value.Value{conn, n(0), s("shop"), s("t"), value.NullValue, n(0)}},
		{"limit too large", "BAD_QUERY", "exportPage", []value.Value{conn, n(0), s("shop"), s("t"), value.NullValue, n(1e9)}},
		{"cursor not bytes", "BAD_QUERY", "exportPage", []value.Value{conn, n(0), s("shop"), s("t"), s("x"), n(10)}},
		{"cursor of another table", "BAD_QUERY", "exportPage", []value.Value{conn, n(0), s("shop"), s("t"), value.BytesOf([]byte{1, 2, 3}), n(10)}},
		{"system database", "BAD_QUERY", "exportPage", []value.Value{conn, n(0), s("__storage"), s("t"), value.NullValue, n(10)}},
		{"unknown import", "CLOSED", "importRows", []value.Value{n(999), n(0), a()}},
		{"unknown import finish", "CLOSED", "importFinish", []value.Value{n(999), a()}},
		{"unknown backup", "CLOSED", "backupRead", []value.Value{n(999), n(10)}},
		{"piece not bytes", "CLOSED", "backupWrite", []value.Value{n(999), s("x")}},
		{"specs not an array", "BAD_QUERY", "importStage", []value.Value{conn, s("x")}},
		{"bad spec", "BAD_QUERY", "importStage", []value.Value{conn, a(o("columns", s("x")))}},
		{"restore into an open root", "LOCKED", "restoreOpen", []value.Value{o("adapter", s("memory"), "root", s("x"))}},
		{"restore without root", "BAD_QUERY", "restoreOpen", []value.Value{o("adapter", s("memory"))}},
		{"restore option", "BAD_QUERY", "restoreOpen", []value.Value{o("root", s("y"), "bogus", n(1))}},
	} {
		assert.Equal(t, tc.want, code(t, b, tc.op, tc.args...), tc.name)
	}

	// A second connection to the root: no restore through either.
	other := ok(t, b, "open", o("adapter", s("memory"), "root", s("x")))
	assert.Equal(t, "LOCKED", code(t, b, "restoreConn", conn))
	ok(t, b, "close", other)
	st := ok(t, b, "storageOpen", conn, o())
	assert.Equal(t, "LOCKED", code(t, b, "restoreConn", conn))
	ok(t, b, "storageClose", st)

	// A staged import: rows of the wrong shape name their row; a wrong
	// table index and a wrong target count are refused; abort drops it all.
	h := ok(t, b, "importStage", conn, a(o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true))))))
	assert.Equal(t, "BAD_QUERY", code(t, b, "importRows", h, n(1), a()))
	v, good := do(t, b, "importRows", h, n(0), a(o("id", n(1)), o("id", s("two"))))
	require.False(t, good)
	msg, _ := v.Get("message")
	assert.Contains(t, msg.Str(), "(row 1)")
	assert.Equal(t, "BAD_QUERY", code(t, b, "importFinish", h, a()))
	ok(t, b, "importAbort", h)
	assert.Equal(t, "CLOSED", code(t, b, "importRows", h, n(0), a()))
	assert.Equal(t, `["shop"]`, ok(t, b, "showDatabases", conn).String())

	// A backup handle is not a restore handle, and ends cleanly.
	bk := ok(t, b, "backupOpen", conn)
	assert.Equal(t, "BAD_QUERY", code(t, b, "backupWrite", bk, value.BytesOf([]byte("x"))))
	ok(t, b, "backupEnd", bk, value.BoolOf(true))
	assert.Equal(t, "CLOSED", code(t, b, "backupRead", bk, n(10)))
}
