package engine

import (
	"bytes"
	"slices"

	"minibase/engine/kv"
	"minibase/engine/value"
)

// patcher rewrites the columns an update sets straight in a row's stored
// bytes: the row is neither decoded nor encoded again. It serves updates
// that can change nothing but those bytes (see patchable); mutate, the one
// path through which rows change, does the same for them with a decoded row,
// at several times the cost under wasm.
type patcher struct {
	v     *rowView
	pos   []int         // the columns set, in the order of vals
	vals  []value.Value // their new values
	enc   [][]byte      // their new encodings
	spans []patchSpan   // scratch: where each set column is in the row, by offset
	ends  []int         // scratch: the patched row's pair ends
}

// patchUpdates turns the patching path on; tests turn it off to compare
// it with the decoding path.
var patchUpdates = true

type patchSpan struct {
	lo, hi int32
	i      int // index into pos/vals/enc
}

// patchable reports whether an update setting columns pos of t changes
// only those columns' bytes: no key or index column moves (no entry to
// rewrite, no uniqueness to check), no autoIncrement column is set (its
// sequence follows explicit values), no column is set twice, and the table
// is not synced (a synced write records the row's old and new state,
// decoded).
func (t *Table) patchable(pos []int) bool {
	if !patchUpdates || t.Sync {
		return false
	}
	ai := t.autoIncCol()
	for j, p := range pos {
		// A column set twice (the last value wins) takes the decoding path.
		if p == ai || slices.Contains(t.pkPos, p) || slices.Contains(pos[:j], p) {
			return false
		}
		for i := range t.idxPos {
			if slices.Contains(t.idxPos[i], p) {
				return false
			}
		}
	}
	return true
}

func newPatcher(t *Table, pos []int, vals []value.Value) *patcher {
	pt := &patcher{v: newRowView(t), pos: pos, vals: vals, enc: make([][]byte, len(vals)), spans: make([]patchSpan, 0, len(pos))}
	for i, x := range vals {
		pt.enc[i] = value.Append(nil, x)
	}
	return pt
}

// patch appends to buf the stored row raw with the set columns replaced.
// changed is false when every set column already holds its new value (as
// mutate's caller compares them, sameValue, here on their encodings); ok is
// false when the row lacks a set column (written before the column
// existed): the caller takes the decoding path. A new null in a notNull column is refused as checkRow
// refuses it (the row's other columns were checked when written).
func (pt *patcher) patch(raw, buf []byte) (enc []byte, changed, ok bool, err error) {
	v := pt.v
	t := v.t
	if err := v.load(raw); err != nil {
		return nil, false, false, err
	}
	if v.layout.w == 0 {
		// A plain row (written before rows were indexed) is decoded and
		// written again indexed.
		return nil, false, false, nil
	}
	pt.spans = pt.spans[:0]
	for i, p := range pt.pos {
		lo, hi, found := v.at(p)
		if v.err != nil {
			return nil, false, false, v.err
		}
		if !found {
			return nil, false, false, nil
		}
		// The encoder writes one encoding per value (sameValue's equality),
		// so the bytes tell without decoding what is replaced.
		if !bytes.Equal(raw[lo:hi], pt.enc[i]) {
			changed = true
		}
		pt.spans = append(pt.spans, patchSpan{lo, hi, i})
	}
	if !changed {
		return nil, false, true, nil
	}
	for i, p := range pt.pos {
		if t.Columns[p].NotNull && pt.vals[i].IsNull() {
			return nil, false, false, errorf(CodeNotNullViolation, "not null violation on %s.%s", t.Name, t.Columns[p].Name)
		}
	}
	if len(pt.spans) > 1 {
		slices.SortFunc(pt.spans, func(a, b patchSpan) int { return int(a.lo - b.lo) })
	}
	// Each pair's end moves by what the set columns before it grew by.
	l := &v.layout
	pt.ends = pt.ends[:0]
	size := len(raw) - l.pairs
	for _, sp := range pt.spans {
		size += len(pt.enc[sp.i]) - int(sp.hi-sp.lo)
	}
	for j := range l.n - 1 {
		end := l.offset(raw, j)
		moved := end
		for _, sp := range pt.spans {
			if int(sp.hi) <= l.pairs+end {
				moved += len(pt.enc[sp.i]) - int(sp.hi-sp.lo)
			}
		}
		pt.ends = append(pt.ends, moved)
	}
	w := offsetWidth(size)
	buf, offs := appendRowHeader(buf, l.n, w)
	putOffsets(buf[offs:], pt.ends, w)
	at := l.pairs
	for _, sp := range pt.spans {
		buf = append(buf, raw[at:sp.lo]...)
		buf = append(buf, pt.enc[sp.i]...)
		at = int(sp.hi)
	}
	buf = append(buf, raw[at:]...)
	if len(buf) > maxRowSize {
		return nil, false, false, sizeErr(t, "row", len(buf))
	}
	return buf, true, true, nil
}

// setPatched writes a patched row under its unchanged key, as mutate writes
// an update that moves no index entry.
func (tx *Tx) setPatched(w *kv.Overlay, t *Table, key, enc []byte) {
	tx.touch(t)
	if tx.newKeys {
		w.AppendNew(key, enc, false)
	} else {
		w.Set(key, enc)
	}
	if tx.c != nil && tx.c.feed != nil { // changes.go
		tx.noteExisted(key, true)
	}
}
