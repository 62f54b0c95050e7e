package engine

import (
	"encoding/binary"
	"errors"
	"runtime"
	"slices"
	"sort"

	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
	"minibase/fsadapter"
)

// MaxResultBytes bounds the encoded size of one select's answer. A result
// is built whole in the engine's memory before it crosses to JS, and running
// out of wasm memory ends the Go runtime for every connection in the
// process, so an answer past this size is refused with TOO_LARGE instead.
const MaxResultBytes = 32 << 20

// maxResultBytes is MaxResultBytes; tests lower it.
var maxResultBytes = MaxResultBytes

func tooLargeResult(t *Table) error {
	return errorf(CodeTooLarge, "the result of this select on %s is larger than %d MiB; select fewer columns "+
		"(columns: [...]) or read it in pages (limit, and a where on the key past the last one read)",
		t.Name, maxResultBytes>>20)
}

// yieldRows is how many rows a long statement handles between yields.
const yieldRows = 1024

// yield lets other goroutines run in the middle of a long call. In wasm
// (GOOS=js) the scheduler runs only while Go executes and nothing preempts
// a call, so without it a garbage collection that starts during a bulk
// insert or a large scan could not finish before the call ends, and the
// heap (wasm memory, never returned) would grow by everything the call
// allocates. Natively it costs a few nanoseconds.
func yield() { runtime.Gosched() }

// scanView calls fn for every row the plan reads that matches the where
// clause, in plan order, with the row's key and a view of its stored bytes,
// until fn returns false. Rows are checked in place and never decoded here;
// the key and the view are valid only during the call.
func (tx *Tx) scanView(p *plan, fn func(key []byte, v *rowView) bool) error {
	return tx.scanFrom(tx.reader(), p, fn)
}

// scanFrom is scanView reading rd.
func (tx *Tx) scanFrom(rd kv.Reader, p *plan, fn func(key []byte, v *rowView) bool) error {
	t := p.t
	v := newRowView(t)
	var pk []byte // the row key an index entry points at, rebuilt per entry
	// A backend that loads bytes on demand (fsadapter.ErrNotResident) has
	// the call run again once it loaded what the call missed. Rather than
	// stopping at the first row it misses, the scan goes on reading (but no
	// longer answering) a bounded number of rows, so one run names every
	// block of a short range of index entries or keys, not one per run.
	var later error
	pending := 0
	var conds rawConds // what rawVerdict decides on a row's bytes; a point plan reads by key
	if p.kind != "point" {
		conds = rawCondsOf(p.filter)
	}
	notLoaded := func(err error) bool {
		if !errors.Is(err, fsadapter.ErrNotResident) {
			return false
		}
		if later == nil {
			later = storageErr("read row", err)
		}
		return true
	}
	for ri := range p.ranges {
		if p.reverse {
			ri = len(p.ranges) - 1 - ri
		}
		rg := p.ranges[ri]
		if p.kind == "point" {
			// Each range is one exact key of the primary key or a unique
			// index: a Get replaces an iterator.
			raw, err := rd.Get(rg.lo)
			if errors.Is(err, kv.ErrNotFound) {
				continue
			} else if err != nil {
				if notLoaded(err) {
					if pending++; pending >= maxPendingReads {
						return later
					}
					continue
				}
				return storageErr("get", err)
			}
			key := rg.lo
			if p.index >= 0 {
				pk = append(append(pk[:0], t.primaryPrefix...), raw...)
				key = pk
				if raw, err = rowAt(rd, t, p.index, key); err != nil {
					if notLoaded(err) {
						if pending++; pending >= maxPendingReads {
							return later
						}
						continue
					}
					return err
				}
			}
			if later != nil {
				if pending++; pending >= maxPendingReads {
					return later
				}
				continue
			}
			if err := v.load(raw); err != nil {
				return err
			}
			ok := matchView(p.filter, v)
			if v.err != nil {
				return v.err
			}
			if ok && !fn(key, v) {
				return nil
			}
			continue
		}
		it := rd.NewIter(kv.IterOptions{Lower: rg.lo, Upper: rg.hi, Reverse: p.reverse})
		stop := false
		var ferr error
		rows := 0
		visit := func(key, raw []byte) bool {
			if rows++; rows%yieldRows == 0 {
				yield()
			}
			if p.index >= 0 {
				pk = append(append(pk[:0], t.primaryPrefix...), raw...)
				key = pk
				if raw, ferr = rowAt(rd, t, p.index, key); ferr != nil {
					if notLoaded(ferr) {
						ferr = nil
						pending++
						return pending < maxPendingReads
					}
					return false
				}
			}
			if later != nil {
				pending++
				return pending < maxPendingReads
			}
			// Most rows of a filtered scan are turned away here, before
			// the view is set up for them (see rawVerdict).
			verdict := rawVerdict(&conds, p.bound, t.colIDs, raw)
			if verdict == rawRejected {
				return true
			}
			var ok bool
			if ok, ferr = v.loadVerdict(verdict, p.filter, raw); ferr != nil {
				return false
			}
			if ok && !fn(key, v) {
				stop = true
				return false
			}
			return true
		}
		walk(it, visit)
		if err := it.Close(); err != nil && ferr == nil {
			ferr = storageErr("scan", err)
		}
		if ferr != nil {
			return ferr
		}
		if later != nil && pending >= maxPendingReads {
			return later
		}
		if stop {
			return nil
		}
	}
	return later
}

// maxPendingReads bounds the rows a scan reads on after a row the backend
// has not loaded yet (see scanView).
const maxPendingReads = 512

// rowAt reads the row an entry of index i points at.
func rowAt(rd kv.Reader, t *Table, i int, key []byte) ([]byte, error) {
	raw, err := rd.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return nil, missingRow(t, i)
	} else if err != nil {
		return nil, storageErr("read row", err)
	}
	return raw, nil
}

// missingRow is the error of an entry of index i of t whose row is gone.
func missingRow(t *Table, i int) error {
	return errorf(CodeCorrupt, "index %s of %s points at a missing row", t.Indexes[i].Name, t.Name)
}

// walk hands fn the iterator's entries until fn returns false, in a loop of the
// iterator's own where it has one (kv.Walker).
func walk(it kv.Iterator, fn func(key, value []byte) bool) {
	if w, ok := it.(kv.Walker); ok {
		w.Walk(fn)
		return
	}
	for it.Next() && fn(it.Key(), it.Value()) {
	}
}

// scan is scanView for callers that need the matching rows decoded.
func (tx *Tx) scan(p *plan, fn func(key []byte, r row) bool) error {
	var derr error
	err := tx.scanView(p, func(key []byte, v *rowView) bool {
		r, err := v.row()
		if err != nil {
			derr = err
			return false
		}
		return fn(key, r)
	})
	if err == nil {
		err = derr
	}
	return err
}

type keyedRow struct {
	key []byte
	r   row
}

// ranked is a matching row waiting to be sorted: its orderBy values and its
// place in the scan (ties keep scan order, as a stable sort would).
type ranked[T any] struct {
	by   []value.Value
	seq  int
	item T
}

// topK keeps the first k rows in orderBy order (all of them when k < 0):
// with a limit, an unindexed orderBy holds k rows in a heap instead of
// collecting and sorting every match.
type topK[T any] struct {
	order []Order
	k     int
	items []ranked[T]
}

func (h *topK[T]) less(a, b *ranked[T]) bool {
	for i, o := range h.order {
		if c := value.Compare(a.by[i], b.by[i]); c != 0 {
			return (c < 0) != o.Desc
		}
	}
	return a.seq < b.seq
}

// full reports whether a row must beat the worst one kept to get in.
func (h *topK[T]) full() bool { return h.k >= 0 && len(h.items) >= h.k }

// admits reports whether a row ranked r would be kept.
func (h *topK[T]) admits(r *ranked[T]) bool { return !h.full() || (h.k > 0 && h.less(r, &h.items[0])) }

// add keeps r if it is among the first k; call it only when admits says so.
func (h *topK[T]) add(r ranked[T]) {
	if h.k < 0 {
		h.items = append(h.items, r)
		return
	}
	if len(h.items) < h.k {
		h.items = append(h.items, r)
		h.up(len(h.items) - 1)
		return
	}
	h.items[0] = r
	h.down(0)
}

// cutoff sets c to the condition a row's value in the one orderBy column
// (at pos) must meet to be admitted, and returns it, once the heap is full
// and its worst row holds a number there; else it returns nil. It is exact
// for a row holding a number there: ahead of the worst in the order, as a
// tie ranks after the rows kept, which came first. A scan checks it before
// the row reaches admits (plan.bound).
func (h *topK[T]) cutoff(pos []int, c *Cond) *Cond {
	if len(pos) != 1 || h.k <= 0 || !h.full() {
		return nil
	}
	w := h.items[0].by[0]
	if w.Kind() != value.Number {
		return nil
	}
	op := OpLt
	if h.order[0].Desc {
		op = OpGt
	}
	*c = numberCond(h.order[0].Column, pos[0], op, w.Number())
	return c
}

// The heap keeps the worst row kept at the top.
func (h *topK[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(&h.items[p], &h.items[i]) {
			return
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *topK[T]) down(i int) {
	n := len(h.items)
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < n && h.less(&h.items[w], &h.items[l]) {
			w = l
		}
		if r < n && h.less(&h.items[w], &h.items[r]) {
			w = r
		}
		if w == i {
			return
		}
		h.items[w], h.items[i] = h.items[i], h.items[w]
		i = w
	}
}

// sorted returns the rows kept, in orderBy order.
func (h *topK[T]) sorted() []ranked[T] {
	sort.Slice(h.items, func(i, j int) bool { return h.less(&h.items[i], &h.items[j]) })
	return h.items
}

// orderPositions resolves the orderBy columns (the planner has checked them).
func orderPositions(t *Table, order []Order) []int {
	pos := make([]int, len(order))
	for i, o := range order {
		pos[i], _ = t.colByName(o.Column)
	}
	return pos
}

// window is how many rows, from the first, a query can return: offset +
// limit, or -1 without a limit.
func window(q Query) int {
	if q.Limit < 0 {
		return -1
	}
	return q.Offset + q.Limit
}

// collect returns the matching rows in orderBy order with offset and limit
// applied, decoded.
func (tx *Tx) collect(pr *prepared) ([]row, error) {
	return collectWith(tx, pr, func(_ []byte, v *rowView) (row, error) { return v.row() })
}

// collectWith returns item(key, row) for the matching rows in orderBy order
// with offset and limit applied. item must copy what it keeps: the key and
// the view are valid only during the call.
func collectWith[T any](tx *Tx, pr *prepared, item func(key []byte, v *rowView) (T, error)) ([]T, error) {
	q := pr.q
	var out []T
	var derr error
	if pr.p.ordered {
		skip := q.Offset
		err := tx.scanView(pr.p, func(key []byte, v *rowView) bool {
			if skip > 0 {
				skip--
				return true
			}
			if q.Limit >= 0 && len(out) >= q.Limit {
				return false
			}
			it, err := item(key, v)
			if err != nil {
				derr = err
				return false
			}
			out = append(out, it)
			return q.Limit < 0 || len(out) < q.Limit
		})
		if err == nil {
			err = derr
		}
		return out, err
	}
	pos := orderPositions(pr.t, q.OrderBy)
	h := &topK[T]{order: q.OrderBy, k: window(q)}
	seq := 0
	by := make([]value.Value, len(pos))
	pl := *pr.p // its bound follows the heap
	var cut Cond
	err := tx.scanView(&pl, func(key []byte, v *rowView) bool {
		seq++
		for i, p := range pos {
			by[i] = v.value(p)
		}
		if !h.admits(&ranked[T]{by: by, seq: seq}) {
			return true
		}
		it, err := item(key, v)
		if err != nil {
			derr = err
			return false
		}
		rb := make([]value.Value, len(pos))
		for i := range by {
			rb[i] = value.Clone(by[i]) // by shares the row's bytes
		}
		h.add(ranked[T]{by: rb, seq: seq, item: it})
		pl.bound = h.cutoff(pos, &cut)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	for _, it := range h.sorted() {
		out = append(out, it.item)
	}
	if q.Offset >= len(out) {
		return nil, nil
	}
	return out[q.Offset:], nil
}

// Select returns the rows matching q.
func (tx *Tx) Select(db, table string, q Query) (*Result, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return nil, err
	}
	rows, err := tx.collect(pr)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: pr.t.names, Rows: make([][]value.Value, len(rows))}
	if pr.cols != nil {
		res.Columns = q.Columns
	}
	for i, kr := range rows {
		if pr.cols == nil {
			res.Rows[i] = kr
			continue
		}
		out := make([]value.Value, len(pr.cols))
		for j, p := range pr.cols {
			out[j] = kr[p]
		}
		res.Rows[i] = out
	}
	return res, nil
}

// SelectTo appends the rows matching q to out as one encoded rowset (see
// value.AppendRowsetHeader): what Select returns, without building values.
// Stored column bytes are copied out as they are, only the selected columns
// of matching rows, so a select of one column over large rows costs that
// column; an answer larger than MaxResultBytes is TOO_LARGE.
func (tx *Tx) SelectTo(db, table string, q Query, out []byte) ([]byte, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return out, err
	}
	t := pr.t
	cols, names := pr.cols, q.Columns
	if cols == nil {
		cols, names = make([]int, len(t.Columns)), t.names
		for i := range cols {
			cols[i] = i
		}
	}
	start := len(out)
	n := 0
	var ferr error
	if pr.p.ordered {
		skip := q.Offset
		err = tx.scanView(pr.p, func(_ []byte, v *rowView) bool {
			if skip > 0 {
				skip--
				return true
			}
			if q.Limit >= 0 && n >= q.Limit {
				return false
			}
			if ferr = v.all(); ferr != nil {
				return false
			}
			for _, p := range cols {
				out = v.appendCol(out, p)
			}
			n++
			if len(out)-start > maxResultBytes {
				ferr = tooLargeResult(t)
				return false
			}
			return q.Limit < 0 || n < q.Limit
		})
	} else {
		// Unordered: keep each candidate's stored row (a copy) and its
		// orderBy values (views of that copy), then sort those, and encode
		// the selected columns of the rows kept only. A scan in the order
		// opposite to orderBy (the newest rows first, over rows stored
		// oldest first) admits every row, each pushed out soon after: it
		// must cost a copy, not an encoding.
		pos := orderPositions(t, q.OrderBy)
		h := &topK[[]byte]{order: q.OrderBy, k: window(q)}
		seq, held := 0, 0
		by := make([]value.Value, len(pos))
		kept := newRowView(t)
		pl := *pr.p // its bound follows the heap
		var cut Cond
		err = tx.scanView(&pl, func(_ []byte, v *rowView) bool {
			seq++
			for i, p := range pos {
				by[i] = v.value(p)
			}
			if !h.admits(&ranked[[]byte]{by: by, seq: seq}) {
				return true
			}
			raw := append([]byte(nil), v.raw...)
			if ferr = kept.load(raw); ferr != nil {
				return false
			}
			rb := make([]value.Value, len(pos))
			for i, p := range pos {
				rb[i] = kept.value(p) // views of raw, which the heap keeps
			}
			if h.full() {
				held -= len(h.items[0].item)
			}
			held += len(raw)
			if held > maxResultBytes {
				ferr = tooLargeResult(t)
				return false
			}
			h.add(ranked[[]byte]{by: rb, seq: seq, item: raw})
			pl.bound = h.cutoff(pos, &cut)
			return true
		})
		if err == nil && ferr == nil {
			for i, it := range h.sorted() {
				if i < q.Offset {
					continue
				}
				if ferr = kept.load(it.item); ferr == nil {
					ferr = kept.all()
				}
				if ferr != nil {
					break
				}
				for _, p := range cols {
					out = kept.appendCol(out, p)
				}
				n++
			}
		}
	}
	if err == nil {
		err = ferr
	}
	if err != nil {
		return out[:start], err
	}
	header := value.AppendRowsetHeader(nil, names, n)
	return slices.Insert(out, start, header...), nil
}

// Count returns how many rows match q (after offset and limit).
func (tx *Tx) Count(db, table string, q Query) (int, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return 0, err
	}
	n := 0
	if pr.p.filter == nil {
		// Counting every row needs no row read: count the keys.
		it := tx.reader().NewIter(kv.IterOptions{Lower: pr.t.primaryPrefix, Upper: keys.PrefixEnd(pr.t.primaryPrefix)})
		for it.Next() {
			n++
		}
		err = it.Close()
	} else {
		err = tx.scanView(pr.p, func([]byte, *rowView) bool { n++; return true })
	}
	if err != nil {
		return 0, storageErr("count", err)
	}
	n = max(n-q.Offset, 0)
	if q.Limit >= 0 {
		n = min(n, q.Limit)
	}
	return n, nil
}

// GetTo appends the encoding of what Get returns, the row as an object or
// null, to out, copying the stored column bytes instead of decoding them.
func (tx *Tx) GetTo(db, table string, key value.Value, out []byte) ([]byte, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return out, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return out, err
	}
	k, err := t.appendKeyFromValue(tx.pointKey(), key)
	if err != nil {
		return out, err
	}
	tx.keepPointKey(k)
	raw, err := tx.reader().Get(k)
	if errors.Is(err, kv.ErrNotFound) {
		return append(out, value.TagNull), nil
	} else if err != nil {
		return out, storageErr("get", err)
	}
	v := tx.pointView(t)
	if err := v.load(raw); err != nil {
		return out, err
	}
	if err := v.all(); err != nil {
		return out, err
	}
	out = append(out, value.TagObject)
	out = binary.AppendUvarint(out, uint64(len(t.Columns)))
	for p := range t.Columns {
		out = binary.AppendUvarint(out, uint64(len(t.names[p])))
		out = append(out, t.names[p]...)
		out = v.appendCol(out, p)
	}
	return out, nil
}

// SelectEqTo appends what SelectEq returns, as one encoded rowset, to out:
// a key lookup copies the row's stored bytes; anything else is SelectTo.
func (tx *Tx) SelectEqTo(db, table, col string, x value.Value, out []byte) ([]byte, error) {
	unlock := tx.lock()
	if err := tx.check(); err != nil {
		unlock()
		return out, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		unlock()
		return out, err
	}
	raw, ok, err := tx.rowByKey(t, col, x)
	if ok || err != nil {
		defer unlock()
		if err != nil {
			return out, err
		}
		if raw == nil {
			return value.AppendRowsetHeader(out, t.names, 0), nil
		}
		v := tx.pointView(t)
		if err := v.load(raw); err != nil {
			return out, err
		}
		if err := v.all(); err != nil {
			return out, err
		}
		out = value.AppendRowsetHeader(out, t.names, 1)
		for p := range t.Columns {
			out = v.appendCol(out, p)
		}
		return out, nil
	}
	unlock()
	q, err := EqualityQuery(col, x)
	if err != nil {
		return out, err
	}
	return tx.SelectTo(db, table, q, out)
}
