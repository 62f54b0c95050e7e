package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/engine/value/valuetest"
	"minibase/fsadapter/memfs"
)

// bulkSpec has every kind of key a load must check: a given primary key, a
// unique index with nulls, a compound unique index and a plain one.
func bulkConn(t *testing.T, autoInc bool) *Conn {
	t.Helper()
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	id := obj("name", "id", "type", "number", "primaryKey", true)
	if autoInc {
		id = obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true)
	}
	spec, err := ParseTableSpec(obj(
		"columns", arr(
			id,
			obj("name", "email", "type", "string", "unique", true),
			obj("name", "a", "type", "number"),
			obj("name", "b", "type", "string"),
			obj("name", "age", "type", "number", "notNull", true),
		),
		"indexes", arr(obj("columns", arr("a", "b"), "unique", true), obj("columns", arr("age"))),
	))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "u", spec))
	return c
}

// bulkRow is a row whose unique values follow from its id, with nulls, and
// with a wrong type or a missing notNull column when bad.
func bulkRow(rng *rand.Rand, id int, bad bool) value.Value {
	members := []any{"id", float64(id), "age", float64(rng.IntN(5))}
	if rng.IntN(8) > 0 {
		members = append(members, "email", fmt.Sprintf("e%d", id))
	}
	if rng.IntN(4) > 0 {
		members = append(members, "a", float64(id%997), "b", fmt.Sprint(id/997))
	}
	if bad {
		switch rng.IntN(3) {
		case 0:
			members[3] = "old" // age is a number
		case 1:
			members = members[2:] // no id: a missing primary key
		default:
			members = members[:2] // no age: notNull
		}
	}
	return obj(members...)
}

// collide gives row r the value of column col (email, or a and b) or the id
// of row from.
func collide(r, from value.Value, cols ...string) value.Value {
	out := r
	for _, col := range cols {
		v, _ := from.Get(col)
		out = with(out, col, v)
	}
	return out
}

// contents is every row of u, in key order, as JSON.
func contents(t *testing.T, c *Conn) []string {
	t.Helper()
	var out []string
	for _, r := range selectRows(t, c, "u", obj()).Rows {
		out = append(out, value.ArrayOf(r).String())
	}
	return out
}

// A load through the bulk path (an autocommit insertMany, or a bulk
// transaction in chunks) ends exactly as the same rows inserted one by one
// in a transaction: the same rows and index entries when it succeeds, the
// same error (code, message, row) when it fails.
func TestBulkLoadMatchesRowByRow(t *testing.T) {
	base := valuetest.Seed(t)
	outcomes := map[Code]int{}
	for seed := base; seed < base+40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		autoInc := rng.IntN(3) == 0
		pre := make([]value.Value, rng.IntN(300))
		for i := range pre {
			pre[i] = bulkRow(rng, rng.IntN(2000), false)
		}
		n := bulkRows + rng.IntN(400)
		rows := make([]value.Value, n)
		// Per seed, loads with no collision, a rare one or several, of
		// every kind, against the stored rows or within the load.
		rate := []int{0, 2000, 300, 100}[rng.IntN(4)]
		for i := range rows {
			rows[i] = bulkRow(rng, 2000+i*3+rng.IntN(3), rng.IntN(2000) == 0)
			if autoInc && rng.IntN(3) == 0 {
				rows[i] = without(rows[i], "id")
			}
			if rate == 0 || rng.IntN(rate) > 0 || len(pre) == 0 || i == 0 {
				continue
			}
			from := pre[rng.IntN(len(pre))]
			if rng.IntN(2) == 0 {
				from = rows[rng.IntN(i)]
			}
			rows[i] = collide(rows[i], from, [][]string{{"id"}, {"email"}, {"a", "b"}}[rng.IntN(3)]...)
		}

		conns := make([]*Conn, 3)
		for k := range conns {
			conns[k] = bulkConn(t, autoInc)
			for _, r := range pre {
				_ = conns[k].Auto(func(tx *Tx) error { // collisions among them just stay out
					_, err := tx.Insert("shop", "u", r)
					return err
				})
			}
		}
		errs := make([]error, 3)
		// Row by row: an explicit transaction's insertMany.
		tx, err := conns[0].Begin()
		require.NoError(t, err)
		if _, errs[0] = tx.InsertMany("shop", "u", value.ArrayOf(rows)); errs[0] == nil {
			errs[0] = tx.Commit()
		} else {
			require.NoError(t, tx.Rollback())
		}
		// One autocommit statement.
		errs[1] = conns[1].Auto(func(tx *Tx) error {
			_, err := tx.InsertMany("shop", "u", value.ArrayOf(rows))
			return err
		})
		// A bulk transaction, in chunks.
		tx, err = conns[2].BeginBulk()
		require.NoError(t, err)
		cut := rng.IntN(n)
		if _, errs[2] = tx.InsertMany("shop", "u", value.ArrayOf(rows[:cut])); errs[2] == nil {
			if _, errs[2] = tx.InsertMany("shop", "u", value.ArrayOf(rows[cut:])); errs[2] == nil {
				errs[2] = tx.Commit()
			}
		}
		if errs[2] != nil {
			_ = tx.Rollback()
		}

		outcomes[CodeOf(errs[0])]++
		want := contents(t, conns[0])
		for k := 1; k < 3; k++ {
			if errs[0] == nil {
				require.NoError(t, errs[k], "seed %d path %d", seed, k)
			} else {
				require.Error(t, errs[k], "seed %d path %d: row by row failed with %v", seed, k, errs[0])
				require.Equal(t, errs[0].Error(), errs[k].Error(), "seed %d path %d", seed, k)
			}
			require.Equal(t, want, contents(t, conns[k]), "seed %d path %d", seed, k)
			require.NoError(t, conns[k].CheckIntegrity(), "seed %d path %d", seed, k)
		}
	}
	t.Logf("outcomes: %v", outcomes)
	// The loads must both succeed and fail, on collisions of each kind.
	require.Greater(t, outcomes[""], 3)
	require.Greater(t, outcomes[CodeUniqueViolation], 3)
}

func with(o value.Value, name string, v value.Value) value.Value {
	members := []any{name, v}
	for _, k := range o.Keys() {
		if k != name {
			x, _ := o.Get(k)
			members = append(members, k, x)
		}
	}
	return obj(members...)
}

func without(o value.Value, name string) value.Value {
	var members []any
	for _, k := range o.Keys() {
		if k != name {
			v, _ := o.Get(k)
			members = append(members, k, v)
		}
	}
	return obj(members...)
}

// A bulk transaction takes insertMany into one table, commit and rollback;
// everything else is refused and leaves it usable.
func TestBulkTransactionRefusesOtherStatements(t *testing.T) {
	c := bulkConn(t, false)
	spec, err := ParseTableSpec(obj("columns", arr(obj("name", "id", "type", "number", "primaryKey", true))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "other", spec))
	tx, err := c.BeginBulk()
	require.NoError(t, err)
	_, err = tx.InsertMany("shop", "u", arr(obj("id", 1, "age", 1), obj("id", 2, "age", 2)))
	require.NoError(t, err)
	for name, stmt := range map[string]func() error{
		"get":         func() error { _, err := tx.Get("shop", "u", val(1)); return err },
		"insert":      func() error { _, err := tx.Insert("shop", "u", obj("id", 3, "age", 1)); return err },
		"delete":      func() error { _, err := tx.Delete("shop", "u", query(t, obj())); return err },
		"other table": func() error { _, err := tx.InsertMany("shop", "other", arr(obj("id", 1))); return err },
	} {
		require.ErrorIs(t, stmt(), ErrBadQuery, name)
	}
	require.Equal(t, 8, tx.Writes()) // two rows and three index entries each (null values have entries too)
	require.NoError(t, tx.Commit())
	require.Len(t, contents(t, c), 2)

	// Rollback drops what it loaded.
	tx, err = c.BeginBulk()
	require.NoError(t, err)
	_, err = tx.InsertMany("shop", "u", arr(obj("id", 5, "age", 1)))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	require.Len(t, contents(t, c), 2)
	require.ErrorIs(t, tx.Commit(), ErrTxClosed)
}

// A failed statement of a bulk transaction leaves nothing of its rows; the
// rows before it still commit.
func TestBulkTransactionStatementFailsAlone(t *testing.T) {
	c := bulkConn(t, false)
	tx, err := c.BeginBulk()
	require.NoError(t, err)
	_, err = tx.InsertMany("shop", "u", arr(obj("id", 1, "age", 1)))
	require.NoError(t, err)
	_, err = tx.InsertMany("shop", "u", arr(obj("id", 2, "age", 1), obj("id", 3, "age", "x")))
	require.ErrorIs(t, err, ErrTypeMismatch)
	require.Contains(t, err.Error(), "(row 2)") // counted across the load
	require.NoError(t, tx.Commit())
	require.Equal(t, []any{float64(1)}, column(selectRows(t, c, "u", obj()), "id"))
}

// Rows loaded in bulk reach the change feed like any insert.
func TestBulkLoadFeedsChanges(t *testing.T) {
	c := bulkConn(t, false)
	c.WatchChanges(true)
	rows := make([]value.Value, bulkRows)
	for i := range rows {
		rows[i] = obj("id", i, "age", 1)
	}
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.InsertMany("shop", "u", value.ArrayOf(rows))
		return err
	}))
	changes, _, overflow := c.TakeChanges()
	require.False(t, overflow)
	n := 0
	for _, ch := range changes {
		if ch.Table == "u" && ch.Op == "insert" {
			n++
		}
	}
	require.Equal(t, bulkRows, n)
}

// A bulk transaction into a synced table inserts row by row (the outbox
// records each), and still counts rows across its statements in errors.
func TestBulkTransactionIntoSyncedTable(t *testing.T) {
	fs, err := memfs.New()
	require.NoError(t, err)
	c := syncConn(t, fs, Options{})
	defer c.Close()
	tx, err := c.BeginBulk()
	require.NoError(t, err)
	_, err = tx.InsertMany("db", "todos", arr(obj("id", "a", "title", "x"), obj("id", "b", "title", "y")))
	require.NoError(t, err)
	_, err = tx.InsertMany("db", "todos", arr(obj("id", "c", "title", "z"), obj("id", "d", "title", "x")))
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.Contains(t, err.Error(), "(row 3)")
	require.NoError(t, tx.Commit())
	var n int
	require.NoError(t, c.Auto(func(tx *Tx) error {
		res, err := tx.Select("db", "todos", query(t, obj()))
		n = len(res.Rows)
		return err
	}))
	require.Equal(t, 2, n)
	require.Len(t, entries(t, c, Outbox), 2)
}

// Statements after an autocommit bulk load in the same Conn.Auto see its
// rows and extend the same commit.
func TestStatementsAfterAutocommitBulkLoad(t *testing.T) {
	c := bulkConn(t, false)
	load := func(from int) value.Value {
		rows := make([]value.Value, bulkRows)
		for i := range rows {
			rows[i] = obj("id", from+i, "age", 1)
		}
		return value.ArrayOf(rows)
	}
	require.NoError(t, c.Auto(func(tx *Tx) error {
		if _, err := tx.InsertMany("shop", "u", load(0)); err != nil {
			return err
		}
		got, err := tx.Get("shop", "u", val(5))
		if err != nil {
			return err
		}
		require.False(t, got.IsNull(), "a row of the load, read in the same transaction")
		if _, err := tx.InsertMany("shop", "u", load(1000)); err != nil {
			return err
		}
		_, err = tx.Insert("shop", "u", obj("id", 5000, "age", 2))
		return err
	}))
	require.Len(t, contents(t, c), 2*bulkRows+1)
	require.NoError(t, c.CheckIntegrity())
	// A collision with the load, in a later statement of the same transaction.
	err := c.Auto(func(tx *Tx) error {
		if _, err := tx.InsertMany("shop", "u", load(10000)); err != nil {
			return err
		}
		_, err := tx.Insert("shop", "u", obj("id", 10003, "age", 2))
		return err
	})
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.Len(t, contents(t, c), 2*bulkRows+1)
}
