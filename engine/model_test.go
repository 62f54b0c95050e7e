package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"minibase/engine/value/valuetest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

// The model test runs random statements and transactions against the engine
// and against a plain Go map, with random reopens, and after every step asks
// both random questions (through indexes, ranges, scans, orderBy, limit):
// the answers must agree, and the indexes must agree with the rows.
// MINIBASE_SEED replays a run; the seed is always logged.

type mrow struct {
	id    float64
	name  string // unique
	age   float64
	score float64 // not indexed
}

func modelSeed(t *testing.T) uint64 {
	return valuetest.Seed(t)
}

func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(modelSeed(t), 1))
	fs, err := memfs.New()
	require.NoError(t, err)
	open := func() *Conn {
		c, err := Open(fs, smallStore)
		require.NoError(t, err)
		return c
	}
	c := open()
	require.NoError(t, c.CreateDatabase("db", false))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
		obj("name", "name", "type", "string", "unique", true, "notNull", true),
		obj("name", "age", "type", "number"),
		obj("name", "score", "type", "number")),
		"indexes", arr(obj("columns", arr("age")))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("db", "t", spec))

	model := map[float64]mrow{}
	// Ids: a failed insert uses one up in memory, but only a commit makes
	// the high-water mark durable, so after a reopen numbering resumes
	// after the last committed insert (ids no one ever saw may come again).
	nextID, durableID := 0.0, 0.0
	steps := 400
	if testing.Short() {
		steps = 100
	}
	name := func() string { return fmt.Sprintf("n%03d", rng.IntN(150)) }
	taken := func(m map[float64]mrow, n string, except float64) bool {
		for id, r := range m {
			if r.name == n && id != except {
				return true
			}
		}
		return false
	}
	for step := 0; step < steps; step++ {
		switch k := rng.IntN(10); {
		case k < 4: // insert, possibly a duplicate name
			r := mrow{name: name(), age: float64(rng.IntN(20)), score: float64(rng.IntN(100))}
			err := c.Auto(func(tx *Tx) error {
				_, err := tx.Insert("db", "t", obj("name", r.name, "age", r.age, "score", r.score))
				return err
			})
			if taken(model, r.name, -1) {
				require.ErrorIs(t, err, ErrUniqueViolation, "step %d", step)
				nextID++ // the failed statement took an id
			} else {
				require.NoError(t, err, "step %d", step)
				nextID++
				r.id = nextID
				model[r.id] = r
				durableID = nextID
			}
		case k < 6: // update ages in a range
			lo := float64(rng.IntN(20))
			delta := float64(rng.IntN(3) + 1)
			var n int
			require.NoError(t, c.Auto(func(tx *Tx) (err error) {
				n, err = tx.Update("db", "t", obj("score", delta), query(t, obj("where", obj("age", obj(">=", lo, "<", lo+3)))))
				return err
			}))
			changed := 0
			for id, r := range model {
				if r.age >= lo && r.age < lo+3 && r.score != delta {
					r.score = delta
					model[id] = r
					changed++
				}
			}
			require.Equal(t, changed, n, "step %d: rows changed", step)
		case k < 7: // delete by unique name
			nm := name()
			require.NoError(t, c.Auto(func(tx *Tx) error {
				_, err := tx.Delete("db", "t", query(t, obj("where", obj("name", nm))))
				return err
			}))
			for id, r := range model {
				if r.name == nm {
					delete(model, id)
				}
			}
		case k < 9: // a transaction of two renames, committed or rolled back
			tx, err := c.Begin()
			require.NoError(t, err)
			next := maps2(model)
			ok := true
			for i := 0; i < 2 && len(next) > 0; i++ {
				ids := sortedIDs(next)
				id := ids[rng.IntN(len(ids))]
				nm := name()
				_, err := tx.Update("db", "t", obj("name", nm), query(t, obj("where", obj("id", id))))
				if taken(next, nm, id) {
					require.ErrorIs(t, err, ErrUniqueViolation)
					continue
				}
				require.NoError(t, err)
				r := next[id]
				r.name = nm
				next[id] = r
			}
			if rng.IntN(3) == 0 {
				require.NoError(t, tx.Rollback())
				ok = false
			} else {
				require.NoError(t, tx.Commit())
			}
			if ok {
				model = next
			}
		default: // reopen
			require.NoError(t, c.Close())
			c = open()
			nextID = durableID
		}
		checkModel(t, rng, c, model, step)
	}
	require.NoError(t, c.CheckIntegrity())
	require.NoError(t, c.Close())
}

func maps2(m map[float64]mrow) map[float64]mrow {
	out := make(map[float64]mrow, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedIDs(m map[float64]mrow) []float64 {
	ids := make([]float64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// checkModel asks the engine a random question and compares with the model.
func checkModel(t *testing.T, rng *rand.Rand, c *Conn, model map[float64]mrow, step int) {
	t.Helper()
	lo := float64(rng.IntN(20))
	conds := []struct {
		where value.Value
		keep  func(r mrow) bool
	}{
		{obj("age", obj(">=", lo)), func(r mrow) bool { return r.age >= lo }},
		{obj("age", obj(">", lo, "<=", lo+4)), func(r mrow) bool { return r.age > lo && r.age <= lo+4 }},
		{obj("score", obj("<", lo*5)), func(r mrow) bool { return r.score < lo*5 }},
		{obj("name", obj("startsWith", fmt.Sprintf("n0%d", rng.IntN(10)))), nil},
		{obj("$or", arr(obj("age", lo), obj("score", lo))), func(r mrow) bool { return r.age == lo || r.score == lo }},
	}
	cd := conds[rng.IntN(len(conds))]
	if cd.keep == nil {
		prefix, _ := cd.where.Get("name")
		p, _ := prefix.Get("startsWith")
		cd.keep = func(r mrow) bool { return len(r.name) >= len(p.Str()) && r.name[:len(p.Str())] == p.Str() }
	}
	desc := rng.IntN(2) == 0
	limit := rng.IntN(8) + 1
	dir := "asc"
	if desc {
		dir = "desc"
	}
	q := obj("where", cd.where, "orderBy", arr(obj("name", "age", "type", dir), obj("name", "id", "type", dir)), "limit", limit)
	res := selectRowsDB(t, c, q)
	var want []mrow
	for _, r := range model {
		if cd.keep(r) {
			want = append(want, r)
		}
	}
	slices.SortFunc(want, func(a, b mrow) int {
		c := cmp.Or(cmp.Compare(a.age, b.age), cmp.Compare(a.id, b.id))
		if desc {
			return -c
		}
		return c
	})
	want = want[:min(limit, len(want))]
	got := column(res, "id")
	wantIDs := []any{}
	for _, r := range want {
		wantIDs = append(wantIDs, r.id)
	}
	require.Equal(t, wantIDs, got, "step %d: %s", step, q)
	var n int
	require.NoError(t, c.Auto(func(tx *Tx) (err error) { n, err = tx.Count("db", "t", Query{Limit: -1}); return err }))
	require.Equal(t, len(model), n, "step %d: count", step)
}

func selectRowsDB(t *testing.T, c *Conn, q value.Value) *Result {
	t.Helper()
	return selectBoth(t, c, "db", "t", q)
}
