package replica

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

type node struct {
	t    *testing.T
	c    *engine.Conn
	cl   *Client
	wall int64
}

func todos(t testing.TB) engine.TableSpec {
	spec, err := engine.ParseTableSpec(value.ObjectOf(
		value.Member{Key: "sync", Value: value.BoolOf(true)},
		value.Member{Key: "ifNotExists", Value: value.BoolOf(true)},
		value.Member{Key: "columns", Value: mustJSON(t, `[{"name":"id","type":"string","primaryKey":true},
			{"name":"title","type":"string"},{"name":"n","type":"number"},{"name":"bad","type":"boolean"}]`)}))
	require.NoError(t, err)
	return spec
}

func mustJSON(t testing.TB, s string) value.Value {
	v, err := FromJSON([]byte(s))
	require.NoError(t, err)
	return v
}

func newNode(t *testing.T, tr Transport, policy Policy, wall int64) *node {
	fs, err := memfs.New()
	require.NoError(t, err)
	n := &node{t: t, wall: wall}
	c, err := engine.Open(fs, engine.Options{Now: func() time.Time { return time.UnixMilli(n.wall) }})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.CreateDatabase("db", true))
	require.NoError(t, c.CreateTable("db", "todos", todos(t)))
	r, err := New(c, Config{DB: "db", Policy: policy})
	require.NoError(t, err)
	n.c, n.cl = c, &Client{Replica: r, Transport: tr}
	return n
}

func (n *node) put(row string) {
	n.t.Helper()
	require.NoError(n.t, n.c.Auto(func(tx *engine.Tx) error {
		_, err := tx.Upsert("db", "todos", mustJSON(n.t, row))
		return err
	}))
}

func (n *node) del(id string) {
	n.t.Helper()
	require.NoError(n.t, n.c.Auto(func(tx *engine.Tx) error {
		_, err := tx.Delete("db", "todos", engine.Query{Where: engine.And{&engine.Cond{Column: "id", Op: engine.OpEq, Value: value.StringOf(id)}}, Limit: -1})
		return err
	}))
}

func (n *node) sync() Report {
	n.t.Helper()
	rep, err := n.cl.Sync(context.Background())
	require.NoError(n.t, err)
	return rep
}

// rows is the node's synced data keyed like the fake server's.
func (n *node) rows() map[string]string {
	n.t.Helper()
	out := map[string]string{}
	require.NoError(n.t, n.c.Auto(func(tx *engine.Tx) error {
		res, err := tx.Select("db", "todos", engine.Query{Limit: -1})
		if err != nil {
			return err
		}
		for _, r := range res.Rows {
			o := value.ObjectFrom(res.Columns, r)
			id, _ := o.Get("id")
			k, _ := ToJSON(id)
			j, err := ToJSON(o)
			require.NoError(n.t, err)
			out["todos\x00"+string(k)] = canon(j)
		}
		return nil
	}))
	return out
}

func (n *node) pending() int {
	p, err := n.cl.Replica.Pending()
	require.NoError(n.t, err)
	return p
}

func title(t *testing.T, rows map[string]string, id string) string {
	r, ok := rows["todos\x00\""+id+"\""]
	if !ok {
		return "<deleted>"
	}
	v := mustJSON(t, r)
	tv, _ := v.Get("title")
	return tv.Str()
}

func TestJSONRoundTrip(t *testing.T) {
	for _, s := range []string{`null`, `true`, `1.5`, `-0.25`, `"a\"b"`, `[1,"x",null]`, `{"b":1,"a":[{"z":true}]}`} {
		v, err := FromJSON([]byte(s))
		require.NoError(t, err, s)
		out, err := ToJSON(v)
		require.NoError(t, err)
		require.Equal(t, s, string(out), "member order is kept")
	}
	for _, s := range []string{`{`, `[1,`, `1 2`, `{"a" 1}`} {
		_, err := FromJSON([]byte(s))
		require.Error(t, err, s)
	}
	_, err := ToJSON(value.BytesOf([]byte{1}))
	require.Error(t, err)
}

// TestPolicies plays the same story under each policy: both nodes hold
// row x; A changes it offline; B changes it and syncs; then A syncs (or
// pulls before pushing), then B syncs again. Clocks are set so that the
// order of the two changes is known.
func TestPolicies(t *testing.T) {
	merge := func(local, remote, base value.Value) (value.Value, error) {
		lt, _ := local.Get("title")
		rt, _ := remote.Get("title")
		bt, _ := base.Get("title")
		return value.ObjectOf(value.Member{Key: "id", Value: value.StringOf("x")},
			value.Member{Key: "title", Value: value.StringOf(bt.Str() + ">" + lt.Str() + "|" + rt.Str())}), nil
	}
	cases := []struct {
		name       string
		policy     Policy
		aLater     bool // A's change has the later clock
		pullFirst  bool // A pulls B's change while its own is still pending
		aDeletes   bool
		want       string // final title everywhere
		resolution string
	}{
		{name: "lww remote later", policy: LWW, want: "b", resolution: "remote"},
		{name: "lww local later", policy: LWW, aLater: true, want: "a"},
		{name: "lww local later, pulled while pending", policy: LWW, aLater: true, pullFirst: true, want: "a", resolution: "local"},
		{name: "lww remote later, pulled while pending", policy: LWW, pullFirst: true, want: "b", resolution: "remote"},
		{name: "lww delete loses to later update", policy: LWW, aDeletes: true, want: "b", resolution: "remote"},
		{name: "lww later delete wins", policy: LWW, aDeletes: true, aLater: true, want: "<deleted>"},
		{name: "server-wins, pulled while pending", policy: ServerWins, aLater: true, pullFirst: true, want: "b", resolution: "remote"},
		{name: "server-wins remote later", policy: ServerWins, want: "b", resolution: "remote"},
		{name: "client-wins remote later", policy: ClientWins, want: "a", resolution: "reissued"},
		{name: "client-wins pulled while pending", policy: ClientWins, pullFirst: true, want: "a", resolution: "reissued"},
		{name: "client-wins delete", policy: ClientWins, aDeletes: true, want: "<deleted>", resolution: "reissued"},
		{name: "merge function", policy: Custom, want: "base>a|b", resolution: "pending"},
		{name: "merge function, pulled while pending", policy: Custom, pullFirst: true, aLater: true, want: "base>a|b", resolution: "pending"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			a := newNode(t, srv, tc.policy, 1_000_000)
			b := newNode(t, srv, LWW, 1_000_000)
			if tc.policy == Custom {
				a.cl.Merge = merge
			}
			a.put(`{"id":"x","title":"base"}`)
			a.sync()
			b.sync()
			require.Equal(t, "base", title(t, b.rows(), "x"))

			a.wall, b.wall = 2_000_000, 3_000_000
			if tc.aLater {
				a.wall, b.wall = 3_000_000, 2_000_000
			}
			if tc.aDeletes {
				a.del("x")
			} else {
				a.put(`{"id":"x","title":"a"}`)
			}
			b.put(`{"id":"x","title":"b"}`)
			b.sync()
			var rep Report
			if tc.pullFirst {
				require.NoError(t, a.cl.pull(context.Background(), &rep))
				if tc.policy == Custom {
					_, err := a.cl.merge()
					require.NoError(t, err)
				}
			}
			r := a.sync()
			rep.add(r)
			a.sync()
			b.sync()
			a.sync()
			require.Zero(t, a.pending())
			require.Zero(t, b.pending())
			require.Equal(t, tc.want, title(t, a.rows(), "x"), "A")
			require.Equal(t, tc.want, title(t, b.rows(), "x"), "B")
			require.Equal(t, srv.live(), a.rows(), "A holds what the server holds")
			require.Equal(t, srv.live(), b.rows(), "B holds what the server holds")
			if tc.resolution == "" {
				require.Empty(t, rep.Conflicts)
			} else {
				require.Len(t, rep.Conflicts, 1)
				require.Equal(t, tc.resolution, rep.Conflicts[0].Resolution)
				require.Equal(t, "x", rep.Conflicts[0].Key.Str())
			}
		})
	}
}

func TestMergeFields(t *testing.T) {
	srv := newFakeServer()
	a := newNode(t, srv, MergeFields, 1_000_000)
	b := newNode(t, srv, LWW, 1_000_000)
	a.put(`{"id":"x","title":"base","n":1}`)
	a.put(`{"id":"y","title":"base","n":1}`)
	a.sync()
	b.sync()
	a.wall, b.wall = 2_000_000, 3_000_000
	a.put(`{"id":"x","title":"from a"}`) // A changes the title,
	b.put(`{"id":"x","n":2}`)            // B the number: both survive.
	a.put(`{"id":"y","n":5}`)            // Both change n: the later (B) wins,
	b.put(`{"id":"y","n":7,"title":"b"}`)
	b.sync()
	rep := a.sync()
	a.sync()
	b.sync()
	require.Len(t, rep.Conflicts, 2)
	require.Equal(t, "merged", rep.Conflicts[0].Resolution)
	for _, n := range []*node{a, b} {
		rows := n.rows()
		require.JSONEq(t, `{"id":"x","title":"from a","n":2,"bad":null}`, rows[`todos`+"\x00"+`"x"`])
		require.JSONEq(t, `{"id":"y","title":"b","n":7,"bad":null}`, rows[`todos`+"\x00"+`"y"`])
		require.Equal(t, srv.live(), rows)
	}
}

func TestPushBatchesAndAtMostOnce(t *testing.T) {
	srv := newFakeServer()
	a := newNode(t, srv, LWW, 1_000_000)
	for i := range 1203 {
		a.put(`{"id":"r` + itoa(i) + `","n":` + itoa(i) + `}`)
	}
	require.Equal(t, 1203, a.pending())
	req, err := a.cl.Replica.NextPush(500)
	require.NoError(t, err)
	require.Len(t, req.Changes, 500)
	// The answer to this push is lost: the same batch goes again and comes
	// back duplicate.
	_, err = srv.Push(context.Background(), req)
	require.NoError(t, err)
	rep := a.sync()
	require.Equal(t, 3, srv.pushes-1, "1203 changes in batches of 500")
	require.Equal(t, 500, rep.Duplicate)
	require.Equal(t, 703, rep.Applied)
	require.Zero(t, a.pending())
	require.Len(t, srv.live(), 1203)
	require.Equal(t, srv.live(), a.rows())
	b := newNode(t, srv, LWW, 1_000_000)
	b.cl.PullLimit = 100
	var progress []int
	b.cl.Progress = func(n int) { progress = append(progress, n) }
	rep = b.sync()
	require.Equal(t, 1203, rep.Pulled)
	require.Len(t, progress, 13)
	require.Equal(t, 1203, progress[12])
	require.Equal(t, srv.live(), b.rows())
}

func itoa(i int) string { return value.NumberOf(float64(i)).String() }

func TestValidationGoesToDeadLetters(t *testing.T) {
	srv := newFakeServer()
	a := newNode(t, srv, LWW, 1_000_000)
	a.put(`{"id":"1","title":"ok"}`)
	a.put(`{"id":"2","title":"no","bad":true}`)
	a.put(`{"id":"3","title":"ok too"}`)
	rep := a.sync()
	require.Equal(t, 1, rep.DeadLettered)
	require.Zero(t, a.pending())
	require.Len(t, srv.live(), 2, "the rest of the batch went through")
	dl, err := a.cl.Replica.DeadLetters()
	require.NoError(t, err)
	require.Len(t, dl, 1)
	require.Equal(t, `"2"`, dl[0].Key.String())
	code, _ := dl[0].Note.Get("code")
	require.Equal(t, CodeValidation, code.Str())
	// Retry sends it again (still rejected: back to the dead letters).
	require.NoError(t, a.cl.Replica.Retry(dl[0].Op))
	require.Equal(t, 1, a.pending())
	a.sync()
	dl2, err := a.cl.Replica.DeadLetters()
	require.NoError(t, err)
	require.Len(t, dl2, 1)
	require.Equal(t, dl[0].Op, dl2[0].Op, "the op id is kept")
	require.NoError(t, a.cl.Replica.Discard(dl2[0].Op))
	dl3, err := a.cl.Replica.DeadLetters()
	require.NoError(t, err)
	require.Empty(t, dl3)
	require.Error(t, a.cl.Replica.Discard("nope"))
}

func TestResyncDropsRowsTheServerForgot(t *testing.T) {
	srv := newFakeServer()
	a := newNode(t, srv, LWW, 1_000_000)
	b := newNode(t, srv, LWW, 1_000_000)
	a.put(`{"id":"keep","title":"k"}`)
	a.put(`{"id":"gone","title":"g"}`)
	a.sync()
	b.sync()
	require.Len(t, b.rows(), 2)
	a.del("gone")
	a.sync()
	// B falls behind the horizon: the tombstone of "gone" was purged.
	srv.mu.Lock()
	delete(srv.rows, "todos\x00\"gone\"")
	srv.horizon = srv.seq + 1
	srv.mu.Unlock()
	b.put(`{"id":"mine","title":"unpushed"}`)
	// B's unpushed row must survive; push it only after the resync.
	rep, err := b.cl.Replica.NextPush(10)
	require.NoError(t, err)
	require.Len(t, rep.Changes, 1)
	var r Report
	require.NoError(t, b.cl.pull(context.Background(), &r))
	rows := b.rows()
	require.Contains(t, rows, "todos\x00\"keep\"")
	require.Contains(t, rows, "todos\x00\"mine\"", "unpushed changes are kept")
	require.NotContains(t, rows, "todos\x00\"gone\"")
	b.sync()
	a.sync()
	require.Equal(t, srv.live(), a.rows())
	require.Equal(t, srv.live(), b.rows())
}

func TestUnknownPolicy(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c, err := engine.Open(fs, engine.Options{})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.CreateDatabase("db", true))
	_, err = New(c, Config{DB: "db", Policy: "newest"})
	require.ErrorContains(t, err, "unknown conflict policy")
	_, err = New(c, Config{DB: "db", Tables: []string{"nope"}})
	require.True(t, strings.Contains(err.Error(), "no table"))
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{`null`, `{"a":[1,2,{"b":"c"}]}`, `"x"`, `[`, `1e400`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`, `"\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := FromJSON(data)
		if err != nil {
			return
		}
		out, err := ToJSON(v)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", data, err)
		}
		v2, err := FromJSON(out)
		if err != nil || !value.Equal(v, v2) {
			t.Fatalf("round trip of %q: %s vs %s (%v)", data, v, v2, err)
		}
	})
}

// FuzzJSONAgainstStdlib checks the hand-written codec against encoding/json:
// the same inputs are valid, they decode to the same values, and what
// ToJSON writes, encoding/json reads back unchanged.
func FuzzJSONAgainstStdlib(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-0,1e-7,1e21,{"b":"c\u00e9\ud83d\ude00"}]}`, `"\ud800"`, `[1,]`, `01`, `"\x01"`,
		`{"k":true,"n":null}`, ` [ ] `, `"a\/b\\"`, `1E+2`, `-`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The lenient reader (whole server answers) matches encoding/json;
		// the strict one (FromJSON) agrees with it or refuses a string the
		// lenient one had to replace with U+FFFD.
		v, err := fromJSON(data, false)
		if sv, serr := FromJSON(data); serr == nil {
			if err != nil || !value.Equal(sv, v) {
				t.Fatalf("%q: strict read %v (%v), lenient %v (%v)", data, sv, serr, v, err)
			}
		} else if err == nil && !bytes.ContainsRune([]byte(v.String()), utf8.RuneError) {
			t.Fatalf("%q: strict read refused (%v) what the lenient one read without a substitution", data, serr)
		}
		var std any
		stdErr := json.Unmarshal(data, &std)
		if len(bytes.TrimSpace(data)) == 0 {
			return // FromJSON reads empty as null; encoding/json refuses it
		}
		if (err == nil) != (stdErr == nil) {
			if stdErr != nil && strings.Contains(stdErr.Error(), "out of range") {
				return // both refuse 1e400, with different words
			}
			t.Fatalf("%q: FromJSON err %v, encoding/json err %v", data, err, stdErr)
		}
		if err != nil {
			return
		}
		out, err := ToJSON(v)
		require.NoError(t, err)
		var back any
		require.NoError(t, json.Unmarshal(out, &back), "ToJSON wrote %q", out)
		a, _ := json.Marshal(noNegZero(std)) // the engine stores -0 as 0, as JSON.stringify writes it
		b, _ := json.Marshal(back)
		require.Equal(t, string(a), string(b), "input %q", data)
	})
}

func TestProtocolCodec(t *testing.T) {
	idx := 3
	req := PushRequest{Client: "dev\"1", Changes: []Change{{Op: "o1", Table: "todos", Key: RawJSON(`"k"`), Row: RawJSON(`{"id":"k"}`), HLC: "001-00000", Origin: "a"},
		{Op: "o2", Table: "todos", Key: RawJSON(`[1,2]`), HLC: "002-00000", Origin: "a"}}}
	b, err := EncodePushRequest(req)
	require.NoError(t, err)
	var std PushRequest
	require.NoError(t, json.Unmarshal(b, &std))
	require.Equal(t, "dev\"1", std.Client)
	require.Equal(t, `null`, string(std.Changes[1].Row), "a delete is row null")
	require.JSONEq(t, `{"id":"k"}`, string(std.Changes[0].Row))

	resp, err := DecodePushResponse([]byte(`{"results":[{"op":"o1","status":"applied","seq":7},
		{"op":"o2","status":"stale","current":{"op":"x","table":"todos","key":[1,2],"row":{"id":1},"hlc":"9","origin":"b","seq":5}}],"cursor":7}`))
	require.NoError(t, err)
	require.Equal(t, int64(7), resp.Cursor)
	require.Equal(t, int64(7), resp.Results[0].Seq)
	require.Equal(t, `[1,2]`, string(resp.Results[1].Current.Key))
	require.Equal(t, int64(5), resp.Results[1].Current.Seq)
	_, err = DecodePushResponse([]byte(`{"results":[{"op":7}]}`))
	require.Error(t, err)

	pull, err := DecodePullResponse([]byte(`{"changes":[{"op":"a","table":"t","key":"k","row":null,"hlc":"h","origin":"o","seq":2}],"cursor":2,"more":true}`))
	require.NoError(t, err)
	require.True(t, pull.More)
	require.Equal(t, "null", string(pull.Changes[0].Row))
	_, err = DecodePullResponse([]byte(`[]`))
	require.Error(t, err)

	e := DecodeServerError(422, []byte(`{"error":{"code":"VALIDATION","message":"bad","index":3,"op":"o2"}}`))
	require.Equal(t, &ServerError{Status: 422, Code: "VALIDATION", Message: "bad", Index: &idx, Op: "o2"}, e)
	e = DecodeServerError(502, []byte(`<html>`))
	require.Equal(t, "HTTP", e.Code)
	require.Equal(t, 502, e.Status)
}

func noNegZero(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return 0.0
		}
	case []any:
		for i := range x {
			x[i] = noNegZero(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = noNegZero(x[k])
		}
	}
	return v
}
