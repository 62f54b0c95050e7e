//go:build !js

package synctest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"minibase/engine/replica/replicahttp"
	"minibase/engine/value/valuetest"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/replica"
	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

var secret = []byte("synctest-secret-of-at-least-32-bytes")

// server is a real sync server on SQLite in a temp dir, on 127.0.0.1,
// restartable on the same file.
type server struct {
	t    testing.TB
	path string
	db   *sql.DB
	srv  *syncserver.Server
	http *httptest.Server
}

func startServer(t testing.TB, path string) *server {
	t.Helper()
	db, err := sqlitestore.Open(path)
	require.NoError(t, err)
	srv, err := syncserver.New(syncserver.Config{DB: db, Secret: secret})
	require.NoError(t, err)
	s := &server{t: t, path: path, db: db, srv: srv, http: httptest.NewServer(srv)}
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	if s.http == nil {
		return
	}
	s.http.CloseClientConnections()
	s.http.Close()
	s.srv.Close()
	s.db.Close()
	s.http = nil
}

func token(tenant, sub string) string {
	return syncserver.SignToken(secret, tenant, sub, time.Time{}) // no expiry: some tests move the server clock
}

// flaky wraps a transport: offline it fails every request; with lossy set it
// sometimes delivers a push and then loses the answer. It counts every
// "applied" verdict per op, to check no op is applied twice.
type flaky struct {
	inner   replica.Transport
	rng     *rand.Rand
	offline bool
	lossy   bool
	applied map[string]int
	mu      *syncMutex
}

var errOffline = errors.New("offline")

func (f *flaky) Push(ctx context.Context, req replica.PushRequest) (replica.PushResponse, error) {
	if f.offline {
		return replica.PushResponse{}, errOffline
	}
	resp, err := f.inner.Push(ctx, req)
	if err == nil {
		f.mu.Lock()
		for _, r := range resp.Results {
			if r.Status == replica.Applied {
				f.applied[r.Op]++
			}
		}
		f.mu.Unlock()
	}
	if err == nil && f.lossy && f.rng.IntN(5) == 0 {
		return replica.PushResponse{}, errors.New("connection reset (answer lost)")
	}
	return resp, err
}

func (f *flaky) Pull(ctx context.Context, since int64, limit int) (replica.PullResponse, error) {
	if f.offline {
		return replica.PullResponse{}, errOffline
	}
	return f.inner.Pull(ctx, since, limit)
}

// client is one device: an engine on its own memory filesystem, with its
// own (skewed) wall clock.
type client struct {
	t      testing.TB
	name   string
	fs     fsadapter.FS
	wall   int64
	c      *engine.Conn
	cl     *replica.Client
	tr     *flaky
	policy replica.Policy
}

func (c *client) open() {
	c.t.Helper()
	conn, err := engine.Open(c.fs, engine.Options{Now: func() time.Time { return time.UnixMilli(c.wall) }})
	require.NoError(c.t, err)
	require.NoError(c.t, conn.CreateDatabase("app", true))
	spec, err := engine.ParseTableSpec(mustJSON(c.t, `{"sync":true,"ifNotExists":true,"columns":[
		{"name":"id","type":"string","primaryKey":true},{"name":"title","type":"string"},
		{"name":"n","type":"number"},{"name":"by","type":"string"}]}`))
	require.NoError(c.t, err)
	require.NoError(c.t, conn.CreateTable("app", "todos", spec))
	r, err := replica.New(conn, replica.Config{DB: "app", Policy: c.policy})
	require.NoError(c.t, err)
	c.c, c.cl = conn, &replica.Client{Replica: r, Transport: c.tr, Batch: 7, PullLimit: 5}
	if c.policy == replica.Custom {
		c.cl.Merge = func(local, remote, base value.Value) (value.Value, error) {
			if remote.IsNull() {
				return local, nil
			}
			return remote, nil
		}
	}
}

func mustJSON(t testing.TB, s string) value.Value {
	v, err := replica.FromJSON([]byte(s))
	require.NoError(t, err)
	return v
}

// write is one acknowledged local write and its version.
type write struct {
	key, hlc, origin string
	row              string // canonical JSON, "" for a delete
}

func canon(v value.Value) string {
	if v.IsNull() {
		return ""
	}
	b, _ := replica.ToJSON(v)
	var x any
	_ = json.Unmarshal(b, &x)
	out, _ := json.Marshal(x)
	return string(out)
}

func (c *client) write(rng *rand.Rand, keys int, seq int) (write, bool) {
	key := "k" + strconv.Itoa(rng.IntN(keys))
	del := rng.IntN(4) == 0
	var w write
	err := c.c.Auto(func(tx *engine.Tx) error {
		var err error
		if del {
			_, err = tx.Delete("app", "todos", engine.Query{Where: engine.And{&engine.Cond{Column: "id", Op: engine.OpEq, Value: value.StringOf(key)}}, Limit: -1})
		} else if rng.IntN(2) == 0 {
			_, err = tx.Upsert("app", "todos", mustJSON(c.t, fmt.Sprintf(`{"id":%q,"title":"%s-%d","by":%q}`, key, c.name, seq, c.name)))
		} else {
			_, err = tx.Upsert("app", "todos", mustJSON(c.t, fmt.Sprintf(`{"id":%q,"n":%d,"by":%q}`, key, seq, c.name)))
		}
		if err != nil {
			return err
		}
		row, meta, ok, err := tx.SyncRow("app", "todos", value.StringOf(key))
		if ok {
			w = write{key: key, hlc: meta.HLC, origin: meta.Origin, row: canon(row)}
		}
		return err
	})
	require.NoError(c.t, err)
	return w, w.hlc != ""
}

func (c *client) rows() map[string]string {
	out := map[string]string{}
	require.NoError(c.t, c.c.Auto(func(tx *engine.Tx) error {
		res, err := tx.Select("app", "todos", engine.Query{Limit: -1})
		for _, r := range res.Rows {
			o := value.ObjectFrom(res.Columns, r)
			id, _ := o.Get("id")
			out[id.Str()] = canon(o)
		}
		return err
	}))
	return out
}

// serverRows reads the server's live rows with a full pull.
func serverRows(t testing.TB, tr replica.Transport) map[string]string {
	out := map[string]string{}
	since := int64(0)
	for range 10000 {
		resp, err := tr.Pull(context.Background(), since, 1000)
		require.NoError(t, err)
		for _, ch := range resp.Changes {
			k, err := replica.FromJSON(ch.Key)
			require.NoError(t, err)
			row, err := replica.FromJSON(ch.Row)
			require.NoError(t, err)
			if row.IsNull() {
				delete(out, k.Str())
			} else {
				// A row on the wire may omit null columns: compare as stored.
				out[k.Str()] = canon(withNulls(row))
			}
		}
		since = resp.Cursor
		if !resp.More {
			return out
		}
	}
	t.Fatal("full pull did not end")
	return nil
}

func withNulls(row value.Value) value.Value {
	m := []value.Member{}
	for _, c := range []string{"id", "title", "n", "by"} {
		v, ok := row.Get(c)
		if !ok {
			v = value.NullValue
		}
		m = append(m, value.Member{Key: c, Value: v})
	}
	return value.ObjectOf(m...)
}

func seed(t testing.TB) uint64 {
	return valuetest.Seed(t)
}

func TestConvergence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []replica.Policy
		account  bool // every client is LWW: the final row is the latest write
	}{
		{name: "lww", policies: []replica.Policy{replica.LWW}, account: true},
		{name: "mixed", policies: []replica.Policy{replica.LWW, replica.ServerWins, replica.ClientWins, replica.Custom, replica.MergeFields}},
	} {
		t.Run(tc.name, func(t *testing.T) { converge(t, tc.policies, tc.account) })
	}
}

func converge(t *testing.T, policies []replica.Policy, account bool) {
	sd := seed(t)
	t.Logf("seed %d (replay with MINIBASE_SEED=%d)", sd, sd)
	fmt.Printf("synctest: %s seed %d (replay with MINIBASE_SEED=%d)\n", t.Name(), sd, sd)
	rng := rand.New(rand.NewPCG(sd, 0x5eed))
	const nClients, keys, steps = 6, 10, 400
	path := filepath.Join(t.TempDir(), "sync.db")
	srv := startServer(t, path)
	tenantTr := replicahttp.NewHTTP(srv.http.URL, token("tenant-a", "checker"))
	var mu sync.Mutex
	applied := map[string]int{}
	var clients []*client
	for i := range nClients {
		fs, err := memfs.New()
		require.NoError(t, err)
		tr := &flaky{inner: replicahttp.NewHTTP(srv.http.URL, token("tenant-a", fmt.Sprint("dev", i))), rng: rng, lossy: true, applied: applied, mu: &mu}
		c := &client{t: t, name: fmt.Sprint("c", i), fs: fs, tr: tr, policy: policies[i%len(policies)],
			wall: 1_700_000_000_000 + rng.Int64N(600_000) - 300_000} // clocks skewed by up to ±5 minutes
		c.open()
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.c.Close()
		}
	}()
	var writes []write
	for step := range steps {
		if step == steps/2 {
			srv.stop()
			srv = startServer(t, path)
			tenantTr.SetURL(srv.http.URL)
			for _, c := range clients {
				c.tr.inner.(*replicahttp.HTTP).SetURL(srv.http.URL)
			}
		}
		c := clients[rng.IntN(nClients)]
		c.wall += rng.Int64N(50)
		switch op := rng.IntN(20); {
		case op < 9:
			if w, ok := c.write(rng, keys, step); ok {
				writes = append(writes, w)
			}
		case op < 13:
			_, _ = c.cl.Sync(context.Background()) // errors (offline, lost answers) are part of the game
		case op < 15:
			_, _ = c.cl.Pull(context.Background())
		case op < 18:
			c.tr.offline = !c.tr.offline
		default: // the app is closed and opened again
			require.NoError(t, c.c.Close())
			c.open()
		}
	}
	for _, c := range clients {
		c.tr.offline, c.tr.lossy = false, false
	}
	settled := false
	for round := 0; round < 30 && !settled; round++ {
		settled = true
		for _, c := range clients {
			rep, err := c.cl.Sync(context.Background())
			require.NoError(t, err, "%s final sync", c.name)
			p, err := c.cl.Replica.Pending()
			require.NoError(t, err)
			if p > 0 || len(rep.Changes) > 0 || rep.Applied > 0 {
				settled = false
			}
		}
	}
	require.True(t, settled, "seed %d: clients did not settle in 30 rounds", sd)

	want := serverRows(t, tenantTr)
	for _, c := range clients {
		require.Equal(t, want, c.rows(), "seed %d: %s (%s) differs from the server", sd, c.name, c.policy)
		dl, err := c.cl.Replica.DeadLetters()
		require.NoError(t, err)
		require.Empty(t, dl, "nothing valid is dead-lettered")
	}
	for op, n := range applied {
		require.LessOrEqual(t, n, 1, "seed %d: op %s applied %d times", sd, op, n)
	}
	if account {
		// Last writer wins: each row is the acknowledged write with the
		// greatest (hlc, origin) for its key, or absent when that was a delete.
		latest := map[string]write{}
		for _, w := range writes {
			if l, ok := latest[w.key]; !ok || w.hlc > l.hlc || (w.hlc == l.hlc && w.origin > l.origin) {
				latest[w.key] = w
			}
		}
		expect := map[string]string{}
		for k, w := range latest {
			if w.row != "" {
				expect[k] = w.row
			}
		}
		require.Equal(t, expect, want, "seed %d: the server holds the latest write of every row", sd)
	}
	ks := make([]string, 0, len(want))
	for k := range want {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	t.Logf("%d writes, %d ops applied, %d live rows: %v", len(writes), len(applied), len(want), ks)
	require.NotEmpty(t, applied)
}

type syncMutex = sync.Mutex

type engineTx = engine.Tx

func eqQuery(id string) engine.Query {
	return engine.Query{Where: engine.And{&engine.Cond{Column: "id", Op: engine.OpEq, Value: value.StringOf(id)}}, Limit: -1}
}
