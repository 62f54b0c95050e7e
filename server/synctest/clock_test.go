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

	"minibase/engine"
	"minibase/engine/hlc"
	"minibase/engine/replica"
	"minibase/fsadapter/memfs"
	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

// TestDeviceClockFarAhead plays a device whose wall clock is a year ahead
// against a real server. With the server's bound its changes are refused
// visibly (dead letters, CLOCK_AHEAD) and never reach the others; against
// a server without a bound (as before) they are stored, and the devices
// that pull them report CLOCK_AHEAD instead of adopting the clock. Either
// way the other devices' clocks keep following their wall clocks, and the
// far-ahead device still receives what the others write. Once its clock is
// set right it syncs again, and its refused changes can be retried.
func TestDeviceClockFarAhead(t *testing.T) {
	for _, bounded := range []bool{true, false} {
		name := map[bool]string{true: "server bound", false: "no server bound"}[bounded]
		t.Run(name, func(t *testing.T) {
			now := time.Now()
			cfg := syncserver.Config{Secret: secret, Now: func() time.Time { return now }}
			if !bounded {
				cfg.MaxClockAhead = -1
			}
			db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
			require.NoError(t, err)
			cfg.DB = db
			srv, err := syncserver.New(cfg)
			require.NoError(t, err)
			hs := httptest.NewServer(srv)
			t.Cleanup(func() { hs.Close(); srv.Close(); db.Close() })

			mk := func(name string, wall int64) *client {
				fs, err := memfs.New()
				require.NoError(t, err)
				c := &client{t: t, name: name, fs: fs, wall: wall, policy: replica.LWW,
					tr: &flaky{inner: replicahttp.NewHTTP(hs.URL, token("clock", name)), applied: map[string]int{}, mu: new(syncMutex)}}
				c.open()
				t.Cleanup(func() { c.c.Close() })
				return c
			}
			ahead := mk("ahead", now.Add(365*24*time.Hour).UnixMilli())
			sane := mk("sane", now.UnixMilli())
			put := func(c *client, id string) {
				require.NoError(t, c.c.Auto(func(tx *engine.Tx) error {
					_, err := tx.Upsert("app", "todos", mustJSON(t, `{"id":"`+id+`","title":"by `+c.name+`"}`))
					return err
				}))
			}
			ctx := context.Background()

			put(ahead, "future")
			rep, err := ahead.cl.Sync(ctx)
			require.NoError(t, err)
			dl, err := ahead.cl.Replica.DeadLetters()
			require.NoError(t, err)
			if bounded {
				require.Equal(t, 1, rep.DeadLettered)
				require.Len(t, dl, 1)
				code, _ := dl[0].Note.Get("code")
				require.Equal(t, replica.CodeClockAhead, code.Str())
			} else {
				require.Empty(t, dl)
			}

			rep, err = sane.cl.Sync(ctx)
			require.NoError(t, err)
			if bounded {
				require.Empty(t, rep.Errors)
				require.NotContains(t, sane.rows(), "future", "a refused change never reaches another device")
			} else {
				require.Len(t, rep.Errors, 1)
				require.Equal(t, replica.CodeClockAhead, rep.Errors[0].Code)
			}

			put(sane, "present")
			var stamp string
			require.NoError(t, sane.c.Auto(func(tx *engine.Tx) error {
				_, meta, _, err := tx.SyncRow("app", "todos", mustJSON(t, `"present"`))
				stamp = meta.HLC
				return err
			}))
			ts, err := hlc.Parse(stamp)
			require.NoError(t, err)
			require.Less(t, ts.Wall, now.Add(time.Minute).UnixMilli(), "the sane device's clock was not dragged ahead")
			rep, err = sane.cl.Sync(ctx)
			require.NoError(t, err)
			require.Zero(t, rep.DeadLettered, "the sane device's changes are accepted")

			_, err = ahead.cl.Sync(ctx)
			require.NoError(t, err)
			require.Contains(t, ahead.rows(), "present", "the far-ahead device still receives others' changes")
			if !bounded {
				return
			}

			// The device's clock is set right: its new changes are accepted
			// (its own clock follows the wall clock again), and a retried dead
			// letter goes out with a fresh reading.
			ahead.wall = now.UnixMilli()
			put(ahead, "fixed")
			rep, err = ahead.cl.Sync(ctx)
			require.NoError(t, err)
			require.Zero(t, rep.DeadLettered)
			require.NoError(t, ahead.cl.Replica.Retry(dl[0].Op))
			rep, err = ahead.cl.Sync(ctx)
			require.NoError(t, err)
			require.Zero(t, rep.DeadLettered)
			require.Equal(t, 1, rep.Applied)
			_, err = sane.cl.Sync(ctx)
			require.NoError(t, err)
			require.Contains(t, sane.rows(), "fixed")
			require.Contains(t, sane.rows(), "future", "the retried change arrives")
		})
	}
}
