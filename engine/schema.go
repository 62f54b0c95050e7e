package engine

import (
	"strings"
	"unicode/utf8"

	"minibase/engine/value"
)

// Type is a column type.
type Type string

// Column types. Object holds any JSON value (arrays and objects included);
// Any holds anything, bytes too.
const (
	TypeString  Type = "string"
	TypeNumber  Type = "number"
	TypeBoolean Type = "boolean"
	TypeObject  Type = "object"
	TypeBytes   Type = "bytes"
	TypeAny     Type = "any"
)

// Column describes one column of a table.
type Column struct {
	ID            uint32 // stable across renames; rows store it, not the name
	Name          string
	Type          Type
	NotNull       bool
	HasDefault    bool
	Default       value.Value
	PrimaryKey    bool
	AutoIncrement bool
	Unique        bool
	Comment       string
}

// Index describes a secondary index. Unique columns get one too.
type Index struct {
	ID      uint16
	Name    string
	Columns []uint32 // column IDs
	Unique  bool
}

// Table is a table's schema as the catalog stores it.
type Table struct {
	ID        uint32
	Name      string
	Comment   string
	Columns   []Column
	PK        []uint32 // primary key column IDs; empty means a hidden row id
	Indexes   []Index
	NextColID uint32
	NextIdxID uint16
	Version   uint64 // bumped on every schema change
	Sync      bool   // writes are queued for sync (syncmeta.go)

	// Derived by prepare; not stored.
	pos           []int32 // column ID → position in Columns, -1 when dropped
	pkPos         []int   // positions of the primary key columns
	idxPos        [][]int // per index, positions of its columns
	names         []string
	primaryPrefix []byte
	idxPrefix     [][]byte
	cands         []candidate    // access paths for the planner
	colIdx        map[string]int // column name → position
	colIDs        []int          // per position: the column's ID as its one-byte encoding, -1 when longer
}

// Limits on what may be stored.
const (
	maxNameLen = 128
	maxRowSize = 16 << 20
	maxKeySize = 4 << 10
	maxColumns = 1000
)

// checkName validates a database, table, column or index name.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return errorf(CodeBadQuery, "%s name is empty", kind)
	case len(name) > maxNameLen:
		return errorf(CodeBadQuery, "%s name is longer than %d bytes", kind, maxNameLen)
	case !utf8.ValidString(name):
		return errorf(CodeBadQuery, "%s name is not valid UTF-8", kind)
	case strings.HasPrefix(name, "__"):
		return errorf(CodeBadQuery, "%s name %q: names starting with __ are reserved", kind, name)
	case strings.ContainsAny(name, "\x00\n\r\t/\\"):
		return errorf(CodeBadQuery, "%s name %q contains a control character, slash or backslash", kind, name)
	}
	return nil
}

func parseType(s string) (Type, bool) {
	switch Type(s) {
	case TypeString, TypeNumber, TypeBoolean, TypeObject, TypeBytes, TypeAny:
		return Type(s), true
	case "int", "integer", "float", "double":
		return TypeNumber, true
	case "bool":
		return TypeBoolean, true
	case "json", "array":
		return TypeObject, true
	case "text", "varchar":
		return TypeString, true
	case "":
		return TypeAny, true
	}
	return "", false
}

// indexable reports whether values of the type can be keys.
func (t Type) indexable() bool { return t != TypeObject }

// fits reports whether v may be stored in a column of type t (null aside).
func (t Type) fits(v value.Value) bool {
	switch t {
	case TypeString:
		return v.Kind() == value.String
	case TypeNumber:
		return v.Kind() == value.Number
	case TypeBoolean:
		return v.Kind() == value.Bool
	case TypeBytes:
		return v.Kind() == value.Bytes
	case TypeObject:
		return v.Kind() != value.Bytes
	}
	return true
}

func (t *Table) colByName(name string) (int, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i, true
		}
	}
	return -1, false
}

func (t *Table) colByID(id uint32) (int, bool) {
	for i := range t.Columns {
		if t.Columns[i].ID == id {
			return i, true
		}
	}
	return -1, false
}

func (t *Table) indexByName(name string) (int, bool) {
	for i := range t.Indexes {
		if t.Indexes[i].Name == name {
			return i, true
		}
	}
	return -1, false
}

// clone deep-copies the table so a schema change can be built aside and
// swapped in only when it committed.
func (t *Table) clone() *Table {
	c := *t
	c.Columns = append([]Column(nil), t.Columns...)
	c.PK = append([]uint32(nil), t.PK...)
	c.Indexes = make([]Index, len(t.Indexes))
	for i, ix := range t.Indexes {
		ix.Columns = append([]uint32(nil), ix.Columns...)
		c.Indexes[i] = ix
	}
	return &c
}

// autoIncCol returns the position of the autoIncrement column, or -1.
func (t *Table) autoIncCol() int {
	for i := range t.Columns {
		if t.Columns[i].AutoIncrement {
			return i
		}
	}
	return -1
}

// colNames lists the column names in schema order.
func (t *Table) colNames() []string {
	out := make([]string, len(t.Columns))
	for i := range t.Columns {
		out[i] = t.Columns[i].Name
	}
	return out
}
