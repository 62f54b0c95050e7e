package engine

import (
	"fmt"
	"testing"

	"minibase/engine/internal/recycle"
	"minibase/engine/value"
)

// The foundation workloads, natively: `go test -bench . ./engine/`.
// The JS harness (js/bench) measures the same through the wasm boundary.

func benchRows(n, from int) value.Value {
	rows := make([]value.Value, n)
	for i := range rows {
		k := from + i
		rows[i] = obj("username", fmt.Sprintf("user%07d", k), "age", k%100, "city", "city"+fmt.Sprint(k%50),
			"profile", obj("score", k%1000, "tags", arr("a", "b")))
	}
	return value.ArrayOf(rows)
}

func BenchmarkInsertMany(b *testing.B) {
	const n = 10000
	rows := benchRows(n, 0)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := usersConn(b)
		b.StartTimer()
		if err := c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", rows); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func loadedConn(b *testing.B, n int) *Conn {
	c := usersConn(b)
	if err := c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", benchRows(n, 0)); return err }); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkSelectByUnique(b *testing.B) {
	c := loadedConn(b, 100000)
	qs := make([]Query, 1000)
	for i := range qs {
		qs[i] = query(b, obj("where", obj("username", fmt.Sprintf("user%07d", i*97))))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := c.Auto(func(tx *Tx) error {
			res, err := tx.Select("shop", "users", qs[i%len(qs)])
			if err == nil && len(res.Rows) != 1 {
				err = fmt.Errorf("got %d rows", len(res.Rows))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRangeQuery100(b *testing.B) {
	c := loadedConn(b, 100000)
	q := query(b, obj("where", obj("age", obj(">=", 10)), "orderBy", "age", "limit", 100))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := c.Auto(func(tx *Tx) error {
			res, err := tx.Select("shop", "users", q)
			if err == nil && len(res.Rows) != 100 {
				err = fmt.Errorf("got %d rows", len(res.Rows))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchTableConn is a connection holding the 100,000 rows of the JS
// benchmark's schema (js/bench/workloads.mjs): every age held by 100 rows,
// score unindexed.
func benchTableConn(b *testing.B) *Conn {
	c, _ := testConn(b)
	if err := c.CreateDatabase("b", false); err != nil {
		b.Fatal(err)
	}
	spec, err := ParseTableSpec(obj(
		"columns", arr(
			obj("name", "id", "type", "number", "primaryKey", true),
			obj("name", "username", "type", "string", "unique", true),
			obj("name", "age", "type", "number"),
			obj("name", "city", "type", "string"),
			obj("name", "score", "type", "number"),
			obj("name", "profile", "type", "object"),
		),
		"indexes", arr(obj("columns", arr("age")), obj("columns", arr("city"))),
	))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.CreateTable("b", "users", spec); err != nil {
		b.Fatal(err)
	}
	const n = 100000
	rows := make([]value.Value, n)
	for i := range rows {
		plan := "free"
		if i%3 == 0 {
			plan = "pro"
		}
		rows[i] = obj("id", i+1, "username", fmt.Sprintf("user%d", i), "age", i%1000, "city", fmt.Sprintf("city%d", i%37),
			"score", (i*7919)%n, "profile", obj("plan", plan, "tags", arr("a", "b"), "verified", i%2 == 0))
	}
	if err := c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("b", "users", value.ArrayOf(rows)); return err }); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkUpdateTenth sets an unindexed column on a tenth of the rows,
// chosen by an indexed range, as the JS benchmark's workload 6a does.
func BenchmarkUpdateTenth(b *testing.B) {
	defer recycle.SetPoison(recycle.SetPoison(false)) // tests poison reused buffers, a cost the product does not pay
	c := benchTableConn(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := 100 * (i % 10)
		q := query(b, obj("where", obj("age", obj(">=", a, "<", a+100))))
		var n int
		err := c.Auto(func(tx *Tx) (err error) { n, err = tx.Update("b", "users", obj("score", -1-i), q); return err })
		if err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}
