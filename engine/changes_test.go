package engine

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

func takeOps(c *Conn) []string {
	cs, _, _ := c.TakeChanges()
	out := []string{}
	for _, ch := range cs {
		out = append(out, fmt.Sprintf("%s.%s %s %s", ch.DB, ch.Table, ch.Op, ch.Key))
	}
	return out
}

func TestChangeFeed(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, c *Conn)
		want []string
	}{
		{"insert", func(t *testing.T, c *Conn) {
			insert(t, c, "users", obj("username", "bob", "age", 30))
		}, []string{"shop.users insert 2"}},
		{"update and delete", func(t *testing.T, c *Conn) {
			require.NoError(t, c.Auto(func(tx *Tx) error {
				_, err := tx.Update("shop", "users", obj("age", 31), query(t, obj("where", obj("id", 1))))
				return err
			}))
			require.NoError(t, c.Auto(func(tx *Tx) error {
				_, err := tx.Delete("shop", "users", query(t, obj("where", obj("username", "ann"))))
				return err
			}))
		}, []string{"shop.users update 1", "shop.users delete 1"}},
		{"a transaction shows at its commit only", func(t *testing.T, c *Conn) {
			tx, err := c.Begin()
			require.NoError(t, err)
			_, err = tx.Insert("shop", "users", obj("username", "bob"))
			require.NoError(t, err)
			_, err = tx.Insert("shop", "users", obj("username", "ann")) // unique violation: the statement leaves nothing
			require.Error(t, err)
			require.Empty(t, takeOps(c), "nothing before the commit")
			_, err = tx.Insert("shop", "users", obj("username", "cy"))
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
		}, []string{"shop.users insert 2", "shop.users insert 4"}}, // the failed statement's id stays taken
		{"a rolled back transaction shows nothing", func(t *testing.T, c *Conn) {
			tx, err := c.Begin()
			require.NoError(t, err)
			_, err = tx.Insert("shop", "users", obj("username", "dan"))
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())
		}, []string{}},
		{"insertMany", func(t *testing.T, c *Conn) {
			require.NoError(t, c.Auto(func(tx *Tx) error {
				_, err := tx.InsertMany("shop", "users", arr(obj("username", "x1"), obj("username", "x2")))
				return err
			}))
		}, []string{"shop.users insert 2", "shop.users insert 3"}},
		{"deleted and inserted again in one transaction is an update", func(t *testing.T, c *Conn) {
			tx, err := c.Begin()
			require.NoError(t, err)
			_, err = tx.Delete("shop", "users", query(t, obj("where", obj("id", 1))))
			require.NoError(t, err)
			_, err = tx.Insert("shop", "users", obj("id", 1, "username", "ann2"))
			require.NoError(t, err)
			_, err = tx.Insert("shop", "users", obj("username", "tmp"))
			require.NoError(t, err)
			_, err = tx.Delete("shop", "users", query(t, obj("where", obj("username", "tmp"))))
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
		}, []string{"shop.users update 1"}},
		{"a delete that matches nothing", func(t *testing.T, c *Conn) {
			require.NoError(t, c.Auto(func(tx *Tx) error {
				_, err := tx.Delete("shop", "users", query(t, obj("where", obj("id", 99))))
				return err
			}))
		}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := usersConn(t)
			c.WatchChanges(true)
			insert(t, c, "users", obj("username", "ann", "age", 30))
			takeOps(c)
			tc.run(t, c)
			got := takeOps(c)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestChangeFeedOffCostsNothing(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann"))
	cs, schema, overflow := c.TakeChanges()
	require.Nil(t, cs)
	require.False(t, schema || overflow)
	c.WatchChanges(true)
	c.WatchChanges(false)
	insert(t, c, "users", obj("username", "bob"))
	cs, _, _ = c.TakeChanges()
	require.Nil(t, cs, "a feed turned off keeps nothing")
}

func TestChangeFeedRowAndSchema(t *testing.T) {
	c := usersConn(t)
	c.WatchChanges(true)
	insert(t, c, "users", obj("username", "ann", "age", 30))
	cs, schema, _ := c.TakeChanges()
	require.False(t, schema)
	require.Len(t, cs, 1)
	name, _ := cs[0].RowValue().Get("username")
	require.Equal(t, "ann", name.Str())
	// row key, unique entry, age entry
	require.Len(t, cs[0].Keys, 3)
	require.NoError(t, c.DropTable("shop", "users", false))
	_, schema, _ = c.TakeChanges()
	require.True(t, schema)
}

func inRanges(rs []KeyRange, ks [][]byte) bool {
	for _, r := range rs {
		for _, k := range ks {
			if bytes.Compare(k, r.Lo) >= 0 && bytes.Compare(k, r.Hi) < 0 {
				return true
			}
		}
	}
	return false
}

// After random writes, a query whose answer changed must have had a change
// key in its read ranges: invalidation by ranges never misses an update.
// (The converse, no false alarms, is what the ranges are for; it is counted
// and must happen for some queries, or the test would prove nothing.)
func TestReadRangesCoverEveryChange(t *testing.T) {
	c := usersConn(t)
	c.WatchChanges(true)
	rng := rand.New(rand.NewSource(7))
	cities := []any{"paris", "rome", "oslo", nil}
	queries := []value.Value{
		obj(),
		obj("where", obj("age", 30)),
		obj("where", obj("age", obj("$gte", 20, "$lt", 40))),
		obj("where", obj("username", "u3")),
		obj("where", obj("id", 5)),
		obj("where", obj("id", obj("$in", arr(1, 2, 3)))),
		obj("where", obj("city", "rome")),
		obj("where", obj("age", 30, "city", "oslo")),
		obj("orderBy", "age", "limit", 3),
		obj("where", obj("id", obj("$gt", 10)), "orderBy", arr(obj("id", "desc")), "limit", 2),
	}
	answers := make([]string, len(queries))
	ranges := make([][]KeyRange, len(queries))
	eval := func(i int) {
		answers[i] = fmt.Sprint(selectRows(t, c, "users", queries[i]).Rows)
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			ranges[i], err = tx.ReadRanges("shop", "users", query(t, queries[i]))
			return err
		}))
	}
	for i := range queries {
		eval(i)
	}
	// Filtered to the union of the ranges of the queries that do not scan
	// the whole table: the feed must still show every change they could see.
	watched := []int{1, 2, 3, 4, 5, 7, 8, 9}
	var union []KeyRange
	for _, i := range watched {
		union = append(union, ranges[i]...)
	}
	c.FilterChanges(false, union)
	skipped := 0
	for step := 0; step < 400; step++ {
		id := rng.Intn(20) + 1
		age := float64(rng.Intn(5) * 10)
		city := cities[rng.Intn(len(cities))]
		_ = c.Auto(func(tx *Tx) error {
			var err error
			switch rng.Intn(4) {
			case 0:
				_, err = tx.Upsert("shop", "users", obj("id", id, "username", fmt.Sprint("u", id), "age", age, "city", city))
			case 1:
				_, err = tx.Update("shop", "users", obj("age", age), query(t, obj("where", obj("id", id))))
			case 2:
				_, err = tx.Update("shop", "users", obj("city", city), query(t, obj("where", obj("id", id))))
			default:
				_, err = tx.Delete("shop", "users", query(t, obj("where", obj("id", id))))
			}
			return err
		})
		cs, _, _ := c.TakeChanges()
		var ks [][]byte
		for _, ch := range cs {
			ks = append(ks, ch.Keys...)
		}
		for _, i := range watched {
			before := answers[i]
			hit := inRanges(ranges[i], ks)
			eval(i)
			if !hit {
				skipped++
				require.Equal(t, before, answers[i], "query %s changed without a change in its ranges (step %d)", queries[i], step)
			}
		}
	}
	require.Greater(t, skipped, 400, "ranges must spare some queries some re-evaluations")
	for _, i := range []int{0, 6} {
		eval(i)
		require.Equal(t, [][]byte{t0Prefix(c)}, [][]byte{ranges[i][0].Lo}, "query %s scans the table", queries[i])
	}
}

// BenchmarkInsertWatched: an autocommit insert with the change feed on and
// taken after every commit, against the feed off.
func BenchmarkInsertWatched(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprint("watched=", watched), func(b *testing.B) {
			c := usersConn(b)
			c.WatchChanges(watched)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				insert(b, c, "users", obj("username", fmt.Sprint("u", i), "age", i%100))
				c.TakeChanges()
			}
		})
	}
}

func TestChangeFeedKeys(t *testing.T) {
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("d", false))
	for name, cols := range map[string]value.Value{
		"pair": arr(obj("name", "a", "type", "string", "primaryKey", true), obj("name", "b", "type", "number", "primaryKey", true), obj("name", "v", "type", "string")),
		"bare": arr(obj("name", "v", "type", "string")),
	} {
		spec, err := ParseTableSpec(obj("columns", cols))
		require.NoError(t, err)
		require.NoError(t, c.CreateTable("d", name, spec))
	}
	c.WatchChanges(true)
	run := func(fn func(tx *Tx) error) { require.NoError(t, c.Auto(fn)) }
	run(func(tx *Tx) error { _, err := tx.Insert("d", "pair", obj("a", "x", "b", 2, "v", "1")); return err })
	run(func(tx *Tx) error { _, err := tx.Insert("d", "bare", obj("v", "1")); return err })
	run(func(tx *Tx) error { _, err := tx.Delete("d", "pair", query(t, obj())); return err })
	run(func(tx *Tx) error { _, err := tx.Delete("d", "bare", query(t, obj())); return err })
	cs, _, _ := c.TakeChanges()
	got := []string{}
	for _, ch := range cs {
		got = append(got, fmt.Sprintf("%s %s %s %s", ch.Table, ch.Op, ch.Key, ch.RowValue()))
	}
	require.Equal(t, []string{
		`pair insert {"a":"x","b":2} {"a":"x","b":2,"v":"1"}`,
		`bare insert 1 {"v":"1"}`,
		`pair delete {"a":"x","b":2} null`,
		`bare delete 1 null`,
	}, got)
}

func TestChangeFeedFilter(t *testing.T) {
	c := usersConn(t)
	c.WatchChanges(true)
	notified := 0
	c.OnChanges(func() { notified++ })
	var rs []KeyRange
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		rs, err = tx.ReadRanges("shop", "users", query(t, obj("where", obj("age", obj("$gte", 30, "$lt", 40)))))
		return err
	}))
	c.FilterChanges(false, append(rs, rs...)) // overlapping ranges merge
	insert(t, c, "users", obj("username", "young", "age", 20))
	require.Empty(t, takeOps(c), "outside the ranges")
	require.Equal(t, 0, notified)
	insert(t, c, "users", obj("username", "ann", "age", 35))
	require.Equal(t, []string{"shop.users insert 2"}, takeOps(c))
	require.NoError(t, c.Auto(func(tx *Tx) error { // moves young into the range: its new age entry is in it
		_, err := tx.Update("shop", "users", obj("age", 31), query(t, obj("where", obj("username", "young"))))
		return err
	}))
	require.Equal(t, []string{"shop.users update 1"}, takeOps(c))
	require.NoError(t, c.Auto(func(tx *Tx) error { // and out again: its old entry was
		_, err := tx.Update("shop", "users", obj("age", 50), query(t, obj("where", obj("username", "young"))))
		return err
	}))
	require.Equal(t, []string{"shop.users update 1"}, takeOps(c))
	require.Equal(t, 3, notified)
	c.FilterChanges(true, nil)
	insert(t, c, "users", obj("username", "zed", "age", 1))
	require.Len(t, takeOps(c), 1)
}

// t0Prefix is the row key prefix of shop.users.
func t0Prefix(c *Conn) []byte {
	t, _ := c.lookupTable("shop", "users")
	return t.primaryPrefix
}

func TestChangeFeedOverflow(t *testing.T) {
	c := usersConn(t)
	c.WatchChanges(true)
	notified := 0
	c.OnChanges(func() { notified++ })
	rows := make([]value.Value, maxPendingChanges+1)
	for i := range rows {
		rows[i] = obj("username", fmt.Sprint("u", i))
	}
	require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", value.ArrayOf(rows)); return err }))
	cs, _, overflow := c.TakeChanges()
	require.Empty(t, cs)
	require.True(t, overflow, "more rows than the feed keeps: an overflow, not the rows")
	require.Equal(t, 1, notified)
	insert(t, c, "users", obj("username", "after"))
	cs, _, overflow = c.TakeChanges()
	require.False(t, overflow)
	require.Len(t, cs, 1)
	// Many small commits nobody takes overflow too.
	for i := 0; i <= maxPendingChanges; i++ {
		insert(t, c, "users", obj("username", fmt.Sprint("v", i)))
	}
	cs, _, overflow = c.TakeChanges()
	require.Empty(t, cs)
	require.True(t, overflow)
}
