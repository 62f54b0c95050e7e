package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

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
