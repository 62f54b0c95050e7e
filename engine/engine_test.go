package engine

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

func seedUsers(t *testing.T, c *Conn) {
	t.Helper()
	rows := []value.Value{
		obj("username", "ann", "age", 30, "city", "Paris"),
		obj("username", "bob", "age", 17, "city", "Berlin"),
		obj("username", "cid", "age", 45, "city", "Paris"),
		obj("username", "dee", "age", 30, "city", nil),
		obj("username", "eve", "age", -2.5, "city", "Rome"),
	}
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.InsertMany("shop", "users", value.ArrayOf(rows))
		return err
	}))
}

func TestInsertReturnsAutoIncrementIDs(t *testing.T) {
	c := usersConn(t)
	id := insert(t, c, "users", obj("username", "ann"))
	assert.Equal(t, 1.0, id.Number())
	id = insert(t, c, "users", obj("username", "bob", "id", 10))
	assert.Equal(t, 10.0, id.Number())
	id = insert(t, c, "users", obj("username", "cid"))
	assert.Equal(t, 11.0, id.Number(), "generated ids follow the largest explicit id")
	res := selectRows(t, c, "users", obj("where", obj("username", "ann")))
	require.Len(t, res.Rows, 1)
	assert.Equal(t, []any{0.0}, column(res, "age"), "default applied")
}

func TestConstraintErrorsChangeNothing(t *testing.T) {
	cases := []struct {
		name string
		row  value.Value
		code Code
	}{
		{"duplicate unique", obj("username", "ann"), CodeUniqueViolation},
		{"duplicate primary key", obj("username", "zed", "id", 1), CodeUniqueViolation},
		{"null in notNull", obj("username", nil), CodeNotNullViolation},
		{"missing notNull", obj("age", 3), CodeNotNullViolation},
		{"wrong type", obj("username", "x", "age", "old"), CodeTypeMismatch},
		{"unknown column", obj("username", "x", "nope", 1), CodeNoSuchColumn},
		{"not an object", val("ann"), CodeBadValue},
		{"bytes in object column", obj("username", "x", "profile", []byte{1}), CodeTypeMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := usersConn(t)
			insert(t, c, "users", obj("username", "ann"))
			err := c.Auto(func(tx *Tx) error {
				_, err := tx.InsertMany("shop", "users", arr(obj("username", "first"), tc.row))
				return err
			})
			require.Error(t, err)
			assert.Equal(t, tc.code, CodeOf(err), err.Error())
			res := selectRows(t, c, "users", val(nil))
			assert.Equal(t, []any{"ann"}, column(res, "username"), "the failed statement left no row behind")
		})
	}
}

func TestUniqueViolationMessageNamesTableColumnAndValue(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann"))
	err := c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("shop", "users", obj("username", "ann"))
		return err
	})
	require.ErrorIs(t, err, ErrUniqueViolation)
	assert.Equal(t, `unique violation on users.username: "ann"`, err.Error())
}

func TestSelectOperators(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	cases := []struct {
		where value.Value
		want  []any
	}{
		{obj("age", 30), []any{"ann", "dee"}},
		{obj("age", obj(">=", 30)), []any{"ann", "cid", "dee"}},
		{obj("age", obj(">", 17, "<", 45)), []any{"ann", "dee"}},
		{obj("age", obj("<", 0)), []any{"eve"}},
		{obj("age", obj("<=", 17)), []any{"bob", "eve"}},
		{obj("age", obj("!=", 30)), []any{"bob", "cid", "eve"}},
		{obj("age", obj("in", arr(17, 45))), []any{"bob", "cid"}},
		{obj("age", obj("notIn", arr(17, 45))), []any{"ann", "dee", "eve"}},
		{obj("age", obj("between", arr(17, 30))), []any{"ann", "bob", "dee"}},
		{obj("username", obj("like", "%E")), []any{"dee", "eve"}}, // ASCII case-insensitive, as in SQLite
		{obj("username", obj("like", "_o_")), []any{"bob"}},
		{obj("username", obj("startsWith", "c")), []any{"cid"}},
		{obj("city", nil), []any{"dee"}},
		{obj("city", obj("isNull", true)), []any{"dee"}},
		{obj("city", obj("isNotNull", true)), []any{"ann", "bob", "cid", "eve"}},
		{obj("city", "Paris", "age", obj(">", 40)), []any{"cid"}},
		{obj("$or", arr(obj("city", "Rome"), obj("age", 17))), []any{"bob", "eve"}},
		{arr(obj("name", "age", "type", ">=", "value", 30), obj("name", "city", "value", "Paris")), []any{"ann", "cid"}},
		{obj("username", obj("in", arr())), []any{}},
	}
	for _, tc := range cases {
		t.Run(tc.where.String(), func(t *testing.T) {
			res := selectRows(t, c, "users", obj("where", tc.where, "orderBy", "username"))
			assert.Equal(t, tc.want, column(res, "username"))
			var n int
			require.NoError(t, c.Auto(func(tx *Tx) (err error) {
				n, err = tx.Count("shop", "users", query(t, obj("where", tc.where)))
				return err
			}))
			assert.Equal(t, len(tc.want), n)
		})
	}
}

func TestOrderLimitOffset(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	cases := []struct {
		q    value.Value
		want []any
	}{
		// Ties on an indexed order come in primary key order (reversed for desc).
		{obj("orderBy", arr(obj("name", "age", "type", "desc")), "limit", 2), []any{"cid", "dee"}},
		{obj("orderBy", arr(obj("name", "age", "type", "desc"), obj("name", "username", "type", "desc")), "limit", 3), []any{"cid", "dee", "ann"}},
		{obj("orderBy", "age", "limit", obj("start", 1, "count", 2)), []any{"bob", "ann"}},
		{obj("orderBy", obj("city", "asc", "username", "desc"), "limit", 3), []any{"dee", "bob", "cid"}},
		{obj("orderBy", "username", "offset", 4), []any{"eve"}},
		{obj("orderBy", "username", "offset", 9), []any{}},
		{obj("orderBy", "username", "limit", 0), []any{}},
	}
	for _, tc := range cases {
		t.Run(tc.q.String(), func(t *testing.T) {
			res := selectRows(t, c, "users", tc.q)
			assert.Equal(t, tc.want, column(res, "username"))
		})
	}
}

// updateGolden rewrites the golden files of this package's tests from what
// the code does now: go test ./engine -run Planner -update, then review the
// diff like code.
var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestPlannerChoices checks the plan of each query against
// testdata/plans.golden: a change of plan shows as a diff of that file.
func TestPlannerChoices(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	queries := []value.Value{
		obj("where", obj("id", 3)),
		obj("where", obj("username", "ann")),
		obj("where", obj("age", 30)),
		obj("where", obj("age", obj(">=", 18))),
		obj("where", obj("age", obj(">=", 18)), "orderBy", arr(obj("name", "age", "type", "desc"))),
		obj("where", obj("age", obj(">=", 18)), "orderBy", "username"),
		obj("where", obj("age", obj(">=", 18, "<", 30)), "orderBy", "age", "limit", 10),
		obj("where", obj("city", "Paris")),
		obj("where", obj("city", "Paris", "age", obj(">", 40))),
		obj("orderBy", "age", "limit", 3),
		obj("orderBy", arr(obj("name", "id", "type", "desc"))),
		obj("orderBy", "city"),
		obj("orderBy", "city", "limit", 5),
		obj("where", obj("id", obj("in", arr(1, 2)))),
		obj("where", obj("id", obj(">", 2))),
		obj("where", obj("$or", arr(obj("age", 1), obj("age", 2)))),
		obj("where", obj("username", obj("startsWith", "a"))),
		obj("where", obj("username", obj("like", "%n%"))),
	}
	var got strings.Builder
	for _, q := range queries {
		var p value.Value
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			p, err = tx.Explain("shop", "users", query(t, q))
			return err
		}), "%s", q)
		fmt.Fprintf(&got, "query: %s\nplan:  %s\n\n", goldenJSON(t, q), goldenJSON(t, p))
	}
	const file = "testdata/plans.golden"
	if *updateGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(file, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run go test ./engine -run Planner -update to create it")
	assert.Equal(t, string(want), got.String(), "plans changed: review, then go test ./engine -run Planner -update")
}

// goldenJSON renders v as JSON with keys sorted, for golden files.
func goldenJSON(t *testing.T, v value.Value) string {
	var conv func(v value.Value) any
	conv = func(v value.Value) any {
		switch v.Kind() {
		case value.Null:
			return nil
		case value.Bool:
			return v.Bool()
		case value.Number:
			return v.Number()
		case value.String:
			return v.Str()
		case value.Array:
			out := []any{}
			for _, x := range v.Items() {
				out = append(out, conv(x))
			}
			return out
		case value.Object:
			out := map[string]any{}
			for _, k := range v.Keys() {
				x, _ := v.Get(k)
				out[k] = conv(x)
			}
			return out
		}
		return v.String()
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(conv(v)))
	return strings.TrimSuffix(b.String(), "\n")
}

func TestIndexAndScanAgree(t *testing.T) {
	// The same question asked through an index and through a scan (a
	// condition wrapped in $or defeats the planner) must get the same rows.
	c := usersConn(t)
	require.NoError(t, c.Auto(func(tx *Tx) error {
		for i := 0; i < 300; i++ {
			age := value.NumberOf(float64((i*37)%90) - 10.5)
			if i%17 == 0 {
				age = value.NullValue
			}
			if _, err := tx.Insert("shop", "users", obj("username", fmt.Sprintf("u%03d", i), "age", age)); err != nil {
				return err
			}
		}
		return nil
	}))
	conds := []value.Value{
		obj(">=", 20), obj(">", 20), obj("<", 5), obj("<=", 5.5), obj("between", arr(-10.5, 0)),
		obj(">", 20, "<=", 60), obj("in", arr(1.5, 26.5, 79.5)), val(26.5),
	}
	for _, cond := range conds {
		indexed := selectRows(t, c, "users", obj("where", obj("age", cond), "orderBy", "id"))
		scanned := selectRows(t, c, "users", obj("where", obj("$or", arr(obj("age", cond))), "orderBy", "id"))
		assert.Equal(t, column(scanned, "id"), column(indexed, "id"), cond.String())
	}
}

func TestUpdateDeleteUpsert(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	var n int
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		n, err = tx.Update("shop", "users", obj("age", 31), query(t, obj("where", obj("username", "ann"))))
		return err
	}))
	assert.Equal(t, 1, n)
	// Old shapes: update([{name, value}], [{name, type, value}]).
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		n, err = tx.Update("shop", "users", arr(obj("name", "city", "value", "Oslo")),
			query(t, arr(obj("name", "age", "type", ">", "value", 30))))
		return err
	}))
	assert.Equal(t, 2, n)
	res := selectRows(t, c, "users", obj("where", obj("city", "Oslo"), "orderBy", "username"))
	assert.Equal(t, []any{"ann", "cid"}, column(res, "username"))
	// The index follows updates.
	res = selectRows(t, c, "users", obj("where", obj("age", 31)))
	assert.Equal(t, []any{"ann"}, column(res, "username"))
	res = selectRows(t, c, "users", obj("where", obj("age", 30)))
	assert.Equal(t, []any{"dee"}, column(res, "username"))

	// An update that would duplicate a unique value changes nothing.
	err := c.Auto(func(tx *Tx) error {
		_, err := tx.Update("shop", "users", obj("username", "zed"), query(t, obj("where", obj("age", obj(">", 0)))))
		return err
	})
	require.ErrorIs(t, err, ErrUniqueViolation)
	assert.Empty(t, column(selectRows(t, c, "users", obj("where", obj("username", "zed"))), "username"))

	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		n, err = tx.Delete("shop", "users", query(t, obj("where", obj("age", obj("<", 18)))))
		return err
	}))
	assert.Equal(t, 2, n)
	assert.Equal(t, []any{"ann", "cid", "dee"}, column(selectRows(t, c, "users", obj("orderBy", "username")), "username"))

	var id value.Value
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		id, err = tx.Upsert("shop", "users", obj("id", 1, "age", 99))
		return err
	}))
	assert.Equal(t, 1.0, id.Number())
	res = selectRows(t, c, "users", obj("where", obj("id", 1)))
	assert.Equal(t, []any{"ann"}, column(res, "username"), "upsert keeps the columns it does not name")
	assert.Equal(t, []any{99.0}, column(res, "age"))
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		id, err = tx.Upsert("shop", "users", obj("id", 50, "username", "new"))
		return err
	}))
	assert.Equal(t, 50.0, id.Number())
}

func TestTransactions(t *testing.T) {
	c := usersConn(t)
	tx, err := c.Begin()
	require.NoError(t, err)
	_, err = tx.Insert("shop", "users", obj("username", "ann"))
	require.NoError(t, err)
	// Reads inside see their own writes; others see committed data only.
	res, err := tx.Select("shop", "users", Query{Limit: -1})
	require.NoError(t, err)
	assert.Len(t, res.Rows, 1)
	assert.Empty(t, selectRows(t, c, "users", val(nil)).Rows)
	// A failed statement inside a transaction leaves the earlier ones.
	_, err = tx.Insert("shop", "users", obj("username", "ann"))
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.NoError(t, tx.Commit())
	assert.Len(t, selectRows(t, c, "users", val(nil)).Rows, 1)
	require.ErrorIs(t, tx.Commit(), ErrTxClosed)
	_, err = tx.Insert("shop", "users", obj("username", "bob"))
	require.ErrorIs(t, err, ErrTxClosed)

	tx, err = c.Begin()
	require.NoError(t, err)
	_, err = tx.Insert("shop", "users", obj("username", "bob"))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	assert.Len(t, selectRows(t, c, "users", val(nil)).Rows, 1)
	require.ErrorIs(t, tx.Rollback(), ErrTxClosed)
}

func TestSnapshotIsolationAndConflicts(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann", "age", 1))
	a, err := c.Begin()
	require.NoError(t, err)
	b, err := c.Begin()
	require.NoError(t, err)
	_, err = a.Update("shop", "users", obj("age", 2), query(t, obj("where", obj("username", "ann"))))
	require.NoError(t, err)
	_, err = b.Update("shop", "users", obj("age", 3), query(t, obj("where", obj("username", "ann"))))
	require.NoError(t, err)
	insert(t, c, "users", obj("username", "bob"))
	// b began before bob was committed and does not see him.
	res, err := b.Select("shop", "users", Query{Limit: -1})
	require.NoError(t, err)
	assert.Len(t, res.Rows, 1)
	require.NoError(t, a.Commit())
	require.ErrorIs(t, b.Commit(), ErrTxConflict, "first committer wins")
	assert.Equal(t, []any{2.0}, column(selectRows(t, c, "users", obj("where", obj("username", "ann"))), "age"))

	// Two transactions inserting the same unique value: the second conflicts.
	a, _ = c.Begin()
	b, _ = c.Begin()
	_, err = a.Insert("shop", "users", obj("username", "cid"))
	require.NoError(t, err)
	_, err = b.Insert("shop", "users", obj("username", "cid"))
	require.NoError(t, err)
	require.NoError(t, a.Commit())
	require.ErrorIs(t, b.Commit(), ErrTxConflict)
	// Disjoint writes both commit.
	a, _ = c.Begin()
	b, _ = c.Begin()
	_, err = a.Insert("shop", "users", obj("username", "x1"))
	require.NoError(t, err)
	_, err = b.Insert("shop", "users", obj("username", "x2"))
	require.NoError(t, err)
	require.NoError(t, a.Commit())
	require.NoError(t, b.Commit())
	assert.Len(t, selectRows(t, c, "users", val(nil)).Rows, 5)
}

func TestPersistenceAcrossReopen(t *testing.T) {
	c, fs := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true, "increment", true),
		obj("name", "name", "type", "string", "uni", true))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "t", spec))
	for i := 0; i < 50; i++ {
		insert(t, c, "t", obj("name", fmt.Sprintf("n%d", i)))
	}
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Delete("shop", "t", query(t, obj("where", obj("id", obj(">", 45)))))
		return err
	}))
	require.NoError(t, c.Close())

	c2, err := Open(fs, Options{})
	require.NoError(t, err)
	defer c2.Close()
	require.NoError(t, c2.CheckIntegrity())
	dbs, _ := c2.Databases()
	assert.Equal(t, []string{"shop"}, dbs)
	id := insert(t, c2, "t", obj("name", "after"))
	assert.Equal(t, 51.0, id.Number(), "autoIncrement never reuses an id, also after restart")
	var n int
	require.NoError(t, c2.Auto(func(tx *Tx) (err error) { n, err = tx.Count("shop", "t", Query{Limit: -1}); return err }))
	assert.Equal(t, 46, n)
}

func TestSchemaChanges(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	col, err := ParseColumn(obj("name", "score", "type", "number", "default", 5))
	require.NoError(t, err)
	require.NoError(t, c.AddColumn("shop", "users", col))
	assert.Equal(t, []any{5.0, 5.0, 5.0, 5.0, 5.0}, column(selectRows(t, c, "users", val(nil)), "score"))

	ch, err := ParseColumnChange(obj("name", "points", "type", "string"))
	require.NoError(t, err)
	require.NoError(t, c.ModifyColumn("shop", "users", "score", ch))
	assert.Equal(t, []any{"5", "5", "5", "5", "5"}, column(selectRows(t, c, "users", val(nil)), "points"))

	// A retype that cannot convert every row fails and changes nothing.
	ch, _ = ParseColumnChange(obj("type", "number"))
	require.NoError(t, c.ModifyColumn("shop", "users", "points", ch))
	ch, _ = ParseColumnChange(obj("type", "boolean"))
	err = c.ModifyColumn("shop", "users", "city", ch)
	require.ErrorIs(t, err, ErrTypeMismatch)
	assert.Equal(t, "Paris", column(selectRows(t, c, "users", obj("where", obj("username", "ann"))), "city")[0])

	name, err := c.CreateIndex("shop", "users", IndexSpec{Columns: []string{"city", "age"}})
	require.NoError(t, err)
	assert.Equal(t, "idx_city_age", name)
	var p value.Value
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		p, err = tx.Explain("shop", "users", query(t, obj("where", obj("city", "Paris", "age", obj(">", 40)))))
		return err
	}))
	got, _ := p.Get("index")
	assert.Equal(t, "idx_city_age", got.Str())
	assert.Equal(t, []any{"cid"}, column(selectRows(t, c, "users", obj("where", obj("city", "Paris", "age", obj(">", 40)))), "username"))

	_, err = c.CreateIndex("shop", "users", IndexSpec{Columns: []string{"city"}, Unique: true})
	require.ErrorIs(t, err, ErrUniqueViolation, "Paris appears twice")
	require.NoError(t, c.DropIndex("shop", "users", "idx_city_age"))
	require.ErrorIs(t, c.DropIndex("shop", "users", "idx_city_age"), ErrNoSuchIndex)
	require.NoError(t, c.DropColumn("shop", "users", "city"))
	_, err = c.CreateIndex("shop", "users", IndexSpec{Columns: []string{"city"}})
	require.ErrorIs(t, err, ErrNoSuchColumn)
	require.ErrorIs(t, c.DropColumn("shop", "users", "id"), ErrBadQuery)
	desc, err := c.DescribeTable("shop", "users")
	require.NoError(t, err)
	assert.NotContains(t, desc.String(), "city")
	require.NoError(t, c.DropTable("shop", "users", false))
	require.ErrorIs(t, c.DropTable("shop", "users", false), ErrNoSuchTable)
	require.NoError(t, c.DropTable("shop", "users", true))
}

func TestBadQueries(t *testing.T) {
	c := usersConn(t)
	cases := []struct {
		q    value.Value
		code Code
	}{
		{obj("where", obj("age", obj("~", 1))), CodeBadQuery},
		{obj("where", obj("nope", 1)), CodeNoSuchColumn},
		{obj("where", obj("age", "x")), CodeTypeMismatch},
		{obj("where", obj("age", obj("in", 3))), CodeBadQuery},
		{obj("where", obj("$nor", arr())), CodeBadQuery},
		{obj("where", val(3)), CodeBadQuery},
		{obj("limit", -1), CodeBadQuery},
		{obj("limit", 1.5), CodeBadQuery},
		{obj("orderBy", arr(obj("name", "age", "type", "up"))), CodeBadQuery},
		{obj("orderBy", "nope"), CodeNoSuchColumn},
		{obj("wher", obj()), CodeBadQuery},
		{obj("where", obj("__proto__", obj("polluted", true))), CodeBadQuery},
		{obj("where", obj("__proto__", 1)), CodeNoSuchColumn},
		{obj("where", obj("username", obj("like", 3))), CodeBadQuery},
	}
	for _, tc := range cases {
		t.Run(tc.q.String(), func(t *testing.T) {
			err := c.Auto(func(tx *Tx) error {
				q, err := ParseQuery(tc.q)
				if err != nil {
					return err
				}
				_, err = tx.Select("shop", "users", q)
				return err
			})
			require.Error(t, err)
			assert.Equal(t, tc.code, CodeOf(err), err.Error())
		})
	}
}

func TestBadSchemas(t *testing.T) {
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	cases := []struct {
		spec value.Value
		code Code
	}{
		{obj("columns", arr()), CodeBadQuery},
		{obj("columns", arr(obj("name", "a", "type", "nope"))), CodeBadQuery},
		{obj("columns", arr(obj("name", "a", "primarykey", true))), CodeBadQuery},
		{obj("columns", arr(obj("name", "a"), obj("name", "a"))), CodeAlreadyExists},
		{obj("columns", arr(obj("name", "a", "type", "string", "autoIncrement", true))), CodeBadQuery},
		{obj("columns", arr(obj("name", "a", "type", "object", "primaryKey", true))), CodeBadQuery},
		{obj("columns", arr(obj("name", "__proto__"))), CodeBadQuery},
		{obj("columns", arr(obj("name", ""))), CodeBadQuery},
		{obj("columns", arr(obj("name", "a", "type", "number", "default", "x"))), CodeTypeMismatch},
		{obj("columns", arr(obj("name", "a")), "indexes", arr(obj("columns", arr("b")))), CodeNoSuchColumn},
	}
	for _, tc := range cases {
		t.Run(tc.spec.String(), func(t *testing.T) {
			spec, err := ParseTableSpec(tc.spec)
			if err == nil {
				err = c.CreateTable("shop", "t", spec)
			}
			require.Error(t, err)
			assert.Equal(t, tc.code, CodeOf(err), err.Error())
			tables, _ := c.Tables("shop")
			assert.Empty(t, tables)
		})
	}
	require.ErrorIs(t, c.CreateDatabase("shop", false), ErrAlreadyExists)
	require.NoError(t, c.CreateDatabase("shop", true))
	spec, _ := ParseTableSpec(obj("columns", arr(obj("name", "a"))))
	require.ErrorIs(t, c.CreateTable("nope", "t", spec), ErrNoSuchDatabase)
}

func TestCompoundPrimaryKeyAndHiddenRowID(t *testing.T) {
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "a", "type", "string"), obj("name", "b", "type", "number"), obj("name", "v")),
		"primaryKey", arr("a", "b")))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "pairs", spec))
	id := insert(t, c, "pairs", obj("a", "x", "b", 2, "v", "first"))
	assert.Equal(t, `{"a":"x","b":2}`, id.String())
	var row value.Value
	require.NoError(t, c.Auto(func(tx *Tx) (err error) { row, err = tx.Get("shop", "pairs", obj("a", "x", "b", 2)); return err }))
	v, _ := row.Get("v")
	assert.Equal(t, "first", v.Str())
	err = c.Auto(func(tx *Tx) error { _, err := tx.Insert("shop", "pairs", obj("a", "x", "b", 2)); return err })
	require.ErrorIs(t, err, ErrUniqueViolation)

	spec, _ = ParseTableSpec(obj("columns", arr(obj("name", "note", "type", "string"))))
	require.NoError(t, c.CreateTable("shop", "notes", spec))
	assert.Equal(t, 1.0, insert(t, c, "notes", obj("note", "a")).Number())
	assert.Equal(t, 2.0, insert(t, c, "notes", obj("note", "a")).Number())
	require.NoError(t, c.Auto(func(tx *Tx) (err error) { row, err = tx.Get("shop", "notes", val(2)); return err }))
	assert.Equal(t, `{"note":"a"}`, row.String())
}

func TestSizeLimits(t *testing.T) {
	c := usersConn(t)
	huge := strings.Repeat("x", maxKeySize+1)
	err := c.Auto(func(tx *Tx) error { _, err := tx.Insert("shop", "users", obj("username", huge)); return err })
	require.ErrorIs(t, err, ErrTooLarge)
	big := strings.Repeat("y", maxRowSize)
	err = c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("shop", "users", obj("username", "a", "profile", big))
		return err
	})
	require.ErrorIs(t, err, ErrTooLarge)
	ok := strings.Repeat("z", 2<<20)
	insert(t, c, "users", obj("username", "b", "profile", ok))
}

func TestClosedConnection(t *testing.T) {
	c := usersConn(t)
	tx, err := c.Begin()
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.Close(), ErrClosed)
	err = c.Auto(func(tx *Tx) error { return nil })
	require.ErrorIs(t, err, ErrClosed)
	_, err = tx.Insert("shop", "users", obj("username", "a"))
	require.True(t, errors.Is(err, ErrTxClosed) || errors.Is(err, ErrClosed))
	_, err = c.Databases()
	require.ErrorIs(t, err, ErrClosed)
}

func TestSelectEqMatchesSelect(t *testing.T) {
	c := usersConn(t)
	seedUsers(t, c)
	cases := []struct {
		col string
		v   value.Value
	}{
		{"id", val(3)}, {"id", val(99)}, {"username", val("bob")}, {"username", val("nobody")},
		{"age", val(30)}, {"city", val(nil)}, {"city", val("Paris")},
	}
	for _, tc := range cases {
		var fast, slow *Result
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			if fast, err = tx.SelectEq("shop", "users", tc.col, tc.v); err != nil {
				return err
			}
			q, err := EqualityQuery(tc.col, tc.v)
			if err != nil {
				return err
			}
			slow, err = tx.Select("shop", "users", q)
			return err
		}))
		assert.Equal(t, column(slow, "username"), column(fast, "username"), "%s = %s", tc.col, tc.v)
	}
	err := c.Auto(func(tx *Tx) error { _, err := tx.SelectEq("shop", "users", "username", val(3)); return err })
	require.ErrorIs(t, err, ErrTypeMismatch)
	err = c.Auto(func(tx *Tx) error { _, err := tx.SelectEq("shop", "users", "nope", val(3)); return err })
	require.ErrorIs(t, err, ErrNoSuchColumn)
}

func TestSystemDatabase(t *testing.T) {
	c, _ := testConn(t)
	require.ErrorIs(t, c.CreateDatabase("__storage", false), ErrBadQuery, "users cannot take system names")
	name, err := c.EnsureSystemDatabase("storage")
	require.NoError(t, err)
	assert.Equal(t, "__storage", name)
	_, err = c.EnsureSystemDatabase("storage")
	require.NoError(t, err, "idempotent")
	spec, err := ParseTableSpec(obj("columns", arr(obj("name", "k", "type", "string", "primaryKey", true))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable(name, "items", spec))
	insert := func() error {
		return c.Auto(func(tx *Tx) error { _, err := tx.Insert(name, "items", obj("k", "a")); return err })
	}
	require.NoError(t, insert())
	dbs, err := c.Databases()
	require.NoError(t, err)
	assert.Empty(t, dbs, "system databases are not listed")
}

func TestInsertEncodedMatchesInsertMany(t *testing.T) {
	rows := arr(obj("username", "ann", "age", 3, "profile", obj("a", arr(1, "x"))), obj("username", "bob", "city", nil))
	a, b := usersConn(t), usersConn(t)
	require.NoError(t, a.Auto(func(tx *Tx) error { _, err := tx.InsertMany("shop", "users", rows); return err }))
	d := value.NewDecoder(value.Encode(rows))
	n, err := d.ArrayHeader()
	require.NoError(t, err)
	require.NoError(t, b.Auto(func(tx *Tx) error { _, err := tx.InsertEncoded("shop", "users", d, n); return err }))
	assert.Equal(t, selectRows(t, a, "users", val(nil)).Rows, selectRows(t, b, "users", val(nil)).Rows)

	bad := []struct {
		rows value.Value
		code Code
	}{
		{arr(obj("username", "x", "nope", 1)), CodeNoSuchColumn},
		{arr(obj("username", 5)), CodeTypeMismatch},
		{arr(val("x")), CodeBadValue},
		{arr(obj("username", "x"), obj("username", "x")), CodeUniqueViolation},
	}
	for _, tc := range bad {
		d := value.NewDecoder(value.Encode(tc.rows))
		n, err := d.ArrayHeader()
		require.NoError(t, err)
		err = b.Auto(func(tx *Tx) error { _, err := tx.InsertEncoded("shop", "users", d, n); return err })
		assert.Equal(t, tc.code, CodeOf(err), "%s: %v", tc.rows, err)
	}
	enc := value.Encode(arr(obj("username", "y")))
	d = value.NewDecoder(append(enc[:len(enc):len(enc)], 0x00))
	n, _ = d.ArrayHeader()
	err = b.Auto(func(tx *Tx) error { _, err := tx.InsertEncoded("shop", "users", d, n); return err })
	require.ErrorIs(t, err, ErrBadValue, "trailing bytes")
	assert.Len(t, selectRows(t, b, "users", val(nil)).Rows, 2, "failed bulk inserts left nothing")
}

func TestAutoIncrementAfterReopenAndUpdate(t *testing.T) {
	// Regression (found by TestModel): an update as the first write after a
	// reopen compared ids with a high-water mark not yet loaded (zero),
	// lowered it, and the next insert overwrote an existing row.
	c, fs := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
		obj("name", "n", "type", "number"))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "t", spec))
	for i := 0; i < 5; i++ {
		insert(t, c, "t", obj("n", i))
	}
	require.NoError(t, c.Close())
	c, err = Open(fs, Options{})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Update("shop", "t", obj("n", 99), query(t, obj("where", obj("id", 2))))
		return err
	}))
	assert.Equal(t, 6.0, insert(t, c, "t", obj("n", 6)).Number())
	var n int
	require.NoError(t, c.Auto(func(tx *Tx) (err error) { n, err = tx.Count("shop", "t", Query{Limit: -1}); return err }))
	assert.Equal(t, 6, n)
}

// An update or a delete reads the old rows without decoding their objects
// (they stay their stored encoding): the columns it does not set come back
// intact, setting an object to what it holds is no change, setting it to
// something else is, and ordered and limited statements pick the same rows
// as a select would.
func TestUpdateDeleteKeepStoredValues(t *testing.T) {
	c := usersConn(t)
	prof := func(i int) value.Value { return obj("plan", "pro", "tags", arr("a", i), "n", obj("x", i)) }
	for i := range 20 {
		insert(t, c, "users", obj("username", fmt.Sprintf("u%02d", i), "age", i%4, "city", "c", "profile", prof(i)))
	}
	update := func(set, q value.Value) int {
		t.Helper()
		var n int
		require.NoError(t, c.Auto(func(tx *Tx) (err error) {
			n, err = tx.Update("shop", "users", set, query(t, q))
			return err
		}))
		return n
	}
	tests := []struct {
		name string
		set  value.Value
		q    value.Value
		want int
	}{
		{"an unset object survives", obj("city", "d"), obj("where", obj("age", 1)), 5},
		{"the same object is no change", obj("profile", prof(3)), obj("where", obj("username", "u03")), 0},
		{"another object is a change", obj("profile", obj("plan", "free")), obj("where", obj("username", "u04")), 1},
		{"orderBy and limit pick the top rows", obj("city", "top"), obj("orderBy", obj("name", "username", "type", "desc"), "limit", 3), 3},
		{"offset past the rows", obj("city", "x"), obj("orderBy", "username", "offset", 50), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, update(tc.set, tc.q)) })
	}
	res := selectRows(t, c, "users", obj("orderBy", "username"))
	for i, r := range res.Rows {
		got := value.ObjectFrom(res.Columns, r)
		want := prof(i)
		if i == 4 {
			want = obj("plan", "free")
		}
		p, _ := got.Get("profile")
		assert.True(t, value.Equal(want, p), "row %d profile: %s", i, p)
	}
	assert.Equal(t, []any{"u17", "u18", "u19"}, column(selectRows(t, c, "users", obj("where", obj("city", "top"), "orderBy", "username")), "username"))
	assert.Len(t, selectRows(t, c, "users", obj("where", obj("city", "d"))).Rows, 4, "u17 was age 1 and then top")

	var n int
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		n, err = tx.Delete("shop", "users", query(t, obj("where", obj("age", obj("<", 2)), "orderBy", "username", "limit", 6)))
		return err
	}))
	assert.Equal(t, 6, n)
	assert.Equal(t, 14, len(selectRows(t, c, "users", val(nil)).Rows))
	// The age index lost exactly the deleted rows' entries (CheckIntegrity
	// at cleanup checks every index against the rows).
	assert.Equal(t, 4, len(selectRows(t, c, "users", obj("where", obj("age", obj("<", 2)))).Rows))
}

// A statement that fails inside a transaction, after writing rows, index
// entries and rewrites of keys the transaction wrote before, leaves the
// transaction exactly as it was: its reads, every index, and what commits.
func TestFailedStatementsRollBackToTheirSavepoint(t *testing.T) {
	c := usersConn(t)
	tx, err := c.Begin()
	require.NoError(t, err)
	for i := range 100 {
		_, err := tx.Insert("shop", "users", obj("username", fmt.Sprintf("u%04d", i), "age", i%10, "city", "c"))
		require.NoError(t, err)
	}
	snapshot := func() string {
		res, err := tx.Select("shop", "users", query(t, obj("orderBy", "username")))
		require.NoError(t, err)
		return value.ArrayOf(func() []value.Value {
			out := make([]value.Value, len(res.Rows))
			for i, r := range res.Rows {
				out[i] = value.ObjectFrom(res.Columns, r)
			}
			return out
		}()).String() + fmt.Sprint(len(res.Rows))
	}
	before := snapshot()
	// A bulk insert of 5,000 rows (20,000 writes: past a page of the write
	// list) whose last row repeats a unique value.
	rows := make([]value.Value, 5000)
	for i := range rows {
		rows[i] = obj("username", fmt.Sprintf("n%05d", i), "age", 3)
	}
	rows[len(rows)-1] = obj("username", "u0042")
	_, err = tx.InsertMany("shop", "users", value.ArrayOf(rows))
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.Equal(t, before, snapshot())
	// An update that rewrites rows (and their index entries) the
	// transaction inserted, then collides on the unique column.
	_, err = tx.Update("shop", "users", obj("username", "same"), query(t, obj("where", obj("age", obj("<", 5)))))
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.Equal(t, before, snapshot())
	// A delete that succeeds, then an update that fails after it.
	n, err := tx.Delete("shop", "users", query(t, obj("where", obj("age", 9))))
	require.NoError(t, err)
	require.Equal(t, 10, n)
	afterDelete := snapshot()
	_, err = tx.Update("shop", "users", obj("username", "same"), query(t, obj("where", obj("age", 1))))
	require.ErrorIs(t, err, ErrUniqueViolation)
	require.Equal(t, afterDelete, snapshot())
	for _, tc := range []struct {
		q    value.Value
		want int
	}{
		{obj("where", obj("age", 3)), 10},
		{obj("where", obj("username", "u0042")), 1},
		{obj("where", obj("username", "n00001")), 0},
		{obj("where", obj("username", "same")), 0},
	} {
		res, err := tx.Select("shop", "users", query(t, tc.q))
		require.NoError(t, err)
		require.Len(t, res.Rows, tc.want, "%s inside the transaction", tc.q)
	}
	require.NoError(t, tx.Commit())
	require.Len(t, selectRows(t, c, "users", val(nil)).Rows, 90)
	require.Len(t, selectRows(t, c, "users", obj("where", obj("age", 3))).Rows, 10)
	require.Empty(t, selectRows(t, c, "users", obj("where", obj("username", "same"))).Rows)
	// CheckIntegrity at cleanup checks every index entry against the rows.
}
