package engine

import (
	"encoding/binary"
	"fmt"
	"sort"

	"minibase/engine/value"
)

// The catalog (databases, tables, schemas) lives in the store under one key,
// so a schema change and the data it migrates commit in one batch. It is
// small and changes rarely; rewriting it whole keeps recovery trivial.

// Key space of the store:
//
//	0x00 "catalog"                the catalog
//	0x00 "seq" tableID(4)         autoIncrement high-water mark of a table
//	0x00 "call" from seq(8)       answer of a call that committed (calls.go)
//	0x01 tableID(4) indexID(2) …  rows (index 0: primary key → row) and index
//	                              entries (index tuple [+ primary key] → primary key)
//	0x02 …                        sync metadata, outbox and state (syncmeta.go)
var (
	catalogKey = []byte("\x00catalog")
	seqPrefix  = []byte("\x00seq")
	callPrefix = []byte("\x00call")
)

const dataTag = 0x01

type catalog struct {
	NextTableID uint32
	DBs         map[string]map[string]*Table // database → table name → schema
	Version     uint64                       // the app's schema version (version.go); 0: never set
}

func newCatalog() *catalog {
	return &catalog{NextTableID: 1, DBs: map[string]map[string]*Table{}}
}

// clone copies the maps (tables are replaced, never mutated in place).
func (c *catalog) clone() *catalog {
	n := &catalog{NextTableID: c.NextTableID, DBs: make(map[string]map[string]*Table, len(c.DBs)), Version: c.Version}
	for db, tables := range c.DBs {
		m := make(map[string]*Table, len(tables))
		for k, t := range tables {
			m[k] = t
		}
		n.DBs[db] = m
	}
	return n
}

// lookup finds a table by database and name.
func (c *catalog) lookup(db, name string) (*Table, error) {
	tables, ok := c.DBs[db]
	if !ok {
		return nil, errorf(CodeNoSuchDatabase, "no database %q", db)
	}
	t, ok := tables[name]
	if !ok {
		return nil, errorf(CodeNoSuchTable, "no table %q in database %q", name, db)
	}
	return t, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func tablePrefix(id uint32) []byte {
	b := make([]byte, 5, 32)
	b[0] = dataTag
	binary.BigEndian.PutUint32(b[1:], id)
	return b
}

func indexPrefix(tableID uint32, indexID uint16) []byte {
	return binary.BigEndian.AppendUint16(tablePrefix(tableID), indexID)
}

func seqKey(tableID uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), seqPrefix...), tableID)
}

// --- encoding ---

func num(n uint64) value.Value { return value.NumberOf(float64(n)) }
func str(s string) value.Value { return value.StringOf(s) }
func mem(k string, v value.Value) value.Member {
	return value.Member{Key: k, Value: v}
}

func (c *catalog) encode() []byte {
	dbs := make([]value.Value, 0, len(c.DBs))
	for _, name := range sortedKeys(c.DBs) {
		tables := make([]value.Value, 0, len(c.DBs[name]))
		for _, tn := range sortedKeys(c.DBs[name]) {
			tables = append(tables, encodeTable(c.DBs[name][tn]))
		}
		dbs = append(dbs, value.ObjectOf(mem("name", str(name)), mem("tables", value.ArrayOf(tables))))
	}
	m := []value.Member{mem("v", num(1)), mem("nextTable", num(uint64(c.NextTableID))), mem("dbs", value.ArrayOf(dbs))}
	if c.Version != 0 { // written only when set, so catalogs of unversioned roots stay as they were
		m = append(m, mem("schemaVersion", num(c.Version)))
	}
	return value.Encode(value.ObjectOf(m...))
}

func encodeTable(t *Table) value.Value {
	ids := func(xs []uint32) value.Value {
		out := make([]value.Value, len(xs))
		for i, x := range xs {
			out[i] = num(uint64(x))
		}
		return value.ArrayOf(out)
	}
	cols := make([]value.Value, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = value.ObjectOf(
			mem("id", num(uint64(c.ID))), mem("name", str(c.Name)), mem("type", str(string(c.Type))),
			mem("notNull", value.BoolOf(c.NotNull)), mem("hasDefault", value.BoolOf(c.HasDefault)),
			mem("default", c.Default), mem("pk", value.BoolOf(c.PrimaryKey)),
			mem("ai", value.BoolOf(c.AutoIncrement)), mem("unique", value.BoolOf(c.Unique)),
			mem("comment", str(c.Comment)))
	}
	idx := make([]value.Value, len(t.Indexes))
	for i, ix := range t.Indexes {
		idx[i] = value.ObjectOf(mem("id", num(uint64(ix.ID))), mem("name", str(ix.Name)),
			mem("cols", ids(ix.Columns)), mem("unique", value.BoolOf(ix.Unique)))
	}
	m := []value.Member{
		mem("id", num(uint64(t.ID))), mem("name", str(t.Name)), mem("comment", str(t.Comment)),
		mem("nextCol", num(uint64(t.NextColID))), mem("nextIdx", num(uint64(t.NextIdxID))),
		mem("version", num(t.Version)), mem("pk", ids(t.PK)),
		mem("cols", value.ArrayOf(cols)), mem("idx", value.ArrayOf(idx))}
	if t.Sync { // written only when set, so catalogs of unsynced tables stay as they were
		m = append(m, mem("sync", value.BoolOf(true)))
	}
	return value.ObjectOf(m...)
}

// catalogReader pulls typed fields out of the stored catalog and remembers
// the first thing that was missing or of the wrong kind.
type catalogReader struct{ err error }

func (r *catalogReader) field(v value.Value, k string, want value.Kind) value.Value {
	f, ok := v.Get(k)
	if r.err == nil && (!ok || (f.Kind() != want && want != value.Null)) {
		r.err = fmt.Errorf("catalog field %q: want %s", k, want)
	}
	return f
}
func (r *catalogReader) num(v value.Value, k string) uint64 {
	n := r.field(v, k, value.Number).Number()
	if n < 0 || n > 1<<53 {
		r.err = fmt.Errorf("catalog field %q out of range", k)
		return 0
	}
	return uint64(n)
}
func (r *catalogReader) str(v value.Value, k string) string { return r.field(v, k, value.String).Str() }
func (r *catalogReader) bool(v value.Value, k string) bool  { return r.field(v, k, value.Bool).Bool() }
func (r *catalogReader) arr(v value.Value, k string) []value.Value {
	return r.field(v, k, value.Array).Items()
}
func (r *catalogReader) ids(v value.Value, k string) []uint32 {
	var out []uint32
	for _, x := range r.arr(v, k) {
		if x.Kind() != value.Number {
			r.err = fmt.Errorf("catalog field %q: bad id", k)
			return nil
		}
		out = append(out, uint32(x.Number()))
	}
	return out
}

func decodeCatalog(b []byte) (*catalog, error) {
	v, err := value.Decode(b)
	if err != nil {
		return nil, errorf(CodeCorrupt, "catalog is corrupt: %v", err)
	}
	r := &catalogReader{}
	c := newCatalog()
	c.NextTableID = uint32(r.num(v, "nextTable"))
	if _, ok := v.Get("schemaVersion"); ok {
		c.Version = r.num(v, "schemaVersion")
	}
	for _, db := range r.arr(v, "dbs") {
		tables := map[string]*Table{}
		for _, tv := range r.arr(db, "tables") {
			t := &Table{
				ID: uint32(r.num(tv, "id")), Name: r.str(tv, "name"), Comment: r.str(tv, "comment"),
				NextColID: uint32(r.num(tv, "nextCol")), NextIdxID: uint16(r.num(tv, "nextIdx")),
				Version: r.num(tv, "version"), PK: r.ids(tv, "pk"),
			}
			if s, ok := tv.Get("sync"); ok && s.Kind() == value.Bool {
				t.Sync = s.Bool()
			}
			for _, cv := range r.arr(tv, "cols") {
				t.Columns = append(t.Columns, Column{
					ID: uint32(r.num(cv, "id")), Name: r.str(cv, "name"), Type: Type(r.str(cv, "type")),
					NotNull: r.bool(cv, "notNull"), HasDefault: r.bool(cv, "hasDefault"),
					Default: r.field(cv, "default", value.Null), PrimaryKey: r.bool(cv, "pk"),
					AutoIncrement: r.bool(cv, "ai"), Unique: r.bool(cv, "unique"), Comment: r.str(cv, "comment"),
				})
			}
			for _, iv := range r.arr(tv, "idx") {
				t.Indexes = append(t.Indexes, Index{ID: uint16(r.num(iv, "id")), Name: r.str(iv, "name"),
					Columns: r.ids(iv, "cols"), Unique: r.bool(iv, "unique")})
			}
			tables[t.Name] = t
		}
		c.DBs[r.str(db, "name")] = tables
	}
	if r.err != nil {
		return nil, errorf(CodeCorrupt, "catalog is corrupt: %v", r.err)
	}
	return c, nil
}
