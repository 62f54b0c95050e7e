package engine

import (
	"bytes"
	"errors"

	"minibase/engine/keys"
	"minibase/engine/kv"
)

// mutate is the one path through which rows change. Given a row's old state
// (nil for an insert) and new state (nil for a delete) it writes the row
// under its primary key and keeps every unique and secondary index in step,
// enforcing uniqueness. Nothing else writes rows or index entries, so the
// storage manager, the sync outbox and change observers can hang off it.
//
// freshKey says the new row's primary key was just generated from the
// table's autoIncrement high-water mark, which is above every key the table
// ever held (explicit ids raise it too), so it cannot collide and is not
// looked up.
func (tx *Tx) mutate(w *kv.Overlay, t *Table, oldKey []byte, old row, newRow row, rowid float64, freshKey bool) error {
	tx.touch(t)
	var newKey []byte
	if newRow != nil {
		if err := t.checkRow(newRow); err != nil {
			return err
		}
		var err error
		// Keys and the row are built in the transaction's scratch buffers:
		// the overlay copies what it is given.
		if newKey, err = t.pkKey(tx.scratch.key[:0], newRow, rowid); err != nil {
			return errorf(CodeTypeMismatch, "primary key of %s: %v", t.Name, err)
		}
		tx.scratch.key = reusable(newKey)
		if len(newKey) > maxKeySize {
			return sizeErr(t, "primary key", len(newKey))
		}
		if !freshKey && (old == nil || !bytes.Equal(oldKey, newKey)) {
			if _, err := w.Get(newKey); err == nil {
				return errorf(CodeUniqueViolation, "unique violation on %s primary key: %s", t.Name, t.pkValue(newRow, rowid))
			} else if !errors.Is(err, kv.ErrNotFound) {
				return storageErr("read row", err)
			}
		}
	}
	var pkOld, pkNew []byte
	if old != nil {
		pkOld = oldKey[len(t.primaryPrefix):]
	}
	if newRow != nil {
		pkNew = newKey[len(t.primaryPrefix):]
	}
	samePK := old != nil && newRow != nil && bytes.Equal(pkOld, pkNew)
	for i := range t.Indexes {
		if samePK && !t.indexMoves(i, old, newRow) {
			continue // an update that leaves the index's columns alone keeps its entry
		}
		var oldEntry, newEntry []byte
		var err error
		if old != nil {
			if oldEntry, err = t.appendIndexEntry(tx.scratch.old[:0], i, old, pkOld); err != nil {
				return err
			}
			tx.scratch.old = reusable(oldEntry)
		}
		if newRow != nil {
			if newEntry, err = t.appendIndexEntry(tx.scratch.new[:0], i, newRow, pkNew); err != nil {
				return err
			}
			tx.scratch.new = reusable(newEntry)
		}
		if bytes.Equal(oldEntry, newEntry) && bytes.Equal(pkOld, pkNew) {
			continue
		}
		if oldEntry != nil {
			tx.deleteKey(w, oldEntry)
		}
		if newEntry == nil {
			continue
		}
		if t.Indexes[i].Unique && !bytes.Equal(oldEntry, newEntry) {
			if owner, err := w.Get(newEntry); err == nil && !bytes.Equal(owner, pkNew) {
				return t.uniqueErr(i, newRow)
			} else if err != nil && !errors.Is(err, kv.ErrNotFound) {
				return storageErr("read index", err)
			}
		}
		w.Set(newEntry, pkNew)
	}
	if old != nil && (newRow == nil || !bytes.Equal(oldKey, newKey)) {
		tx.deleteKey(w, oldKey)
	}
	if newRow != nil {
		enc := encodeRow(tx.scratch.row[:0], t, newRow)
		tx.scratch.row = reusable(enc)
		if len(enc) > maxRowSize {
			return sizeErr(t, "row", len(enc))
		}
		w.Set(newKey, enc)
	}
	if tx.c != nil && tx.c.feed != nil { // changes.go
		if old != nil {
			tx.noteExisted(oldKey, true)
		}
		if newRow != nil && (old == nil || !bytes.Equal(oldKey, newKey)) {
			tx.noteExisted(newKey, false)
		}
	}
	if t.Sync && tx.c != nil { // schema migrations (tx.c nil) are not changes to sync
		return tx.recordSync(w, t, oldKey, old, newKey, newRow)
	}
	return nil
}

// deleteKey writes the deletion of key.
func (tx *Tx) deleteKey(w *kv.Overlay, key []byte) {
	if tx.newKeys {
		w.AppendNew(key, nil, true)
		return
	}
	w.Delete(key)
}

// indexMoves reports whether index i's entry differs between two states of
// a row: whether any of its columns changed.
func (t *Table) indexMoves(i int, old, newRow row) bool {
	for _, p := range t.idxPos[i] {
		if !sameValue(old[p], newRow[p]) {
			return true
		}
	}
	return false
}

// reusable keeps a scratch buffer for the next use unless it grew large
// (one huge row must not stay allocated for the connection's life).
func reusable(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b
}

// indexEntry is the key of row r in index i. A unique index keys on the
// values alone so a duplicate collides; when a value is null the primary key
// is appended, because nulls never conflict (as in SQL). A non-unique index
// always appends the primary key. The entry's value is the primary key.
func (t *Table) indexEntry(i int, r row, pk []byte) ([]byte, error) {
	return t.appendIndexEntry(nil, i, r, pk)
}

// appendIndexEntry is indexEntry appended to dst.
func (t *Table) appendIndexEntry(dst []byte, i int, r row, pk []byte) ([]byte, error) {
	k := append(dst, t.idxPrefix[i]...)
	hasNull := false
	for _, p := range t.idxPos[i] {
		var err error
		if k, err = keys.Append(k, r[p]); err != nil {
			return nil, errorf(CodeTypeMismatch, "index %s on %s: %v", t.Indexes[i].Name, t.Name, err)
		}
		hasNull = hasNull || r[p].IsNull()
	}
	if !t.Indexes[i].Unique || hasNull {
		k = append(k, pk...)
	}
	if len(k) > maxKeySize {
		return nil, sizeErr(t, "index key", len(k))
	}
	return k, nil
}

func (t *Table) uniqueErr(i int, r row) error {
	ix := &t.Indexes[i]
	names, vals := "", ""
	for j, p := range t.idxPos[i] {
		if j > 0 {
			names += ", "
			vals += ", "
		}
		names += t.Columns[p].Name
		vals += r[p].String()
	}
	if len(ix.Columns) == 1 {
		return errorf(CodeUniqueViolation, "unique violation on %s.%s: %s", t.Name, names, vals)
	}
	return errorf(CodeUniqueViolation, "unique violation on %s(%s) (index %s): %s", t.Name, names, ix.Name, vals)
}

// rowidOf recovers the hidden row id from a row key of a table without a
// declared primary key.
func (t *Table) rowidOf(key []byte) float64 {
	if len(t.pkPos) > 0 {
		return 0
	}
	v, _, err := keys.Decode(key[len(t.primaryPrefix):])
	if err != nil {
		return 0
	}
	return v.Number()
}
