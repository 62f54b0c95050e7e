package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// TestPlainRowsReadAsIndexed builds one database with plain rows (the
// format before rows were indexed) and one with indexed rows, by the same
// writes, then runs the same reads, updates and deletes on both: the
// answers, counts, errors and final rows must agree, the plain rows must
// have been plain and the rows an update rewrote indexed, and both
// databases must pass the integrity check.
func TestPlainRowsReadAsIndexed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 17))
	plain, indexed, both := twinUsers(t, &writePlainRows)
	city := func(i int) value.Value {
		switch i % 5 {
		case 0:
			return value.NullValue
		case 1:
			return val(strings.Repeat("long city ", 30+i%7)) // rows past 255 bytes: two-byte offsets
		}
		return val(fmt.Sprintf("city%d", i%4))
	}
	for i := range 80 {
		row := obj("username", fmt.Sprintf("u%d", i), "age", r.IntN(10), "city", city(i), "profile", obj("n", i, "tags", arr("a", i%3)))
		both(func(c *Conn) { insert(t, c, "users", row) })
	}
	col, err := ParseColumn(obj("name", "level", "type", "number", "default", 3))
	require.NoError(t, err)
	both(func(c *Conn) { require.NoError(t, c.AddColumn("shop", "users", col)) })
	for i := 80; i < 100; i++ {
		row := obj("username", fmt.Sprintf("u%d", i), "age", r.IntN(10), "city", city(i), "level", i%4)
		both(func(c *Conn) { insert(t, c, "users", row) })
	}

	stored := func(c *Conn, id int) []byte {
		var raw []byte
		require.NoError(t, c.Auto(func(tx *Tx) error {
			tb, err := tx.c.lookupTable("shop", "users")
			require.NoError(t, err)
			k, err := tb.pkKey(nil, row{val(id)}, 0)
			require.NoError(t, err)
			raw, err = tx.reader().Get(k)
			return err
		}))
		return raw
	}
	require.NotEqual(t, byte(indexedRow), stored(plain, 1)[0], "the plain database's rows are plain")
	require.Equal(t, byte(indexedRow), stored(indexed, 1)[0], "the other's are indexed")

	queries := []value.Value{
		obj("orderBy", "id"),
		obj("where", obj("city", "city2"), "orderBy", "id"),
		obj("where", obj("level", obj(">=", 2)), "orderBy", "id"), // absent from the first 80 rows: the default
		obj("where", obj("age", obj("<", 4)), "orderBy", arr(obj("name", "city", "type", "desc"), "id"), "limit", 7),
		obj("where", obj("username", "u42")),
		obj("columns", arr("profile", "id"), "where", obj("id", obj("in", arr(3, 50, 99)))),
		obj("where", obj("city", obj("like", "long%")), "orderBy", "username"),
	}
	check := func(when string) {
		for _, q := range queries {
			requireSameRows(t, plain, indexed, "users", q, "%s: %s", when, q)
			var n [2]int
			for k, c := range []*Conn{plain, indexed} {
				require.NoError(t, c.Auto(func(tx *Tx) (err error) { n[k], err = tx.Count("shop", "users", query(t, q)); return err }))
			}
			require.Equal(t, n[1], n[0], "%s: count %s", when, q)
		}
		for _, c := range []*Conn{plain, indexed} {
			require.NoError(t, c.CheckIntegrity(), when)
		}
	}
	check("as written")

	sets := []value.Value{
		obj("city", "short"),
		obj("city", strings.Repeat("x", 400)),
		obj("profile", nil, "level", 9),
		obj("age", 5),
		obj("username", nil), // NOT_NULL
	}
	for step, set := range sets {
		q := query(t, obj("where", obj("age", obj("<", 3+step))))
		var n [2]int
		var errs [2]error
		for k, c := range []*Conn{plain, indexed} {
			errs[k] = c.Auto(func(tx *Tx) (err error) { n[k], err = tx.Update("shop", "users", set, q); return err })
		}
		require.Equal(t, CodeOf(errs[1]), CodeOf(errs[0]), "update %s", set)
		require.Equal(t, n[1], n[0], "update %s", set)
		check(fmt.Sprintf("after update %s", set))
	}
	var updated int
	require.NoError(t, plain.Auto(func(tx *Tx) error {
		res, err := tx.Select("shop", "users", query(t, obj("where", obj("level", 9), "limit", 1)))
		if err == nil && len(res.Rows) > 0 {
			updated = int(res.Rows[0][0].Number())
		}
		return err
	}))
	require.NotZero(t, updated)
	require.Equal(t, byte(indexedRow), stored(plain, updated)[0], "an updated plain row is written indexed")

	for k, c := range []*Conn{plain, indexed} {
		var n int
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			n, err = tx.Delete("shop", "users", query(t, obj("where", obj("level", obj("<", 3)))))
			return err
		}))
		require.NotZero(t, n, "database %d", k)
	}
	check("after delete")
}
