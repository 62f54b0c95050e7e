package bridge

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// TestSyncOps walks the sync steps the JS side drives: push a batch, record
// the answer, reject an op, pull a page, and the error paths.
func TestSyncOps(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("sync")))
	ok(t, b, "createDatabase", conn, s("app"), o())
	tr := value.BoolOf(true)
	ok(t, b, "createTable", conn, s("app"), s("todos"), o("sync", tr, "columns", a(
		o("name", s("id"), "type", s("string"), "primaryKey", tr), o("name", s("title"), "type", s("string")))))
	ok(t, b, "createTable", conn, s("app"), s("plain"), o("columns", a(o("name", s("id"), "type", s("string"), "primaryKey", tr))))

	assert.Equal(t, "BAD_QUERY", code(t, b, "syncOpen", conn, s("app"), o("policy", s("newest"))))
	ok(t, b, "createTable", conn, s("app"), s("auto"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", tr, "autoIncrement", tr))))
	assert.Equal(t, "BAD_QUERY", code(t, b, "syncOpen", conn, s("app"), o("tables", a(s("auto")))), "autoIncrement ids would collide")
	assert.Equal(t, "NO_SUCH_TABLE", code(t, b, "syncOpen", conn, s("app"), o("tables", a(s("nope")))))
	assert.Equal(t, "BAD_QUERY", code(t, b, "syncOpen", conn, s("__sys"), o()))
	opened := ok(t, b, "syncOpen", conn, s("app"), o("policy", s("lww")))
	h, _ := opened.Get("handle")
	client, _ := opened.Get("client")
	require.NotEmpty(t, client.Str())

	assert.True(t, ok(t, b, "syncNextPush", h, n(10)).IsNull(), "nothing to push")
	ok(t, b, "insert", conn, n(0), s("app"), s("todos"), o("id", s("a"), "title", s("one")))
	ok(t, b, "insert", conn, n(0), s("app"), s("todos"), o("id", s("b"), "title", s("two")))
	assert.Equal(t, 2.0, ok(t, b, "syncPending", h).Number())

	body := ok(t, b, "syncNextPush", h, n(10))
	var req struct {
		Client  string
		Changes []struct {
			Op, Table, HLC, Origin string
			Key, Row               json.RawMessage
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body.Str()), &req))
	require.Len(t, req.Changes, 2)
	assert.Equal(t, client.Str(), req.Client)
	assert.Equal(t, `"a"`, string(req.Changes[0].Key))
	assert.JSONEq(t, `{"id":"a","title":"one"}`, string(req.Changes[0].Row))

	// The server refuses b: it moves to the dead letters.
	ok(t, b, "syncReject", h, s(`{"error":{"code":"VALIDATION","message":"no","index":1,"op":"`+req.Changes[1].Op+`"}}`))
	dl := ok(t, b, "syncDeadLetters", h)
	require.Equal(t, 1, dl.Len())
	c, _ := dl.Index(0).Get("code")
	assert.Equal(t, "VALIDATION", c.Str())
	rep := ok(t, b, "syncAckPush", h, s(`{"results":[{"op":"`+req.Changes[0].Op+`","status":"applied","seq":1}],"cursor":1}`))
	applied, _ := rep.Get("applied")
	assert.Equal(t, 1.0, applied.Number())
	assert.Equal(t, 0.0, ok(t, b, "syncPending", h).Number())

	// A change stamped far past this device's clock is reported, not applied
	// (its clock would be adopted by every later local change).
	rep = ok(t, b, "syncApplyPull", h, s(`{"changes":[{"op":"z","table":"todos","key":"r","row":{"id":"r","title":"remote"},"hlc":"999999999999999-00000","origin":"other","seq":2}],"cursor":2,"more":false}`))
	errs, _ := rep.Get("errors")
	require.Equal(t, 1, errs.Len())
	msg, _ := errs.Index(0).Get("message")
	assert.Contains(t, msg.Str(), "CLOCK_AHEAD")
	rep = ok(t, b, "syncApplyPull", h, s(`{"changes":[{"op":"z","table":"todos","key":"r","row":{"id":"r","title":"remote"},"hlc":"000000000000002-00000","origin":"other","seq":2}],"cursor":2,"more":false}`))
	changes, _ := rep.Get("changes")
	require.Equal(t, 1, changes.Len())
	assert.Equal(t, 2.0, ok(t, b, "syncCursor", h).Number())
	row := ok(t, b, "get", conn, n(0), s("app"), s("todos"), s("r"))
	assert.Equal(t, `{"id":"r","title":"remote"}`, row.String())

	assert.Equal(t, "SYNC_PROTOCOL", code(t, b, "syncApplyPull", h, s(`{"changes":`)))
	op, _ := dl.Index(0).Get("op")
	ok(t, b, "syncDiscard", h, op)
	assert.Equal(t, "BAD_QUERY", code(t, b, "syncRetry", h, op))
	ok(t, b, "syncClose", h)
	assert.Equal(t, "CLOSED", code(t, b, "syncPending", h))
	// Naming an unsynced table opts it in: the rows it holds are queued.
	ok(t, b, "insert", conn, n(0), s("app"), s("plain"), o("id", s("p1")))
	hp, _ := ok(t, b, "syncOpen", conn, s("app"), o("tables", a(s("plain")))).Get("handle")
	assert.Equal(t, 1.0, ok(t, b, "syncPending", hp).Number())
	desc := ok(t, b, "describeTable", conn, s("app"), s("plain"))
	synced, _ := desc.Get("sync")
	assert.True(t, synced.Bool())
	// A session does not outlive its connection.
	h2, _ := ok(t, b, "syncOpen", conn, s("app"), o()).Get("handle")
	ok(t, b, "close", conn)
	assert.Equal(t, "CLOSED", code(t, b, "syncCursor", h2))
}
