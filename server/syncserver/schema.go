package syncserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// Schema names the tables a server accepts, their key columns and column
// types. It is read-only once built, so one Schema may serve many requests.
type Schema struct {
	tables map[string]*tableSchema
}

type tableSchema struct {
	key     []string          // one column, or several for a compound key
	columns map[string]string // nil: any columns
}

// Column types of a schema (PROTOCOL.md, "Schema").
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeObject  = "object"
	TypeAny     = "any"
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

type schemaFile struct {
	Tables map[string]struct {
		Key     json.RawMessage   `json:"key"`
		Columns map[string]string `json:"columns"`
	} `json:"tables"`
}

// ParseSchema reads a schema file:
//
//	{"tables": {"todos": {"key": "id", "columns": {"id": "number", "title": "string"}}}}
//
// "key" is a column name or an array of names (a compound key, sent as a JSON
// array in that order); "columns" may be omitted to accept any columns.
// Unknown fields are errors, so a typo cannot silently loosen validation.
func ParseSchema(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f schemaFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("syncserver: schema: %w", err)
	}
	if len(f.Tables) == 0 {
		return nil, errors.New("syncserver: schema: no tables")
	}
	s := &Schema{tables: make(map[string]*tableSchema, len(f.Tables))}
	names := make([]string, 0, len(f.Tables))
	for n := range f.Tables {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic error messages
	for _, name := range names {
		t := f.Tables[name]
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("syncserver: schema: bad table name %q", name)
		}
		ts := &tableSchema{}
		switch {
		case len(t.Key) == 0:
			ts.key = []string{"id"}
		case t.Key[0] == '[':
			if err := json.Unmarshal(t.Key, &ts.key); err != nil || len(ts.key) == 0 {
				return nil, fmt.Errorf("syncserver: schema: table %q: key must be a column name or a non-empty array of names", name)
			}
		default:
			var k string
			if err := json.Unmarshal(t.Key, &k); err != nil {
				return nil, fmt.Errorf("syncserver: schema: table %q: key must be a column name or a non-empty array of names", name)
			}
			ts.key = []string{k}
		}
		for _, k := range ts.key {
			if k == "" {
				return nil, fmt.Errorf("syncserver: schema: table %q: empty key column name", name)
			}
		}
		if t.Columns != nil {
			ts.columns = make(map[string]string, len(t.Columns))
			for c, typ := range t.Columns {
				switch typ {
				case TypeString, TypeNumber, TypeBoolean, TypeObject, TypeAny:
				default:
					return nil, fmt.Errorf("syncserver: schema: table %q column %q: unknown type %q", name, c, typ)
				}
				ts.columns[c] = typ
			}
			for _, k := range ts.key {
				typ, ok := ts.columns[k]
				if !ok {
					return nil, fmt.Errorf("syncserver: schema: table %q: key column %q is not among its columns", name, k)
				}
				if typ == TypeBoolean || typ == TypeObject {
					return nil, fmt.Errorf("syncserver: schema: table %q: key column %q must be string, number or any", name, k)
				}
			}
		}
		s.tables[name] = ts
	}
	return s, nil
}

// defaultTable is what a server without a schema assumes for every table.
var defaultTable = &tableSchema{key: []string{"id"}}

func (s *Schema) table(name string) (*tableSchema, bool) {
	if s == nil {
		if !nameRE.MatchString(name) {
			return nil, false
		}
		return defaultTable, true
	}
	t, ok := s.tables[name]
	return t, ok
}

// jsonKind names the JSON type of an already-validated raw value by its first
// byte; the decoder has checked the rest.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return TypeString
	case '{', '[':
		return TypeObject
	case 't', 'f':
		return TypeBoolean
	case 'n':
		return "null"
	default:
		return TypeNumber
	}
}

// checkRow validates a row's columns and that its key columns match key
// (canonical text). It returns a message for the client, or "".
func (t *tableSchema) checkRow(row map[string]json.RawMessage, key string) string {
	if t.columns != nil {
		cols := make([]string, 0, len(row))
		for c := range row {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, c := range cols {
			typ, ok := t.columns[c]
			if !ok {
				return fmt.Sprintf("unknown column %q", c)
			}
			kind := jsonKind(row[c])
			if typ == TypeAny || kind == "null" || kind == typ {
				continue
			}
			return fmt.Sprintf("column %q must be %s, got %s", c, typ, kind)
		}
	}
	var rowKey string
	var err error
	if len(t.key) == 1 {
		v, ok := row[t.key[0]]
		if !ok || jsonKind(v) == "null" {
			return fmt.Sprintf("row lacks its key column %q", t.key[0])
		}
		rowKey, err = canonicalKey(v)
	} else {
		parts := make([]json.RawMessage, len(t.key))
		for i, k := range t.key {
			v, ok := row[k]
			if !ok || jsonKind(v) == "null" {
				return fmt.Sprintf("row lacks its key column %q", k)
			}
			parts[i] = v
		}
		var joined []byte
		joined, err = json.Marshal(parts)
		if err == nil {
			rowKey, err = canonicalKey(joined)
		}
	}
	if err != nil {
		return "row key: " + err.Error()
	}
	if rowKey != key {
		return fmt.Sprintf("key %s does not match the row's key %s", key, rowKey)
	}
	return ""
}
