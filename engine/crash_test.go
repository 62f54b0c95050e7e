package engine

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/memfs"
)

// The crash test kills the "process" at every single filesystem operation
// of a workload of schema changes, inserts, updates, deletes and
// transactions, reopens what survived, and checks that the database opens,
// that its indexes agree with its rows, that every acknowledged commit is
// there, and that the commit in flight is either wholly there or absent.

type model map[float64]string // id → name

type crashOp struct {
	name  string
	apply func(m model)               // its effect on the model
	run   func(c *Conn, tx *Tx) error // runs it (tx non-nil for multi-statement ones)
	multi func(c *Conn) (err error)   // a whole explicit transaction
}

func crashWorkload() []crashOp {
	var ops []crashOp
	ins := func(id int, name string) {
		ops = append(ops, crashOp{
			name:  fmt.Sprintf("insert %d", id),
			apply: func(m model) { m[float64(id)] = name },
			run: func(c *Conn, tx *Tx) error {
				_, err := tx.Insert("db", "t", obj("id", id, "name", name, "n", id%7))
				return err
			},
		})
	}
	for i := 1; i <= crashRows; i++ {
		ins(i, fmt.Sprintf("name%02d", i))
		switch {
		case i%5 == 0:
			id := i - 3
			ops = append(ops, crashOp{
				name:  fmt.Sprintf("rename %d", id),
				apply: func(m model) { m[float64(id)] = fmt.Sprintf("renamed%02d", id) },
				run: func(c *Conn, tx *Tx) error {
					_, err := tx.Update("db", "t", obj("name", fmt.Sprintf("renamed%02d", id)), Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val(id)}}, Limit: -1})
					return err
				},
			})
		case i%7 == 0:
			id := i - 4
			ops = append(ops, crashOp{
				name:  fmt.Sprintf("delete %d", id),
				apply: func(m model) { delete(m, float64(id)) },
				run: func(c *Conn, tx *Tx) error {
					_, err := tx.Delete("db", "t", Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: val(id)}}, Limit: -1})
					return err
				},
			})
		case i%9 == 0:
			a, b := 1000+i, 2000+i
			ops = append(ops, crashOp{
				name:  fmt.Sprintf("tx %d+%d", a, b),
				apply: func(m model) { m[float64(a)] = fmt.Sprintf("tx%d", a); m[float64(b)] = fmt.Sprintf("tx%d", b) },
				multi: func(c *Conn) error {
					tx, err := c.Begin()
					if err != nil {
						return err
					}
					for _, id := range []int{a, b} {
						if _, err := tx.Insert("db", "t", obj("id", id, "name", fmt.Sprintf("tx%d", id))); err != nil {
							tx.Rollback()
							return err
						}
					}
					return tx.Commit()
				},
			})
		case i == 20:
			ops = append(ops, crashOp{
				name:  "create index",
				apply: func(model) {},
				multi: func(c *Conn) error {
					_, err := c.CreateIndex("db", "t", IndexSpec{Columns: []string{"n", "name"}})
					return err
				},
			})
		}
	}
	return ops
}

// smallStore makes the store rotate logs, flush and compact often, so crashes
// land in every kind of file operation.
var smallStore = Options{Store: lsm.Options{LogFileSize: 512, MemtableBytes: 1024, SegmentBytes: 1024, BlockSize: 256}}

func openCrashDB(fs fsadapter.FS) (*Conn, error) {
	c, err := Open(fs, smallStore)
	if err != nil {
		return nil, err
	}
	if err := c.CreateDatabase("db", true); err != nil {
		return c, err
	}
	spec, err := ParseTableSpec(obj("ifNotExists", true, "columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true),
		obj("name", "name", "type", "string", "unique", true),
		obj("name", "n", "type", "number"))))
	if err != nil {
		return c, err
	}
	return c, c.CreateTable("db", "t", spec)
}

// runCrashWorkload runs ops until one fails; it returns the model of what
// was acknowledged and the model including the op in flight.
func runCrashWorkload(c *Conn, ops []crashOp) (acked, inflight model) {
	acked = model{}
	for _, op := range ops {
		next := maps.Clone(acked)
		op.apply(next)
		var err error
		if op.multi != nil {
			err = op.multi(c)
		} else {
			err = c.Auto(func(tx *Tx) error { return op.run(c, tx) })
		}
		if err != nil {
			return acked, next
		}
		acked = next
	}
	return acked, acked
}

func readModel(t *testing.T, c *Conn) model {
	t.Helper()
	got := model{}
	require.NoError(t, c.Auto(func(tx *Tx) error {
		res, err := tx.Select("db", "t", Query{Limit: -1})
		if err != nil {
			return err
		}
		for _, r := range res.Rows {
			got[r[0].Number()] = r[1].Str()
		}
		return nil
	}))
	return got
}

func TestCrashAtEveryOperation(t *testing.T) {
	ops := crashWorkload()
	// A clean run counts the filesystem operations.
	mem, err := memfs.New()
	require.NoError(t, err)
	ffs := faultfs.Wrap(mem)
	c, err := openCrashDB(ffs)
	require.NoError(t, err)
	full, _ := runCrashWorkload(c, ops)
	st, err := c.Stats()
	require.NoError(t, err)
	t.Logf("clean run: %d flushes, %d compactions", st.Flushes, st.Compactions)
	require.Greater(t, st.Flushes, int64(3), "crashes must land in flushes")
	require.Greater(t, st.Compactions, int64(0), "crashes must land in compactions")
	require.NoError(t, c.Close())
	total := ffs.Ops()
	require.Greater(t, total, 50)
	checked := 0
	// keep < 0: crash before the operation; otherwise tear it after keep bytes.
	for _, keep := range []int{-1, 3, 11, 40} {
		for n := 1; n <= total; n++ {
			mem, err := memfs.New()
			require.NoError(t, err)
			ffs := faultfs.Wrap(mem)
			if keep < 0 {
				ffs.CrashAt(n)
			} else {
				ffs.TearAt(n, keep)
			}
			acked, inflight := model{}, model{}
			c, err := openCrashDB(ffs)
			if err == nil {
				acked, inflight = runCrashWorkload(c, ops)
			}
			if !ffs.Crashed() {
				continue // the crash point lies beyond this run's operations
			}
			c2, err := Open(mem, smallStore)
			require.NoError(t, err, "reopen after crash at op %d (keep %d)", n, keep)
			require.NoError(t, c2.CheckIntegrity(), "crash at op %d", n)
			var got model
			if _, err := c2.lookupTable("db", "t"); err == nil {
				got = readModel(t, c2)
			} else {
				require.True(t, errors.Is(err, ErrNoSuchDatabase) || errors.Is(err, ErrNoSuchTable), err.Error())
				got = model{}
			}
			if !maps.Equal(got, acked) && !maps.Equal(got, inflight) {
				t.Fatalf("crash at op %d: got %v\nacknowledged %v\nin flight %v", n, got, acked, inflight)
			}
			require.NoError(t, c2.Close())
			checked++
		}
	}
	t.Logf("%d operations, %d crash points checked", total, checked)
	require.Greater(t, checked, total/2)
	want := model{}
	for _, op := range ops {
		op.apply(want)
	}
	require.Equal(t, want, full, "the clean run acknowledged every operation")
}
