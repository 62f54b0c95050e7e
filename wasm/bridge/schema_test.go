package bridge

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

func TestSchemaOps(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("v")))
	assert.Equal(t, "0", ok(t, b, "schemaVersion", conn, n(0)).String())
	tx := ok(t, b, "begin", conn)
	ok(t, b, "txSchema", conn, tx, s("createDatabase"), s("shop"), o())
	ok(t, b, "txSchema", conn, tx, s("createTable"), s("shop"), s("users"), o("columns", a(
		o("name", s("id"), "type", s("string"), "primaryKey", value.BoolOf(true)))))
	ok(t, b, "insert", conn, tx, s("shop"), s("users"), o("id", s("a")))
	ok(t, b, "txSchema", conn, tx, s("addColumn"), s("shop"), s("users"), o("name", s("age"), "type", s("number")))
	assert.Equal(t, `"idx_age"`, ok(t, b, "txSchema", conn, tx, s("createIndex"), s("shop"), s("users"), o("columns", s("age"))).String())
	assert.Equal(t, `["users"]`, ok(t, b, "txSchema", conn, tx, s("showTables"), s("shop")).String())
	assert.Equal(t, `["shop"]`, ok(t, b, "txSchema", conn, tx, s("showDatabases")).String())
	d := ok(t, b, "txSchema", conn, tx, s("describeTable"), s("shop"), s("users"))
	assert.True(t, bytes.Contains(value.Encode(d), []byte("idx_age")))
	ok(t, b, "setSchemaVersion", conn, tx, n(3))
	assert.Equal(t, "3", ok(t, b, "schemaVersion", conn, tx).String())
	assert.Equal(t, "0", ok(t, b, "schemaVersion", conn, n(0)).String())
	assert.Equal(t, "NO_SUCH_DATABASE", code(t, b, "showTables", conn, s("shop")))
	ok(t, b, "commit", conn, tx)
	assert.Equal(t, "3", ok(t, b, "schemaVersion", conn, n(0)).String())
	assert.Equal(t, `[{"id":"a","age":null}]`, ok(t, b, "select", conn, n(0), s("shop"), s("users"), o()).String())

	decl := o("columns", a(o("name", s("id"), "type", s("string"), "primaryKey", value.BoolOf(true)),
		o("name", s("age"), "type", s("number"))), "indexes", a(o("columns", s("age"))))
	tx = ok(t, b, "begin", conn)
	assert.Equal(t, `[]`, ok(t, b, "declareTable", conn, tx, s("shop"), s("users"), decl, o("create", value.BoolOf(false))).String())
	assert.Equal(t, `["table shop.more"]`, ok(t, b, "declareTable", conn, tx, s("shop"), s("more"), decl, o("create", value.BoolOf(true))).String())
	ok(t, b, "rollback", conn, tx)
}

func TestSchemaOpsBadInput(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("v")))
	ok(t, b, "createDatabase", conn, s("shop"), o())
	tx := ok(t, b, "begin", conn)
	for _, tc := range []struct {
		want string
		op   string
		args []value.Value
	}{
		{"BAD_QUERY", "setSchemaVersion", []value.Value{conn, n(0), n(2)}},
		{"BAD_QUERY", "txSchema", []value.Value{conn, n(0), s("createTable")}},
		{"BAD_QUERY", "setSchemaVersion", []value.Value{conn, tx, n(0)}},
		{"BAD_QUERY", "setSchemaVersion", []value.Value{conn, tx, n(1.5)}},
		{"BAD_QUERY", "setSchemaVersion", []value.Value{conn, tx, s("2")}},
		{"TX_CLOSED", "setSchemaVersion", []value.Value{conn, n(99), n(2)}},
		{"BAD_QUERY", "txSchema", []value.Value{conn, tx, s("insert"), s("shop"), s("t")}},
		{"BAD_QUERY", "txSchema", []value.Value{conn, tx, n(3)}},
		{"BAD_QUERY", "txSchema", []value.Value{conn, tx, s("createDatabase"), s("__sys"), o()}},
		{"BAD_QUERY", "txSchema", []value.Value{conn, tx, s("createTable"), s("shop"), s("t"), o("columns", s("x"))}},
		{"NO_SUCH_DATABASE", "txSchema", []value.Value{conn, tx, s("createTable"), value.NullValue, s("t"), o()}},
		{"BAD_QUERY", "declareTable", []value.Value{conn, tx, s("shop"), s("t"), o("columns", a())}},
		{"BAD_QUERY", "declareTable", []value.Value{conn, tx, s("shop"), s("t"), o("columns", a(o("name", s("a")))), o("create", s("yes"))}},
		{"SCHEMA_MISMATCH", "declareTable", []value.Value{conn, tx, s("shop"), s("t"), o("columns", a(o("name", s("a"))))}},
		{"CLOSED", "schemaVersion", []value.Value{n(77), n(0)}},
	} {
		got := code(t, b, tc.op, tc.args...)
		require.Equal(t, tc.want, got, "%s %v", tc.op, tc.args)
	}
	ok(t, b, "commit", conn, tx)
}
