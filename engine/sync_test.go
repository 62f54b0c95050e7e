package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine/hlc"
	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/memfs"
)

func todoSpec(t testing.TB, sync bool) TableSpec {
	t.Helper()
	spec, err := ParseTableSpec(obj("sync", sync, "ifNotExists", true, "columns", arr(
		obj("name", "id", "type", "string", "primaryKey", true),
		obj("name", "title", "type", "string", "unique", true),
		obj("name", "n", "type", "number"),
	)))
	require.NoError(t, err)
	return spec
}

func syncConn(t testing.TB, fs fsadapter.FS, opts Options) *Conn {
	t.Helper()
	c, err := Open(fs, opts)
	require.NoError(t, err)
	require.NoError(t, c.CreateDatabase("db", true))
	require.NoError(t, c.CreateTable("db", "todos", todoSpec(t, true)))
	require.NoError(t, c.CreateTable("db", "plain", todoSpec(t, false)))
	return c
}

func entries(t testing.TB, c *Conn, l SyncList) []SyncEntry {
	t.Helper()
	var out []SyncEntry
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		out, err = tx.SyncEntries(l, "db", 0)
		return err
	}))
	return out
}

func exec(t testing.TB, c *Conn, fn func(tx *Tx) error) {
	t.Helper()
	require.NoError(t, c.Auto(fn))
}

func TestSyncSpec(t *testing.T) {
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("db", false))
	cases := []struct {
		name string
		cols value.Value
		ok   bool
	}{
		{"string key", arr(obj("name", "id", "type", "string", "primaryKey", true)), true},
		{"no key", arr(obj("name", "id", "type", "string")), false},
		{"autoIncrement", arr(obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true)), false},
		{"bytes column", arr(obj("name", "id", "type", "string", "primaryKey", true), obj("name", "b", "type", "bytes")), false},
	}
	for i, tc := range cases {
		spec, err := ParseTableSpec(obj("sync", true, "columns", tc.cols))
		require.NoError(t, err)
		err = c.CreateTable("db", fmt.Sprintf("t%d", i), spec)
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, ErrBadQuery, tc.name)
		}
	}
	d, err := c.DescribeTable("db", "t0")
	require.NoError(t, err)
	s, ok := d.Get("sync")
	require.True(t, ok && s.Bool(), "describeTable shows sync: true")
	tables, err := c.SyncTables("db")
	require.NoError(t, err)
	require.Equal(t, []string{"t0"}, tables)
}

func TestOutboxFollowsEveryWrite(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{})
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "a", "title", "milk", "n", 1))
		return err
	})
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Update("db", "todos", obj("n", 2), Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val("a")}}, Limit: -1})
		return err
	})
	exec(t, c, func(tx *Tx) error { // a primary-key change is a delete and an insert
		_, err := tx.Update("db", "todos", obj("id", "b"), Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val("a")}}, Limit: -1})
		return err
	})
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Delete("db", "todos", Query{Limit: -1})
		return err
	})
	exec(t, c, func(tx *Tx) error { // unsynced tables queue nothing
		_, err := tx.Insert("db", "plain", obj("id", "p", "title", "x"))
		return err
	})
	// A failed statement and a rolled-back transaction queue nothing.
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "c", "title", "eggs"))
		return err
	})
	require.ErrorIs(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "d", "title", "eggs"))
		return err
	}), ErrUniqueViolation)
	tx, err := c.Begin()
	require.NoError(t, err)
	_, err = tx.Insert("db", "todos", obj("id", "e", "title", "bread"))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())

	got := entries(t, c, Outbox)
	type short struct{ key, row, base string }
	var gs []short
	client, err := c.SyncClientID()
	require.NoError(t, err)
	ops := map[string]bool{}
	for i, e := range got {
		gs = append(gs, short{e.Key.String(), e.Row.String(), e.Base.String()})
		require.Equal(t, "todos", e.Table)
		require.Equal(t, client, e.Origin)
		require.False(t, ops[e.Op], "op ids are unique")
		ops[e.Op] = true
		if i > 0 {
			require.Greater(t, e.Seq, got[i-1].Seq)
			require.Greater(t, e.HLC, got[i-1].HLC, "clock readings increase")
		}
	}
	require.Equal(t, []short{
		{`"a"`, `{"id":"a","title":"milk","n":1}`, `null`},
		{`"a"`, `{"id":"a","title":"milk","n":2}`, `{"id":"a","title":"milk","n":1}`},
		{`"a"`, `null`, `{"id":"a","title":"milk","n":2}`},
		{`"b"`, `{"id":"b","title":"milk","n":2}`, `null`},
		{`"b"`, `null`, `{"id":"b","title":"milk","n":2}`},
		{`"c"`, `{"id":"c","title":"eggs","n":null}`, `null`},
	}, gs)

	// Deleted rows keep a tombstone with the deleting change's version.
	exec(t, c, func(tx *Tx) error {
		r, m, ok, err := tx.SyncRow("db", "todos", val("b"))
		require.NoError(t, err)
		require.True(t, ok && m.Deleted && r.IsNull())
		require.Equal(t, got[4].HLC, m.HLC)
		return nil
	})

	// Dropping the table (or its database) drops its queued changes.
	require.NoError(t, c.DropTable("db", "todos", false))
	require.Empty(t, entries(t, c, Outbox))
	require.NoError(t, c.CreateTable("db", "todos", todoSpec(t, true)))
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "z"))
		return err
	})
	require.Len(t, entries(t, c, Outbox), 1)
	require.NoError(t, c.DropDatabase("db", false))
	var left []SyncEntry
	exec(t, c, func(tx *Tx) (err error) {
		left, err = tx.SyncEntries(Outbox, "", 0)
		return err
	})
	require.Empty(t, left)
	require.NoError(t, c.Close())
}

func TestEnableSyncQueuesExistingRows(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{})
	for _, id := range []string{"p1", "p2"} {
		exec(t, c, func(tx *Tx) error {
			_, err := tx.Insert("db", "plain", obj("id", id, "title", id))
			return err
		})
	}
	require.Empty(t, entries(t, c, Outbox))
	require.NoError(t, c.EnableSync("db", "plain"))
	require.NoError(t, c.EnableSync("db", "plain"), "enabling twice changes nothing")
	out := entries(t, c, Outbox)
	require.Len(t, out, 2)
	require.Equal(t, "plain", out[0].Table)
	require.Equal(t, `{"id":"p1","title":"p1","n":null}`, out[0].Row.String())
	require.ErrorIs(t, c.EnableSync("db", "nope"), ErrNoSuchTable)
	require.NoError(t, c.Close())
	c, err = Open(fs, Options{})
	require.NoError(t, err)
	tables, err := c.SyncTables("db")
	require.NoError(t, err)
	require.Equal(t, []string{"plain", "todos"}, tables, "the flag is stored")
	require.NoError(t, c.Close())
}

func TestRemoteChangesQueueNothing(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{Now: func() time.Time { return time.UnixMilli(1000) }})
	remote := &RowMeta{HLC: "000000000090000-00003", Origin: "other"}
	exec(t, c, func(tx *Tx) error {
		changed, err := tx.PutSynced("db", "todos", val("r"), obj("id", "r", "title", "remote"), remote)
		require.True(t, changed)
		return err
	})
	require.Empty(t, entries(t, c, Outbox))
	exec(t, c, func(tx *Tx) error {
		r, m, ok, err := tx.SyncRow("db", "todos", val("r"))
		require.True(t, ok)
		require.Equal(t, *remote, m)
		require.Equal(t, "remote", mustGet(r, "title").Str())
		return err
	})
	// The clock moved past the remote reading although the wall clock is behind.
	exec(t, c, func(tx *Tx) error {
		_, err := tx.PutSynced("db", "todos", val("r"), obj("id", "r", "title", "local"), nil)
		return err
	})
	out := entries(t, c, Outbox)
	require.Len(t, out, 1)
	require.Equal(t, "000000000090000-00004", out[0].HLC)
	require.Equal(t, `{"id":"r","title":"remote","n":null}`, out[0].Base.String())
	// A row whose key disagrees with the key it is filed under is refused.
	require.ErrorIs(t, c.Auto(func(tx *Tx) error {
		_, err := tx.PutSynced("db", "todos", val("x"), obj("id", "y"), remote)
		return err
	}), ErrBadValue)
	// Remote deletes of absent rows leave a tombstone.
	exec(t, c, func(tx *Tx) error {
		_, err := tx.PutSynced("db", "todos", val("gone"), value.NullValue, remote)
		return err
	})
	exec(t, c, func(tx *Tx) error {
		_, m, ok, err := tx.SyncRow("db", "todos", val("gone"))
		require.True(t, ok && m.Deleted)
		return err
	})
	require.NoError(t, c.Close())
}

func mustGet(v value.Value, k string) value.Value {
	f, _ := v.Get(k)
	return f
}

func TestSyncClockSurvivesReopen(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	wall := int64(5_000_000)
	opts := Options{Now: func() time.Time { return time.UnixMilli(wall) }}
	c := syncConn(t, fs, opts)
	id1, err := c.SyncClientID()
	require.NoError(t, err)
	for i := range 3 {
		exec(t, c, func(tx *Tx) error {
			_, err := tx.Insert("db", "todos", obj("id", fmt.Sprint(i)))
			return err
		})
	}
	before := entries(t, c, Outbox)
	require.NoError(t, c.Close())

	wall = 10 // the device clock was set back
	c = syncConn(t, fs, opts)
	id2, err := c.SyncClientID()
	require.NoError(t, err)
	require.Equal(t, id1, id2, "the client id is stored")
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "later"))
		return err
	})
	after := entries(t, c, Outbox)
	require.Len(t, after, 4)
	last := after[3]
	require.Greater(t, last.HLC, before[2].HLC, "never backwards across reopen")
	require.Greater(t, last.Seq, before[2].Seq, "outbox order continues")
	ts, err := hlc.Parse(last.HLC)
	require.NoError(t, err)
	require.Equal(t, int64(5_000_000), ts.Wall)
	require.NoError(t, c.Close())
}

func TestSyncConcurrentTransactionsDoNotConflictOnTheClock(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{})
	t1, err := c.Begin()
	require.NoError(t, err)
	t2, err := c.Begin()
	require.NoError(t, err)
	_, err = t1.Insert("db", "todos", obj("id", "1"))
	require.NoError(t, err)
	_, err = t2.Insert("db", "todos", obj("id", "2"))
	require.NoError(t, err)
	require.NoError(t, t2.Commit())
	require.NoError(t, t1.Commit())
	require.NoError(t, c.Close())
	c, err = Open(fs, Options{})
	require.NoError(t, err)
	exec(t, c, func(tx *Tx) error {
		_, err := tx.Insert("db", "todos", obj("id", "3"))
		return err
	})
	out := entries(t, c, Outbox)
	require.Len(t, out, 3, "no outbox entry was overwritten by a reused sequence number")
	require.NoError(t, c.Close())
}

// TestOutboxCrashAtEveryOperation crashes at every filesystem operation of
// a workload on a synced table and checks, after reopening, that replaying
// the outbox from nothing gives exactly the table: no row change survived
// without its outbox entry, and no entry without its change.
func TestOutboxCrashAtEveryOperation(t *testing.T) {
	work := func(c *Conn) int {
		n := 0
		for i := range 30 {
			err := c.Auto(func(tx *Tx) error {
				var err error
				switch {
				case i%4 == 3:
					_, err = tx.Delete("db", "todos", Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val(fmt.Sprint(i - 2))}}, Limit: -1})
				case i%4 == 2:
					_, err = tx.Update("db", "todos", obj("n", i), Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val(fmt.Sprint(i - 1))}}, Limit: -1})
				default:
					_, err = tx.Insert("db", "todos", obj("id", fmt.Sprint(i), "title", fmt.Sprint("t", i), "n", i))
				}
				return err
			})
			if err != nil {
				return n
			}
			n++
		}
		return n
	}
	open := func(fs fsadapter.FS) (*Conn, error) {
		c, err := Open(fs, smallStore)
		if err != nil {
			return nil, err
		}
		if err := c.CreateDatabase("db", true); err != nil {
			return c, err
		}
		return c, c.CreateTable("db", "todos", todoSpec(t, true))
	}
	mem, err := memfs.New()
	require.NoError(t, err)
	ffs := faultfs.Wrap(mem)
	c, err := open(ffs)
	require.NoError(t, err)
	require.Equal(t, 30, work(c))
	require.NoError(t, c.Close())
	total := ffs.Ops()
	checked := 0
	for n := 1; n <= total; n++ {
		mem, err := memfs.New()
		require.NoError(t, err)
		ffs := faultfs.Wrap(mem)
		ffs.CrashAt(n)
		acked := 0
		if c, err := open(ffs); err == nil {
			acked = work(c)
		}
		if !ffs.Crashed() {
			continue
		}
		c2, err := Open(mem, smallStore)
		require.NoError(t, err, "reopen after crash at op %d", n)
		require.NoError(t, c2.CheckIntegrity())
		if _, err := c2.lookupTable("db", "todos"); err != nil {
			require.NoError(t, c2.Close())
			continue
		}
		replay := map[string]string{}
		out := entries(t, c2, Outbox)
		for _, e := range out {
			if e.Row.IsNull() {
				delete(replay, e.Key.Str())
			} else {
				replay[e.Key.Str()] = e.Row.String()
			}
		}
		table := map[string]string{}
		exec(t, c2, func(tx *Tx) error {
			res, err := tx.Select("db", "todos", Query{Limit: -1})
			require.NoError(t, err)
			for _, r := range res.Rows {
				o := value.ObjectFrom(res.Columns, r)
				table[mustGet(o, "id").Str()] = o.String()
			}
			return nil
		})
		require.Equal(t, replay, table, "crash at op %d", n)
		require.True(t, len(out) == acked || len(out) == acked+1, "crash at op %d: %d entries, %d acknowledged", n, len(out), acked)
		require.NoError(t, c2.Close())
		checked++
	}
	t.Logf("%d operations, %d crash points checked", total, checked)
	require.Greater(t, checked, total/2)
}

// A bulk insert reads nested values as their encodings (never decoded);
// the outbox entry of a synced row must still carry them whole.
func TestInsertEncodedSyncsNestedValues(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{})
	spec, err := ParseTableSpec(obj("sync", true, "columns", arr(
		obj("name", "id", "type", "string", "primaryKey", true),
		obj("name", "meta", "type", "object"))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("db", "docs", spec))
	rows := arr(obj("id", "a", "meta", obj("tags", arr("x", 1, nil), "deep", obj("k", true))), obj("id", "b", "meta", arr()))
	d := value.NewDecoder(value.Encode(rows))
	n, err := d.ArrayHeader()
	require.NoError(t, err)
	require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertEncoded("db", "docs", d, n); return err }))
	var got []value.Value
	for _, e := range entries(t, c, Outbox) {
		got = append(got, e.Row)
	}
	require.Len(t, got, 2)
	for i, r := range got {
		want, _ := rows.Index(i).Get("meta")
		meta, _ := r.Get("meta")
		require.True(t, value.Equal(want, meta), "row %d: %s, want %s", i, meta, want)
	}
}
