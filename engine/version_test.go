package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/memfs"
)

func mustSpec(t testing.TB, v value.Value) TableSpec {
	t.Helper()
	s, err := ParseTableSpec(v)
	require.NoError(t, err)
	return s
}

func requireCode(t testing.TB, err error, code Code) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, CodeOf(err), err.Error())
}

// A schema change, a data rewrite and the version commit together: nothing
// is visible before Commit, everything after, and Rollback leaves no trace.
func TestSchemaChangeInTransaction(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprint("commit=", commit), func(t *testing.T) {
			c := usersConn(t)
			insert(t, c, "users", obj("username", "ann", "age", 30))
			tx, err := c.Begin()
			require.NoError(t, err)
			s := tx.Schema()
			require.NoError(t, s.CreateTable("shop", "orders", mustSpec(t, obj("columns", arr(
				obj("name", "id", "type", "number", "primaryKey", true), obj("name", "user", "type", "string"))))))
			_, err = tx.Insert("shop", "orders", obj("id", 1, "user", "ann"))
			require.NoError(t, err)
			require.NoError(t, s.AddColumn("shop", "users", Column{Name: "email", Type: TypeString}))
			_, err = tx.Update("shop", "users", obj("email", "ann@x"), Query{Limit: -1})
			require.NoError(t, err)
			require.NoError(t, s.ModifyColumn("shop", "users", "age", ColumnChange{Type: ptr(TypeString)}))
			require.NoError(t, tx.SetSchemaVersion(2))
			v, err := tx.SchemaVersion()
			require.NoError(t, err)
			require.Equal(t, uint64(2), v)
			names, err := s.Tables("shop")
			require.NoError(t, err)
			require.Equal(t, []string{"orders", "users"}, names)

			// Outside the transaction nothing has happened yet.
			v, err = c.SchemaVersion()
			require.NoError(t, err)
			require.Zero(t, v)
			names, err = c.Tables("shop")
			require.NoError(t, err)
			require.Equal(t, []string{"users"}, names)
			require.Equal(t, []any{30.0}, column(selectRows(t, c, "users", obj()), "age"))

			if commit {
				require.NoError(t, tx.Commit())
			} else {
				require.NoError(t, tx.Rollback())
			}
			v, err = c.SchemaVersion()
			require.NoError(t, err)
			names, err = c.Tables("shop")
			require.NoError(t, err)
			if !commit {
				require.Zero(t, v)
				require.Equal(t, []string{"users"}, names)
				require.Equal(t, []any{30.0}, column(selectRows(t, c, "users", obj()), "age"))
				return
			}
			require.Equal(t, uint64(2), v)
			require.Equal(t, []string{"orders", "users"}, names)
			res := selectRows(t, c, "users", obj())
			require.Equal(t, []any{"30"}, column(res, "age"))
			require.Equal(t, []any{"ann@x"}, column(res, "email"))
			require.Equal(t, []any{"ann"}, column(selectRows(t, c, "orders", obj()), "user"))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A failed schema statement inside a transaction leaves the transaction as
// it was; the transaction can go on and commit.
func TestSchemaStatementFailsAlone(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann"))
	insert(t, c, "users", obj("username", "bob"))
	tx, err := c.Begin()
	require.NoError(t, err)
	s := tx.Schema()
	require.NoError(t, s.AddColumn("shop", "users", Column{Name: "n", Type: TypeNumber, HasDefault: true, Default: value.NumberOf(1)}))
	// Both rows read 1: a unique constraint on n fails and must leave no trace.
	requireCode(t, s.ModifyColumn("shop", "users", "n", ColumnChange{Unique: ptr(true)}), CodeUniqueViolation)
	d, err := s.DescribeTable("shop", "users")
	require.NoError(t, err)
	require.NotContains(t, d.String(), "n_unique")
	require.NoError(t, tx.SetSchemaVersion(1))
	require.NoError(t, tx.Commit())
	require.NoError(t, c.CheckIntegrity())
	require.Equal(t, []any{1.0, 1.0}, column(selectRows(t, c, "users", obj()), "n"))
}

// Schema changes in a transaction conflict with anything that changed the
// catalog, or wrote a table they rewrite, after it began.
func TestSchemaTransactionConflicts(t *testing.T) {
	t.Run("autocommit write to an altered table", func(t *testing.T) {
		c := usersConn(t)
		tx, err := c.Begin()
		require.NoError(t, err)
		require.NoError(t, tx.Schema().ModifyColumn("shop", "users", "age", ColumnChange{Type: ptr(TypeString)}))
		insert(t, c, "users", obj("username", "late", "age", 5))
		requireCode(t, tx.Commit(), CodeTxConflict)
		require.NoError(t, c.CheckIntegrity())
	})
	t.Run("write to another table is fine", func(t *testing.T) {
		c := usersConn(t)
		require.NoError(t, c.CreateTable("shop", "other", mustSpec(t, obj("columns", arr(obj("name", "k", "type", "string", "primaryKey", true))))))
		tx, err := c.Begin()
		require.NoError(t, err)
		require.NoError(t, tx.Schema().AddColumn("shop", "users", Column{Name: "x", Type: TypeString}))
		insert(t, c, "other", obj("k", "a"))
		require.NoError(t, tx.Commit())
	})
	t.Run("two migrations at once", func(t *testing.T) {
		c := usersConn(t)
		a, err := c.Begin()
		require.NoError(t, err)
		b, err := c.Begin()
		require.NoError(t, err)
		require.NoError(t, a.SetSchemaVersion(2))
		require.NoError(t, b.SetSchemaVersion(2))
		require.NoError(t, a.Commit())
		requireCode(t, b.Commit(), CodeTxConflict)
		v, err := c.SchemaVersion()
		require.NoError(t, err)
		require.Equal(t, uint64(2), v)
	})
	t.Run("autocommit schema change first", func(t *testing.T) {
		c := usersConn(t)
		tx, err := c.Begin()
		require.NoError(t, err)
		require.NoError(t, c.AddColumn("shop", "users", Column{Name: "x", Type: TypeString}))
		requireCode(t, tx.Schema().AddColumn("shop", "users", Column{Name: "y", Type: TypeString}), CodeTxConflict)
		require.NoError(t, tx.Rollback())
	})
	t.Run("an older transaction writing an altered table", func(t *testing.T) {
		c := usersConn(t)
		w, err := c.Begin()
		require.NoError(t, err)
		_, err = w.Insert("shop", "users", obj("username", "w"))
		require.NoError(t, err)
		m, err := c.Begin()
		require.NoError(t, err)
		require.NoError(t, m.Schema().DropColumn("shop", "users", "city"))
		require.NoError(t, m.Commit())
		requireCode(t, w.Commit(), CodeTxConflict)
		require.NoError(t, c.CheckIntegrity())
	})
	t.Run("autocommit transactions refuse", func(t *testing.T) {
		c := usersConn(t)
		err := c.Auto(func(tx *Tx) error { return tx.SetSchemaVersion(3) })
		requireCode(t, err, CodeBadQuery)
	})
}

func TestSchemaVersionBadInput(t *testing.T) {
	c := usersConn(t)
	tx, err := c.Begin()
	require.NoError(t, err)
	requireCode(t, tx.SetSchemaVersion(0), CodeBadQuery)
	requireCode(t, tx.SetSchemaVersion(1<<53+1), CodeBadQuery)
	require.NoError(t, tx.SetSchemaVersion(5))
	requireCode(t, tx.SetSchemaVersion(4), CodeVersionTooNew)
	require.NoError(t, tx.Commit())
	requireCode(t, tx.SetSchemaVersion(6), CodeTxClosed)
	tx, err = c.Begin()
	require.NoError(t, err)
	requireCode(t, tx.SetSchemaVersion(3), CodeVersionTooNew)
	require.NoError(t, tx.Rollback())

	// The version survives a reopen; catalogs without one read 0.
	raw := c.cat.encode()
	cat, err := decodeCatalog(raw)
	require.NoError(t, err)
	require.Equal(t, uint64(5), cat.Version)
	cat.Version = 0
	cat2, err := decodeCatalog(cat.encode())
	require.NoError(t, err)
	require.Zero(t, cat2.Version)
	require.NotContains(t, string(cat.encode()), "schemaVersion")
	bad := cat.clone()
	bad.Version = 5
	enc := bad.encode()
	enc2 := []byte(string(enc))
	_, err = decodeCatalog(enc2[:len(enc2)-3])
	requireCode(t, err, CodeCorrupt)
}

var usersDecl = obj("columns", arr(
	obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
	obj("name", "username", "type", "string", "unique", true, "notNull", true),
	obj("name", "age", "type", "number", "default", 0),
	obj("name", "city", "type", "string"),
	obj("name", "profile", "type", "object"),
), "indexes", arr(obj("columns", arr("age"))))

func TestDeclareMatches(t *testing.T) {
	c := usersConn(t)
	for _, create := range []bool{false, true} {
		done, err := c.Schema().Declare("shop", "users", mustSpec(t, usersDecl), create)
		require.NoError(t, err)
		require.Empty(t, done)
	}
	// Index names do not matter, only what they index.
	named := mustSpec(t, usersDecl)
	named.Indexes[0].Name = "by_age"
	_, err := c.Schema().Declare("shop", "users", named, false)
	require.NoError(t, err)
}

func TestDeclareMismatch(t *testing.T) {
	cols := func(change func(m map[string]value.Value)) value.Value {
		m := map[string]value.Value{
			"id":       obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
			"username": obj("name", "username", "type", "string", "unique", true, "notNull", true),
			"age":      obj("name", "age", "type", "number", "default", 0),
			"city":     obj("name", "city", "type", "string"),
			"profile":  obj("name", "profile", "type", "object"),
		}
		change(m)
		var out []any
		for _, k := range []string{"id", "username", "age", "city", "profile", "extra"} {
			if v, ok := m[k]; ok {
				out = append(out, v)
			}
		}
		return arr(out...)
	}
	age := arr(obj("columns", arr("age")))
	for _, tc := range []struct {
		name, want string
		decl       value.Value
		create     bool
	}{
		{"type", "column age is number, declared string", obj("columns", cols(func(m map[string]value.Value) {
			m["age"] = obj("name", "age", "type", "string", "default", "0")
		}), "indexes", age), true},
		{"dropped column", "column city exists but is not declared", obj("columns", cols(func(m map[string]value.Value) { delete(m, "city") }), "indexes", age), true},
		{"missing nullable column, no step", "column extra is declared but missing", obj("columns", cols(func(m map[string]value.Value) {
			m["extra"] = obj("name", "extra", "type", "string")
		}), "indexes", age), false},
		{"missing notNull column", "column extra is declared but missing", obj("columns", cols(func(m map[string]value.Value) {
			m["extra"] = obj("name", "extra", "type", "string", "notNull", true)
		}), "indexes", age), true},
		{"notNull", "column city has notNull false, declared true", obj("columns", cols(func(m map[string]value.Value) {
			m["city"] = obj("name", "city", "type", "string", "notNull", true, "default", "x")
		}), "indexes", age), true},
		{"unique", "column city has unique false, declared true", obj("columns", cols(func(m map[string]value.Value) {
			m["city"] = obj("name", "city", "type", "string", "unique", true)
		}), "indexes", age), true},
		{"default", "column age has default 0, declared 1", obj("columns", cols(func(m map[string]value.Value) {
			m["age"] = obj("name", "age", "type", "number", "default", 1)
		}), "indexes", age), true},
		{"primary key", "primary key is (id), declared (username)", obj("columns", cols(func(m map[string]value.Value) {
			m["id"] = obj("name", "id", "type", "number")
			m["username"] = obj("name", "username", "type", "string", "primaryKey", true)
		}), "indexes", age), true},
		{"extra index", "index idx_age (age) exists but is not declared", obj("columns", cols(func(map[string]value.Value) {})), true},
		{"missing index, no step", "index (city) is declared but missing", obj("columns", cols(func(map[string]value.Value) {}),
			"indexes", arr(obj("columns", arr("age")), obj("columns", arr("city")))), false},
		{"sync", "sync is false, declared true", obj("sync", true, "columns", cols(func(m map[string]value.Value) {
			m["id"] = obj("name", "id", "type", "number", "primaryKey", true)
		}), "indexes", age), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := usersConn(t)
			_, err := c.Schema().Declare("shop", "users", mustSpec(t, tc.decl), tc.create)
			requireCode(t, err, CodeSchemaMismatch)
			require.Contains(t, err.Error(), "shop.users")
			require.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("missing table and database", func(t *testing.T) {
		c := usersConn(t)
		_, err := c.Schema().Declare("shop", "nope", mustSpec(t, usersDecl), false)
		requireCode(t, err, CodeSchemaMismatch)
		require.Contains(t, err.Error(), "the table does not exist")
		_, err = c.Schema().Declare("nodb", "users", mustSpec(t, usersDecl), false)
		requireCode(t, err, CodeSchemaMismatch)
		require.Contains(t, err.Error(), `database "nodb" does not exist`)
	})
	t.Run("bad declaration", func(t *testing.T) {
		c := usersConn(t)
		_, err := c.Schema().Declare("shop", "users", TableSpec{Columns: []Column{{Name: "a", Type: TypeObject, PrimaryKey: true}}}, true)
		requireCode(t, err, CodeBadQuery)
	})
}

// In a migration step, what is missing and additive is created.
func TestDeclareCreates(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann", "age", 3))
	tx, err := c.Begin()
	require.NoError(t, err)
	decl := mustSpec(t, obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
		obj("name", "username", "type", "string", "unique", true, "notNull", true),
		obj("name", "age", "type", "number", "default", 0),
		obj("name", "city", "type", "string"),
		obj("name", "profile", "type", "object"),
		obj("name", "score", "type", "number", "notNull", true, "default", 10),
	), "indexes", arr(obj("columns", arr("age")), obj("columns", arr("score", "age")))))
	done, err := tx.Schema().Declare("shop", "users", decl, true)
	require.NoError(t, err)
	require.Equal(t, []string{"column shop.users.score", "index shop.users (score_age)"}, done)
	done, err = tx.Schema().Declare("logs", "events", mustSpec(t, obj("columns", arr(obj("name", "at", "type", "number")))), true)
	require.NoError(t, err)
	require.Equal(t, []string{"table logs.events"}, done)
	require.NoError(t, tx.SetSchemaVersion(2))
	require.NoError(t, tx.Commit())
	_, err = c.Schema().Declare("shop", "users", decl, false)
	require.NoError(t, err)
	require.Equal(t, []any{10.0}, column(selectRows(t, c, "users", obj("where", obj("score", 10))), "score"))
	require.NoError(t, c.CheckIntegrity())
}

// A migration may only grow a synced table.
func TestSyncedTableMigrationsAreAdditive(t *testing.T) {
	setup := func(t *testing.T) (*Conn, *Tx) {
		c, _ := testConn(t)
		require.NoError(t, c.CreateDatabase("app", false))
		require.NoError(t, c.CreateTable("app", "notes", mustSpec(t, obj("sync", true, "columns", arr(
			obj("name", "id", "type", "string", "primaryKey", true),
			obj("name", "body", "type", "string"),
			obj("name", "n", "type", "number"))))))
		tx, err := c.Begin()
		require.NoError(t, err)
		return c, tx
	}
	for _, tc := range []struct {
		name string
		run  func(s Schema) error
		ok   bool
	}{
		{"nullable column", func(s Schema) error { return s.AddColumn("app", "notes", Column{Name: "tag", Type: TypeString}) }, true},
		{"defaulted notNull column", func(s Schema) error {
			return s.AddColumn("app", "notes", Column{Name: "tag", Type: TypeString, NotNull: true, HasDefault: true, Default: value.StringOf("x")})
		}, true},
		{"index", func(s Schema) error {
			_, err := s.CreateIndex("app", "notes", IndexSpec{Columns: []string{"n"}})
			return err
		}, true},
		{"notNull column without default", func(s Schema) error {
			return s.AddColumn("app", "notes", Column{Name: "tag", Type: TypeString, NotNull: true})
		}, false},
		{"unique column", func(s Schema) error {
			return s.AddColumn("app", "notes", Column{Name: "tag", Type: TypeString, Unique: true})
		}, false},
		{"bytes column", func(s Schema) error { return s.AddColumn("app", "notes", Column{Name: "blob", Type: TypeBytes}) }, false},
		{"unique index", func(s Schema) error {
			_, err := s.CreateIndex("app", "notes", IndexSpec{Columns: []string{"n"}, Unique: true})
			return err
		}, false},
		{"rename", func(s Schema) error { return s.ModifyColumn("app", "notes", "body", ColumnChange{Name: ptr("text")}) }, false},
		{"retype", func(s Schema) error { return s.ModifyColumn("app", "notes", "n", ColumnChange{Type: ptr(TypeString)}) }, false},
		{"drop column", func(s Schema) error { return s.DropColumn("app", "notes", "n") }, false},
		{"drop table", func(s Schema) error { return s.DropTable("app", "notes", false) }, false},
		{"drop database", func(s Schema) error { return s.DropDatabase("app", false) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, tx := setup(t)
			err := tc.run(tx.Schema())
			if tc.ok {
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				return
			}
			requireCode(t, err, CodeSyncSchema)
			require.Contains(t, err.Error(), "notes is synced")
			require.Contains(t, err.Error(), "not additive")
			require.NoError(t, tx.Rollback())
			require.NoError(t, c.CheckIntegrity())
		})
	}
}

// migrationStep is step 2 of the crash test: in one transaction it retypes
// a column, fills a new one from the old data, adds an index, and records
// version 2.
func migrationStep(c *Conn) error {
	tx, err := c.Begin()
	if err != nil {
		return err
	}
	err = func() error {
		s := tx.Schema()
		if err := s.ModifyColumn("db", "t", "n", ColumnChange{Type: ptr(TypeString)}); err != nil {
			return err
		}
		if err := s.AddColumn("db", "t", Column{Name: "label", Type: TypeString}); err != nil {
			return err
		}
		res, err := tx.Select("db", "t", Query{Limit: -1})
		if err != nil {
			return err
		}
		for _, r := range res.Rows {
			if _, err := tx.Update("db", "t", obj("label", "L"+r[1].Str()), Query{Where: And{&Cond{Column: "id", Op: OpEq, Value: r[0]}}, Limit: -1}); err != nil {
				return err
			}
		}
		if _, err := s.CreateIndex("db", "t", IndexSpec{Columns: []string{"label"}}); err != nil {
			return err
		}
		return tx.SetSchemaVersion(2)
	}()
	if err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

const migrationRows = 40

func openMigrationDB(t *testing.T, fs fsadapter.FS) *Conn {
	c, err := openCrashDB(fs)
	require.NoError(t, err)
	tx, err := c.Begin()
	require.NoError(t, err)
	for i := 1; i <= migrationRows; i++ {
		_, err := tx.Insert("db", "t", obj("id", i, "name", fmt.Sprintf("n%02d", i), "n", i))
		require.NoError(t, err)
	}
	require.NoError(t, tx.SetSchemaVersion(1))
	require.NoError(t, tx.Commit())
	return c
}

// checkVersion checks that the database is wholly at version 1 (the old
// shape and data) or wholly at version 2, and returns which.
func checkVersion(t *testing.T, c *Conn) uint64 {
	t.Helper()
	require.NoError(t, c.CheckIntegrity())
	v, err := c.SchemaVersion()
	require.NoError(t, err)
	tbl, err := c.lookupTable("db", "t")
	require.NoError(t, err)
	p, _ := tbl.colByName("n")
	var res *Result
	require.NoError(t, c.Auto(func(tx *Tx) (err error) { res, err = tx.Select("db", "t", Query{Limit: -1}); return err }))
	require.Len(t, res.Rows, migrationRows)
	switch v {
	case 1:
		require.Equal(t, TypeNumber, tbl.Columns[p].Type)
		require.Len(t, tbl.Columns, 3)
		for _, r := range res.Rows {
			require.Equal(t, value.Number, r[2].Kind())
		}
	case 2:
		require.Equal(t, TypeString, tbl.Columns[p].Type)
		require.Len(t, tbl.Columns, 4)
		require.Len(t, tbl.Indexes, 2) // name_unique and label's
		for _, r := range res.Rows {
			require.Equal(t, value.String, r[2].Kind())
			require.Equal(t, "L"+r[1].Str(), r[3].Str())
		}
	default:
		t.Fatalf("version %d", v)
	}
	return v
}

// Killing the process at every filesystem operation of a migration step
// leaves version 1 intact or version 2 complete; after a crash at version
// 1 the step runs again and completes.
func TestMigrationCrashAtEveryOperation(t *testing.T) {
	mem, err := memfs.New()
	require.NoError(t, err)
	ffs := faultfs.Wrap(mem)
	c := openMigrationDB(t, ffs)
	before := ffs.Ops()
	require.NoError(t, migrationStep(c))
	require.Equal(t, uint64(2), checkVersion(t, c))
	require.NoError(t, c.Close())
	steps := ffs.Ops() - before
	require.Greater(t, steps, 3)
	seen := map[uint64]int{}
	for _, keep := range []int{-1, 7, 100} {
		for n := 1; n <= steps+2; n++ {
			mem, err := memfs.New()
			require.NoError(t, err)
			ffs := faultfs.Wrap(mem)
			c := openMigrationDB(t, ffs)
			if keep < 0 {
				ffs.CrashAt(n)
			} else {
				ffs.TearAt(n, keep)
			}
			err = migrationStep(c)
			if !ffs.Crashed() {
				require.NoError(t, err)
				continue
			}
			c2, err := Open(mem, smallStore)
			require.NoError(t, err, "reopen after crash at op %d of the step", n)
			v := checkVersion(t, c2)
			seen[v]++
			if v == 1 {
				require.NoError(t, migrationStep(c2), "the step re-runs after a crash at op %d", n)
				require.Equal(t, uint64(2), checkVersion(t, c2))
			}
			require.NoError(t, c2.Close())
		}
	}
	t.Logf("%d operations in the step; crashes left version 1: %d times, version 2: %d times", steps, seen[1], seen[2])
	require.Positive(t, seen[1], "some crash must land before the commit")
	require.NotZero(t, seen[1]+seen[2])
}

// A storage failure at commit leaves the connection on the old catalog.
func TestMigrationCommitFailsCleanly(t *testing.T) {
	mem, err := memfs.New()
	require.NoError(t, err)
	ffs := faultfs.Wrap(mem)
	c := openMigrationDB(t, ffs)
	ffs.FailFrom(1, errors.New("disk gone"))
	require.Error(t, migrationStep(c))
	v, err := c.SchemaVersion()
	require.NoError(t, err)
	require.Equal(t, uint64(1), v)
	tbl, err := c.lookupTable("db", "t")
	require.NoError(t, err)
	require.Len(t, tbl.Columns, 3)
}

// A drop inside a transaction that rolls back must not lose the table's
// autoIncrement mark that another open transaction raised: the next
// generated id would land on an existing row.
func TestRolledBackDropKeepsAutoIncrement(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann"))
	insert(t, c, "users", obj("username", "bob"))
	a, err := c.Begin()
	require.NoError(t, err)
	_, err = a.Insert("shop", "users", obj("username", "cy"))
	require.NoError(t, err)
	b, err := c.Begin()
	require.NoError(t, err)
	require.NoError(t, b.Schema().DropTable("shop", "users", false))
	require.NoError(t, b.Rollback())
	require.NoError(t, a.Commit())
	require.Equal(t, "4", insert(t, c, "users", obj("username", "dee")).String())
	require.Equal(t, []any{"ann", "bob", "cy", "dee"}, column(selectRows(t, c, "users", obj("orderBy", "id")), "username"))
}

// A row written before a column was dropped still holds the dropped
// column's bytes, so it holds as many columns as the table has after a
// column is added: the added column must still read as its default, in a
// select, a filter, an update and a delete.
func TestAddedColumnDefaultAfterDrop(t *testing.T) {
	c := usersConn(t)
	insert(t, c, "users", obj("username", "ann", "age", 30, "city", "Oslo"))
	require.NoError(t, c.DropColumn("shop", "users", "city"))
	require.NoError(t, c.AddColumn("shop", "users", Column{Name: "n", Type: TypeNumber, HasDefault: true, Default: value.NumberOf(7)}))
	require.Equal(t, []any{7.0}, column(selectRows(t, c, "users", val(nil)), "n"))
	require.Equal(t, []any{"ann"}, column(selectRows(t, c, "users", obj("where", obj("n", 7))), "username"))
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Update("shop", "users", obj("age", 31), query(t, obj("where", obj("username", "ann"))))
		return err
	}))
	require.Equal(t, []any{7.0}, column(selectRows(t, c, "users", val(nil)), "n"), "an update keeps the default")
}

// A schema change that changes nothing (what an app runs at every start:
// createDatabase and createTable with ifNotExists, drops with ifExists)
// commits nothing: no durable write, no change for live queries or sync.
func TestSchemaNoChangeCommitsNothing(t *testing.T) {
	c, _ := testConn(t)
	spec := TableSpec{Columns: []Column{{Name: "id", Type: TypeNumber, PrimaryKey: true}}}
	require.NoError(t, c.CreateDatabase("d", false))
	require.NoError(t, c.CreateTable("d", "t", spec))
	_, err := c.EnsureSystemDatabase("sys")
	require.NoError(t, err)
	commits := func() int64 {
		st, err := c.Stats()
		require.NoError(t, err)
		return st.Commits
	}
	before, seq := commits(), c.commitSeq
	spec.IfNotExists = true
	for name, noop := range map[string]func() error{
		"createDatabase ifNotExists":    func() error { return c.CreateDatabase("d", true) },
		"createTable ifNotExists":       func() error { return c.CreateTable("d", "t", spec) },
		"dropTable ifExists, absent":    func() error { return c.DropTable("d", "gone", true) },
		"dropDatabase ifExists, absent": func() error { return c.DropDatabase("gone", true) },
		"ensureSystemDatabase, present": func() error { _, err := c.EnsureSystemDatabase("sys"); return err },
	} {
		require.NoError(t, noop(), name)
		require.Equal(t, before, commits(), name)
		require.Equal(t, seq, c.commitSeq, name)
	}
	// A change still commits.
	require.NoError(t, c.CreateDatabase("e", true))
	require.Equal(t, before+1, commits())
	require.Equal(t, seq+1, c.commitSeq)
	require.NoError(t, c.CreateTable("e", "t", spec))
	require.Equal(t, before+2, commits())
}
