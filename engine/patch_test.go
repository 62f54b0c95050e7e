package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
)

// TestUpdatePatchMatchesDecoding runs the same random updates on two
// identical databases, one patching stored rows and one decoding them (the
// path every update took before), and requires the same counts, errors and
// rows: set columns that grow, shrink, become null, objects and arrays,
// rows written before a column existed, notNull violations, a column set
// twice, indexed and key columns (which take the decoding path).
func TestUpdatePatchMatchesDecoding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	patched, decoded, both := twinUsers(t, &patchUpdates)
	city := func() value.Value {
		switch r.IntN(4) {
		case 0:
			return value.NullValue
		case 1:
			return val("")
		case 2:
			return val(fmt.Sprintf("city%d", r.IntN(5)))
		}
		return val(fmt.Sprintf("a much longer city name %d %s", r.IntN(5), string(make([]byte, r.IntN(300)))))
	}
	profile := func() value.Value {
		switch r.IntN(3) {
		case 0:
			return value.NullValue
		case 1:
			return obj("plan", "pro", "tags", arr("a", r.IntN(3)))
		}
		return obj("n", r.IntN(2))
	}
	for i := range 60 {
		row := obj("username", fmt.Sprintf("u%d", i), "age", r.IntN(10), "city", city(), "profile", profile())
		both(func(c *Conn) { insert(t, c, "users", row) })
	}
	col, err := ParseColumn(obj("name", "level", "type", "number", "default", 3))
	require.NoError(t, err)
	strict, err := ParseColumn(obj("name", "tier", "type", "string", "notNull", true, "default", "basic"))
	require.NoError(t, err)
	both(func(c *Conn) {
		require.NoError(t, c.AddColumn("shop", "users", col))
		require.NoError(t, c.AddColumn("shop", "users", strict))
	})
	for i := 60; i < 90; i++ {
		row := obj("username", fmt.Sprintf("u%d", i), "age", r.IntN(10), "city", city(), "level", r.IntN(4))
		both(func(c *Conn) { insert(t, c, "users", row) })
	}
	sets := []func() value.Value{
		func() value.Value { return obj("city", city()) },
		func() value.Value { return obj("city", city(), "profile", profile()) },
		func() value.Value { return obj("profile", profile(), "city", city()) },
		func() value.Value { return obj("level", r.IntN(4)) }, // absent from the first 60 rows
		func() value.Value { return obj("tier", "gold") },
		func() value.Value { return obj("tier", nil) }, // NOT_NULL
		func() value.Value { return obj("city", 5) },   // TYPE_MISMATCH
		func() value.Value {
			return arr(obj("name", "city", "value", "x"), obj("name", "city", "value", city()))
		},
		func() value.Value { return obj("age", r.IntN(10), "city", city()) }, // an indexed column
		func() value.Value { return obj("username", fmt.Sprintf("v%d", r.IntN(200))) },
	}
	for step := range 300 {
		set := sets[r.IntN(len(sets))]()
		lo := r.IntN(10)
		q := query(t, obj("where", obj("age", obj(">=", lo, "<", lo+1+r.IntN(4)))))
		var n [2]int
		var errs [2]error
		k := 0
		both(func(c *Conn) {
			errs[k] = c.Auto(func(tx *Tx) (err error) {
				n[k], err = tx.Update("shop", "users", set, q)
				return err
			})
			k++
		})
		require.Equal(t, CodeOf(errs[1]), CodeOf(errs[0]), "step %d: %s: %v / %v", step, set, errs[0], errs[1])
		require.Equal(t, n[1], n[0], "step %d: %s", step, set)
	}
	requireSameRows(t, patched, decoded, "users", obj("orderBy", "id"))
	for _, c := range []*Conn{patched, decoded} {
		require.NoError(t, c.CheckIntegrity())
	}
}

// TestJoinedRowsMatchIndexOrder runs the same random updates and deletes
// on two identical databases, one reading the rows an index range names in
// key order through one seeking iterator (eachJoined) and one reading them
// a Get per index entry, and requires the same counts, errors and rows:
// ranges of a few rows and of hundreds, conditions the index does not
// cover, rows written to the memtable and to segments, updates that take
// the decoding path; primary keys read in one chunk and in many.
func TestJoinedRowsMatchIndexOrder(t *testing.T) {
	for _, chunk := range []int{joinChunk, 37} {
		t.Run(fmt.Sprintf("chunks of %d", chunk), func(t *testing.T) {
			was := joinChunk
			defer func() { joinChunk = was }()
			joinChunk = chunk
			joinedMatchIndexOrder(t)
		})
	}
}

func joinedMatchIndexOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	joined, perEntry, both := twinUsers(t, &joinRows)
	cities := []string{"paris", "oslo", "rome"}
	next := 0
	add := func(n int) {
		rows := make([]any, n)
		for i := range rows {
			rows[i] = obj("username", fmt.Sprintf("u%d", next), "age", r.IntN(40), "city", cities[r.IntN(3)])
			next++
		}
		both(func(c *Conn) {
			require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", arr(rows...)); return err }))
		})
	}
	add(3000)
	for _, c := range []*Conn{joined, perEntry} {
		require.NoError(t, c.Compact()) // the rows in segments; later ones in the memtable too
		st, err := c.Stats()
		require.NoError(t, err)
		require.NotZero(t, st.Segments)
	}
	wheres := []func() value.Value{
		func() value.Value { a := r.IntN(40); return obj("age", obj(">=", a, "<", a+1+r.IntN(10))) },
		func() value.Value { return obj("age", obj("<", r.IntN(40)), "city", cities[r.IntN(3)]) },
		func() value.Value { return obj("age", obj(">=", r.IntN(40)), "id", obj(">", r.IntN(next))) },
		func() value.Value { return obj("age", r.IntN(40)) },
		func() value.Value { a := r.IntN(40); return obj("age", obj("in", arr(a, a, r.IntN(40)))) }, // a value twice
	}
	sets := []func() value.Value{
		func() value.Value { return obj("city", cities[r.IntN(3)]) },
		func() value.Value { return obj("profile", obj("n", r.IntN(3))) },
		func() value.Value { return obj("age", r.IntN(40)) }, // an indexed column: decoded, collected
	}
	for step := range 60 {
		if step%10 == 0 {
			add(50 + r.IntN(100)) // rows in the memtable too
		}
		q := query(t, obj("where", wheres[r.IntN(len(wheres))]()))
		set := sets[r.IntN(len(sets))]()
		del := r.IntN(4) == 0
		var n [2]int
		var errs [2]error
		k := 0
		both(func(c *Conn) {
			errs[k] = c.Auto(func(tx *Tx) (err error) {
				if del {
					n[k], err = tx.Delete("shop", "users", q)
				} else {
					n[k], err = tx.Update("shop", "users", set, q)
				}
				return err
			})
			k++
		})
		require.Equal(t, CodeOf(errs[1]), CodeOf(errs[0]), "step %d: %v / %v", step, errs[0], errs[1])
		require.Equal(t, n[1], n[0], "step %d: delete %v, set %s", step, del, set)
	}
	requireSameRows(t, joined, perEntry, "users", obj("orderBy", "id"))
}

// An index entry whose row is gone is corrupt to an update or a delete that
// reaches it, whether it reads the rows by one iterator or a Get each.
func TestJoinedRowsMissingRowIsCorrupt(t *testing.T) {
	for _, n := range []int{joinMin + 20, joinMin / 2} {
		c := usersConn(t)
		rows := make([]any, n)
		for i := range rows {
			rows[i] = obj("username", fmt.Sprintf("u%d", i), "age", 7)
		}
		require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", arr(rows...)); return err }))
		var tbl *Table
		require.NoError(t, c.Auto(func(tx *Tx) (err error) { tbl, err = tx.lookupTable("shop", "users"); return err }))
		b := &kv.Batch{}
		b.Delete(append(append([]byte(nil), tbl.primaryPrefix...), keys.AppendNumber(nil, float64(n/2))...))
		require.NoError(t, c.store.Apply(b))
		for _, stmt := range []func(tx *Tx) (int, error){
			func(tx *Tx) (int, error) {
				return tx.Update("shop", "users", obj("city", "x"), query(t, obj("where", obj("age", 7))))
			},
			func(tx *Tx) (int, error) { return tx.Delete("shop", "users", query(t, obj("where", obj("age", 7)))) },
		} {
			err := c.Auto(func(tx *Tx) error { _, err := stmt(tx); return err })
			require.Equal(t, CodeCorrupt, CodeOf(err), "%d rows: %v", n, err)
		}
		c.store = nil // skip the integrity check at cleanup: the store is damaged on purpose
	}
}
