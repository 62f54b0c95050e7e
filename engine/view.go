package engine

import (
	"bytes"
	"encoding/binary"

	"minibase/engine/value"
)

// rowView finds each column's encoded value inside a stored row without
// decoding the row. A scan loads every row it reads into one view, checks
// the where clause against the columns it names in place, and decodes (or
// copies out as bytes) only the rows that match: most rows a filtered scan
// reads are rejected, and building values for them was most of its cost.
// The row is walked lazily, only as far as the columns asked for: a filter
// on an early column never steps over a large one after it.
type rowView struct {
	t   *Table
	raw []byte
	off []int32 // per column position: where its value starts in raw, when found
	end []int32
	// found marks the columns whose off and end belong to the loaded row:
	// bit p for column p < 64, and found[p>>6] beyond (most tables need
	// one word, cleared by one store per row).
	found []uint64
	pos   int    // where the walk stopped
	left  uint64 // stored columns not walked yet
	err   error  // damage met by a lazy walk; the scan reports it
	// layout is the loaded row's header; an indexed row (layout.w > 0) is
	// not walked: at finds a column through its offsets.
	layout rowLayout
}

func newRowView(t *Table) *rowView {
	n := len(t.Columns)
	return &rowView{t: t, off: make([]int32, n), end: make([]int32, n), found: make([]uint64, (n+63)/64)}
}

// pointScratch is a connection's reusable view and key buffer for reads
// of one row by key (see Conn.point).
type pointScratch struct {
	view *rowView
	key  []byte
}

// pointView returns a view of table t for a read by key: the connection's,
// reused while it is of the same table (a schema change makes a new
// *Table), or a new one outside a connection.
func (tx *Tx) pointView(t *Table) *rowView {
	if tx.c == nil {
		return newRowView(t)
	}
	ps := &tx.c.point
	if ps.view == nil || ps.view.t != t {
		ps.view = newRowView(t)
	}
	return ps.view
}

// pointKey returns the connection's key buffer, empty, for a read by key;
// keepPointKey keeps what the read grew it to.
func (tx *Tx) pointKey() []byte {
	if tx.c == nil {
		return nil
	}
	return tx.c.point.key[:0]
}

func (tx *Tx) keepPointKey(k []byte) {
	if tx.c != nil && cap(k) <= 4<<10 {
		tx.c.point.key = k[:0]
	}
}

// load points the view at a stored row (see encodeRow); raw must stay
// unchanged while the view is used. Damage is CORRUPT, as decodeRow has it.
func (v *rowView) load(raw []byte) error {
	if len(v.found) == 1 {
		v.found[0] = 0
	} else {
		clear(v.found)
	}
	v.raw, v.err = raw, nil
	if len(raw) > 3 && raw[0] == indexedRow && raw[1] == 1 && raw[2] < 0x80 && raw[2] > 0 {
		// An indexed row of one-byte offsets and under 128 columns, inline.
		n := int(raw[2])
		if 3+n-1 > len(raw) {
			return errorf(CodeCorrupt, "row in %s: bad column count", v.t.Name)
		}
		v.layout = rowLayout{n: n, w: 1, offs: 3, pairs: 3 + n - 1}
		v.pos, v.left = len(raw), 0
		return nil
	}
	if len(raw) > 0 && raw[0] < 0x80 && raw[0] != indexedRow {
		// A plain row with under 128 columns, inline.
		v.layout = rowLayout{n: int(raw[0]), pairs: 1}
		if int(raw[0]) > len(raw) {
			return errorf(CodeCorrupt, "row in %s: bad column count", v.t.Name)
		}
	} else {
		l, ok := parseLayout(raw)
		if !ok {
			return errorf(CodeCorrupt, "row in %s: bad column count", v.t.Name)
		}
		v.layout = l
	}
	if v.layout.w > 0 {
		v.pos, v.left = len(raw), 0
	} else {
		v.pos, v.left = v.layout.pairs, uint64(v.layout.n)
	}
	return nil
}

// walk steps over stored columns until column p is found (p < 0: to the
// end of the row) and reports whether the row holds p. The commonest
// encodings (one-byte column ids, small numbers and strings, booleans) are
// stepped over inline: a call per column was a good part of a filtered
// scan's cost under wasm.
func (v *rowView) walk(p int) bool {
	t, raw, pos := v.t, v.raw, v.pos
	for v.left > 0 {
		var cid uint64
		if pos < len(raw) && raw[pos] < 0x80 {
			cid = uint64(raw[pos])
			pos++
		} else {
			c, m := binary.Uvarint(raw[pos:])
			if m <= 0 {
				v.err = errorf(CodeCorrupt, "row in %s: bad column id", t.Name)
				return false
			}
			cid, pos = c, pos+m
		}
		end := -1
		if pos+1 < len(raw) {
			switch raw[pos] {
			case value.TagNull, value.TagFalse, value.TagTrue:
				end = pos + 1
			case value.TagInt:
				// at most 8 varint bytes: |n| ≤ 2^53 zigzags below 2^56
				for k := pos + 1; k < len(raw) && k <= pos+8; k++ {
					if raw[k] < 0x80 {
						end = k + 1
						break
					}
				}
			case value.TagString:
				if n := int(raw[pos+1]); n < 0x80 && pos+2+n <= len(raw) {
					end = pos + 2 + n
				}
			case value.TagFloat:
				if pos+9 <= len(raw) {
					end = pos + 9
				}
			}
		}
		if end < 0 {
			// skipStored past its inline cases, kept inline above: a call
			// per column of a plain row was a good part of a filtered scan.
			end = skipStored(raw, pos)
		}
		if end < 0 {
			v.err = errorf(CodeCorrupt, "row in %s: malformed value of column %d", t.Name, cid)
			return false
		}
		v.left--
		found := -1
		if cid < uint64(len(t.pos)) && t.pos[cid] >= 0 {
			found = int(t.pos[cid])
			v.off[found], v.end[found] = int32(pos), int32(end)
			v.found[found>>6] |= 1 << (found & 63)
		}
		pos = end
		if found == p && p >= 0 {
			v.pos = pos
			return true
		}
	}
	v.pos = pos
	if p < 0 && pos != len(raw) {
		v.err = errorf(CodeCorrupt, "row in %s: trailing bytes", t.Name)
	}
	return false
}

// skipStored returns where the stored value at raw[pos:] ends, -1 when it
// is malformed; the commonest encodings (small numbers and strings,
// booleans) without a call into the value package.
func skipStored(raw []byte, pos int) int {
	if pos+1 < len(raw) {
		switch raw[pos] {
		case value.TagNull, value.TagFalse, value.TagTrue:
			return pos + 1
		case value.TagInt:
			// at most 8 varint bytes: |n| ≤ 2^53 zigzags below 2^56
			for k := pos + 1; k < len(raw) && k <= pos+8; k++ {
				if raw[k] < 0x80 {
					return k + 1
				}
			}
		case value.TagString:
			if n := int(raw[pos+1]); n < 0x80 && pos+2+n <= len(raw) {
				return pos + 2 + n
			}
		case value.TagFloat:
			if pos+9 <= len(raw) {
				return pos + 9
			}
		}
	}
	if e, ok := value.SkipEncoded(raw, pos); ok {
		return e
	}
	return -1
}

// all walks the rest of the row, so every column's bytes are known and the
// whole row has been checked.
func (v *rowView) all() error {
	if v.err == nil && v.layout.w > 0 {
		v.checkIndexed()
	} else if v.err == nil && (v.left > 0 || v.pos != len(v.raw)) {
		v.walk(-1)
	}
	return v.err
}

// checkIndexed checks every pair of an indexed row, as walking checks a
// plain one: each offset in order, each pair one column ID and exactly one
// value, and no column twice (at takes the first, which decodeRow does not).
func (v *rowView) checkIndexed() {
	t, l, raw := v.t, &v.layout, v.raw
	var seen uint64
	lo := l.pairs
	for j := range l.n {
		// Pair j ends where offset j says (inline for one-byte offsets);
		// the last one with the row.
		hi := len(raw)
		if j < l.n-1 {
			if l.w == 1 {
				hi = l.pairs + int(raw[l.offs+j])
			} else {
				hi = l.pairs + l.offset(raw, j)
			}
		}
		if lo+1 >= hi || hi > len(raw) {
			v.err = errorf(CodeCorrupt, "row in %s: bad offset of column %d", t.Name, j)
			return
		}
		cid, k := uint64(raw[lo]), 1
		if cid >= 0x80 {
			if cid, k = binary.Uvarint(raw[lo:hi]); k <= 0 || lo+k >= hi {
				v.err = errorf(CodeCorrupt, "row in %s: bad column id", t.Name)
				return
			}
		}
		if !storedExactly(raw[:hi], lo+k) {
			v.err = errorf(CodeCorrupt, "row in %s: malformed value of column %d", t.Name, cid)
			return
		}
		if cid < uint64(len(t.pos)) && t.pos[cid] >= 0 {
			p := int(t.pos[cid])
			if p < 64 {
				if seen&(1<<p) != 0 {
					v.err = errorf(CodeCorrupt, "row in %s: column %d twice", t.Name, cid)
					return
				}
				seen |= 1 << p
			} else if lo2, _, _ := v.find(p); lo2 != int32(lo+k) {
				v.err = errorf(CodeCorrupt, "row in %s: column %d twice", t.Name, cid)
				return
			}
		}
		lo = hi
	}
}

// storedExactly reports whether b[pos:] is exactly one well-formed stored
// value; the commonest encodings are checked by their length alone.
func storedExactly(b []byte, pos int) bool {
	n := len(b) - pos
	switch b[pos] {
	case value.TagNull, value.TagFalse, value.TagTrue:
		return n == 1
	case value.TagFloat:
		if n != 9 {
			return false
		}
	case value.TagString:
		if n >= 2 && b[pos+1] < 0x80 {
			return int(b[pos+1]) == n-2
		}
	case value.TagInt:
		if n >= 2 && n <= 9 && b[len(b)-1] < 0x80 {
			for _, c := range b[pos+1 : len(b)-1] {
				if c < 0x80 {
					return false
				}
			}
			return true
		}
	}
	return skipStored(b, pos) == len(b)
}

// at returns where column p's bytes are, walking to them if needed; ok is
// false when the row does not hold p (written before p existed). For an
// indexed row the bytes are only as sound as its offsets: value and the
// filters check what they read, and all checks the whole row.
func (v *rowView) at(p int) (lo, hi int32, ok bool) {
	if l := &v.layout; l.w == 1 && p < l.n {
		// The commonest case inline: a row under 256 bytes written with
		// the table's current columns holds column p as its pair p.
		raw := v.raw
		lo, hi := l.pairs, len(raw)
		if p > 0 {
			lo += int(raw[l.offs+p-1])
		}
		if p < l.n-1 {
			hi = l.pairs + int(raw[l.offs+p])
		}
		if lo+1 < hi && hi <= len(raw) && int(raw[lo]) == v.t.colIDs[p] {
			return int32(lo + 1), int32(hi), true
		}
	}
	return v.atSlow(p)
}

// atSlow is at past its inline case.
func (v *rowView) atSlow(p int) (lo, hi int32, ok bool) {
	if v.layout.w > 0 {
		// A row written with the table's current columns holds column p
		// as its pair p.
		l := &v.layout
		if p < l.n {
			lo, hi, ok := l.pair(v.raw, p)
			if ok && v.raw[lo] < 0x80 && int(v.raw[lo]) == int(v.t.Columns[p].ID) {
				return int32(lo + 1), int32(hi), true
			}
		}
		return v.find(p)
	}
	if v.found[p>>6]&(1<<(p&63)) == 0 && (v.left == 0 || !v.walk(p)) {
		return 0, 0, false
	}
	return v.off[p], v.end[p], true
}

// find looks column p up among an indexed row's pairs, first to last (the
// row was written before a schema change, or damaged).
func (v *rowView) find(p int) (lo, hi int32, ok bool) {
	t, l := v.t, &v.layout
	for j := range l.n {
		lo, hi, ok := l.pair(v.raw, j)
		if !ok {
			v.err = errorf(CodeCorrupt, "row in %s: bad offset of column %d", t.Name, j)
			return 0, 0, false
		}
		cid, k := binary.Uvarint(v.raw[lo:hi])
		if k <= 0 || lo+k >= hi {
			v.err = errorf(CodeCorrupt, "row in %s: bad column id", t.Name)
			return 0, 0, false
		}
		if cid < uint64(len(t.pos)) && int(t.pos[cid]) == p {
			return int32(lo + k), int32(hi), true
		}
	}
	return 0, 0, false
}

// value is column p of the loaded row: strings share the row's bytes (see
// value.View), so the result must not outlive the row. A column the row
// lacks (added after it was written) reads as its default.
func (v *rowView) value(p int) value.Value {
	lo, hi, ok := v.at(p)
	if !ok {
		return v.t.absent(p)
	}
	if raw := v.raw; hi-lo >= 2 && raw[lo] == value.TagInt {
		// A number, the commonest orderBy column, read inline.
		if u, k := binary.Uvarint(raw[lo+1 : hi]); k == int(hi-lo-1) {
			if i := int64(u>>1) ^ -int64(u&1); i <= 1<<53 && i >= -(1<<53) {
				return value.NumberOf(float64(i))
			}
		}
	}
	x, err := value.View(v.raw[lo:hi])
	if err != nil {
		// A plain row's walk checked these bytes; an indexed row's are
		// checked here.
		if v.err == nil {
			v.err = errorf(CodeCorrupt, "row in %s: malformed value of column %d", v.t.Name, p)
		}
		return value.NullValue
	}
	return x
}

// appendCol appends column p's encoding: the stored bytes as they are.
func (v *rowView) appendCol(buf []byte, p int) []byte {
	lo, hi, ok := v.at(p)
	if !ok {
		return value.Append(buf, v.t.absent(p))
	}
	return append(buf, v.raw[lo:hi]...)
}

// row decodes the whole loaded row.
func (v *rowView) row() (row, error) { return decodeRow(v.t, v.raw) }

// rawConds are the filter's conditions when it is nothing but one or two
// that a row's bytes decide (rawVerdict): a column compared with a number,
// or equal to a boolean or a short string. One column's range,
// `{ '>=': a, '<': b }`, is two.
type rawConds struct {
	c [2]*Cond
	// enc is an equality's value as a row stores it (one encoding per
	// value, so equal bytes are equal values); nil for a comparison with a
	// number.
	enc [2][]byte
	n   int // 0: the filter is something else, or none
}

// rawCondsOf returns the rawConds of a filter.
func rawCondsOf(filter Expr) rawConds {
	var rc rawConds
	add := func(x Expr) bool {
		c, ok := x.(*Cond)
		switch {
		case !ok || rc.n == len(rc.c):
			return false
		case c.num != numNone:
		case c.Op == OpEq && (c.Value.Kind() == value.Bool || c.Value.Kind() == value.String && len(c.Value.Str()) < 0x80):
			rc.enc[rc.n] = value.Append(nil, c.Value)
		default:
			return false
		}
		rc.c[rc.n] = c
		rc.n++
		return true
	}
	switch e := filter.(type) {
	case *Cond:
		if !add(e) {
			return rawConds{}
		}
	case And:
		if len(e) > len(rc.c) {
			return rawConds{}
		}
		for _, x := range e {
			if !add(x) {
				return rawConds{}
			}
		}
	}
	return rc
}

// loadMatch is load and then matchView, with the commonest rows of a
// filtered scan decided on their bytes first (rawVerdict): a row stored
// with one-byte offsets (load's first case), under a filter of one or two
// conditions rc holds, on columns the row holds at their own positions, as
// integers against a number or as whole values against an equality
// (matchView's and at's first cases). bound, when set, is a number
// condition such a row must also meet where it holds an integer in bound's
// column (top-k's cutoff): a row that fails it is not handed to the
// caller, which would have turned it away. Anything else goes through load
// and matchView.
func (v *rowView) loadMatch(rc *rawConds, bound *Cond, filter Expr, raw []byte) (bool, error) {
	return v.loadVerdict(rawVerdict(rc, bound, v.t.colIDs, raw), filter, raw)
}

// What rawVerdict decided of a row.
const (
	rawOther     = iota // not its case: load and matchView decide
	rawRejected         // a condition fails on the row's bytes
	rawMatched          // the filter holds, the bound does not fail
	rawUndecided        // its layout, but the filter is for matchView
)

// rawVerdict decides rc's conditions and bound on a row's bytes where
// loadMatch's first case applies. It is a function of its own, apart from
// the view, so that a scan turns most rows away in one small call: through
// loadMatch, a top-k's scan took 8-12% longer under wasm.
func rawVerdict(rc *rawConds, bound *Cond, colIDs []int, raw []byte) int {
	if rc.n == 0 && bound == nil || len(raw) <= 3 || raw[0] != indexedRow || raw[1] != 1 || raw[2] >= 0x80 || raw[2] == 0 || 3+int(raw[2])-1 > len(raw) {
		return rawOther
	}
	n := int(raw[2])
	pairs := 3 + n - 1
	verdict := rawMatched
	if rc.n == 0 {
		verdict = rawUndecided // the filter, if any, is matchView's
	}
	// The filter's conditions, then the bound, each read from the row at
	// the column's own position where it holds what the condition compares
	// (an integer; for an equality, one whole value), in a loop, not a call
	// per condition. Otherwise the filter is matchView's, and the bound is
	// left to the caller.
	for i := 0; i <= rc.n; i++ {
		cc := bound
		if i < rc.n {
			cc = rc.c[i]
		} else if cc == nil {
			break
		}
		known := false
		if p := cc.pos; p < n {
			lo, hi := pairs, len(raw)
			if p > 0 {
				lo += int(raw[3+p-1])
			}
			if p < n-1 {
				hi = pairs + int(raw[3+p])
			}
			switch {
			case lo+2 > hi || hi > len(raw) || int(raw[lo]) != colIDs[p]:
			case i < rc.n && rc.enc[i] != nil:
				// An equality, told by the bytes where they are one whole
				// value: each value has one encoding.
				if storedExactly(raw[:hi], lo+1) {
					if !bytes.Equal(raw[lo+1:hi], rc.enc[i]) {
						return rawRejected
					}
					known = true
				}
			case raw[lo+1] == value.TagInt && lo+3 <= hi:
				u, k := uint64(raw[lo+2]), 1
				if u >= 0x80 || hi-lo != 3 {
					u, k = binary.Uvarint(raw[lo+2 : hi])
				}
				if k == hi-lo-2 {
					if !cc.matchesNumber(float64(int64(u>>1) ^ -int64(u&1))) {
						return rawRejected
					}
					known = true
				}
			}
		}
		if i < rc.n && !known {
			verdict = rawUndecided
		}
	}
	return verdict
}

// loadVerdict loads raw as loadMatch would once rawVerdict said verdict
// of it: a row rawVerdict left undecided (the filter is not only
// conditions rawConds holds, or a column's bytes are not what its
// condition compares) or did not decide at all is checked by matchView.
func (v *rowView) loadVerdict(verdict int, filter Expr, raw []byte) (bool, error) {
	switch verdict {
	case rawRejected:
		return false, nil
	case rawOther:
		if err := v.load(raw); err != nil {
			return false, err
		}
		ok := matchView(filter, v)
		return ok, v.err
	}
	// What load leaves for this row (its first case), inline.
	if len(v.found) == 1 {
		v.found[0] = 0
	} else {
		clear(v.found)
	}
	n := int(raw[2])
	v.raw, v.err = raw, nil
	v.layout = rowLayout{n: n, w: 1, offs: 3, pairs: 3 + n - 1}
	v.pos, v.left = len(raw), 0
	if verdict == rawUndecided && filter != nil && (!matchView(filter, v) || v.err != nil) {
		return false, v.err
	}
	return true, nil
}

// matchView evaluates a bound expression against a loaded row in place.
func matchView(e Expr, v *rowView) bool {
	switch e := e.(type) {
	case nil:
		return true
	case And:
		for _, x := range e {
			if !matchView(x, v) {
				return false
			}
		}
		return true
	case Or:
		for _, x := range e {
			if matchView(x, v) {
				return true
			}
		}
		return false
	case *Cond:
		lo, hi, ok := v.at(e.pos)
		if ok && e.num != numNone && hi-lo >= 2 && v.raw[lo] == value.TagInt {
			// The commonest filter, a number column against a number, is
			// compared straight from the stored integer.
			var u uint64
			if b := v.raw[lo+1]; b < 0x80 && hi-lo == 2 {
				u = uint64(b)
			} else if x, k := binary.Uvarint(v.raw[lo+1 : hi]); k == int(hi-lo-1) {
				u = x
			} else {
				if v.err == nil {
					v.err = errorf(CodeCorrupt, "row in %s: malformed value of column %d", v.t.Name, e.pos)
				}
				return false
			}
			return e.matchesNumber(float64(int64(u>>1) ^ -int64(u&1)))
		}
		if !ok {
			return e.matches(v.t.absent(e.pos))
		}
		x, err := value.View(v.raw[lo:hi])
		return err == nil && e.matches(x)
	}
	return false
}

// absent is what column p reads as in a row written before it existed.
func (t *Table) absent(p int) value.Value {
	if c := &t.Columns[p]; c.HasDefault {
		return c.Default
	}
	return value.NullValue
}
