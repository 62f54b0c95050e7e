//go:build !js

package syncserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

// TestFarFutureClockIsRefused: a change stamped further past the server's
// clock than the bound is refused with CLOCK_AHEAD naming the bound, and
// nothing of its push is stored, so it can never reach another client.
func TestFarFutureClockIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		bound time.Duration
		ahead time.Duration // from the server's clock; -1: the encoding's maximum
		code  string
		maxMs float64
	}{
		{name: "maximum clock, default bound", ahead: -1, code: "CLOCK_AHEAD", maxMs: 300000},
		{name: "an hour ahead, default bound", ahead: time.Hour, code: "CLOCK_AHEAD", maxMs: 300000},
		{name: "within the default bound", ahead: 4 * time.Minute},
		{name: "past a configured bound", bound: time.Minute, ahead: 2 * time.Minute, code: "CLOCK_AHEAD", maxMs: 60000},
		{name: "no bound", bound: -1, ahead: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, syncserver.Config{MaxClockAhead: c.bound})
			tk := tok("t")
			stamp := "999999999999999-99999"
			if c.ahead >= 0 {
				stamp = hlc(e.clock().Add(c.ahead).UnixMilli(), 0)
			}
			good := change("good", 1, todo(1, "fine"), hlc(1, 0), "a")
			st, body := e.push(tk, good, change("future", 2, todo(2, "x"), stamp, "a"))
			_, pb := e.pull(tk, "since=0")
			if c.code == "" {
				require.Equal(t, 200, st, "%v", body)
				assert.Len(t, changesOf(pb), 2)
				return
			}
			require.Equal(t, 422, st, "%v", body)
			eb := body["error"].(map[string]any)
			assert.Equal(t, c.code, eb["code"])
			assert.Equal(t, 1.0, eb["index"])
			assert.Equal(t, "future", eb["op"])
			assert.Equal(t, c.maxMs, eb["maxAheadMs"])
			assert.Contains(t, eb["message"], (time.Duration(c.maxMs) * time.Millisecond).String(), "the message names the bound")
			assert.Empty(t, changesOf(pb), "nothing of the push is stored")
		})
	}
}

// TestInvalidUTF8KeysAreRefusedNotMerged: keys that encoding/json would
// read as U+FFFD (invalid bytes, lone surrogate escapes) are refused, so two
// different keys never become one stored row.
func TestInvalidUTF8KeysAreRefusedNotMerged(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	tk := tok("t")
	body := func(op, key string) string {
		return `{"changes":[{"op":"` + op + `","table":"todos","key":` + key + `,"row":null,"hlc":"000000000000001-00000","origin":"a"}]}`
	}
	for _, c := range []struct{ name, key string }{
		{"invalid byte", "\"a\xff\""},
		{"another invalid byte", "\"a\xfe\""},
		{"truncated sequence", "\"a\xe2\x82\""},
		{"lone high surrogate", `"a\ud800"`},
		{"lone low surrogate", `"a\udc00"`},
		{"high surrogate before a non-surrogate", `"\ud800\u0041"`},
		{"in a compound key", "[\"a\xff\",1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, b := e.do("POST", "/v1/push", tk, body("bad", c.key))
			assert.Equal(t, 422, st, "%v", b)
			assert.Equal(t, "VALIDATION", errCode(b))
		})
	}
	// A surrogate pair, a literal U+FFFD and escaped backslashes are fine.
	for i, key := range []string{`"\ud83d\ude00"`, "\"\uFFFD\"", `"\\ud800"`} {
		st, b := e.do("POST", "/v1/push", tk, body(fmt.Sprintf("ok%d", i), key))
		require.Equal(t, 200, st, "%s: %v", key, b)
	}
	_, pb := e.pull(tk, "since=0")
	assert.Len(t, changesOf(pb), 3, "three keys, three rows")
}

// TestHugeKeyIsRefused: a key of almost two million digits is refused with
// a validation error (the bounded wait in TestCanonicalKeyChecksSizeFirst
// shows it is refused before it is parsed).
func TestHugeKeyIsRefused(t *testing.T) {
	e := newEnv(t, syncserver.Config{})
	key := strings.Repeat("9", 1_900_000)
	st, b := e.do("POST", "/v1/push", tok("t"),
		`{"changes":[{"op":"big","table":"todos","key":`+key+`,"row":null,"hlc":"000000000000001-00000","origin":"a"}]}`)
	assert.Equal(t, 422, st)
	assert.Equal(t, "VALIDATION", errCode(b))
	assert.Contains(t, b["error"].(map[string]any)["message"], "1024 bytes")
}

// openStream starts GET path and returns the response (the caller closes it).
func openStream(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return res
}

// TestStreamCaps: event streams and long-polls beyond the per-tenant cap
// get 429, beyond the global cap 503, both with Retry-After; a closed
// stream frees its place.
func TestStreamCaps(t *testing.T) {
	e := newEnv(t, syncserver.Config{MaxStreams: 3, MaxTenantStreams: 2})
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	hold := func(path, tenant string) {
		t.Helper()
		res := openStream(t, e.ts.URL+path, tok(tenant))
		open = append(open, res)
		require.Equal(t, 200, res.StatusCode)
		if strings.HasPrefix(path, "/v1/events") {
			readEvent(t, bufio.NewReader(res.Body)) // the stream is registered once it has spoken
		}
	}
	refused := func(path, tenant string, status int, code string) {
		t.Helper()
		st, body := e.do("GET", path, tok(tenant), nil)
		assert.Equal(t, status, st, "%v", body)
		assert.Equal(t, code, errCode(body))
	}
	hold("/v1/events", "a")
	hold("/v1/events", "a")
	refused("/v1/events", "a", 429, "TOO_MANY_STREAMS")
	refused("/v1/pull?since=0&wait=30", "a", 429, "TOO_MANY_STREAMS")
	st, _ := e.pull(tok("a"), "since=0")
	assert.Equal(t, 200, st, "a pull that does not wait is not a stream")

	hold("/v1/events", "b")
	refused("/v1/events", "c", 503, "UNAVAILABLE")
	refused("/v1/pull?since=0&wait=30", "c", 503, "UNAVAILABLE")

	for _, path := range []string{"/v1/events", "/v1/pull?since=0&wait=30"} {
		res := openStream(t, e.ts.URL+path, tok("c"))
		assert.Equal(t, "5", res.Header.Get("Retry-After"), path)
		res.Body.Close()
	}

	// Closing one of a's streams lets c in (the server notices the close
	// on its own time: a bounded number of tries).
	open[0].Body.Close()
	open = open[1:]
	for i := 0; ; i++ {
		res := openStream(t, e.ts.URL+"/v1/events", tok("c"))
		if res.StatusCode == 200 {
			open = append(open, res)
			break
		}
		res.Body.Close()
		require.Less(t, i, 500, "a closed stream never freed its place")
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamsOutliveReadTimeout: the host's ReadTimeout (which cuts off
// trickled bodies) does not end event streams or long-polls, which wait on
// purpose.
func TestStreamsOutliveReadTimeout(t *testing.T) {
	db, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer db.Close()
	srv, err := syncserver.New(syncserver.Config{DB: db, Secret: secret, KeepAlive: 300 * time.Millisecond})
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ReadTimeout = 30 * time.Millisecond
	ts.Config.WriteTimeout = 30 * time.Millisecond
	ts.Start()
	defer ts.Close()
	defer srv.Close()

	res := openStream(t, ts.URL+"/v1/events", tok("t"))
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	r := bufio.NewReader(res.Body)
	readEvent(t, r)
	line, err := r.ReadString('\n') // the keep-alive, sent after both timeouts have passed
	require.NoError(t, err, "the stream was cut off")
	assert.Equal(t, ": keep-alive\n", line)

	res = openStream(t, ts.URL+"/v1/pull?since=0&wait=0.3", tok("t"))
	defer res.Body.Close()
	assert.Equal(t, 200, res.StatusCode, "a long-poll longer than the timeouts still answers")
}

// TestFanoutToManyStreams: every one of many event streams of a tenant gets
// each commit's notice (in cursor order, the last one always), with the
// CORS headers of any answer; another tenant's streams get none.
func TestFanoutToManyStreams(t *testing.T) {
	e := newEnv(t, syncserver.Config{MaxStreams: 500, MaxTenantStreams: 500})
	const n = 150
	var readers []*bufio.Reader
	for i := range n {
		tenant := "t"
		if i%10 == 0 {
			tenant = "u"
		}
		res := openStream(t, e.ts.URL+"/v1/events", tok(tenant))
		t.Cleanup(func() { res.Body.Close() })
		require.Equal(t, 200, res.StatusCode)
		assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
		r := bufio.NewReader(res.Body)
		_, data := readEvent(t, r)
		assert.JSONEq(t, `{"cursor": 0}`, data)
		if tenant == "t" {
			readers = append(readers, r)
		}
	}
	for i := 1; i <= 3; i++ {
		e.mustPush(tok("t"), change(fmt.Sprint("f", i), i, todo(i, "x"), hlc(int64(i), 0), "a"))
	}
	for _, r := range readers {
		last := 0.0
		for last < 3 {
			_, data := readEvent(t, r)
			var msg struct{ Cursor float64 }
			require.NoError(t, json.Unmarshal([]byte(data), &msg))
			require.Greater(t, msg.Cursor, last, "notices only move forward")
			last = msg.Cursor
		}
	}
	e.mustPush(tok("u"), change("g", 1, todo(1, "x"), hlc(1, 0), "a"))
	e.mustPush(tok("t"), change("f4", 4, todo(4, "x"), hlc(4, 0), "a"))
	for _, r := range readers {
		_, data := readEvent(t, r)
		assert.JSONEq(t, `{"cursor": 4}`, data, "another tenant's commit is not announced here")
	}
}
