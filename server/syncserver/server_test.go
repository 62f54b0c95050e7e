//go:build !js

package syncserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

var secret = []byte("test-secret-of-at-least-32-bytes")

// testDialect is the Config.Dialect of newEnv; TestD1Dialect reruns the
// protocol tests with "d1" (no transactions) on SQLite.
var testDialect = ""

// testBatch makes newEnv give a "d1" server a Config.Batch (sqliteBatch).
var testBatch = false

// TestD1Dialect runs the protocol tests the way the Worker runs the server:
// without transactions, change chunks stored statement by statement.
func TestD1Dialect(t *testing.T) {
	testDialect = "d1"
	defer func() { testDialect = "" }()
	for name, fn := range d1Suite() {
		t.Run(name, fn)
	}
}

// TestD1BatchDialect runs them the way the Worker runs a push: its writes
// as one batch (one transaction), the rest without transactions.
func TestD1BatchDialect(t *testing.T) {
	testDialect, testBatch = "d1", true
	defer func() { testDialect, testBatch = "", false }()
	for name, fn := range d1Suite() {
		t.Run(name, fn)
	}
}

func d1Suite() map[string]func(*testing.T) {
	return map[string]func(*testing.T){
		"Auth": TestAuth, "TenantIsolation": TestTenantIsolation, "PushStatuses": TestPushStatuses,
		"LWW": TestLastWriterWinsByClockNotArrival, "Pagination": TestPullPaginationAndCursor,
		"Tombstones": TestTombstones, "CanonicalKeys": TestCanonicalKeys, "BadInput": TestBadInputChangesNothing,
		"Retention": TestRetentionHorizon, "Restart": TestRestartKeepsEverything, "LongPoll": TestLongPoll,
		"Events": TestEvents, "SameRowTwice": TestSameRowTwiceInOnePush, "Concurrent": TestConcurrentPushes,
	}
}

type env struct {
	t   *testing.T
	srv *syncserver.Server
	ts  *httptest.Server
	now time.Time
	mu  sync.Mutex
}

func newEnv(t *testing.T, cfg syncserver.Config) *env {
	t.Helper()
	if cfg.DB == nil {
		db, err := sqlitestore.Open(":memory:")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		cfg.DB = db
	}
	if cfg.Dialect == "" {
		cfg.Dialect = testDialect
		if testBatch && cfg.Batch == nil {
			cfg.Batch = sqliteBatch(cfg.DB, -1)
		}
	}
	e := &env{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if cfg.Secret == nil {
		cfg.Secret = secret
	}
	cfg.Now = e.clock
	srv, err := syncserver.New(cfg)
	require.NoError(t, err)
	e.srv = srv
	e.ts = httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); e.ts.Close() })
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func tok(tenant string) string { return syncserver.SignToken(secret, tenant, "dev", time.Time{}) }

// do sends a request and decodes the JSON answer.
func (e *env) do(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	var out map[string]any
	require.NoError(e.t, json.Unmarshal(raw, &out), "body %q", raw)
	return res.StatusCode, out
}

type ch map[string]any

func change(op string, key any, row any, hlc, origin string) ch {
	return ch{"op": op, "table": "todos", "key": key, "row": row, "hlc": hlc, "origin": origin}
}

func hlc(ms int64, n int) string { return fmt.Sprintf("%015d-%05d", ms, n) }

func (e *env) push(token string, changes ...ch) (int, map[string]any) {
	e.t.Helper()
	return e.do("POST", "/v1/push", token, map[string]any{"client": "t", "changes": changes})
}

func (e *env) mustPush(token string, changes ...ch) []map[string]any {
	e.t.Helper()
	st, body := e.push(token, changes...)
	require.Equal(e.t, 200, st, "%v", body)
	var out []map[string]any
	for _, r := range body["results"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func (e *env) pull(token string, query string) (int, map[string]any) {
	e.t.Helper()
	return e.do("GET", "/v1/pull?"+query, token, nil)
}

func changesOf(body map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range body["changes"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func todo(id any, title string) map[string]any { return map[string]any{"id": id, "title": title} }

func TestHealth(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	st, body := e.do("GET", "/v1/health", "", nil)
	assert.Equal(t, 200, st)
	assert.Equal(t, map[string]any{"ok": true, "protocol": 1.0}, body)
}

func TestAuth(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	good := tok("acme")
	head, _, _ := strings.Cut(good, ".")
	expired := syncserver.SignToken(secret, "acme", "u", e.clock().Add(-time.Second))
	future := syncserver.SignToken(secret, "acme", "u", e.clock().Add(time.Hour))
	other := syncserver.SignToken([]byte("other-secret-of-at-least-32-bytes"), "acme", "u", time.Time{})
	noTenant := syncserver.SignToken(secret, "", "u", time.Time{})
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"missing", "", 401},
		{"not bearer", "Basic " + good, 401},
		{"empty token", "Bearer ", 401},
		{"garbage", "Bearer abc", 401},
		{"no signature", "Bearer " + head + ".", 401},
		{"wrong secret", "Bearer " + other, 401},
		{"tampered payload", "Bearer " + strings.Replace(good, head, head[:len(head)-2]+"xx", 1), 401},
		{"expired", "Bearer " + expired, 401},
		{"empty tenant", "Bearer " + noTenant, 401},
		{"valid", "Bearer " + good, 200},
		{"valid with expiry", "Bearer " + future, 200},
		{"lower-case scheme", "bearer " + good, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/pull", "/v1/events?probe"} {
				if c.want == 200 && strings.HasPrefix(path, "/v1/events") {
					continue // a stream; covered by TestEvents
				}
				req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				var body map[string]any
				require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
				res.Body.Close()
				assert.Equal(t, c.want, res.StatusCode, path)
				if c.want == 401 {
					assert.Equal(t, "UNAUTHORIZED", errCode(body))
				}
			}
			st, body := e.do("POST", "/v1/push", strings.TrimPrefix(c.header, "Bearer "), map[string]any{"changes": []any{}})
			if !strings.HasPrefix(c.header, "Bearer ") {
				st, body = e.do("POST", "/v1/push", "", map[string]any{"changes": []any{}})
			}
			if c.name == "lower-case scheme" {
				return
			}
			assert.Equal(t, c.want, st, "push: %v", body)
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	a, b := tok("a"), tok("b")
	e.mustPush(a, change("a1", 1, todo(1, "a's"), hlc(1, 0), "dev-a"))
	res := e.mustPush(b, change("b1", 1, todo(1, "b's"), hlc(1, 0), "dev-b"))
	assert.Equal(t, "applied", res[0]["status"], "same key in another tenant is another row")
	assert.Equal(t, 1.0, res[0]["seq"], "seq is per tenant")

	_, body := e.pull(b, "since=0")
	got := changesOf(body)
	require.Len(t, got, 1)
	assert.Equal(t, "b's", got[0]["row"].(map[string]any)["title"])

	// Reusing another tenant's op id is not a duplicate: ops are per tenant too.
	res = e.mustPush(b, change("a1", 2, todo(2, "x"), hlc(2, 0), "dev-b"))
	assert.Equal(t, "applied", res[0]["status"])
	_, body = e.pull(a, "since=0")
	assert.Len(t, changesOf(body), 1)
}

func TestPushStatuses(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	res := e.mustPush(tk,
		change("op1", 1, todo(1, "v1"), hlc(100, 0), "a"),
		change("op2", 2, todo(2, "v1"), hlc(100, 0), "a"),
		change("op1", 1, todo(1, "again"), hlc(999, 0), "a"), // same op in one batch
	)
	assert.Equal(t, "applied", res[0]["status"])
	assert.Equal(t, 1.0, res[0]["seq"])
	assert.Equal(t, 2.0, res[1]["seq"])
	assert.Equal(t, "duplicate", res[2]["status"])
	assert.Equal(t, 1.0, res[2]["seq"])

	// Retry of the whole batch: all duplicates, cursor unchanged.
	st, body := e.push(tk, change("op1", 1, todo(1, "v1"), hlc(100, 0), "a"), change("op2", 2, todo(2, "v1"), hlc(100, 0), "a"))
	require.Equal(t, 200, st)
	for _, r := range body["results"].([]any) {
		assert.Equal(t, "duplicate", r.(map[string]any)["status"])
	}
	assert.Equal(t, 2.0, body["cursor"])

	// Older clock: stale, with the current version.
	res = e.mustPush(tk, change("op3", 1, todo(1, "old"), hlc(50, 0), "z"))
	assert.Equal(t, "stale", res[0]["status"])
	cur := res[0]["current"].(map[string]any)
	assert.Equal(t, "op1", cur["op"])
	assert.Equal(t, 1.0, cur["seq"])
	assert.Equal(t, "v1", cur["row"].(map[string]any)["title"])
	assert.Equal(t, 1.0, cur["key"])

	// Same hlc: origin breaks the tie ("b" > "a" wins, "0" < "a" loses).
	res = e.mustPush(tk, change("op4", 1, todo(1, "b"), hlc(100, 0), "b"), change("op5", 1, todo(1, "0"), hlc(100, 0), "0"))
	assert.Equal(t, "applied", res[0]["status"])
	assert.Equal(t, 3.0, res[0]["seq"])
	assert.Equal(t, "stale", res[1]["status"])

	// An identical (hlc, origin) from another op is not greater: stale.
	res = e.mustPush(tk, change("op6", 1, todo(1, "same"), hlc(100, 0), "b"))
	assert.Equal(t, "stale", res[0]["status"])
	// Stale ops are not recorded: the same op id later (with a newer clock) applies.
	res = e.mustPush(tk, change("op6", 1, todo(1, "newer"), hlc(101, 0), "b"))
	assert.Equal(t, "applied", res[0]["status"])
}

func TestLastWriterWinsByClockNotArrival(t *testing.T) {
	// Every order of the same three versions ends with the greatest (hlc, origin).
	versions := []ch{
		change("x1", "k", todo("k", "early"), hlc(10, 0), "m"),
		change("x2", "k", todo("k", "late"), hlc(20, 0), "a"),
		change("x3", "k", todo("k", "mid"), hlc(10, 5), "z"),
	}
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			e := newEnv(t, syncserver.Config{})
			tk := tok("t")
			for _, i := range p {
				e.mustPush(tk, versions[i]) // separate pushes: arrival order is p
			}
			_, body := e.pull(tk, "since=0")
			got := changesOf(body)
			require.Len(t, got, 1)
			assert.Equal(t, "late", got[0]["row"].(map[string]any)["title"])
			assert.Equal(t, "x2", got[0]["op"])
		})
	}
}

func TestPullPaginationAndCursor(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	var changes []ch
	for i := 1; i <= 25; i++ {
		changes = append(changes, change(fmt.Sprintf("p%d", i), i, todo(i, "r"), hlc(int64(i), 0), "a"))
	}
	e.mustPush(tk, changes...)
	// Rewriting row 3 moves it to the end of the feed (one version per row).
	e.mustPush(tk, change("p3b", 3, todo(3, "r3b"), hlc(100, 0), "a"))

	var seen []float64
	since := 0.0
	for range 10 { // bounded
		st, body := e.pull(tk, fmt.Sprintf("since=%v&limit=7", since))
		require.Equal(t, 200, st, "%v", body)
		cs := changesOf(body)
		for _, c := range cs {
			assert.Greater(t, c["seq"].(float64), since)
			seen = append(seen, c["key"].(float64))
		}
		if len(cs) > 0 {
			assert.Equal(t, cs[len(cs)-1]["seq"], body["cursor"])
		} else {
			assert.Equal(t, since, body["cursor"])
		}
		since = body["cursor"].(float64)
		if !body["more"].(bool) {
			break
		}
	}
	require.Len(t, seen, 25, "each row once, latest version only")
	assert.Equal(t, 3.0, seen[24], "the rewritten row comes last")
	assert.Equal(t, 26.0, since)

	// Caught up: empty page, cursor stays.
	_, body := e.pull(tk, "since=26")
	assert.Empty(t, changesOf(body))
	assert.Equal(t, 26.0, body["cursor"])
	assert.Equal(t, false, body["more"])

	// Limits are capped, not rejected; bad parameters are 400.
	st, body := e.pull(tk, "since=0&limit=5000")
	assert.Equal(t, 200, st)
	assert.Len(t, changesOf(body), 25)
	for _, q := range []string{"since=-1", "since=x", "limit=0", "limit=x", "tables=bad-name", "wait=-1", "wait=x"} {
		st, body := e.pull(tk, q)
		assert.Equal(t, 400, st, q)
		assert.Equal(t, "BAD_REQUEST", errCode(body), q)
	}
}

func TestPullTablesFilter(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	c1 := change("t1", 1, todo(1, "a"), hlc(1, 0), "a")
	c2 := change("t2", 1, todo(1, "b"), hlc(1, 0), "a")
	c2["table"] = "notes"
	e.mustPush(tk, c1, c2)
	_, body := e.pull(tk, "since=0&tables=notes")
	got := changesOf(body)
	require.Len(t, got, 1)
	assert.Equal(t, "notes", got[0]["table"])
	_, body = e.pull(tk, "since=0&tables=notes,todos")
	assert.Len(t, changesOf(body), 2)
}

func TestTombstones(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	e.mustPush(tk, change("c", 7, todo(7, "x"), hlc(1, 0), "a"))
	res := e.mustPush(tk, change("d", 7, nil, hlc(2, 0), "a"))
	assert.Equal(t, "applied", res[0]["status"])
	_, body := e.pull(tk, "since=1")
	got := changesOf(body)
	require.Len(t, got, 1)
	assert.Nil(t, got[0]["row"])
	assert.Contains(t, got[0], "row", "a delete carries row: null")
	// An older write cannot resurrect a deleted row...
	res = e.mustPush(tk, change("old", 7, todo(7, "zombie"), hlc(1, 5), "a"))
	assert.Equal(t, "stale", res[0]["status"])
	assert.Nil(t, res[0]["current"].(map[string]any)["row"])
	// ...a newer one can.
	res = e.mustPush(tk, change("new", 7, todo(7, "back"), hlc(3, 0), "a"))
	assert.Equal(t, "applied", res[0]["status"])
}

func TestCanonicalKeys(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	e.mustPush(tk, change("k1", 1, todo(1, "int"), hlc(1, 0), "a"))
	// 1.0 and 1e0 are the same key as 1.
	raw := `{"changes":[{"op":"k2","table":"todos","key":1.0,"row":{"id":1e0,"title":"float"},"hlc":"000000000000002-00000","origin":"a"}]}`
	st, body := e.do("POST", "/v1/push", tk, raw)
	require.Equal(t, 200, st, "%v", body)
	_, body = e.pull(tk, "since=0")
	got := changesOf(body)
	require.Len(t, got, 1)
	assert.Equal(t, "float", got[0]["row"].(map[string]any)["title"])
	// "1" (a string) is another key.
	e.mustPush(tk, change("k3", "1", todo("1", "string"), hlc(3, 0), "a"))
	_, body = e.pull(tk, "since=0")
	assert.Len(t, changesOf(body), 2)
}

func TestCompoundKeySchema(t *testing.T) {
	schema, err := syncserver.ParseSchema([]byte(`{"tables": {"members": {"key": ["team", "user"],
		"columns": {"team": "string", "user": "number", "role": "string"}}}}`))
	require.NoError(t, err)
	e := newEnv(t, syncserver.Config{Schema: schema})
	tk := tok("t")
	c := ch{"op": "m1", "table": "members", "key": []any{"red", 7}, "row": map[string]any{"team": "red", "user": 7, "role": "lead"}, "hlc": hlc(1, 0), "origin": "a"}
	e.mustPush(tk, c)
	c2 := ch{"op": "m2", "table": "members", "key": []any{"red", 8}, "row": map[string]any{"team": "red", "user": 7}, "hlc": hlc(1, 0), "origin": "a"}
	st, body := e.push(tk, c2)
	assert.Equal(t, 422, st)
	assert.Equal(t, "VALIDATION", errCode(body))
}

// TestBadInputChangesNothing sends each bad request after a good change in
// the same batch and checks nothing was applied.
func TestBadInputChangesNothing(t *testing.T) {
	schema, err := syncserver.ParseSchema([]byte(`{"tables": {"todos": {"key": "id", "columns":
		{"id": "number", "title": "string", "done": "boolean", "meta": "object", "x": "any"}}}}`))
	require.NoError(t, err)
	e := newEnv(t, syncserver.Config{Schema: schema, MaxBatch: 5, MaxBody: 4096})
	tk := tok("t")
	good := change("good", 1, todo(1, "fine"), hlc(1, 0), "a")
	withField := func(k string, v any) ch {
		c := change("bad", 2, todo(2, "x"), hlc(1, 0), "a")
		if v == "<delete>" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	withRow := func(row map[string]any) ch { return change("bad", 2, row, hlc(1, 0), "a") }
	var many []ch
	for i := range 6 {
		many = append(many, change(fmt.Sprintf("m%d", i), i, todo(i, "m"), hlc(1, 0), "a"))
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"not json", `{"changes": [`, 400, "BAD_REQUEST"},
		{"not an object", `[1,2]`, 400, "BAD_REQUEST"},
		{"no changes", `{"client": "x"}`, 400, "BAD_REQUEST"},
		{"changes not array", `{"changes": {}}`, 400, "BAD_REQUEST"},
		{"changes null", `{"changes": null}`, 400, "BAD_REQUEST"},
		{"too many changes", map[string]any{"changes": many}, 413, "TOO_LARGE"},
		{"body too large", map[string]any{"changes": []ch{good, withRow(map[string]any{"id": 2, "title": strings.Repeat("x", 5000)})}}, 413, "TOO_LARGE"},
		{"change not object", map[string]any{"changes": []any{good, 5}}, 422, "VALIDATION"},
		{"unknown table", map[string]any{"changes": []ch{good, withField("table", "nope")}}, 422, "VALIDATION"},
		{"missing table", map[string]any{"changes": []ch{good, withField("table", "<delete>")}}, 422, "VALIDATION"},
		{"missing op", map[string]any{"changes": []ch{good, withField("op", "<delete>")}}, 422, "VALIDATION"},
		{"bad op chars", map[string]any{"changes": []ch{good, withField("op", "a b")}}, 422, "VALIDATION"},
		{"op too long", map[string]any{"changes": []ch{good, withField("op", strings.Repeat("a", 65))}}, 422, "VALIDATION"},
		{"op not string", map[string]any{"changes": []ch{good, withField("op", 5)}}, 422, "VALIDATION"},
		{"bad hlc", map[string]any{"changes": []ch{good, withField("hlc", "2024-01-01")}}, 422, "VALIDATION"},
		{"short hlc", map[string]any{"changes": []ch{good, withField("hlc", "1-0")}}, 422, "VALIDATION"},
		{"missing hlc", map[string]any{"changes": []ch{good, withField("hlc", "<delete>")}}, 422, "VALIDATION"},
		{"empty origin", map[string]any{"changes": []ch{good, withField("origin", "")}}, 422, "VALIDATION"},
		{"origin with space", map[string]any{"changes": []ch{good, withField("origin", "a b")}}, 422, "VALIDATION"},
		{"missing key", map[string]any{"changes": []ch{good, withField("key", "<delete>")}}, 422, "VALIDATION"},
		{"null key", map[string]any{"changes": []ch{good, withField("key", nil)}}, 422, "VALIDATION"},
		{"object key", map[string]any{"changes": []ch{good, withField("key", map[string]any{})}}, 422, "VALIDATION"},
		{"bool key", map[string]any{"changes": []ch{good, withField("key", true)}}, 422, "VALIDATION"},
		{"key mismatch", map[string]any{"changes": []ch{good, withField("key", 3)}}, 422, "VALIDATION"},
		{"missing row", map[string]any{"changes": []ch{good, withField("row", "<delete>")}}, 422, "VALIDATION"},
		{"row not object", map[string]any{"changes": []ch{good, withField("row", []any{1})}}, 422, "VALIDATION"},
		{"row lacks key", map[string]any{"changes": []ch{good, withRow(map[string]any{"title": "x"})}}, 422, "VALIDATION"},
		{"unknown column", map[string]any{"changes": []ch{good, withRow(map[string]any{"id": 2, "color": "red"})}}, 422, "VALIDATION"},
		{"string for number", map[string]any{"changes": []ch{good, withRow(map[string]any{"id": 2, "title": 5})}}, 422, "VALIDATION"},
		{"number for boolean", map[string]any{"changes": []ch{good, withRow(map[string]any{"id": 2, "done": 1})}}, 422, "VALIDATION"},
		{"string for object", map[string]any{"changes": []ch{good, withRow(map[string]any{"id": 2, "meta": "{}"})}}, 422, "VALIDATION"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body := e.do("POST", "/v1/push", tk, c.body)
			assert.Equal(t, c.status, st, "%v", body)
			assert.Equal(t, c.code, errCode(body))
			if c.code == "VALIDATION" {
				eb := body["error"].(map[string]any)
				assert.Equal(t, 1.0, eb["index"], "names the first bad change")
				if c.name != "change not object" && c.name != "missing op" && c.name != "bad op chars" && c.name != "op too long" && c.name != "op not string" {
					assert.Equal(t, "bad", eb["op"])
				}
			}
			_, pb := e.pull(tk, "since=0")
			assert.Empty(t, changesOf(pb), "nothing applied")
		})
	}
	// Null and omitted columns are fine; "any" takes anything.
	e.mustPush(tk, withRow(map[string]any{"id": 2, "title": nil, "x": []any{1, "a"}}))
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	st, body := e.do("GET", "/v1/nope", tok("t"), nil)
	assert.Equal(t, 404, st)
	assert.Equal(t, "NOT_FOUND", errCode(body))
	st, body = e.do("GET", "/v1/push", tok("t"), nil)
	assert.Equal(t, 405, st)
	assert.Equal(t, "METHOD_NOT_ALLOWED", errCode(body))
	req, _ := http.NewRequest("OPTIONS", e.ts.URL+"/v1/push", nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 204, res.StatusCode)
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Authorization")
}

func TestRetentionHorizon(t *testing.T) {
	e := newEnv(t, syncserver.Config{Retention: time.Hour})
	tk := tok("t")
	e.mustPush(tk, change("a", 1, todo(1, "keep"), hlc(1, 0), "a"), change("b", 2, todo(2, "gone"), hlc(1, 0), "a"))
	e.mustPush(tk, change("c", 2, nil, hlc(2, 0), "a")) // seq 3: tombstone
	e.advance(2 * time.Hour)
	e.mustPush(tk, change("d", 3, todo(3, "new"), hlc(3, 0), "a")) // seq 4, fresh
	require.NoError(t, e.srv.Purge(context.Background()))

	// A cursor before the purged tombstone must resync.
	for _, since := range []string{"1", "2"} {
		st, body := e.pull(tk, "since="+since)
		assert.Equal(t, 410, st)
		assert.Equal(t, "RESYNC_REQUIRED", errCode(body))
		assert.Equal(t, 3.0, body["error"].(map[string]any)["cursor"])
	}
	// At or after the horizon is fine; since=0 is the full resync.
	st, body := e.pull(tk, "since=3")
	assert.Equal(t, 200, st)
	assert.Len(t, changesOf(body), 1)
	st, body = e.pull(tk, "since=0")
	require.Equal(t, 200, st)
	var keys []float64
	for _, c := range changesOf(body) {
		keys = append(keys, c["key"].(float64))
	}
	assert.Equal(t, []float64{1, 3}, keys, "live rows only; the tombstone is gone")
	// Op id "a" is purged from the op log, but row 1 still holds its version:
	// still a duplicate, never applied twice.
	res := e.mustPush(tk, change("a", 1, todo(1, "keep"), hlc(1, 0), "a"))
	assert.Equal(t, "duplicate", res[0]["status"])
	assert.Equal(t, 1.0, res[0]["seq"])
	// Seq never goes back even if the newest row was a purged tombstone.
	e.mustPush(tk, change("e", 3, nil, hlc(4, 0), "a")) // seq 5
	e.advance(2 * time.Hour)
	require.NoError(t, e.srv.Purge(context.Background()))
	res = e.mustPush(tk, change("f", 9, todo(9, "after"), hlc(5, 0), "a"))
	assert.Equal(t, 6.0, res[0]["seq"])
	// A cursor from the future (server lost data) also resyncs.
	st, body = e.pull(tk, "since=99")
	assert.Equal(t, 410, st)
	assert.Equal(t, "RESYNC_REQUIRED", errCode(body))
	// Another tenant's horizon is untouched.
	st, _ = e.pull(tok("other"), "since=0")
	assert.Equal(t, 200, st)
}

func TestRestartKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.db")
	open := func() (*env, func()) {
		db, err := sqlitestore.Open(path)
		require.NoError(t, err)
		e := newEnv(t, syncserver.Config{DB: db})
		return e, func() { e.srv.Close(); e.ts.Close(); db.Close() }
	}
	e, stop := open()
	tk := tok("t")
	e.mustPush(tk, change("a", 1, todo(1, "one"), hlc(1, 0), "a"), change("b", 2, todo(2, "two"), hlc(1, 0), "a"))
	e.mustPush(tk, change("c", 1, nil, hlc(2, 0), "a"))
	stop()

	e, stop = open()
	defer stop()
	res := e.mustPush(tk, change("b", 2, todo(2, "two"), hlc(1, 0), "a"), change("d", 4, todo(4, "four"), hlc(3, 0), "a"))
	assert.Equal(t, "duplicate", res[0]["status"], "op ids survive a restart")
	assert.Equal(t, 2.0, res[0]["seq"])
	assert.Equal(t, 4.0, res[1]["seq"], "seq continues")
	_, body := e.pull(tk, "since=0")
	got := changesOf(body)
	require.Len(t, got, 3)
	assert.Nil(t, got[1]["row"], "tombstone kept")
}

func TestLongPoll(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	type result struct {
		st   int
		body map[string]any
	}
	done := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		st, body := e.pull(tk, "since=0&wait=30")
		done <- result{st, body}
	}()
	<-started
	// Whether the push lands before or during the wait, the answer carries it.
	e.mustPush(tk, change("lp", 1, todo(1, "x"), hlc(1, 0), "a"))
	r := <-done
	require.Equal(t, 200, r.st)
	assert.Len(t, changesOf(r.body), 1)

	// Nothing new and a short wait: an empty answer with the same cursor.
	st, body := e.pull(tk, "since=1&wait=0.05")
	assert.Equal(t, 200, st)
	assert.Empty(t, changesOf(body))
	assert.Equal(t, 1.0, body["cursor"])

	// Another tenant's push does not answer this tenant's long-poll early with data.
	st, body = e.pull(tok("u"), "since=0&wait=0.05")
	assert.Equal(t, 200, st)
	assert.Empty(t, changesOf(body))
}

// TestLongPollWaitElsewhere: with Config.WaitElsewhere a long-poll never
// waits in the handler; an empty answer says for how long the host may wait,
// past which tenant cursor (all tables, read before the rows) and for whom.
func TestLongPollWaitElsewhere(t *testing.T) {
	e := newEnv(t, syncserver.Config{WaitElsewhere: true})
	tk := tok("a b/ü") // escaped in the header
	e.mustPush(tk, change("n1", 1, todo(1, "x"), hlc(1, 0), "a"))
	e.mustPush(tk, ch{"op": "o1", "table": "notes", "key": 1, "row": map[string]any{"id": 1}, "hlc": hlc(1, 0), "origin": "a"})

	get := func(query string) (*http.Response, map[string]any) {
		req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/pull?"+query, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tk)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		return res, body
	}
	for _, tc := range []struct {
		query, header string
		changes       int
	}{
		{"since=2&wait=30", "30000 2 a%20b%2F%C3%BC", 0},
		{"since=2&wait=99", "30000 2 a%20b%2F%C3%BC", 0},             // wait capped as always
		{"since=1&tables=todos&wait=0.5", "500 2 a%20b%2F%C3%BC", 0}, // the tenant's cursor, not since
		{"since=0&wait=30", "", 2},                                   // changes: answered as usual
		{"since=2", "", 0},                                           // no wait asked
	} {
		res, body := get(tc.query)
		assert.Equal(t, 200, res.StatusCode, tc.query)
		assert.Equal(t, tc.header, res.Header.Get(syncserver.WaitHeader), tc.query)
		assert.Len(t, changesOf(body), tc.changes, tc.query)
	}
	res, body := get("since=9&wait=30") // past the cursor: resync, no wait
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Equal(t, "RESYNC_REQUIRED", errCode(body))
	assert.Empty(t, res.Header.Get(syncserver.WaitHeader))
}

// readEvent returns the next SSE event's name and data, skipping comments.
func readEvent(t *testing.T, r *bufio.Reader) (string, string) {
	t.Helper()
	var name, data string
	for range 100 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatal("no event in 100 lines")
	return "", ""
}

func TestEvents(t *testing.T) {
	for _, poll := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			e := newEnv(t, syncserver.Config{PollInterval: poll})
			tk := tok("t")
			e.mustPush(tk, change("e0", 1, todo(1, "x"), hlc(1, 0), "a"))
			req, _ := http.NewRequest("GET", e.ts.URL+"/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+tk)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
			r := bufio.NewReader(res.Body)
			name, data := readEvent(t, r)
			assert.Equal(t, "change", name)
			assert.JSONEq(t, `{"cursor": 1}`, data, "the first event is the current cursor")

			e.mustPush(tok("other"), change("o", 1, todo(1, "x"), hlc(1, 0), "a")) // not ours
			e.mustPush(tk, change("e1", 2, todo(2, "y"), hlc(2, 0), "a"))
			name, data = readEvent(t, r)
			assert.Equal(t, "change", name)
			assert.JSONEq(t, `{"cursor": 2}`, data)

			// A push that applies nothing sends no notice; the next real one does.
			e.mustPush(tk, change("e1", 2, todo(2, "y"), hlc(2, 0), "a"))
			e.mustPush(tk, change("e2", 3, todo(3, "z"), hlc(3, 0), "a"))
			_, data = readEvent(t, r)
			assert.JSONEq(t, `{"cursor": 3}`, data)

			// Close ends the stream.
			e.srv.Close()
			_, err = io.ReadAll(r)
			assert.NoError(t, err)
		})
	}
}

func TestKeepAlive(t *testing.T) {
	e := newEnv(t, syncserver.Config{KeepAlive: 5 * time.Millisecond})
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok("t"))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	readEvent(t, r)
	for range 100 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, ":") {
			return
		}
	}
	t.Fatal("no keep-alive comment")
}

func TestConfigErrors(t *testing.T) {
	db, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer db.Close()
	_, err = syncserver.New(syncserver.Config{DB: db})
	assert.Error(t, err, "no secret")

	_, err = syncserver.New(syncserver.Config{Secret: secret})
	assert.Error(t, err, "no db")
	_, err = syncserver.New(syncserver.Config{DB: db, Secret: secret, Dialect: "postgres"})
	assert.Error(t, err)
	// New twice on the same db: migrations are idempotent.
	_, err = syncserver.New(syncserver.Config{DB: db, Secret: secret})
	require.NoError(t, err)
	_, err = syncserver.New(syncserver.Config{DB: db, Secret: secret})
	require.NoError(t, err)
}

// TestShortSecretIsRefused: a token secret shorter than 32 bytes could be
// guessed offline from one token, so the server will not start with it.
func TestShortSecretIsRefused(t *testing.T) {
	db, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer db.Close()
	for _, s := range [][]byte{[]byte("x"), secret[:31]} {
		_, err = syncserver.New(syncserver.Config{DB: db, Secret: s})
		assert.ErrorContains(t, err, "at least 32", "%d bytes", len(s))
	}
	_, err = syncserver.New(syncserver.Config{DB: db, Secret: secret[:32]})
	assert.NoError(t, err)
}

func TestParseSchema(t *testing.T) {
	good := []string{
		`{"tables": {"todos": {"key": "id", "columns": {"id": "number", "title": "string", "done": "boolean", "meta": "object", "x": "any"}}}}`,
		`{"tables": {"t": {}}}`,
		`{"tables": {"t": {"key": ["a", "b"]}}}`,
	}
	for _, s := range good {
		_, err := syncserver.ParseSchema([]byte(s))
		assert.NoError(t, err, s)
	}
	bad := []string{
		``, `[]`, `{"tables": {}}`,
		`{"tables": {"bad-name": {}}}`,
		`{"tables": {"t": {"key": 5}}}`,
		`{"tables": {"t": {"key": []}}}`,
		`{"tables": {"t": {"key": ""}}}`,
		`{"tables": {"t": {"columns": {"id": "date"}}}}`,
		`{"tables": {"t": {"key": "id", "columns": {"title": "string"}}}}`,
		`{"tables": {"t": {"key": "id", "columns": {"id": "boolean"}}}}`,
		`{"tables": {"t": {"kee": "id"}}}`,
	}
	for _, s := range bad {
		_, err := syncserver.ParseSchema([]byte(s))
		assert.Error(t, err, s)
	}
}

// TestStoreFailureRollsBackPush makes the database refuse the third change
// of a push and checks the first two were not kept.
func TestStoreFailureRollsBackPush(t *testing.T) {
	db, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer db.Close()
	e := newEnv(t, syncserver.Config{DB: db})
	_, err = db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON mb_sync_rows WHEN NEW.key = '"boom"'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	require.NoError(t, err)
	tk := tok("t")
	st, body := e.push(tk, change("f1", 1, todo(1, "a"), hlc(1, 0), "a"), change("f2", 2, todo(2, "b"), hlc(1, 0), "a"),
		change("f3", "boom", todo("boom", "c"), hlc(1, 0), "a"))
	assert.Equal(t, 500, st)
	assert.Equal(t, "INTERNAL", errCode(body))
	assert.NotContains(t, fmt.Sprint(body), "injected", "internal details stay in the log")
	_, body = e.pull(tk, "since=0")
	assert.Empty(t, changesOf(body), "nothing of the failed push was kept")
	// The op ids were not recorded either: the retry (without the bad row) applies.
	res := e.mustPush(tk, change("f1", 1, todo(1, "a"), hlc(1, 0), "a"), change("f2", 2, todo(2, "b"), hlc(1, 0), "a"))
	assert.Equal(t, "applied", res[0]["status"])
	assert.Equal(t, 1.0, res[0]["seq"], "no seq was used up")
}

// TestConcurrentPushes: parallel writers of one tenant on a file database get
// distinct, gap-free seqs and every change lands.
func TestConcurrentPushes(t *testing.T) {
	db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "c.db"))
	require.NoError(t, err)
	defer db.Close()
	e := newEnv(t, syncserver.Config{DB: db})
	tk := tok("t")
	const writers, per = 4, 25
	var wg sync.WaitGroup
	seqs := make(chan float64, writers*per)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				id := w*per + i
				st, body := e.push(tk, change(fmt.Sprintf("w%d", id), id, todo(id, "x"), hlc(int64(id), 0), "a"))
				if !assert.Equal(t, 200, st, "%v", body) {
					return
				}
				seqs <- body["results"].([]any)[0].(map[string]any)["seq"].(float64)
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[float64]bool{}
	for s := range seqs {
		assert.False(t, seen[s], "seq %v twice", s)
		seen[s] = true
	}
	for s := 1; s <= writers*per; s++ {
		assert.True(t, seen[float64(s)], "seq %d missing", s)
	}
}

func TestStreamLimit(t *testing.T) {
	e := newEnv(t, syncserver.Config{StreamLimit: 20 * time.Millisecond})
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok("t"))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	all, err := io.ReadAll(res.Body) // returns because the server ends the stream
	require.NoError(t, err)
	assert.Contains(t, string(all), "event: change")
}

// TestSameRowTwiceInOnePush: versions of one row in one push are applied in
// order, each judged against the one before.
func TestSameRowTwiceInOnePush(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	res := e.mustPush(tk,
		change("s1", 1, todo(1, "v1"), hlc(1, 0), "a"),
		change("s2", 1, todo(1, "v2"), hlc(2, 0), "a"), // newer: applied too
		change("s3", 1, todo(1, "v0"), hlc(0, 9), "a"), // older than v2: stale
		change("s4", 2, todo(2, "x"), hlc(1, 0), "a"),
	)
	statuses := []string{}
	for _, r := range res {
		statuses = append(statuses, r["status"].(string))
	}
	assert.Equal(t, []string{"applied", "applied", "stale", "applied"}, statuses)
	assert.Equal(t, "s2", res[2]["current"].(map[string]any)["op"])
	assert.Less(t, res[0]["seq"], res[1]["seq"])
	assert.Less(t, res[1]["seq"], res[3]["seq"])
	_, body := e.pull(tk, "since=0")
	got := changesOf(body)
	require.Len(t, got, 2)
	assert.Equal(t, "v2", got[0]["row"].(map[string]any)["title"])
	// seq stays strictly increasing and unique across pushes.
	res = e.mustPush(tk, change("s5", 3, todo(3, "y"), hlc(3, 0), "a"))
	assert.Greater(t, res[0]["seq"], got[1]["seq"])
}

// TestEventsAfterCloseAreRefused: once the server is closed (its fan-out
// loop gone), a new event stream is refused instead of hanging unserved.
func TestEventsAfterCloseAreRefused(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	e.srv.Close()
	st, body := e.do("GET", "/v1/events", tok("t"), nil)
	assert.Equal(t, 503, st)
	assert.Equal(t, "UNAVAILABLE", errCode(body))
}
