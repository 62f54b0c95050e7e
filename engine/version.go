package engine

import (
	"encoding/binary"
	"strings"

	"minibase/engine/kv"
	"minibase/engine/value"
)

// Versioned schemas. An app declares the tables it expects and a version
// number; each step from the stored version up runs in one explicit
// transaction that changes the schema, rewrites data and records the new
// version, so the step commits whole or not at all. For that, schema
// changes can join an explicit transaction: the transaction keeps its own
// copy of the catalog, its rows go through its overlay as usual, and Commit
// writes the catalog in the same batch as everything else.

// Schema runs schema changes. Conn.Schema's changes commit one by one;
// Tx.Schema's become part of the transaction and commit (or vanish) with it.
type Schema struct {
	c  *Conn
	tx *Tx
}

// Schema returns the connection's autocommitting schema changer.
func (c *Conn) Schema() Schema { return Schema{c: c} }

// Schema returns a schema changer whose changes belong to tx (an explicit
// transaction).
func (tx *Tx) Schema() Schema { return Schema{c: tx.c, tx: tx} }

// CreateDatabase creates an empty database.
func (c *Conn) CreateDatabase(name string, ifNotExists bool) error {
	return c.Schema().CreateDatabase(name, ifNotExists)
}

// DropDatabase deletes a database with all its tables and rows.
func (c *Conn) DropDatabase(name string, ifExists bool) error {
	return c.Schema().DropDatabase(name, ifExists)
}

// CreateTable creates a table from its spec.
func (c *Conn) CreateTable(db, name string, spec TableSpec) error {
	return c.Schema().CreateTable(db, name, spec)
}

// DropTable deletes a table and its rows.
func (c *Conn) DropTable(db, name string, ifExists bool) error {
	return c.Schema().DropTable(db, name, ifExists)
}

// AddColumn adds a column; existing rows read its default (or null).
func (c *Conn) AddColumn(db, table string, col Column) error {
	return c.Schema().AddColumn(db, table, col)
}

// ModifyColumn renames, retypes or re-constrains a column.
func (c *Conn) ModifyColumn(db, table, name string, ch ColumnChange) error {
	return c.Schema().ModifyColumn(db, table, name, ch)
}

// DropColumn removes a column.
func (c *Conn) DropColumn(db, table, name string) error {
	return c.Schema().DropColumn(db, table, name)
}

// CreateIndex builds an index over the existing rows and returns its name.
func (c *Conn) CreateIndex(db, table string, spec IndexSpec) (string, error) {
	return c.Schema().CreateIndex(db, table, spec)
}

// DropIndex removes a secondary index.
func (c *Conn) DropIndex(db, table, name string) error {
	return c.Schema().DropIndex(db, table, name)
}

// ddl runs one schema change: autocommitted, or inside the transaction.
func (s Schema) ddl(fn func(cat *catalog, w *kv.Overlay) error) error {
	if s.tx == nil {
		return s.c.ddl(fn)
	}
	return s.tx.ddl(fn)
}

// catalog is what the transaction sees: its own after a schema change.
func (tx *Tx) catalog() *catalog {
	if tx.cat != nil {
		return tx.cat
	}
	return tx.c.cat
}

// lookupTable finds a table in the catalog the transaction sees.
func (tx *Tx) lookupTable(db, name string) (*Table, error) {
	return tx.catalog().lookup(db, name)
}

// ddl applies a schema change to the transaction: like any statement it
// applies whole or not at all. Commit writes the transaction's catalog in
// the batch with its rows (once: a migration creating hundreds of tables
// must not encode the catalog hundreds of times).
func (tx *Tx) ddl(fn func(cat *catalog, w *kv.Overlay) error) error {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return err
	}
	if !tx.explicit {
		return badQuery("schema changes join explicit transactions only")
	}
	if tx.c.cat != tx.catBase {
		return errorf(CodeTxConflict, "transaction conflict: the schema was changed by another commit since the transaction began")
	}
	cat := tx.catalog().clone()
	err := tx.statement(func(w *kv.Overlay) error { return fn(cat, w) })
	if err != nil {
		return err
	}
	tx.cat = cat
	return nil
}

// schemaConflicts checks, at commit, a transaction that changed the schema:
// nobody else may have changed the catalog since it began, nor written a
// table it altered or dropped (it rewrote that table from its snapshot; a
// row committed meanwhile would be left in the old shape, missing from
// rebuilt indexes).
func (tx *Tx) schemaConflicts() error {
	c := tx.c
	if c.cat != tx.catBase {
		return errorf(CodeTxConflict, "transaction conflict: the schema was changed by another commit since the transaction began")
	}
	altered := map[uint32]bool{}
	for db, tables := range tx.catBase.DBs {
		for name, t := range tables {
			if now, err := tx.cat.lookup(db, name); err != nil || now != t {
				altered[t.ID] = true
			}
		}
	}
	if len(altered) == 0 {
		return nil
	}
	for _, rec := range c.recent {
		if rec.seq <= tx.startSeq {
			continue
		}
		for k := range rec.keys {
			if len(k) >= 5 && k[0] == dataTag && altered[binary.BigEndian.Uint32([]byte(k[1:5]))] {
				return errorf(CodeTxConflict, "transaction conflict: a table whose schema it changes was written by another commit since it began")
			}
		}
	}
	return nil
}

// SchemaVersion is the committed schema version (0 when never set).
func (c *Conn) SchemaVersion() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return 0, err
	}
	return c.cat.Version, nil
}

// SchemaVersion is the schema version the transaction sees.
func (tx *Tx) SchemaVersion() (uint64, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return 0, err
	}
	return tx.catalog().Version, nil
}

// SetSchemaVersion records the schema version; it commits with the
// transaction. Versions only go up: a step that lowered one would let an
// older app write shapes it does not know.
func (tx *Tx) SetSchemaVersion(v uint64) error {
	if v == 0 || v > 1<<53 {
		return badQuery("schema version must be a whole number from 1 to 2^53, got %d", v)
	}
	return tx.ddl(func(cat *catalog, _ *kv.Overlay) error {
		if v < cat.Version {
			return errorf(CodeVersionTooNew, "schema version %d is older than the stored version %d", v, cat.Version)
		}
		cat.Version = v
		return nil
	})
}

// Databases lists the database names the changer sees, sorted.
func (s Schema) Databases() ([]string, error) {
	if s.tx == nil {
		return s.c.Databases()
	}
	defer s.tx.lock()()
	if err := s.tx.check(); err != nil {
		return nil, err
	}
	var out []string
	for _, name := range sortedKeys(s.tx.catalog().DBs) {
		if !strings.HasPrefix(name, SystemPrefix) {
			out = append(out, name)
		}
	}
	return out, nil
}

// Tables lists a database's table names as the changer sees them, sorted.
func (s Schema) Tables(db string) ([]string, error) {
	if s.tx == nil {
		return s.c.Tables(db)
	}
	defer s.tx.lock()()
	if err := s.tx.check(); err != nil {
		return nil, err
	}
	tables, ok := s.tx.catalog().DBs[db]
	if !ok {
		return nil, errorf(CodeNoSuchDatabase, "no database %q", db)
	}
	return sortedKeys(tables), nil
}

// DescribeTable returns a table's schema, as the changer sees it, in
// createTable's shape.
func (s Schema) DescribeTable(db, name string) (value.Value, error) {
	if s.tx == nil {
		return s.c.DescribeTable(db, name)
	}
	defer s.tx.lock()()
	if err := s.tx.check(); err != nil {
		return value.Value{}, err
	}
	t, err := s.tx.lookupTable(db, name)
	if err != nil {
		return value.Value{}, err
	}
	return t.Describe(), nil
}

// table reads a table's current schema as the changer sees it.
func (s Schema) table(db, name string) (*Table, error) {
	if s.tx == nil {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		if err := s.c.checkOpen(); err != nil {
			return nil, err
		}
		return s.c.lookupTable(db, name)
	}
	defer s.tx.lock()()
	if err := s.tx.check(); err != nil {
		return nil, err
	}
	return s.tx.lookupTable(db, name)
}

// checkAdditive refuses, inside a transaction (a migration step), a change
// to a synced table that is not additive: the server and other clients
// still hold rows of the old shape, and a rename, retype, new constraint or
// dropped column would make their changes fail or land wrong. New nullable
// or defaulted columns and new non-unique indexes are fine.
func (s Schema) checkAdditive(old, t *Table) error {
	if s.tx == nil || !old.Sync {
		return nil
	}
	refuse := func(what string) error {
		return errorf(CodeSyncSchema, "table %s is synced: a migration may only add nullable or defaulted columns and non-unique indexes to it, and %s is not additive", old.Name, what)
	}
	for _, oc := range old.Columns {
		p, ok := t.colByID(oc.ID)
		if !ok {
			return refuse("dropping column " + oc.Name)
		}
		nc := t.Columns[p]
		if nc.Name != oc.Name || nc.Type != oc.Type || nc.NotNull != oc.NotNull || nc.Unique != oc.Unique ||
			nc.PrimaryKey != oc.PrimaryKey || nc.AutoIncrement != oc.AutoIncrement {
			return refuse("changing column " + oc.Name)
		}
	}
	for _, nc := range t.Columns {
		if nc.ID < old.NextColID {
			continue
		}
		if nc.Unique || nc.NotNull && (!nc.HasDefault || nc.Default.IsNull()) {
			return refuse("adding the unique or notNull-without-default column " + nc.Name)
		}
		if nc.Type == TypeBytes {
			return refuse("adding the bytes column " + nc.Name + " (the sync protocol is JSON)")
		}
	}
	for _, ix := range t.Indexes {
		if ix.ID >= old.NextIdxID && ix.Unique {
			return refuse("adding the unique index " + ix.Name)
		}
	}
	return nil
}

// refuseSyncedDrop refuses, inside a transaction, dropping a synced table.
func (s Schema) refuseSyncedDrop(t *Table) error {
	if s.tx == nil || !t.Sync {
		return nil
	}
	return errorf(CodeSyncSchema, "table %s is synced: a migration may only add nullable or defaulted columns and non-unique indexes to it, and dropping it is not additive", t.Name)
}

// Declare compares a table's declaration with the table as the changer
// sees it. With create set (a migration step), what is missing and purely
// additive — the database, the table, nullable or defaulted columns,
// indexes — is created; anything else that differs is SCHEMA_MISMATCH,
// naming the table and the difference. It returns what it created.
func (s Schema) Declare(db, name string, spec TableSpec, create bool) ([]string, error) {
	want, err := buildTable(0, name, spec)
	if err != nil {
		return nil, err
	}
	mismatch := func(format string, args ...any) error {
		return errorf(CodeSchemaMismatch, "schema mismatch on %s.%s: "+format+"; a migration step must make this change", append([]any{db, name}, args...)...)
	}
	var done []string
	cur, err := s.table(db, name)
	switch CodeOf(err) {
	case "":
	case CodeNoSuchDatabase:
		if !create {
			return nil, mismatch("database %q does not exist", db)
		}
		if err := s.CreateDatabase(db, true); err != nil {
			return nil, err
		}
		fallthrough
	case CodeNoSuchTable:
		if !create {
			return nil, mismatch("the table does not exist")
		}
		spec.IfNotExists = false
		if err := s.CreateTable(db, name, spec); err != nil {
			return nil, err
		}
		return append(done, "table "+db+"."+name), nil
	default:
		return nil, err
	}
	if cur.Sync != want.Sync {
		return nil, mismatch("sync is %t, declared %t", cur.Sync, want.Sync)
	}
	if a, b := joinNames(cur.namesByID(cur.PK)), joinNames(want.namesByID(want.PK)); a != b {
		return nil, mismatch("primary key is (%s), declared (%s)", a, b)
	}
	for _, have := range cur.Columns {
		if _, ok := want.colByName(have.Name); !ok {
			return nil, mismatch("column %s exists but is not declared", have.Name)
		}
	}
	for _, wc := range want.Columns {
		p, ok := cur.colByName(wc.Name)
		if !ok {
			if !create || wc.PrimaryKey || wc.Unique || wc.NotNull && (!wc.HasDefault || wc.Default.IsNull()) {
				return nil, mismatch("column %s is declared but missing (only nullable or defaulted columns are added without a step)", wc.Name)
			}
			wc.ID = 0
			if err := s.AddColumn(db, name, wc); err != nil {
				return nil, err
			}
			done = append(done, "column "+db+"."+name+"."+wc.Name)
			continue
		}
		hc := cur.Columns[p]
		switch {
		case hc.Type != wc.Type:
			return nil, mismatch("column %s is %s, declared %s", wc.Name, hc.Type, wc.Type)
		case hc.NotNull != wc.NotNull:
			return nil, mismatch("column %s has notNull %t, declared %t", wc.Name, hc.NotNull, wc.NotNull)
		case hc.Unique != wc.Unique:
			return nil, mismatch("column %s has unique %t, declared %t", wc.Name, hc.Unique, wc.Unique)
		case hc.AutoIncrement != wc.AutoIncrement:
			return nil, mismatch("column %s has autoIncrement %t, declared %t", wc.Name, hc.AutoIncrement, wc.AutoIncrement)
		case hc.HasDefault != wc.HasDefault || !value.Equal(hc.Default, wc.Default):
			return nil, mismatch("column %s has default %s, declared %s", wc.Name, describeDefault(hc), describeDefault(wc))
		}
	}
	if cur, err = s.table(db, name); err != nil {
		return nil, err
	}
	shape := func(t *Table, ix Index) string {
		k := joinNames(t.namesByID(ix.Columns))
		if ix.Unique {
			return "unique (" + k + ")"
		}
		return "(" + k + ")"
	}
	wantIdx := map[string]bool{}
	for _, ix := range want.Indexes {
		wantIdx[shape(want, ix)] = true
	}
	haveIdx := map[string]bool{}
	for _, ix := range cur.Indexes {
		k := shape(cur, ix)
		if !wantIdx[k] {
			return nil, mismatch("index %s %s exists but is not declared", ix.Name, k)
		}
		haveIdx[k] = true
	}
	for _, ix := range want.Indexes {
		k := shape(want, ix)
		if haveIdx[k] {
			continue
		}
		if !create {
			return nil, mismatch("index %s is declared but missing", k)
		}
		spec := IndexSpec{Name: ix.Name, Columns: want.namesByID(ix.Columns), Unique: ix.Unique}
		if _, taken := cur.indexByName(spec.Name); taken {
			spec.Name = ""
		}
		if _, err := s.CreateIndex(db, name, spec); err != nil {
			return nil, err
		}
		done = append(done, "index "+db+"."+name+" "+k)
	}
	return done, nil
}

// namesByID is the names of the columns with the given IDs, in order.
func (t *Table) namesByID(ids []uint32) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if i, ok := t.colByID(id); ok {
			out = append(out, t.Columns[i].Name)
		}
	}
	return out
}

func describeDefault(c Column) string {
	if !c.HasDefault {
		return "none"
	}
	return c.Default.String()
}

// forgetSeq drops the cached autoIncrement mark of a dropped table. Inside
// a transaction the drop may still roll back, and another transaction may
// have raised the mark in memory only: forgetting it then would let that
// one commit a mark of zero, and generated ids would be handed out again.
// A table ID is never reused once a drop commits, so keeping it is safe.
func (s Schema) forgetSeq(id uint32) {
	if s.tx == nil {
		delete(s.c.seqs, id)
	}
}
