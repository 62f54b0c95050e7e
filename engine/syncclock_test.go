package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine/hlc"
	"minibase/engine/kv"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

// TestSyncClockOverflowedByOldBuildsHeals: a clock persisted past the end
// of its range (16 digits, as builds that adopted a far-future reading
// wrote it) no longer makes every write to a synced table fail as CORRUPT
// after a restart; the clock follows the wall clock again. A clock that is
// really damaged is still CORRUPT.
func TestSyncClockOverflowedByOldBuildsHeals(t *testing.T) {
	const wall = 1_700_000_000_000
	opts := Options{Now: func() time.Time { return time.UnixMilli(wall) }}
	for _, c := range []struct {
		stored  string
		corrupt bool
	}{
		{stored: "1000000000000000-00000"},
		{stored: "1000000000000000-00042"},
		{stored: "2000000000000000-00000", corrupt: true},
		{stored: "garbage", corrupt: true},
	} {
		t.Run(c.stored, func(t *testing.T) {
			fs, err := memfs.New()
			require.NoError(t, err)
			conn := syncConn(t, fs, opts)
			b := &kv.Batch{}
			b.Set(syncClockKey, value.Encode(value.ObjectOf(mem("h", str(c.stored)), mem("s", num(0)))))
			require.NoError(t, conn.store.Apply(b))
			require.NoError(t, conn.Close())

			conn = syncConn(t, fs, opts)
			defer conn.Close()
			err = conn.Auto(func(tx *Tx) error {
				_, err := tx.Insert("db", "todos", obj("id", "after"))
				return err
			})
			if c.corrupt {
				require.ErrorIs(t, err, ErrCorrupt)
				return
			}
			require.NoError(t, err)
			out := entries(t, conn, Outbox)
			require.Len(t, out, 1)
			ts, err := hlc.Parse(out[0].HLC)
			require.NoError(t, err)
			require.Equal(t, int64(wall), ts.Wall, "the clock follows the wall clock again")
		})
	}
}
