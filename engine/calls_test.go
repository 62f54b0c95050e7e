package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/memfs"
)

// onceInsert inserts row id into db.t in an autocommit statement that
// records call ("tab", id) with the answer "answer<id>".
func onceInsert(c *Conn, id int) error {
	return c.Auto(func(tx *Tx) error {
		if _, err := tx.Insert("db", "t", obj("id", id, "name", fmt.Sprintf("name%03d", id), "n", id%7)); err != nil {
			return err
		}
		tx.RecordCall(CallID{From: "tab", Seq: uint64(id)}, []byte(fmt.Sprintf("answer%d", id)))
		return nil
	})
}

func answerOf(t testing.TB, c *Conn, from string, seq int) (string, bool) {
	t.Helper()
	a, ok, err := c.CallAnswer(CallID{From: from, Seq: uint64(seq)})
	require.NoError(t, err)
	return string(a), ok
}

func hasRow(t testing.TB, c *Conn, id int) bool {
	t.Helper()
	var found bool
	require.NoError(t, c.Auto(func(tx *Tx) error {
		res, err := tx.Select("db", "t", Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val(id)}}, Limit: -1})
		found = err == nil && len(res.Rows) == 1
		return err
	}))
	return found
}

// TestCallRecordCrash kills the process at every filesystem operation of a
// run of recorded inserts and settles, reopens, and checks that a call's
// row and its record are durable together: a record is never there without
// its row, and a row is never there without its record unless a settle that
// covers it was begun.
func TestCallRecordCrash(t *testing.T) {
	const calls = 60
	run := func(c *Conn) (acked, settling int) {
		for i := 1; i <= calls; i++ {
			if i%10 == 0 {
				settling = i - 5
				if _, err := c.SettleCalls("tab", uint64(settling)); err != nil {
					return acked, settling
				}
			}
			if err := onceInsert(c, i); err != nil {
				return acked, settling
			}
			acked = i
		}
		return acked, settling
	}
	mem, err := memfs.New()
	require.NoError(t, err)
	ffs := faultfs.Wrap(mem)
	c, err := openCrashDB(ffs)
	require.NoError(t, err)
	acked, _ := run(c)
	require.Equal(t, calls, acked)
	n, err := c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, calls-(calls-5)+1, n, "the last settle left only the calls from its floor on")
	require.NoError(t, c.Close())
	total := ffs.Ops()
	checked := 0
	for _, keep := range []int{-1, 7, 23} {
		for op := 1; op <= total; op++ {
			mem, err := memfs.New()
			require.NoError(t, err)
			ffs := faultfs.Wrap(mem)
			if keep < 0 {
				ffs.CrashAt(op)
			} else {
				ffs.TearAt(op, keep)
			}
			acked, settling := 0, 0
			c, err := openCrashDB(ffs)
			if err == nil {
				acked, settling = run(c)
			}
			if !ffs.Crashed() {
				continue
			}
			c2, err := Open(mem, smallStore)
			require.NoError(t, err, "reopen after crash at op %d", op)
			require.NoError(t, c2.CheckIntegrity())
			if _, err := c2.lookupTable("db", "t"); err != nil {
				require.NoError(t, c2.Close())
				continue // the crash came before the table
			}
			for i := 1; i <= calls; i++ {
				row := hasRow(t, c2, i)
				answer, recorded := answerOf(t, c2, "tab", i)
				if recorded {
					require.True(t, row, "crash at op %d: call %d recorded without its row", op, i)
					require.Equal(t, fmt.Sprintf("answer%d", i), answer)
				}
				if row && i >= settling {
					require.True(t, recorded, "crash at op %d: row %d without its record", op, i)
				}
				if i <= acked {
					require.True(t, row, "crash at op %d: acknowledged call %d lost", op, i)
				}
				if i > acked+1 {
					require.False(t, row, "crash at op %d: call %d was never run", op, i)
				}
			}
			require.NoError(t, c2.Close())
			checked++
		}
	}
	t.Logf("%d operations, %d crash points checked", total, checked)
	require.Greater(t, checked, total/2)
}

func callsDB(t testing.TB) *Conn {
	t.Helper()
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("db", false))
	require.NoError(t, c.CreateTable("db", "t", todoSpec(t, true)))
	return c
}

func onceTodo(c *Conn, from string, seq int) error {
	return c.Auto(func(tx *Tx) error {
		if _, err := tx.Insert("db", "t", obj("id", fmt.Sprint(from, seq), "title", fmt.Sprint(from, seq))); err != nil {
			return err
		}
		tx.RecordCall(CallID{From: from, Seq: uint64(seq)}, []byte{byte(seq)})
		return nil
	})
}

// TestCallRecordsInvisible checks that records stay out of what reads the
// store's data: the change feed, the sync outbox, conflict checks, backups.
func TestCallRecordsInvisible(t *testing.T) {
	c := callsDB(t)
	c.WatchChanges(true)
	require.NoError(t, onceTodo(c, "a", 1))
	changes, schema, overflow := c.TakeChanges()
	require.False(t, schema)
	require.False(t, overflow)
	require.Len(t, changes, 1)
	require.Equal(t, "insert", changes[0].Op)
	require.Len(t, entries(t, c, Outbox), 1, "one outbox entry: the row's")

	// Two transactions that write different rows, both recording, both commit.
	tx1, err := c.Begin()
	require.NoError(t, err)
	tx2, err := c.Begin()
	require.NoError(t, err)
	for i, tx := range []*Tx{tx1, tx2} {
		_, err := tx.Insert("db", "t", obj("id", fmt.Sprint("x", i), "title", fmt.Sprint("x", i)))
		require.NoError(t, err)
		tx.RecordCall(CallID{From: "b", Seq: uint64(i)}, []byte("null"))
	}
	require.NoError(t, tx1.Commit())
	require.NoError(t, tx2.Commit())
	n, err := c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, 3, n)

	// A backup carries the rows, not the records; a restore leaves none.
	data := backupOf(t, c, 1<<10)
	fresh, _ := testConn(t)
	require.NoError(t, restoreInto(fresh, data, 1<<10))
	n, err = fresh.CallRecords()
	require.NoError(t, err)
	require.Zero(t, n)
	_, ok := answerOf(t, fresh, "a", 1)
	require.False(t, ok)
	require.NoError(t, fresh.CheckIntegrity())
	// Restoring over a store that has records removes them.
	require.NoError(t, restoreInto(c, data, 1<<10))
	n, err = c.CallRecords()
	require.NoError(t, err)
	require.Zero(t, n)
	_, ok = answerOf(t, c, "a", 1)
	require.False(t, ok)
	require.NoError(t, c.CheckIntegrity())
}

func TestCallRecordOnlyWithWrites(t *testing.T) {
	c := callsDB(t)
	// A statement that writes nothing records nothing.
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Delete("db", "t", Query{Limit: -1})
		tx.RecordCall(CallID{From: "a", Seq: 1}, []byte("0"))
		return err
	}))
	_, ok := answerOf(t, c, "a", 1)
	require.False(t, ok)
	// A failed statement records nothing.
	require.NoError(t, onceTodo(c, "a", 2))
	err := c.Auto(func(tx *Tx) error {
		tx.RecordCall(CallID{From: "a", Seq: 3}, []byte("x"))
		_, err := tx.Insert("db", "t", obj("id", "a2", "title", "dup"))
		return err
	})
	require.Error(t, err)
	_, ok = answerOf(t, c, "a", 3)
	require.False(t, ok)
	// Neither does a rolled-back transaction, nor one that conflicts.
	tx, err := c.Begin()
	require.NoError(t, err)
	_, err = tx.Insert("db", "t", obj("id", "r", "title", "r"))
	require.NoError(t, err)
	tx.RecordCall(CallID{From: "a", Seq: 4}, []byte("null"))
	require.NoError(t, tx.Rollback())
	_, ok = answerOf(t, c, "a", 4)
	require.False(t, ok)
	tx, err = c.Begin()
	require.NoError(t, err)
	_, err = tx.Insert("db", "t", obj("id", "k", "title", "k1"))
	require.NoError(t, err)
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("db", "t", obj("id", "k", "title", "k2"))
		return err
	}))
	tx.RecordCall(CallID{From: "a", Seq: 5}, []byte("null"))
	require.ErrorIs(t, tx.Commit(), ErrTxConflict)
	_, ok = answerOf(t, c, "a", 5)
	require.False(t, ok)
	// The next statement does not inherit a record it was not given.
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("db", "t", obj("id", "z", "title", "z"))
		return err
	}))
	n, err := c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestSettleCalls(t *testing.T) {
	c := callsDB(t)
	for _, from := range []string{"a", "ab", "b", ""} {
		for seq := 1; seq <= 5; seq++ {
			require.NoError(t, onceTodo(c, from, seq))
		}
	}
	gone, err := c.SettleCalls("a", 4)
	require.NoError(t, err)
	require.Equal(t, 3, gone)
	for seq := 1; seq <= 5; seq++ {
		_, ok := answerOf(t, c, "a", seq)
		require.Equal(t, seq >= 4, ok, "a:%d", seq)
		answer, ok := answerOf(t, c, "ab", seq)
		require.True(t, ok, "another caller whose name starts the same keeps its records")
		require.Equal(t, string([]byte{byte(seq)}), answer)
	}
	gone, err = c.SettleCalls("a", 4)
	require.NoError(t, err)
	require.Zero(t, gone)
	gone, err = c.SettleCalls("", 1<<64-1)
	require.NoError(t, err)
	require.Equal(t, 5, gone)
	n, err := c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, 2+5+5, n)
}

// TestCallRecordsCap checks that a caller that never settles keeps at most
// MaxCallRecords records, the newest, also across a reopen.
func TestCallRecordsCap(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c, err := Open(fs, Options{})
	require.NoError(t, err)
	require.NoError(t, c.CreateDatabase("db", false))
	require.NoError(t, c.CreateTable("db", "t", todoSpec(t, false)))
	const over = 10
	for seq := 1; seq <= MaxCallRecords+over; seq++ {
		require.NoError(t, onceTodo(c, "a", seq))
		if seq == MaxCallRecords/2 {
			// Half-way the connection reopens: the log is loaded from the store.
			require.NoError(t, c.Close())
			c, err = Open(fs, Options{})
			require.NoError(t, err)
		}
	}
	// Recording an answer again for a recorded call replaces it, and does not
	// count twice.
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("db", "t", obj("id", "again", "title", "again"))
		tx.RecordCall(CallID{From: "a", Seq: MaxCallRecords + over}, []byte("again"))
		return err
	}))
	n, err := c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, MaxCallRecords, n)
	for _, seq := range []int{1, over} {
		_, ok := answerOf(t, c, "a", seq)
		require.False(t, ok, "the oldest went")
	}
	for _, seq := range []int{over + 1, MaxCallRecords} {
		_, ok := answerOf(t, c, "a", seq)
		require.True(t, ok, "the newest stay")
	}
	answer, _ := answerOf(t, c, "a", MaxCallRecords+over)
	require.Equal(t, "again", answer)
	require.NoError(t, c.Close())
	c, err = Open(fs, Options{})
	require.NoError(t, err)
	n, err = c.CallRecords()
	require.NoError(t, err)
	require.Equal(t, MaxCallRecords, n)
	require.NoError(t, c.CheckIntegrity())
	require.NoError(t, c.Close())
}

// TestMalformedCallRecords: a malformed record is reported by
// CheckIntegrity and by a read of it, and stops no other commit.
func TestMalformedCallRecords(t *testing.T) {
	for _, bad := range []struct{ key, val []byte }{
		{callKey(CallID{From: "x", Seq: 1}), []byte{1, 2}},                    // value without its order
		{append(append([]byte(nil), callPrefix...), 9, 'x'), make([]byte, 8)}, // caller longer than the key
		{append(callFromPrefix("y"), 1, 2, 3), make([]byte, 8)},               // call number cut short
		{append(append([]byte(nil), callPrefix...), 0xff), make([]byte, 8)},   // no length at all
		{append(callKey(CallID{From: "z", Seq: 1}), 0), make([]byte, 8)},      // a byte too many
	} {
		fs, err := memfs.New()
		require.NoError(t, err)
		c, err := Open(fs, Options{})
		require.NoError(t, err)
		require.NoError(t, c.CreateDatabase("db", false))
		require.NoError(t, c.CreateTable("db", "t", todoSpec(t, false)))
		b := &kv.Batch{}
		b.Set(bad.key, bad.val)
		require.NoError(t, c.store.Apply(b))
		require.ErrorIs(t, c.CheckIntegrity(), ErrCorrupt, "%q", bad.key)
		require.NoError(t, onceTodo(c, "a", 1), "other commits go on")
		_, ok := answerOf(t, c, "a", 1)
		require.True(t, ok)
		if len(bad.val) < 8 {
			_, _, err := c.CallAnswer(CallID{From: "x", Seq: 1})
			require.ErrorIs(t, err, ErrCorrupt)
		}
		require.NoError(t, c.Close())
	}
}
