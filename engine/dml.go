package engine

import (
	"bytes"
	"errors"

	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
)

// Result is the answer of a select: column names and rows in that order.
type Result struct {
	Columns []string
	Rows    [][]value.Value
}

// Insert adds one row and returns its primary key.
func (tx *Tx) Insert(db, table string, obj value.Value) (value.Value, error) {
	return tx.insertOne(db, table, obj, false)
}

// Upsert inserts a row, or, when a row with its primary key exists, sets
// the columns it names on that row. It returns the primary key.
func (tx *Tx) Upsert(db, table string, obj value.Value) (value.Value, error) {
	return tx.insertOne(db, table, obj, true)
}

func (tx *Tx) insertOne(db, table string, obj value.Value, upsert bool) (value.Value, error) {
	return tx.insertBuilt(db, table, upsert, func(t *Table) (row, []bool, error) { return t.rowFromObject(obj) })
}

// InsertEncodedOne is Insert reading the row straight from d (an encoded
// object, the last thing d holds) into a row, as InsertEncoded does for
// many: the single-row insert of the JS bridge, which builds no object
// value of the row first.
func (tx *Tx) InsertEncodedOne(db, table string, d *value.Decoder) (value.Value, error) {
	id, err := tx.insertBuilt(db, table, false, func(t *Table) (row, []bool, error) {
		r, given, err := t.rowFromDecoderInto(d, nil, nil)
		if err == nil && d.More() {
			err = errorf(CodeBadValue, "insert into %s: trailing bytes after the row", t.Name)
		}
		return r, given, err
	})
	return value.Clone(id), err // the row's values share d's bytes
}

// insertBuilt inserts (or, with upsert, merges) the row build makes for
// table as one statement and returns its primary key.
func (tx *Tx) insertBuilt(db, table string, upsert bool, build func(t *Table) (row, []bool, error)) (value.Value, error) {
	defer tx.lock()()
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return value.Value{}, err
	}
	var id value.Value
	err = tx.statement(func(w *kv.Overlay) error {
		r, given, err := build(t)
		if err != nil {
			return err
		}
		id, err = tx.insertRow(w, t, r, given, upsert)
		return err
	})
	return id, err
}

// InsertMany adds rows atomically: all of them or, on any error, none.
func (tx *Tx) InsertMany(db, table string, rows value.Value) (int, error) {
	if rows.Kind() != value.Array {
		return 0, errorf(CodeBadValue, "insertMany into %s: rows must be an array, got %s", table, rows.Kind())
	}
	items := rows.Items()
	return tx.insertRows(db, table, len(items), func(t *Table, i int) (row, []bool, error) {
		return t.rowFromObject(items[i])
	}, nil)
}

// InsertEncoded adds the n rows that d holds next (each an encoded object),
// atomically, decoding each straight into a row; d must hold nothing after
// them. It is the bulk-insert path of the JS bridge.
func (tx *Tx) InsertEncoded(db, table string, d *value.Decoder, n int) (int, error) {
	var r row
	var given []bool
	return tx.insertRows(db, table, n, func(t *Table, _ int) (row, []bool, error) {
		var err error
		r, given, err = t.rowFromDecoderInto(d, r, given)
		return r, given, err
	}, func(t *Table) error {
		if d.More() {
			return errorf(CodeBadValue, "insertMany into %s: trailing bytes after the rows", t.Name)
		}
		return nil
	})
}

// insertRows inserts n rows built by rowAt as one statement; done, when
// given, runs last and can still fail the statement.
func (tx *Tx) insertRows(db, table string, n int, rowAt func(t *Table, i int) (row, []bool, error), done func(t *Table) error) (int, error) {
	defer tx.lock()()
	if err := tx.live(); err != nil {
		return 0, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return 0, err
	}
	if tx.bulkMode && tx.load == nil && t.Sync {
		tx.bulkMode = false // a synced table's rows go through mutate (the outbox): a plain transaction
	}
	switch {
	case tx.bulkMode:
		return tx.loadRows(t, n, rowAt, done)
	case !tx.explicit && n >= bulkRows && !t.Sync && tx.load == nil && (tx.ov == nil || tx.ov.Len() == 0):
		// An autocommit load: checked and sorted now, so that it fails as a
		// statement and its commit is the batch seal built.
		tx.load = newBulkLoad(t)
		if _, err := tx.loadRows(t, n, rowAt, done); err != nil {
			return 0, err
		}
		if _, err := tx.load.seal(tx); err != nil {
			return 0, err
		}
		return n, nil
	}
	first := 0
	if tx.bulkBegun {
		first = tx.rowsBefore
	}
	err = tx.statement(func(w *kv.Overlay) error {
		w.Grow(min(n, 1<<20) * (1 + len(t.Indexes)))
		for i := 0; i < n; i++ {
			if i%yieldRows == yieldRows-1 {
				yield()
			}
			r, given, err := rowAt(t, i)
			if err == nil {
				_, err = tx.insertRow(w, t, r, given, false)
			}
			if err != nil {
				return wrapRowErr(err, first+i)
			}
		}
		if done != nil {
			return done(t)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	tx.rowsBefore += n
	return n, nil
}

// loadRows adds n rows to the transaction's bulk load (bulk.go), all or,
// on an error, none. Rows are numbered from the load's first, so a load
// sent in several statements names a failing row as its caller counts.
func (tx *Tx) loadRows(t *Table, n int, rowAt func(t *Table, i int) (row, []bool, error), done func(t *Table) error) (int, error) {
	if tx.load == nil {
		tx.load = newBulkLoad(t)
	} else if tx.load.t != t {
		return 0, errorf(CodeBadQuery, "a bulk transaction loads one table: it holds rows of %s", tx.load.t.Name)
	}
	tx.touch(t)
	l := tx.load
	first := l.rows()
	undo := l.marks()
	for i := 0; i < n; i++ {
		if i%yieldRows == yieldRows-1 {
			yield()
		}
		r, _, err := rowAt(t, i)
		var rowid float64
		fresh := false
		if err == nil {
			rowid, fresh, err = tx.assignIDs(t, r)
		}
		if err == nil {
			err = l.add(tx, r, rowid, fresh)
		}
		if err != nil {
			// Row by row, a collision among the rows before this one would
			// have failed first.
			if _, uerr := l.check(tx); uerr != nil {
				err = uerr
			} else {
				err = wrapRowErr(err, first+i)
			}
			l.truncate(undo)
			return 0, err
		}
	}
	if done != nil {
		if err := done(t); err != nil {
			l.truncate(undo)
			return 0, err
		}
	}
	return n, nil
}

// wrapRowErr says which row of a batch failed, keeping the code.
func wrapRowErr(err error, i int) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Msg: e.Msg + " (row " + itoa(i) + ")", Err: e.Err}
	}
	return err
}

func itoa(i int) string { return value.NumberOf(float64(i)).String() }

// insertRow inserts (or, with upsert, merges) a row built from the given
// columns; it is where generated ids are assigned.
func (tx *Tx) insertRow(w *kv.Overlay, t *Table, r row, given []bool, upsert bool) (value.Value, error) {
	rowid, fresh, err := tx.assignIDs(t, r)
	if err != nil {
		return value.Value{}, err
	}
	if upsert && len(t.pkPos) > 0 {
		key, err := t.pkKey(nil, r, 0)
		if err != nil {
			return value.Value{}, errorf(CodeTypeMismatch, "primary key of %s: %v", t.Name, err)
		}
		raw, err := w.Get(key)
		if err == nil {
			old, err := decodeRow(t, raw)
			if err != nil {
				return value.Value{}, err
			}
			merged := append(row(nil), old...)
			for i := range merged {
				if given[i] {
					merged[i] = r[i]
				}
			}
			return t.pkValue(merged, 0), tx.mutate(w, t, key, old, merged, 0, false)
		} else if !errors.Is(err, kv.ErrNotFound) {
			return value.Value{}, storageErr("read row", err)
		}
	}
	if err := tx.mutate(w, t, nil, nil, r, rowid, fresh); err != nil {
		return value.Value{}, err
	}
	return t.pkValue(r, rowid), nil
}

// assignIDs generates what an inserted row's keys lack: its autoIncrement
// column when null (an explicit value raises the counter instead), and the
// hidden row id of a table without a primary key. fresh says the primary
// key was generated, so it cannot collide.
func (tx *Tx) assignIDs(t *Table, r row) (rowid float64, fresh bool, err error) {
	if ai := t.autoIncCol(); ai >= 0 {
		if r[ai].IsNull() {
			n, err := tx.nextSeq(t)
			if err != nil {
				return 0, false, err
			}
			r[ai] = value.NumberOf(n)
			fresh = true
		} else if err := tx.bumpSeq(t, r[ai].Number()); err != nil {
			return 0, false, err
		}
	}
	if len(t.pkPos) == 0 {
		if rowid, err = tx.nextSeq(t); err != nil {
			return 0, false, err
		}
		fresh = true
	}
	return rowid, fresh, nil
}

// Get returns the row whose primary key is key (a value, or an object of
// the key columns for a compound key), or null.
func (tx *Tx) Get(db, table string, key value.Value) (value.Value, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return value.Value{}, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return value.Value{}, err
	}
	k, err := t.keyFromValue(key)
	if err != nil {
		return value.Value{}, err
	}
	raw, err := tx.reader().Get(k)
	if errors.Is(err, kv.ErrNotFound) {
		return value.NullValue, nil
	} else if err != nil {
		return value.Value{}, storageErr("get", err)
	}
	r, err := decodeRow(t, raw)
	if err != nil {
		return value.Value{}, err
	}
	return t.rowObject(r), nil
}

// keyFromValue builds a row key from what get() was given.
func (t *Table) keyFromValue(key value.Value) ([]byte, error) {
	return t.appendKeyFromValue(nil, key)
}

// appendKeyFromValue is keyFromValue appending to buf.
func (t *Table) appendKeyFromValue(buf []byte, key value.Value) ([]byte, error) {
	if len(t.pkPos) == 1 && key.Kind() != value.Object {
		// The commonest key, one column: no row to build.
		if err := t.checkType(t.pkPos[0], key); err != nil {
			return nil, err
		}
		k, err := keys.Append(append(buf, t.primaryPrefix...), key)
		if err != nil {
			return nil, errorf(CodeTypeMismatch, "get from %s: %v", t.Name, err)
		}
		return k, nil
	}
	r := make(row, len(t.Columns))
	switch {
	case len(t.pkPos) == 0:
		if key.Kind() != value.Number {
			return nil, errorf(CodeTypeMismatch, "get from %s: the row id must be a number", t.Name)
		}
		return t.pkKey(nil, r, key.Number())
	case len(t.pkPos) == 1 && key.Kind() != value.Object:
		r[t.pkPos[0]] = key
	default:
		if key.Kind() != value.Object {
			return nil, errorf(CodeBadQuery, "get from %s: the key is compound; pass an object of its columns", t.Name)
		}
		for _, p := range t.pkPos {
			v, ok := key.Get(t.Columns[p].Name)
			if !ok {
				return nil, errorf(CodeBadQuery, "get from %s: key column %q missing", t.Name, t.Columns[p].Name)
			}
			r[p] = v
		}
	}
	for _, p := range t.pkPos {
		if err := t.checkType(p, r[p]); err != nil {
			return nil, err
		}
	}
	k, err := t.pkKey(buf, r, 0)
	if err != nil {
		return nil, errorf(CodeTypeMismatch, "get from %s: %v", t.Name, err)
	}
	return k, nil
}

// prepared is a bound query with its plan.
type prepared struct {
	t    *Table
	q    Query
	p    *plan
	cols []int
}

func (tx *Tx) prepare(db, table string, q Query) (*prepared, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return nil, err
	}
	where, err := bind(t, q.Where)
	if err != nil {
		return nil, err
	}
	p, err := planQuery(t, where, q.OrderBy)
	if err != nil {
		return nil, err
	}
	pr := &prepared{t: t, q: q, p: p}
	if len(q.Columns) == 0 {
		pr.cols = nil
	} else {
		for _, n := range q.Columns {
			i, ok := t.colByName(n)
			if !ok {
				return nil, errorf(CodeNoSuchColumn, "select from %s: no column %q", t.Name, n)
			}
			pr.cols = append(pr.cols, i)
		}
	}
	return pr, nil
}

// SelectEq returns the rows whose column col equals v: select({ where:
// { col: v } }). When col is a single-column primary key or unique column it
// is answered with one or two key lookups, without planning a query — the
// commonest read there is.
func (tx *Tx) SelectEq(db, table, col string, v value.Value) (*Result, error) {
	unlock := tx.lock()
	if err := tx.check(); err != nil {
		unlock()
		return nil, err
	}
	t, err := tx.lookupTable(db, table)
	if err != nil {
		unlock()
		return nil, err
	}
	if res, ok, err := tx.selectEqByKey(t, col, v); ok || err != nil {
		unlock()
		return res, err
	}
	unlock()
	q, err := EqualityQuery(col, v)
	if err != nil {
		return nil, err
	}
	return tx.Select(db, table, q)
}

// selectEqByKey answers col = v from the primary key or a unique index on
// col alone; ok is false when neither exists (or v cannot be a key).
func (tx *Tx) selectEqByKey(t *Table, col string, v value.Value) (res *Result, ok bool, err error) {
	raw, ok, err := tx.rowByKey(t, col, v)
	if !ok || err != nil {
		return nil, ok, err
	}
	res = &Result{Columns: t.names}
	if raw == nil {
		return res, true, nil
	}
	r, err := decodeRow(t, raw)
	if err != nil {
		return nil, true, err
	}
	res.Rows = [][]value.Value{r}
	return res, true, nil
}

// rowByKey reads the stored row whose col equals v through the primary key
// or a unique index on col alone: raw is nil when there is none; ok is
// false when no such key exists (or v cannot be a key).
func (tx *Tx) rowByKey(t *Table, col string, v value.Value) (raw []byte, ok bool, err error) {
	p, found := t.colByName(col)
	if !found || v.IsNull() || v.Kind() == value.Array || v.Kind() == value.Object {
		return nil, false, nil
	}
	index := -2
	if len(t.pkPos) == 1 && t.pkPos[0] == p {
		index = -1
	} else {
		for i := range t.Indexes {
			if t.Indexes[i].Unique && len(t.idxPos[i]) == 1 && t.idxPos[i][0] == p {
				index = i
				break
			}
		}
	}
	if index == -2 {
		return nil, false, nil
	}
	if err := t.checkType(p, v); err != nil {
		return nil, true, err
	}
	pre := t.prefixOf(index)
	key, err := keys.Append(append(tx.pointKey(), pre...), v)
	if err != nil {
		return nil, false, nil
	}
	tx.keepPointKey(key)
	rd := tx.reader()
	raw, err = rd.Get(key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return nil, true, nil
	case err != nil:
		return nil, true, storageErr("get", err)
	}
	if index >= 0 {
		key = append(append(key[:0], t.primaryPrefix...), raw...)
		tx.keepPointKey(key)
		if raw, err = rowAt(rd, t, index, key); err != nil {
			return nil, true, err
		}
	}
	return raw, true, nil
}

// Explain returns the plan chosen for q.
func (tx *Tx) Explain(db, table string, q Query) (value.Value, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return value.Value{}, err
	}
	return pr.p.explain(!pr.p.ordered), nil
}

// ParseSet reads update's set argument: { col: value } or the older
// [{ name, value }].
func ParseSet(v value.Value) ([]string, []value.Value, error) {
	var names []string
	var vals []value.Value
	switch v.Kind() {
	case value.Object:
		names, vals = v.Keys(), v.Items()
	case value.Array:
		for i, it := range v.Items() {
			n, ok := it.Get("name")
			if !ok || n.Kind() != value.String {
				return nil, nil, badQuery("update data[%d] must be { name, value }", i)
			}
			val, _ := it.Get("value")
			names, vals = append(names, n.Str()), append(vals, val)
		}
	default:
		return nil, nil, badQuery("update data must be an object or [{ name, value }], got %s", v.Kind())
	}
	if len(names) == 0 {
		return nil, nil, badQuery("update data names no columns")
	}
	return names, vals, nil
}

// Update sets columns on every row matching q and returns how many rows
// changed. The statement is atomic.
func (tx *Tx) Update(db, table string, set value.Value, q Query) (int, error) {
	defer tx.lock()()
	names, vals, err := ParseSet(set)
	if err != nil {
		return 0, err
	}
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return 0, err
	}
	t := pr.t
	pos := make([]int, len(names))
	for i, n := range names {
		p, ok := t.colByName(n)
		if !ok {
			return 0, errorf(CodeNoSuchColumn, "update %s: no column %q", t.Name, n)
		}
		if err := t.checkType(p, vals[i]); err != nil {
			return 0, err
		}
		pos[i] = p
	}
	n := 0
	var pt *patcher
	if t.patchable(pos) {
		pt = newPatcher(t, pos, vals)
	}
	err = tx.statement(func(w *kv.Overlay) error {
		// Patched rows into an overlay with no writes yet are each written
		// once, under a key new to it (see Delete). The first row that
		// takes the decoding path ends that: mutate reads the overlay.
		tx.newKeys = pt != nil && w.Len() == 0
		defer func() { tx.newKeys = false }()
		var old, nr row
		one := func(key, raw []byte) (err error) {
			if pt != nil {
				enc, changed, ok, err := pt.patch(raw, tx.scratch.row[:0])
				if err != nil {
					return err
				}
				if ok {
					if changed {
						tx.scratch.row = reusable(enc)
						tx.setPatched(w, t, key, enc)
						n++
					}
					return nil
				}
			}
			tx.newKeys = false
			if old, err = decodeRowView(t, raw, old); err != nil {
				return err
			}
			nr = append(nr[:0], old...)
			changed := false
			for i, p := range pos {
				if !sameValue(nr[p], vals[i]) {
					nr[p], changed = vals[i], true
				}
			}
			if !changed {
				return nil
			}
			if ai := t.autoIncCol(); ai >= 0 && !nr[ai].IsNull() {
				if err := tx.bumpSeq(t, nr[ai].Number()); err != nil {
					return err
				}
			}
			if err := tx.mutate(w, t, key, old, nr, t.rowidOf(key), false); err != nil {
				return err
			}
			n++
			return nil
		}
		// A patch moves no key or index entry, and the decoding path
		// takes over only for rows whose set columns no index holds
		// either (patchable), so the rows can change as the scan reaches
		// them.
		return tx.eachStored(pr, tx.newKeys, one)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sameValue reports whether a stored value (possibly an array or object
// kept as its encoding, see decodeRowView) equals a new one; composites
// compare by encoding, so a reordered object counts as a change.
func sameValue(stored, v value.Value) bool {
	if k := stored.Kind(); k == value.Array || k == value.Object {
		return v.Kind() == k && bytes.Equal(value.Append(nil, stored), value.Append(nil, v))
	}
	return value.Equal(stored, v)
}

// deletedRow is what mutate needs of a row being deleted, read into r
// (reused when it has room): the columns its index entries are built from
// (the key comes with the row; a synced table records the whole row, so
// decodes it). The row is checked whole, as decoding it would: a damaged
// row fails the delete. Values share raw, as decodeRowView's do.
func deletedRow(t *Table, v *rowView, raw []byte, r row) (row, error) {
	if t.Sync {
		return decodeRowView(t, raw, r)
	}
	if len(r) != len(t.Columns) {
		r = make(row, len(t.Columns))
	} else {
		clear(r)
	}
	if err := v.load(raw); err != nil {
		return nil, err
	}
	if err := v.all(); err != nil {
		return nil, err
	}
	for _, cols := range t.idxPos {
		for _, p := range cols {
			r[p] = v.value(p)
		}
	}
	return r, v.err
}

// Delete removes every row matching q and returns how many it removed.
func (tx *Tx) Delete(db, table string, q Query) (int, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return 0, err
	}
	n := 0
	err = tx.statement(func(w *kv.Overlay) error {
		var old row
		v := newRowView(pr.t)
		// Into an overlay with no writes yet (an autocommit delete), every
		// key the delete writes is new to it: each row's key once, and its
		// index entries, which hold the key or, in a unique index, a value
		// no other row has. A synced table also writes its sync records,
		// which it may write again. The same overlay lets the rows go as
		// the scan reaches them: a deletion moves nothing the scan reads.
		tx.newKeys = w.Len() == 0 && !pr.t.Sync
		defer func() { tx.newKeys = false }()
		return tx.eachStored(pr, tx.newKeys, func(key, raw []byte) (err error) {
			if old, err = deletedRow(pr.t, v, raw, old); err != nil {
				return err
			}
			if err := tx.mutate(w, pr.t, key, old, nil, 0, false); err != nil {
				return err
			}
			n++
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
