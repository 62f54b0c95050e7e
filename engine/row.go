package engine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"minibase/engine/keys"
	"minibase/engine/value"
)

// A stored row is n pairs (uvarint column ID, value). Columns are named by ID
// so a rename rewrites nothing; a column missing from an old row (added
// later) reads as its default; IDs of dropped columns are skipped. Nulls are
// stored explicitly so they are not mistaken for "added later".
//
// Rows are written indexed: [0x00] [w] [uvarint n] [n-1 offsets, w bytes
// each, little-endian] pairs. Offset j is where pair j ends (and pair j+1
// starts), counted from the first pair; the last pair ends with the row; w
// is 1, 2 or 4, the fewest bytes that hold the pairs' length. A filter or an
// orderBy reads one column of every row a scan visits: with the offsets that
// is one lookup instead of stepping over every column before it, which was
// the largest part of a filtered scan under wasm.
//
// Rows written before the offsets existed are plain: [uvarint n] pairs, n ≥
// 1 (a table has a column), so a leading 0x00 followed by more bytes can only
// be an indexed row. Both read the same; plain rows stay readable and are
// indexed when next written.

// row is one row in schema column order.
type row []value.Value

// prepare builds the per-schema lookup tables. It must be called on every
// Table before use (after load or a schema change).
func (t *Table) prepare() {
	t.pos = make([]int32, t.NextColID+1)
	for i := range t.pos {
		t.pos[i] = -1
	}
	for i, c := range t.Columns {
		t.pos[c.ID] = int32(i)
	}
	t.pkPos = t.pkPos[:0]
	for _, id := range t.PK {
		t.pkPos = append(t.pkPos, int(t.pos[id]))
	}
	t.idxPos = make([][]int, len(t.Indexes))
	for i, ix := range t.Indexes {
		for _, id := range ix.Columns {
			t.idxPos[i] = append(t.idxPos[i], int(t.pos[id]))
		}
	}
	t.names = t.colNames()
	t.cands = nil
	t.colIdx = make(map[string]int, len(t.Columns))
	t.colIDs = make([]int, len(t.Columns))
	for i, c := range t.Columns {
		t.colIdx[c.Name] = i
		t.colIDs[i] = -1
		if c.ID < 0x80 {
			t.colIDs[i] = int(c.ID)
		}
	}
	t.primaryPrefix = indexPrefix(t.ID, 0)
	t.idxPrefix = make([][]byte, len(t.Indexes))
	for i, ix := range t.Indexes {
		t.idxPrefix[i] = indexPrefix(t.ID, ix.ID)
	}
}

func encodeRow(buf []byte, t *Table, r row) []byte {
	n := len(t.Columns)
	if writePlainRows || n == 0 { // no table has no column; a damaged catalog is not a panic
		buf = binary.AppendUvarint(buf, uint64(n))
		for i := range t.Columns {
			buf = binary.AppendUvarint(buf, uint64(t.Columns[i].ID))
			buf = value.Append(buf, r[i])
		}
		return buf
	}
	// The pairs go after room for one-byte offsets, their ends noted as
	// they are written; past 255 bytes of pairs they move to make room for
	// wider offsets.
	start := len(buf)
	buf, offs := appendRowHeader(buf, n, 1)
	pairs := len(buf)
	var small [16]int
	ends := small[:0]
	if n-1 > len(small) {
		ends = make([]int, 0, n-1)
	}
	for i := range t.Columns {
		if i > 0 {
			ends = append(ends, len(buf)-pairs)
		}
		buf = binary.AppendUvarint(buf, uint64(t.Columns[i].ID))
		buf = value.Append(buf, r[i])
	}
	w := offsetWidth(len(buf) - pairs)
	if w > 1 {
		grow := (n - 1) * (w - 1)
		buf = append(buf, make([]byte, grow)...)
		copy(buf[pairs+grow:], buf[pairs:len(buf)-grow])
		buf[start+1] = byte(w)
	}
	putOffsets(buf[offs:], ends, w)
	return buf
}

// indexedRow is the first byte of an indexed row (see above).
const indexedRow = 0x00

// writePlainRows makes encodeRow write plain rows, as the engine did before
// rows were indexed; tests turn it on to build such a database.
var writePlainRows = false

// offsetWidth is the bytes per offset of an indexed row whose pairs take
// size bytes.
func offsetWidth(size int) int {
	switch {
	case size <= 0xff:
		return 1
	case size <= 0xffff:
		return 2
	}
	return 4
}

// appendRowHeader appends an indexed row's header for n pairs and offsets
// of width w, the offsets zero, and returns where they start.
func appendRowHeader(buf []byte, n, w int) ([]byte, int) {
	buf = append(buf, indexedRow, byte(w))
	buf = binary.AppendUvarint(buf, uint64(n))
	offs := len(buf)
	return append(buf, make([]byte, (n-1)*w)...), offs
}

// putOffsets writes ends as offsets of width w into b.
func putOffsets(b []byte, ends []int, w int) {
	for j, e := range ends {
		switch w {
		case 1:
			b[j] = byte(e)
		case 2:
			binary.LittleEndian.PutUint16(b[2*j:], uint16(e))
		default:
			binary.LittleEndian.PutUint32(b[4*j:], uint32(e))
		}
	}
}

// rowLayout is where an indexed row's pairs are: parsed from the header
// only, so every offset is checked when it is used.
type rowLayout struct {
	n     int // pairs
	w     int // offset width, 0 for a plain row
	offs  int // where the offsets start
	pairs int // where the pairs start
}

// parseLayout reads a stored row's header. A plain row has w 0 and pairs
// after its count.
func parseLayout(b []byte) (rowLayout, bool) {
	if len(b) > 1 && b[0] == indexedRow {
		w := int(b[1])
		n, k := binary.Uvarint(b[2:])
		if k <= 0 || n == 0 || (w != 1 && w != 2 && w != 4) || n > uint64(len(b)) {
			return rowLayout{}, false
		}
		offs := 2 + k
		pairs := offs + int(n-1)*w
		if pairs > len(b) {
			return rowLayout{}, false
		}
		return rowLayout{n: int(n), w: w, offs: offs, pairs: pairs}, true
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return rowLayout{}, false
	}
	return rowLayout{n: int(n), pairs: k}, true
}

// pair returns where pair j of an indexed row is in b; ok is false when
// the offsets are damaged (out of order, past the row, or a pair too short
// for a column ID and a value).
func (l *rowLayout) pair(b []byte, j int) (lo, hi int, ok bool) {
	lo, hi = l.pairs, len(b)
	if j > 0 {
		lo = l.pairs + l.offset(b, j-1)
	}
	if j < l.n-1 {
		hi = l.pairs + l.offset(b, j)
	}
	return lo, hi, lo+1 < hi && hi <= len(b) && lo >= l.pairs
}

// offset is offset j (the end of pair j) of an indexed row.
func (l *rowLayout) offset(b []byte, j int) int {
	p := l.offs + j*l.w
	switch l.w {
	case 1:
		return int(b[p])
	case 2:
		return int(binary.LittleEndian.Uint16(b[p:]))
	}
	return int(binary.LittleEndian.Uint32(b[p:]))
}

func decodeRow(t *Table, b []byte) (row, error) { return decodeRowInto(t, b, nil, false) }

// decodeRowView is decodeRow into r (reused when it has room) with values
// that share b (see value.Decoder.NextView): strings point into b and an
// array or object stays its encoding. Such a row can be stored again and
// keyed as it is (an update or a delete does only that with the old row),
// but it must not be kept or returned.
func decodeRowView(t *Table, b []byte, r row) (row, error) { return decodeRowInto(t, b, r, true) }

func decodeRowInto(t *Table, b []byte, r row, view bool) (row, error) {
	if len(r) != len(t.Columns) {
		r = make(row, len(t.Columns))
	} else {
		clear(r)
	}
	seen := uint64(0) // bitmap for the first 64 columns; others fall back to defaults below
	l, ok := parseLayout(b)
	if !ok {
		return nil, errorf(CodeCorrupt, "row in %s: bad column count", t.Name)
	}
	// A plain row's pairs follow each other to its end; an indexed row's
	// are where its offsets say, each exactly a column ID and a value.
	d := value.NewDecoder(b[l.pairs:])
	for j := 0; j < l.n; j++ {
		if l.w > 0 {
			lo, hi, ok := l.pair(b, j)
			if !ok {
				return nil, errorf(CodeCorrupt, "row in %s: bad offset of column %d", t.Name, j)
			}
			d = value.NewDecoder(b[lo:hi])
		}
		cid, err := d.Uvarint()
		if err != nil {
			return nil, errorf(CodeCorrupt, "row in %s: %v", t.Name, err)
		}
		var v value.Value
		if view {
			v, err = d.NextView()
		} else {
			v, err = d.Next()
		}
		if err != nil {
			return nil, errorf(CodeCorrupt, "row in %s: %v", t.Name, err)
		}
		if l.w > 0 && d.More() {
			return nil, errorf(CodeCorrupt, "row in %s: bad offset of column %d", t.Name, j)
		}
		if cid < uint64(len(t.pos)) && t.pos[cid] >= 0 {
			p := t.pos[cid]
			r[p] = v
			if p < 64 {
				seen |= 1 << p
			}
		}
	}
	if l.w == 0 && d.More() {
		return nil, errorf(CodeCorrupt, "row in %s: trailing bytes", t.Name)
	}
	// A row written before a column was added lacks it (and may hold
	// columns dropped since, so its count says nothing): the default.
	for i := range t.Columns {
		if (i >= 64 || seen&(1<<i) == 0) && t.Columns[i].HasDefault && r[i].IsNull() {
			r[i] = t.Columns[i].Default
		}
	}
	return r, nil
}

// pkKey returns the store key of a row: the table's primary index prefix and
// the encoded primary key tuple (or the hidden row id).
func (t *Table) pkKey(buf []byte, r row, rowid float64) ([]byte, error) {
	buf = append(buf, t.primaryPrefix...)
	if len(t.pkPos) == 0 {
		return keys.AppendNumber(buf, rowid), nil
	}
	for _, p := range t.pkPos {
		var err error
		if buf, err = keys.Append(buf, r[p]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// pkValue is what insert resolves to: the key value, or an object of the
// key columns for a compound key.
func (t *Table) pkValue(r row, rowid float64) value.Value {
	switch len(t.pkPos) {
	case 0:
		return value.NumberOf(rowid)
	case 1:
		return r[t.pkPos[0]]
	}
	m := make([]value.Member, len(t.pkPos))
	for i, p := range t.pkPos {
		m[i] = value.Member{Key: t.Columns[p].Name, Value: r[p]}
	}
	return value.ObjectOf(m...)
}

// rowFromObject turns an input object into a row: unknown columns and values
// of the wrong type are errors; missing columns take their default or null.
// Constraints that need the final row (notNull) are checked by checkRow.
func (t *Table) rowFromObject(v value.Value) (row, []bool, error) {
	if v.Kind() != value.Object {
		return nil, nil, errorf(CodeBadValue, "insert into %s: a row must be an object, got %s", t.Name, v.Kind())
	}
	r := make(row, len(t.Columns))
	given := make([]bool, len(t.Columns))
	for i := 0; i < v.Len(); i++ {
		name := v.KeyAt(i)
		p, ok := t.colByName(name)
		if !ok {
			return nil, nil, errorf(CodeNoSuchColumn, "insert into %s: no column %q", t.Name, name)
		}
		if err := t.checkType(p, v.Index(i)); err != nil {
			return nil, nil, err
		}
		r[p], given[p] = v.Index(i), true
	}
	for i := range t.Columns {
		if !given[i] && t.Columns[i].HasDefault {
			r[i] = t.Columns[i].Default
		}
	}
	return r, given, nil
}

// rowFromDecoder is rowFromObject reading the row straight from encoded
// bytes: no object value and no string per column name is built per row,
// which is most of what decoding a bulk insert costs.
func (t *Table) rowFromDecoder(d *value.Decoder) (row, []bool, error) {
	return t.rowFromDecoderInto(d, nil, nil)
}

// rowFromDecoderInto is rowFromDecoder filling r and given (reused across
// the rows of one bulk insert when they have room) with values that share
// the decoder's buffer (see value.Decoder.NextView): the row must be stored
// before the buffer changes, and not kept.
func (t *Table) rowFromDecoderInto(d *value.Decoder, r row, given []bool) (row, []bool, error) {
	if tag, ok := d.PeekTag(); ok && tag != value.TagObject {
		v, err := d.Next()
		if err != nil {
			return nil, nil, errorf(CodeBadValue, "insert into %s: malformed row: %v", t.Name, err)
		}
		return nil, nil, errorf(CodeBadValue, "insert into %s: a row must be an object, got %s", t.Name, v.Kind())
	}
	if len(r) != len(t.Columns) || len(given) != len(t.Columns) {
		r, given = make(row, len(t.Columns)), make([]bool, len(t.Columns))
	} else {
		clear(r)
		clear(given)
	}
	next := 0 // rows of one insert mostly list their columns in one order: try the one after the last first
	err := d.ObjectMembers(func(key []byte) error {
		p := next
		if p >= len(t.Columns) || t.Columns[p].Name != string(key) {
			var ok bool
			if p, ok = t.colIdx[string(key)]; !ok {
				return errorf(CodeNoSuchColumn, "insert into %s: no column %q", t.Name, string(key))
			}
		}
		next = p + 1
		v, err := d.NextView()
		if err != nil {
			return err
		}
		if err := t.checkType(p, v); err != nil {
			return err
		}
		r[p], given[p] = v, true
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, nil, err
		}
		return nil, nil, errorf(CodeBadValue, "insert into %s: malformed row: %v", t.Name, err)
	}
	for i := range t.Columns {
		if !given[i] && t.Columns[i].HasDefault {
			r[i] = t.Columns[i].Default
		}
	}
	return r, given, nil
}

func (t *Table) checkType(p int, v value.Value) error {
	c := &t.Columns[p]
	if v.IsNull() || c.Type.fits(v) {
		return nil
	}
	return errorf(CodeTypeMismatch, "type mismatch on %s.%s: %s is not a %s", t.Name, c.Name, v, c.Type)
}

// checkRow enforces notNull and size limits on a complete row.
func (t *Table) checkRow(r row) error {
	for i := range t.Columns {
		if t.Columns[i].NotNull && r[i].IsNull() {
			return errorf(CodeNotNullViolation, "not null violation on %s.%s", t.Name, t.Columns[i].Name)
		}
	}
	return nil
}

// rowObject renders a row as an object with all columns, for Go callers.
func (t *Table) rowObject(r row) value.Value {
	return value.ObjectFrom(t.names, r)
}

func sizeErr(t *Table, what string, n int) error {
	return errorf(CodeTooLarge, "%s in %s is %d bytes; the limit is %s", what, t.Name, n, limitName(what))
}

func limitName(what string) string {
	if what == "row" {
		return fmt.Sprintf("%d MiB", maxRowSize>>20)
	}
	return fmt.Sprintf("%d bytes", maxKeySize)
}
