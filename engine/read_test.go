package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// A limit on an unindexed orderBy keeps the top rows in a heap; whatever
// the window, it must return exactly the slice of the fully sorted answer,
// ties in scan order.
func TestTopKEqualsSortedSlice(t *testing.T) {
	c := usersConn(t)
	// score, unindexed: integers of one and several bytes with ties, some
	// fractions, some rows without one. A single number column is where a
	// scan checks the heap's cutoff before the row reaches it.
	col, err := ParseColumn(obj("name", "score", "type", "number"))
	require.NoError(t, err)
	require.NoError(t, c.AddColumn("shop", "users", col))
	rng := rand.New(rand.NewPCG(7, 7))
	require.NoError(t, c.Auto(func(tx *Tx) error {
		for i := range 300 {
			city := fmt.Sprintf("c%d", rng.IntN(12)) // many ties
			row := obj("username", fmt.Sprintf("u%03d", i), "age", rng.IntN(40), "city", city)
			switch r := rng.IntN(10); {
			case r < 6:
				row = obj("username", fmt.Sprintf("u%03d", i), "age", rng.IntN(40), "city", city, "score", rng.IntN(30)*97-1000)
			case r < 8:
				row = obj("username", fmt.Sprintf("u%03d", i), "age", rng.IntN(40), "city", city, "score", float64(rng.IntN(30)*97-1000)+0.5)
			}
			if _, err := tx.Insert("shop", "users", row); err != nil {
				return err
			}
		}
		return nil
	}))
	type term struct {
		col  string
		desc bool
	}
	// id desc reads against the stored order: every row is admitted, then
	// pushed out.
	for _, order := range [][]term{{{"city", false}}, {{"city", true}}, {{"city", true}, {"username", false}}, {{"id", true}}, {{"age", true}, {"id", true}},
		{{"score", true}}, {{"score", false}}, {{"score", true}, {"id", false}}} {
		var ob []any
		for _, o := range order {
			ob = append(ob, obj("name", o.col, "type", map[bool]string{false: "asc", true: "desc"}[o.desc]))
		}
		for _, where := range []value.Value{value.NullValue, obj("age", obj("<", 20)), obj("score", obj("<", 500)), obj("score", obj(">=", -500), "age", obj(">", 3))} {
			// The reference: the rows in the order the plan reads them,
			// stably sorted.
			res := selectRows(t, c, "users", obj("where", where))
			rows := slices.Clone(res.Rows)
			at := func(name string) int { return slices.Index(res.Columns, name) }
			slices.SortStableFunc(rows, func(a, b []value.Value) int {
				for _, o := range order {
					if c := value.Compare(a[at(o.col)], b[at(o.col)]); c != 0 {
						if o.desc {
							return -c
						}
						return c
					}
				}
				return 0
			})
			all := []any{}
			for _, r := range rows {
				all = append(all, r[at("id")].Number())
			}
			order := arr(ob...)
			require.Equal(t, all, column(selectRows(t, c, "users", obj("where", where, "orderBy", order)), "id"))
			for _, w := range [][2]int{{0, 1}, {0, 7}, {5, 10}, {290, 20}, {0, 0}, {3, 1000}} {
				off, lim := w[0], w[1]
				got := column(selectRows(t, c, "users", obj("where", where, "orderBy", order, "offset", off, "limit", lim)), "id")
				want := all[min(off, len(all)):min(off+lim, len(all))]
				require.Equal(t, want, got, "order %s where %s offset %d limit %d", order, where, off, lim)
				got = column(selectRows(t, c, "users", obj("where", where, "orderBy", order, "offset", off, "limit", lim, "columns", arr("id", "city"))), "id")
				require.Equal(t, want, got, "columns, order %s where %s offset %d limit %d", order, where, off, lim)
			}
		}
	}
}

// Rows written before a column was added read it as its default, both when
// a filter names it and when it is returned.
func TestFilterOnColumnAddedLater(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "old"))
	col, err := ParseColumn(obj("name", "level", "type", "number", "default", 3))
	require.NoError(t, err)
	require.NoError(t, c.AddColumn("shop", "users", col))
	insert(t, c, "users", obj("username", "new", "level", 5))
	require.Equal(t, []any{"old"}, column(selectRows(t, c, "users", obj("where", obj("level", 3))), "username"))
	require.Equal(t, []any{3.0, 5.0}, column(selectRows(t, c, "users", obj("where", obj("level", obj(">", 1)))), "level"))
	require.Equal(t, []any{"new"}, column(selectRows(t, c, "users", obj("where", obj("level", obj(">=", 4)), "columns", arr("username"))), "username"))
}

// A select of one column over large rows costs that column, and an answer
// past the cap is TOO_LARGE (never an out-of-memory exit of the runtime).
func TestSelectProjectsAndCapsItsAnswer(t *testing.T) {
	defer func(n int) { maxResultBytes = n }(maxResultBytes)
	maxResultBytes = 1 << 20
	c := usersConn(t)
	big := strings.Repeat("x", 64<<10)
	require.NoError(t, c.Auto(func(tx *Tx) error {
		for i := range 40 { // 2.5 MiB of rows
			if _, err := tx.Insert("shop", "users", obj("username", fmt.Sprintf("u%d", i), "city", big)); err != nil {
				return err
			}
		}
		return nil
	}))
	ids := column(selectRows(t, c, "users", obj("columns", arr("id"))), "id")
	require.Len(t, ids, 40)
	ids = column(selectRows(t, c, "users", obj("columns", arr("id"), "orderBy", arr(obj("name", "username", "type", "desc")))), "id")
	require.Len(t, ids, 40)
	for _, q := range []value.Value{
		obj(),
		obj("orderBy", arr(obj("name", "username", "type", "desc"))),
		obj("where", obj("age", 0)),
	} {
		err := c.Auto(func(tx *Tx) error {
			_, err := tx.SelectTo("shop", "users", query(t, q), nil)
			return err
		})
		require.Equal(t, CodeTooLarge, CodeOf(err), "%s: %v", q, err)
		require.Contains(t, err.Error(), "limit")
	}
	// A window that fits is answered.
	rows := selectRows(t, c, "users", obj("orderBy", arr(obj("name", "username", "type", "desc")), "limit", 5))
	require.Len(t, rows.Rows, 5)
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "ABC", true},
		{"a%", "a", true},
		{"%", "", true},
		{"_", "", false},
		{"_", "é", true},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"%b%", "abc", true},
		{"%b", "abc", false},
		{"a%c%e", "abcde", true},
		{"a%%c", "ac", true},
		{"%ÄB%", "xäb", false}, // only ASCII letters fold, as in SQLite
		{"%äb%", "xäB", true},
		{strings.Repeat("%a", 70) + "%", strings.Repeat("a", 70), true}, // more than one word of state
		{strings.Repeat("%a", 70) + "%", strings.Repeat("a", 69), false},
		{"%" + strings.Repeat("a", 200) + "b%", strings.Repeat("a", 1000) + "b", true},
	} {
		m, err := compileLike(tc.pattern)
		require.NoError(t, err)
		require.Equal(t, tc.want, m.match(tc.s), "%q like %q", tc.s, tc.pattern)
		require.Equal(t, tc.want, likeReference([]rune(tc.pattern), []rune(tc.s)), "reference: %q like %q", tc.s, tc.pattern)
	}
}

// What a search box sends ('%' + 'a'×N + 'b%') against a long text is
// matched in one pass; a pattern past the bound is BAD_QUERY.
func TestLikeSearchBoxPatterns(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "long", "city", strings.Repeat("a", 1<<20)))
	res := selectRows(t, c, "users", obj("where", obj("city", obj("like", "%"+strings.Repeat("a", 1000)+"b%")), "columns", arr("id")))
	require.Empty(t, res.Rows)
	res = selectRows(t, c, "users", obj("where", obj("city", obj("like", "%"+strings.Repeat("a", 1000)+"%")), "columns", arr("id")))
	require.Len(t, res.Rows, 1)
	_, err := ParseQuery(obj("where", obj("city", obj("like", strings.Repeat("a", maxLikePattern+1)))))
	require.Equal(t, CodeBadQuery, CodeOf(err))
}

// GetTo and SelectEqTo (what the bridge answers JS with) copy stored bytes
// out; they must encode exactly what Get and SelectEq return.
func TestPointReadsEncodeWhatTheyReturn(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann", "profile", obj("tags", arr("a", 1), "n", nil)))
	col, err := ParseColumn(obj("name", "level", "type", "number", "default", 3))
	require.NoError(t, err)
	require.NoError(t, c.AddColumn("shop", "users", col))
	insert(t, c, "users", obj("username", "bob", "city", "x", "level", 9))
	for _, key := range []value.Value{val(1), val(2), val(99)} {
		var want value.Value
		var enc []byte
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			if want, err = tx.Get("shop", "users", key); err != nil {
				return err
			}
			enc, err = tx.GetTo("shop", "users", key, nil)
			return err
		}))
		got, err := value.Decode(enc)
		require.NoError(t, err)
		require.True(t, value.Equal(want, got), "get %s: %s, want %s", key, got, want)
	}
	for _, q := range [][2]any{{"id", 2}, {"username", "ann"}, {"username", "zed"}, {"city", "x"}, {"age", 0}} {
		var res *Result
		var enc []byte
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			if res, err = tx.SelectEq("shop", "users", q[0].(string), val(q[1])); err != nil {
				return err
			}
			enc, err = tx.SelectEqTo("shop", "users", q[0].(string), val(q[1]), nil)
			return err
		}))
		got, err := value.Decode(enc)
		require.NoError(t, err)
		want := make([]value.Value, len(res.Rows))
		for i, r := range res.Rows {
			want[i] = value.ObjectFrom(res.Columns, r)
		}
		require.True(t, value.Equal(value.ArrayOf(want), got), "%v: %s, want %s", q, got, value.ArrayOf(want))
	}
}

// Point reads reuse one view and key buffer per connection: reads that
// alternate between tables of different shapes, and a read after a column
// is added, still encode exactly what Get returns; a key of the wrong type
// is refused as before.
func TestPointReadsReuseScratchAcrossTables(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann", "city", "x"))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "sku", "type", "string", "primaryKey", true),
		obj("name", "n", "type", "number"))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "items", spec))
	insert(t, c, "items", obj("sku", "a-1", "n", 5))
	check := func(table string, key value.Value) {
		t.Helper()
		var want value.Value
		var enc []byte
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			if want, err = tx.Get("shop", table, key); err != nil {
				return err
			}
			enc, err = tx.GetTo("shop", table, key, nil)
			return err
		}))
		got, err := value.Decode(enc)
		require.NoError(t, err)
		require.True(t, value.Equal(want, got), "get %s %s: %s, want %s", table, key, got, want)
		require.NotEqual(t, value.Null, got.Kind(), "get %s %s", table, key)
	}
	for range 3 {
		check("users", val(1))
		check("items", val("a-1"))
	}
	col, err := ParseColumn(obj("name", "level", "type", "number", "default", 3))
	require.NoError(t, err)
	require.NoError(t, c.AddColumn("shop", "users", col))
	check("users", val(1))
	check("items", val("a-1"))
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.GetTo("shop", "users", val("1"), nil)
		require.Equal(t, CodeTypeMismatch, CodeOf(err), "%v", err)
		_, err = tx.GetTo("shop", "items", val(1), nil)
		require.Equal(t, CodeTypeMismatch, CodeOf(err), "%v", err)
		return nil
	}))
}
