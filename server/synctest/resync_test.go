//go:build !js

package synctest

import (
	"context"
	"minibase/engine/replica/replicahttp"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine/replica"
	"minibase/fsadapter/memfs"
	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

// TestResyncAfterRetention: a client that was away longer than the server
// keeps tombstones gets 410 RESYNC_REQUIRED, pulls everything again, drops
// the rows deleted meanwhile and keeps its own unpushed change.
func TestResyncAfterRetention(t *testing.T) {
	now := time.Now()
	db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
	require.NoError(t, err)
	srv, err := syncserver.New(syncserver.Config{DB: db, Secret: secret, Retention: time.Hour, Now: func() time.Time { return now }})
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(); db.Close() })

	mk := func(name string) *client {
		fs, err := memfs.New()
		require.NoError(t, err)
		c := &client{t: t, name: name, fs: fs, wall: now.UnixMilli(), policy: replica.LWW,
			tr: &flaky{inner: replicahttp.NewHTTP(hs.URL, token("resync", name)), applied: map[string]int{}, mu: new(syncMutex)}}
		c.open()
		t.Cleanup(func() { c.c.Close() })
		return c
	}
	a, b := mk("a"), mk("b")
	put := func(c *client, id, title string) {
		require.NoError(t, c.c.Auto(func(tx *engineTx) error {
			_, err := tx.Upsert("app", "todos", mustJSON(t, `{"id":"`+id+`","title":"`+title+`"}`))
			return err
		}))
	}
	for _, id := range []string{"keep", "gone", "later"} {
		put(a, id, id)
	}
	ctx := context.Background()
	_, err = a.cl.Sync(ctx)
	require.NoError(t, err)
	_, err = b.cl.Sync(ctx)
	require.NoError(t, err)
	require.Len(t, b.rows(), 3)

	// While b is away: "gone" is deleted, "later" changes, and two hours
	// later the server purges the tombstone.
	require.NoError(t, a.c.Auto(func(tx *engineTx) error {
		_, err := tx.Delete("app", "todos", eqQuery("gone"))
		return err
	}))
	put(a, "later", "changed")
	_, err = a.cl.Sync(ctx)
	require.NoError(t, err)
	now = now.Add(2 * time.Hour)
	require.NoError(t, srv.Purge(ctx))
	put(a, "bump", "after purge") // moves the horizon past b's cursor
	_, err = a.cl.Sync(ctx)
	require.NoError(t, err)

	b.wall = now.UnixMilli()
	put(b, "mine", "offline") // not pushed yet when b pulls
	_, err = b.cl.Pull(ctx)
	require.NoError(t, err)
	rows := b.rows()
	require.NotContains(t, rows, "gone", "a row deleted while away is dropped by the resync")
	require.Contains(t, rows, "mine", "unpushed changes survive the resync")
	require.Contains(t, rows["later"], "changed")
	_, err = b.cl.Sync(ctx)
	require.NoError(t, err)
	_, err = a.cl.Sync(ctx)
	require.NoError(t, err)
	want := serverRows(t, replicahttp.NewHTTP(hs.URL, token("resync", "checker")))
	require.Equal(t, want, a.rows())
	require.Equal(t, want, b.rows())
}
