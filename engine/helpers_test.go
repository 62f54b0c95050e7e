package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

// obj builds an object value from alternating keys and Go values.
func obj(kv ...any) value.Value {
	var m []value.Member
	for i := 0; i < len(kv); i += 2 {
		m = append(m, value.Member{Key: kv[i].(string), Value: val(kv[i+1])})
	}
	return value.ObjectOf(m...)
}

func arr(xs ...any) value.Value {
	out := make([]value.Value, len(xs))
	for i, x := range xs {
		out[i] = val(x)
	}
	return value.ArrayOf(out)
}

func val(x any) value.Value {
	switch x := x.(type) {
	case nil:
		return value.NullValue
	case value.Value:
		return x
	case bool:
		return value.BoolOf(x)
	case int:
		return value.NumberOf(float64(x))
	case float64:
		return value.NumberOf(x)
	case string:
		return value.StringOf(x)
	case []byte:
		return value.BytesOf(x)
	}
	panic("val: unsupported type")
}

// testConn opens a connection on a fresh memory filesystem and checks the
// database's integrity when the test ends.
func testConn(t testing.TB) (*Conn, fsadapter.FS) {
	t.Helper()
	fs, err := memfs.New()
	require.NoError(t, err)
	c, err := Open(fs, Options{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if c.store != nil {
			require.NoError(t, c.CheckIntegrity())
			c.Close()
		}
	})
	return c, fs
}

// usersConn returns a connection with database "shop" and the users table of
// the README.
func usersConn(t testing.TB) *Conn {
	t.Helper()
	c, _ := testConn(t)
	require.NoError(t, c.CreateDatabase("shop", false))
	spec, err := ParseTableSpec(obj(
		"columns", arr(
			obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
			obj("name", "username", "type", "string", "unique", true, "notNull", true),
			obj("name", "age", "type", "number", "default", 0),
			obj("name", "city", "type", "string"),
			obj("name", "profile", "type", "object"),
		),
		"indexes", arr(obj("columns", arr("age"))),
	))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("shop", "users", spec))
	return c
}

func insert(t testing.TB, c *Conn, table string, row value.Value) value.Value {
	t.Helper()
	var id value.Value
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		id, err = tx.Insert("shop", table, row)
		return err
	}))
	return id
}

func query(t testing.TB, q value.Value) Query {
	t.Helper()
	pq, err := ParseQuery(q)
	require.NoError(t, err)
	return pq
}

func selectRows(t testing.TB, c *Conn, table string, q value.Value) *Result {
	t.Helper()
	return selectBoth(t, c, "shop", table, q)
}

// selectBoth runs q through Select and SelectTo and requires that they
// agree: every test reading through these helpers checks the encoded path
// (what JS gets) against the decoded one.
func selectBoth(t testing.TB, c *Conn, db, table string, q value.Value) *Result {
	t.Helper()
	var res *Result
	var enc []byte
	require.NoError(t, c.Auto(func(tx *Tx) (err error) {
		if res, err = tx.Select(db, table, query(t, q)); err != nil {
			return err
		}
		enc, err = tx.SelectTo(db, table, query(t, q), []byte{0xAA})
		return err
	}))
	require.Equal(t, byte(0xAA), enc[0], "SelectTo must append to what it is given")
	got, err := value.Decode(enc[1:])
	require.NoError(t, err)
	want := make([]value.Value, len(res.Rows))
	for i, r := range res.Rows {
		want[i] = value.ObjectFrom(res.Columns, r)
	}
	require.True(t, value.Equal(value.ArrayOf(want), got), "SelectTo %s:\n got %s\nwant %s", q, got, value.ArrayOf(want))
	return res
}

// twinUsers returns two users databases for a differential test of a path
// that flag turns on: both runs fn on a with flag set and on b with it
// clear, leaving flag as it was.
func twinUsers(t testing.TB, flag *bool) (a, b *Conn, both func(fn func(c *Conn))) {
	a, b = usersConn(t), usersConn(t)
	return a, b, func(fn func(c *Conn)) {
		was := *flag
		defer func() { *flag = was }()
		*flag = true
		fn(a)
		*flag = false
		fn(b)
	}
}

// requireSameRows requires q to read the same rows from a and b.
func requireSameRows(t testing.TB, a, b *Conn, table string, q value.Value, msgAndArgs ...any) {
	t.Helper()
	ra, rb := selectRows(t, a, table, q), selectRows(t, b, table, q)
	require.Equal(t, rb.Columns, ra.Columns, msgAndArgs...)
	require.Equal(t, len(rb.Rows), len(ra.Rows), msgAndArgs...)
	for i := range ra.Rows {
		require.True(t, value.Equal(value.ArrayOf(rb.Rows[i]), value.ArrayOf(ra.Rows[i])), "row %d: %v, want %v (%v)", i, ra.Rows[i], rb.Rows[i], msgAndArgs)
	}
}

// column returns one column of a result as Go values for easy comparison.
func column(res *Result, name string) []any {
	p := -1
	for i, c := range res.Columns {
		if c == name {
			p = i
		}
	}
	out := []any{}
	for _, r := range res.Rows {
		v := r[p]
		switch v.Kind() {
		case value.Number:
			out = append(out, v.Number())
		case value.String:
			out = append(out, v.Str())
		case value.Null:
			out = append(out, nil)
		default:
			out = append(out, v.String())
		}
	}
	return out
}
