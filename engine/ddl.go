package engine

import (
	"bytes"
	"strconv"
	"strings"

	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
)

// Schema changes build a new catalog aside, migrate the data through an
// overlay, and commit both in one batch; the in-memory catalog is swapped
// only after the batch is durable. A failure leaves everything as it was.

func (c *Conn) ddl(fn func(cat *catalog, w *kv.Overlay) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	cat := c.cat.clone()
	w := kv.NewOverlay(c.store)
	if err := fn(cat, w); err != nil {
		return err
	}
	enc := cat.encode()
	if w.Len() == 0 && bytes.Equal(enc, c.cat.encode()) {
		// Nothing changed (createDatabase with ifNotExists on a database
		// that exists, as an app runs at every start): no commit. One
		// would be a durable write (an fsync, an IndexedDB transaction)
		// and a change for every live query and sync session.
		return nil
	}
	w.Set(catalogKey, enc)
	b := w.Batch()
	if err := c.store.Apply(b); err != nil {
		return storageErr("schema change", err)
	}
	c.cat = cat
	c.noteSchema()
	c.commitSeq++
	c.recordCommit(nil, b)
	return nil
}

// CreateDatabase creates an empty database.
func (s Schema) CreateDatabase(name string, ifNotExists bool) error {
	if err := checkName("database", name); err != nil {
		return err
	}
	return s.ddl(func(cat *catalog, _ *kv.Overlay) error {
		if _, ok := cat.DBs[name]; ok {
			if ifNotExists {
				return nil
			}
			return errorf(CodeAlreadyExists, "database %q already exists", name)
		}
		cat.DBs[name] = map[string]*Table{}
		return nil
	})
}

// SystemPrefix starts the names of databases the engine's own components
// (the storage manager, later the sync client) keep their data in. User
// calls cannot create such names; Databases does not list them.
const SystemPrefix = "__"

// EnsureSystemDatabase creates the system database SystemPrefix+name when
// missing and returns its full name. Its tables are ordinary tables, so the
// component gets schemas, indexes, transactions and crash safety for free.
func (c *Conn) EnsureSystemDatabase(name string) (string, error) {
	if err := checkName("system database", name); err != nil {
		return "", err
	}
	full := SystemPrefix + name
	return full, c.ddl(func(cat *catalog, _ *kv.Overlay) error {
		if _, ok := cat.DBs[full]; !ok {
			cat.DBs[full] = map[string]*Table{}
		}
		return nil
	})
}

// DropDatabase deletes a database with all its tables and rows.
func (s Schema) DropDatabase(name string, ifExists bool) error {
	return s.ddl(func(cat *catalog, w *kv.Overlay) error {
		tables, ok := cat.DBs[name]
		if !ok {
			if ifExists {
				return nil
			}
			return errorf(CodeNoSuchDatabase, "no database %q", name)
		}
		for _, t := range tables {
			if err := s.refuseSyncedDrop(t); err != nil {
				return err
			}
			if err := deleteRange(w, tablePrefix(t.ID)); err != nil {
				return err
			}
			if t.Sync {
				if err := dropSyncData(w, t); err != nil {
					return err
				}
			}
			w.Delete(seqKey(t.ID))
			s.forgetSeq(t.ID)
		}
		delete(cat.DBs, name)
		return nil
	})
}

// Databases lists the database names, sorted.
func (c *Conn) Databases() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	var out []string
	for _, name := range sortedKeys(c.cat.DBs) {
		if !strings.HasPrefix(name, SystemPrefix) {
			out = append(out, name)
		}
	}
	return out, nil
}

// HasDatabase reports whether the database exists (NO_SUCH_DATABASE if not).
func (c *Conn) HasDatabase(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	if _, ok := c.cat.DBs[name]; !ok {
		return errorf(CodeNoSuchDatabase, "no database %q", name)
	}
	return nil
}

// CreateTable creates a table from its spec.
func (s Schema) CreateTable(db, name string, spec TableSpec) error {
	return s.ddl(func(cat *catalog, _ *kv.Overlay) error {
		tables, ok := cat.DBs[db]
		if !ok {
			return errorf(CodeNoSuchDatabase, "no database %q", db)
		}
		if _, ok := tables[name]; ok {
			if spec.IfNotExists {
				return nil
			}
			return errorf(CodeAlreadyExists, "table %q already exists in database %q", name, db)
		}
		t, err := buildTable(cat.NextTableID, name, spec)
		if err != nil {
			return err
		}
		cat.NextTableID++
		t.prepare()
		tables[name] = t
		return nil
	})
}

// DropTable deletes a table and its rows.
func (s Schema) DropTable(db, name string, ifExists bool) error {
	return s.ddl(func(cat *catalog, w *kv.Overlay) error {
		tables, ok := cat.DBs[db]
		if !ok {
			return errorf(CodeNoSuchDatabase, "no database %q", db)
		}
		t, ok := tables[name]
		if !ok {
			if ifExists {
				return nil
			}
			return errorf(CodeNoSuchTable, "no table %q in database %q", name, db)
		}
		if err := s.refuseSyncedDrop(t); err != nil {
			return err
		}
		if err := deleteRange(w, tablePrefix(t.ID)); err != nil {
			return err
		}
		if t.Sync {
			if err := dropSyncData(w, t); err != nil {
				return err
			}
		}
		w.Delete(seqKey(t.ID))
		s.forgetSeq(t.ID)
		delete(tables, name)
		return nil
	})
}

// Tables lists a database's table names, sorted.
func (c *Conn) Tables(db string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	tables, ok := c.cat.DBs[db]
	if !ok {
		return nil, errorf(CodeNoSuchDatabase, "no database %q", db)
	}
	return sortedKeys(tables), nil
}

// DescribeTable returns a table's schema in createTable's shape.
func (c *Conn) DescribeTable(db, name string) (value.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return value.Value{}, err
	}
	t, err := c.lookupTable(db, name)
	if err != nil {
		return value.Value{}, err
	}
	return t.Describe(), nil
}

// alterTable runs a schema change on one table: fn gets a copy of the
// schema to change and the overlay to migrate rows through.
func (s Schema) alterTable(db, name string, fn func(old, t *Table, w *kv.Overlay) error) error {
	return s.ddl(func(cat *catalog, w *kv.Overlay) error {
		tables, ok := cat.DBs[db]
		if !ok {
			return errorf(CodeNoSuchDatabase, "no database %q", db)
		}
		old, ok := tables[name]
		if !ok {
			return errorf(CodeNoSuchTable, "no table %q in database %q", name, db)
		}
		t := old.clone()
		t.Version++
		if err := fn(old, t, w); err != nil {
			return err
		}
		if err := s.checkAdditive(old, t); err != nil {
			return err
		}
		t.prepare()
		tables[name] = t
		return nil
	})
}

// eachRow calls fn for every row of t as stored (decoded with schema t).
func eachRow(w kv.Reader, t *Table, fn func(key []byte, r row) error) error {
	var rows []keyedRow
	it := w.NewIter(kv.IterOptions{Lower: t.primaryPrefix, Upper: keys.PrefixEnd(t.primaryPrefix)})
	for it.Next() {
		r, err := decodeRow(t, it.Value())
		if err != nil {
			it.Close()
			return err
		}
		rows = append(rows, keyedRow{append([]byte(nil), it.Key()...), r})
	}
	if err := it.Close(); err != nil {
		return storageErr("scan", err)
	}
	for _, kr := range rows {
		if err := fn(kr.key, kr.r); err != nil {
			return err
		}
	}
	return nil
}

// rewriteTable rewrites every row and index entry of old under the schema t,
// with conv mapping each old row to its new form.
func rewriteTable(w *kv.Overlay, old, t *Table, conv func(r row) (row, error)) error {
	old.prepare()
	t.prepare()
	// Index entries are rebuilt from scratch: drop them all first.
	for i := range old.Indexes {
		if err := deleteRange(w, old.idxPrefix[i]); err != nil {
			return err
		}
	}
	tx := &Tx{}
	return eachRow(w, old, func(key []byte, r row) error {
		nr, err := conv(r)
		if err != nil {
			return err
		}
		w.Delete(key)
		return tx.mutate(w, t, nil, nil, nr, old.rowidOf(key), false)
	})
}

// AddColumn adds a column; existing rows read its default (or null).
func (s Schema) AddColumn(db, table string, col Column) error {
	return s.alterTable(db, table, func(old, t *Table, w *kv.Overlay) error {
		if _, dup := t.colByName(col.Name); dup {
			return errorf(CodeAlreadyExists, "column %q already exists in %s", col.Name, t.Name)
		}
		if col.PrimaryKey || col.AutoIncrement {
			return badQuery("add column %s.%s: a primary key cannot be added to an existing table", t.Name, col.Name)
		}
		col.ID = t.NextColID
		t.NextColID++
		t.Columns = append(t.Columns, col)
		if col.Unique {
			if _, err := t.addIndex(IndexSpec{Name: col.Name + "_unique", Columns: []string{col.Name}, Unique: true}); err != nil {
				return err
			}
		}
		if col.NotNull || col.Unique {
			// Existing rows get the default: check it against the new constraints.
			return rewriteTable(w, old, t, func(r row) (row, error) {
				nr := append(row(nil), r...)
				return append(nr, col.Default), nil
			})
		}
		return nil
	})
}

// ColumnChange is what modifyColumn may change; nil fields stay as they are.
type ColumnChange struct {
	Name    *string
	Type    *Type
	NotNull *bool
	Default *value.Value // set to change; see DropDefault
	Unique  *bool
	Comment *string
}

// ParseColumnChange reads modifyColumn's argument.
func ParseColumnChange(v value.Value) (ColumnChange, error) {
	var ch ColumnChange
	const where = "modifyColumn"
	err := eachField(where, v, func(k string, f value.Value) error {
		switch k {
		case "name":
			s, err := wantString(where, k, f)
			ch.Name = &s
			return err
		case "type":
			s, err := wantString(where, k, f)
			t, ok := parseType(s)
			if err == nil && !ok {
				return badSpec(where, "unknown type %q", s)
			}
			ch.Type = &t
			return err
		case "notNull":
			b, err := wantBool(where, k, f)
			ch.NotNull = &b
			return err
		case "unique", "uni":
			b, err := wantBool(where, k, f)
			ch.Unique = &b
			return err
		case "default":
			ch.Default = &f
		case "comment":
			s, err := wantString(where, k, f)
			ch.Comment = &s
			return err
		default:
			return badSpec(where, "unknown option %q (name, type, notNull, unique, default, comment)", k)
		}
		return nil
	})
	if err == nil && v.Kind() != value.Object {
		err = badSpec(where, "expected an object")
	}
	return ch, err
}

// ModifyColumn renames, retypes or re-constrains a column, converting and
// re-checking every row.
func (s Schema) ModifyColumn(db, table, name string, ch ColumnChange) error {
	return s.alterTable(db, table, func(old, t *Table, w *kv.Overlay) error {
		p, ok := t.colByName(name)
		if !ok {
			return errorf(CodeNoSuchColumn, "modify column: no column %q in %s", name, t.Name)
		}
		col := &t.Columns[p]
		if ch.Name != nil && *ch.Name != name {
			if err := checkName("column", *ch.Name); err != nil {
				return err
			}
			if _, dup := t.colByName(*ch.Name); dup {
				return errorf(CodeAlreadyExists, "column %q already exists in %s", *ch.Name, t.Name)
			}
			col.Name = *ch.Name
		}
		if ch.Comment != nil {
			col.Comment = *ch.Comment
		}
		if ch.Default != nil {
			col.HasDefault, col.Default = true, *ch.Default
		}
		rewrite := false
		oldType := col.Type
		if ch.Type != nil && *ch.Type != col.Type {
			if col.PrimaryKey && !ch.Type.indexable() || col.AutoIncrement {
				return badQuery("modify column %s.%s: cannot retype a primary key to %s or retype an autoIncrement column", t.Name, name, *ch.Type)
			}
			for i, ix := range t.Indexes {
				for _, id := range ix.Columns {
					if id == col.ID && !ch.Type.indexable() {
						return badQuery("modify column %s.%s: index %s needs an indexable type", t.Name, name, t.Indexes[i].Name)
					}
				}
			}
			if col.HasDefault && ch.Default == nil {
				d, err := convert(col.Default, col.Type, *ch.Type)
				if err != nil {
					return err
				}
				col.Default = d
			}
			col.Type = *ch.Type
			rewrite = true
		}
		if ch.NotNull != nil && *ch.NotNull != col.NotNull {
			if col.PrimaryKey && !*ch.NotNull {
				return badQuery("modify column %s.%s: a primary key is always notNull", t.Name, name)
			}
			col.NotNull = *ch.NotNull
			rewrite = rewrite || col.NotNull
		}
		if ch.Unique != nil && *ch.Unique != col.Unique && !col.PrimaryKey {
			col.Unique = *ch.Unique
			if col.Unique {
				if _, err := t.addIndex(IndexSpec{Name: col.Name + "_unique", Columns: []string{col.Name}, Unique: true}); err != nil {
					return err
				}
			} else {
				for i, ix := range t.Indexes {
					if ix.Unique && len(ix.Columns) == 1 && ix.Columns[0] == col.ID {
						t.Indexes = append(t.Indexes[:i], t.Indexes[i+1:]...)
						break
					}
				}
			}
			rewrite = true
		}
		if col.HasDefault && !col.Default.IsNull() && !col.Type.fits(col.Default) {
			return errorf(CodeTypeMismatch, "modify column %s.%s: default %s is not a %s", t.Name, col.Name, col.Default, col.Type)
		}
		if !rewrite {
			return nil
		}
		newType, colName := col.Type, col.Name
		return rewriteTable(w, old, t, func(r row) (row, error) {
			nr := append(row(nil), r...)
			v, err := convert(r[p], oldType, newType)
			if err != nil {
				return nil, errorf(CodeTypeMismatch, "modify column %s.%s: %v", t.Name, colName, err)
			}
			nr[p] = v
			return nr, nil
		})
	})
}

// convert changes a value's type for modifyColumn, or says why it cannot.
func convert(v value.Value, from, to Type) (value.Value, error) {
	if v.IsNull() || to == TypeAny || to.fits(v) {
		return v, nil
	}
	switch to {
	case TypeString:
		switch v.Kind() {
		case value.Number:
			return value.StringOf(strconv.FormatFloat(v.Number(), 'f', -1, 64)), nil
		case value.Bool:
			return value.StringOf(strconv.FormatBool(v.Bool())), nil
		}
	case TypeNumber:
		switch v.Kind() {
		case value.String:
			f, err := strconv.ParseFloat(v.Str(), 64)
			if err == nil && value.CheckNumber(f) {
				return value.NumberOf(f), nil
			}
		case value.Bool:
			if v.Bool() {
				return value.NumberOf(1), nil
			}
			return value.NumberOf(0), nil
		}
	case TypeBoolean:
		switch {
		case v.Kind() == value.Number && (v.Number() == 0 || v.Number() == 1):
			return value.BoolOf(v.Number() == 1), nil
		case v.Kind() == value.String && (v.Str() == "true" || v.Str() == "false"):
			return value.BoolOf(v.Str() == "true"), nil
		}
	}
	return value.Value{}, errorf(CodeTypeMismatch, "cannot convert %s from %s to %s", v, from, to)
}

// DropColumn removes a column. Columns in the primary key cannot be dropped;
// indexes over the column are dropped with it.
func (s Schema) DropColumn(db, table, name string) error {
	return s.alterTable(db, table, func(old, t *Table, w *kv.Overlay) error {
		p, ok := t.colByName(name)
		if !ok {
			return errorf(CodeNoSuchColumn, "drop column: no column %q in %s", name, t.Name)
		}
		id := t.Columns[p].ID
		if t.Columns[p].PrimaryKey {
			return badQuery("drop column %s.%s: it is part of the primary key", t.Name, name)
		}
		if len(t.Columns) == 1 {
			return badQuery("drop column %s.%s: a table needs at least one column", t.Name, name)
		}
		keep := t.Indexes[:0]
		for i, ix := range t.Indexes {
			uses := false
			for _, cid := range ix.Columns {
				uses = uses || cid == id
			}
			if uses {
				if err := deleteRange(w, old.idxPrefix[i]); err != nil {
					return err
				}
				continue
			}
			keep = append(keep, ix)
		}
		t.Indexes = keep
		t.Columns = append(t.Columns[:p], t.Columns[p+1:]...)
		return nil // rows keep the dropped column's bytes until rewritten; its ID is never reused
	})
}

// CreateIndex builds an index over the existing rows and returns its name.
func (s Schema) CreateIndex(db, table string, spec IndexSpec) (string, error) {
	var name string
	err := s.alterTable(db, table, func(old, t *Table, w *kv.Overlay) error {
		ix, err := t.addIndex(spec)
		if err != nil {
			return err
		}
		name = ix.Name
		t.prepare()
		i := len(t.Indexes) - 1
		return eachRow(w, t, func(key []byte, r row) error {
			pk := key[len(t.primaryPrefix):]
			entry, err := t.indexEntry(i, r, pk)
			if err != nil {
				return err
			}
			if t.Indexes[i].Unique {
				if _, err := w.Get(entry); err == nil {
					return t.uniqueErr(i, r)
				}
			}
			w.Set(entry, append([]byte(nil), pk...))
			return nil
		})
	})
	return name, err
}

// DropIndex removes a secondary index. Unique indexes of unique columns go
// with modifyColumn({ unique: false }).
func (s Schema) DropIndex(db, table, name string) error {
	return s.alterTable(db, table, func(old, t *Table, w *kv.Overlay) error {
		i, ok := t.indexByName(name)
		if !ok {
			return errorf(CodeNoSuchIndex, "no index %q on %s", name, t.Name)
		}
		if err := deleteRange(w, old.idxPrefix[i]); err != nil {
			return err
		}
		ix := t.Indexes[i]
		if ix.Unique && len(ix.Columns) == 1 {
			if p, ok := t.colByID(ix.Columns[0]); ok {
				t.Columns[p].Unique = false
			}
		}
		t.Indexes = append(t.Indexes[:i], t.Indexes[i+1:]...)
		return nil
	})
}

// deleteRange deletes every key with the given prefix.
func deleteRange(w *kv.Overlay, prefix []byte) error {
	var ks [][]byte
	it := w.NewIter(kv.IterOptions{Lower: prefix, Upper: keys.PrefixEnd(prefix)})
	for it.Next() {
		ks = append(ks, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return storageErr("scan", err)
	}
	for _, k := range ks {
		w.Delete(k)
	}
	return nil
}
