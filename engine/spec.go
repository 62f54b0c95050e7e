package engine

import (
	"fmt"

	"minibase/engine/value"
)

// This file turns the JS-shaped specs of createTable, addColumn,
// modifyColumn and createIndex into schema, and schema back into
// describeTable's answer. Unknown fields are errors: a typo such as
// `primarykey` must not silently create a table without a primary key.

// TableSpec is what createTable accepts.
type TableSpec struct {
	Columns     []Column
	Indexes     []IndexSpec
	PrimaryKey  []string // table-level compound key, optional
	Comment     string
	IfNotExists bool
	Sync        bool // queue every write for offline sync (syncmeta.go)
}

// IndexSpec is what createIndex accepts.
type IndexSpec struct {
	Name    string
	Columns []string
	Unique  bool
}

func badSpec(where, format string, args ...any) error {
	return errorf(CodeBadQuery, where+": "+format, args...)
}

// eachField calls fn for every member of an object, or fails when v is not one.
func eachField(where string, v value.Value, fn func(key string, v value.Value) error) error {
	if v.IsNull() {
		return nil
	}
	if v.Kind() != value.Object {
		return badSpec(where, "expected an object, got %s", v.Kind())
	}
	for i := 0; i < v.Len(); i++ {
		if err := fn(v.KeyAt(i), v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

func wantBool(where, key string, v value.Value) (bool, error) {
	switch v.Kind() {
	case value.Bool:
		return v.Bool(), nil
	case value.Null:
		return false, nil
	}
	return false, badSpec(where, "%s must be a boolean, got %s", key, v)
}

func wantString(where, key string, v value.Value) (string, error) {
	if v.Kind() == value.String {
		return v.Str(), nil
	}
	return "", badSpec(where, "%s must be a string, got %s", key, v)
}

// wantNames accepts "col" or ["a", "b"].
func wantNames(where, key string, v value.Value) ([]string, error) {
	if v.Kind() == value.String {
		return []string{v.Str()}, nil
	}
	if v.Kind() != value.Array || v.Len() == 0 {
		return nil, badSpec(where, "%s must be a column name or a non-empty array of names", key)
	}
	out := make([]string, v.Len())
	for i, it := range v.Items() {
		if it.Kind() != value.String {
			return nil, badSpec(where, "%s[%d] must be a string, got %s", key, i, it)
		}
		out[i] = it.Str()
	}
	return out, nil
}

// ParseTableSpec reads createTable's options.
func ParseTableSpec(v value.Value) (TableSpec, error) {
	var s TableSpec
	const where = "createTable"
	err := eachField(where, v, func(k string, f value.Value) (err error) {
		switch k {
		case "columns":
			if f.Kind() != value.Array {
				return badSpec(where, "columns must be an array")
			}
			for _, c := range f.Items() {
				col, err := ParseColumn(c)
				if err != nil {
					return err
				}
				s.Columns = append(s.Columns, col)
			}
		case "indexes":
			if f.Kind() != value.Array {
				return badSpec(where, "indexes must be an array")
			}
			for _, ix := range f.Items() {
				spec, err := ParseIndexSpec(ix)
				if err != nil {
					return err
				}
				s.Indexes = append(s.Indexes, spec)
			}
		case "primaryKey":
			s.PrimaryKey, err = wantNames(where, k, f)
		case "comment":
			s.Comment, err = wantString(where, k, f)
		case "ifNotExists":
			s.IfNotExists, err = wantBool(where, k, f)
		case "sync":
			s.Sync, err = wantBool(where, k, f)
		default:
			return badSpec(where, "unknown option %q", k)
		}
		return err
	})
	if err != nil {
		return TableSpec{}, err
	}
	if len(s.Columns) == 0 {
		return TableSpec{}, badSpec(where, "a table needs at least one column")
	}
	return s, nil
}

// ParseColumn reads one column definition. It accepts the older libraries'
// aliases uni (unique) and increment (autoIncrement).
func ParseColumn(v value.Value) (Column, error) {
	var c Column
	where := "column"
	if v.Kind() == value.Object {
		if n, ok := v.Get("name"); ok && n.Kind() == value.String {
			where = fmt.Sprintf("column %q", n.Str())
		}
	}
	typ := ""
	err := eachField(where, v, func(k string, f value.Value) (err error) {
		switch k {
		case "name":
			c.Name, err = wantString(where, k, f)
		case "type":
			typ, err = wantString(where, k, f)
		case "default":
			c.HasDefault, c.Default = true, f
		case "notNull":
			c.NotNull, err = wantBool(where, k, f)
		case "primaryKey", "pk":
			c.PrimaryKey, err = wantBool(where, k, f)
		case "autoIncrement", "increment":
			c.AutoIncrement, err = wantBool(where, k, f)
		case "unique", "uni":
			c.Unique, err = wantBool(where, k, f)
		case "comment":
			c.Comment, err = wantString(where, k, f)
		default:
			return badSpec(where, "unknown option %q", k)
		}
		return err
	})
	if err != nil {
		return Column{}, err
	}
	if v.Kind() != value.Object {
		return Column{}, badSpec(where, "expected an object, got %s", v.Kind())
	}
	if err := checkName("column", c.Name); err != nil {
		return Column{}, err
	}
	t, ok := parseType(typ)
	if !ok {
		return Column{}, badSpec(where, "unknown type %q (use string, number, boolean, object, bytes or any)", typ)
	}
	c.Type = t
	if c.AutoIncrement && c.Type != TypeNumber {
		return Column{}, badSpec(where, "autoIncrement needs type number")
	}
	if c.HasDefault && !c.Default.IsNull() && !c.Type.fits(c.Default) {
		return Column{}, errorf(CodeTypeMismatch, "%s: default %s is not a %s", where, c.Default, c.Type)
	}
	return c, nil
}

// ParseIndexSpec reads createIndex's argument: { name?, columns, unique? },
// or just a column name or an array of names.
func ParseIndexSpec(v value.Value) (IndexSpec, error) {
	const where = "index"
	var s IndexSpec
	if v.Kind() == value.String || v.Kind() == value.Array {
		cols, err := wantNames(where, "columns", v)
		return IndexSpec{Columns: cols}, err
	}
	err := eachField(where, v, func(k string, f value.Value) (err error) {
		switch k {
		case "name":
			s.Name, err = wantString(where, k, f)
		case "columns", "column", "fields":
			s.Columns, err = wantNames(where, k, f)
		case "unique":
			s.Unique, err = wantBool(where, k, f)
		default:
			return badSpec(where, "unknown option %q", k)
		}
		return err
	})
	if err != nil {
		return IndexSpec{}, err
	}
	if v.Kind() != value.Object || len(s.Columns) == 0 {
		return IndexSpec{}, badSpec(where, "an index needs columns")
	}
	return s, nil
}

// Describe renders a table's schema the way createTable accepts it.
func (t *Table) Describe() value.Value {
	cols := make([]value.Value, len(t.Columns))
	for i, c := range t.Columns {
		m := []value.Member{
			{Key: "name", Value: value.StringOf(c.Name)},
			{Key: "type", Value: value.StringOf(string(c.Type))},
		}
		flag := func(k string, b bool) {
			if b {
				m = append(m, value.Member{Key: k, Value: value.BoolOf(true)})
			}
		}
		flag("primaryKey", c.PrimaryKey)
		flag("autoIncrement", c.AutoIncrement)
		flag("unique", c.Unique)
		flag("notNull", c.NotNull)
		if c.HasDefault {
			m = append(m, value.Member{Key: "default", Value: c.Default})
		}
		if c.Comment != "" {
			m = append(m, value.Member{Key: "comment", Value: value.StringOf(c.Comment)})
		}
		cols[i] = value.ObjectOf(m...)
	}
	idx := make([]value.Value, 0, len(t.Indexes))
	for _, ix := range t.Indexes {
		idx = append(idx, value.ObjectOf(
			value.Member{Key: "name", Value: value.StringOf(ix.Name)},
			value.Member{Key: "columns", Value: t.namesOf(ix.Columns)},
			value.Member{Key: "unique", Value: value.BoolOf(ix.Unique)},
		))
	}
	out := []value.Member{
		{Key: "name", Value: value.StringOf(t.Name)},
		{Key: "columns", Value: value.ArrayOf(cols)},
		{Key: "indexes", Value: value.ArrayOf(idx)},
		{Key: "primaryKey", Value: t.namesOf(t.PK)},
		{Key: "comment", Value: value.StringOf(t.Comment)},
	}
	if t.Sync {
		out = append(out, value.Member{Key: "sync", Value: value.BoolOf(true)})
	}
	return value.ObjectOf(out...)
}

func (t *Table) namesOf(ids []uint32) value.Value {
	out := make([]value.Value, 0, len(ids))
	for _, id := range ids {
		if i, ok := t.colByID(id); ok {
			out = append(out, value.StringOf(t.Columns[i].Name))
		}
	}
	return value.ArrayOf(out)
}

// buildTable validates a spec and turns it into a schema.
func buildTable(id uint32, name string, s TableSpec) (*Table, error) {
	if err := checkName("table", name); err != nil {
		return nil, err
	}
	if len(s.Columns) > maxColumns {
		return nil, badSpec("createTable "+name, "more than %d columns", maxColumns)
	}
	t := &Table{ID: id, Name: name, Comment: s.Comment, NextColID: 1, NextIdxID: 1, Version: 1}
	for _, c := range s.Columns {
		if _, dup := t.colByName(c.Name); dup {
			return nil, errorf(CodeAlreadyExists, "createTable %s: column %q defined twice", name, c.Name)
		}
		c.ID = t.NextColID
		t.NextColID++
		t.Columns = append(t.Columns, c)
		if c.PrimaryKey {
			t.PK = append(t.PK, c.ID)
		}
	}
	if len(s.PrimaryKey) > 0 {
		if len(t.PK) > 0 {
			return nil, badSpec("createTable "+name, "primary key given both on columns and as primaryKey")
		}
		for _, n := range s.PrimaryKey {
			i, ok := t.colByName(n)
			if !ok {
				return nil, errorf(CodeNoSuchColumn, "createTable %s: primary key column %q does not exist", name, n)
			}
			t.Columns[i].PrimaryKey = true
			t.PK = append(t.PK, t.Columns[i].ID)
		}
	}
	auto := 0
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.PrimaryKey {
			if !c.Type.indexable() {
				return nil, badSpec("createTable "+name, "column %q of type %s cannot be a primary key", c.Name, c.Type)
			}
			c.NotNull = true
			c.Unique = false // the primary key is unique by itself
		}
		if c.AutoIncrement {
			auto++
			if !c.PrimaryKey || len(t.PK) != 1 {
				return nil, badSpec("createTable "+name, "autoIncrement column %q must be the whole primary key", c.Name)
			}
		}
	}
	if auto > 1 {
		return nil, badSpec("createTable "+name, "only one autoIncrement column is allowed")
	}
	if s.Sync {
		if err := checkSyncable(t); err != nil {
			return nil, err
		}
		t.Sync = true
	}
	for _, c := range t.Columns {
		if c.Unique {
			if _, err := t.addIndex(IndexSpec{Name: c.Name + "_unique", Columns: []string{c.Name}, Unique: true}); err != nil {
				return nil, err
			}
		}
	}
	for _, ix := range s.Indexes {
		if _, err := t.addIndex(ix); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// addIndex adds an index definition to the schema (not its entries).
func (t *Table) addIndex(s IndexSpec) (*Index, error) {
	ix := Index{ID: t.NextIdxID, Unique: s.Unique, Name: s.Name}
	if len(s.Columns) > 16 {
		return nil, badSpec("index on "+t.Name, "more than 16 columns")
	}
	for _, n := range s.Columns {
		i, ok := t.colByName(n)
		if !ok {
			return nil, errorf(CodeNoSuchColumn, "index on %s: no column %q", t.Name, n)
		}
		if !t.Columns[i].Type.indexable() {
			return nil, badSpec("index on "+t.Name, "column %q of type %s cannot be indexed", n, t.Columns[i].Type)
		}
		for _, id := range ix.Columns {
			if id == t.Columns[i].ID {
				return nil, badSpec("index on "+t.Name, "column %q listed twice", n)
			}
		}
		ix.Columns = append(ix.Columns, t.Columns[i].ID)
	}
	if ix.Name == "" {
		ix.Name = "idx_" + joinNames(s.Columns)
		if ix.Unique {
			ix.Name = "uniq_" + joinNames(s.Columns)
		}
	}
	if err := checkName("index", ix.Name); err != nil {
		return nil, err
	}
	if _, dup := t.indexByName(ix.Name); dup || ix.Name == "primary" {
		return nil, errorf(CodeAlreadyExists, "index %q already exists on %s", ix.Name, t.Name)
	}
	t.NextIdxID++
	t.Indexes = append(t.Indexes, ix)
	return &t.Indexes[len(t.Indexes)-1], nil
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += "_"
		}
		out += n
	}
	return out
}
