package engine

import (
	"bytes"
	"encoding/binary"
	"errors"

	"minibase/engine/kv"
	"minibase/engine/value"
)

// Committed-change feed. While something watches (WatchChanges), every
// commit that lands also leaves a Change per row it wrote, read off the
// commit's batch: the batch is exactly what became durable, so a statement
// that failed inside a transaction, a rolled-back transaction or a commit
// the store refused leaves nothing, and a transaction or a bulk insert shows
// up all at once, after its commit. With nobody watching a commit does no
// extra work beyond one nil check.
//
// A Change carries the store keys it covers (the row key and the entry of
// every index for both the old and the new row, whether or not that entry
// moved), so that a reader which knows the key ranges a query's plan reads
// (ReadRanges) can tell whether the commit could change its answer: a row is
// read by a plan exactly when its row key or one of its index entries falls
// in one of the plan's ranges, before or after the change.

// Change is one row written by a commit.
type Change struct {
	DB, Table string
	Op        string      // "insert", "update" or "delete"
	Key       value.Value // the primary key value, as insert returns it
	Row       value.Value // the row after the change; null for a delete
	Keys      [][]byte    // the store keys covering the row: row key, index entries old and new
}

// maxPendingChanges bounds the feed when nobody takes from it: past it the
// changes are dropped and TakeChanges reports an overflow, after which a
// watcher must assume that everything changed.
const maxPendingChanges = 1 << 17

type changeFeed struct {
	pending  []Change
	schema   bool // a schema changed since the last take
	overflow bool
}

// WatchChanges turns the feed on or off. Turning it off drops what was
// pending.
func (c *Conn) WatchChanges(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on && c.feed == nil {
		c.feed = &changeFeed{}
	} else if !on {
		c.feed = nil
	}
}

// TakeChanges returns the changes committed since the last call, in commit
// order, and whether a schema changed or changes were dropped meanwhile.
func (c *Conn) TakeChanges() (changes []Change, schema, overflow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.feed
	if f == nil {
		return nil, false, false
	}
	changes, schema, overflow = f.pending, f.schema, f.overflow
	f.pending, f.schema, f.overflow = nil, false, false
	return changes, schema, overflow
}

// noteChanges reads, before batch b is applied, what it changes (nil with
// nobody watching). The old rows come from the store as it is before b.
func (c *Conn) noteChanges(b *kv.Batch) []Change {
	f := c.feed
	if f == nil || f.overflow {
		return nil
	}
	var byID map[uint32]tableRef
	var out []Change
	for i := range b.Len() {
		op := b.Op(i)
		k := op.Key
		if len(k) < 7 || k[0] != dataTag || binary.BigEndian.Uint16(k[5:7]) != 0 {
			continue // not a row key: an index entry, a counter, sync state
		}
		if byID == nil {
			byID = c.tablesByID()
		}
		ref, ok := byID[binary.BigEndian.Uint32(k[1:5])]
		if !ok {
			continue
		}
		ch, ok := ref.change(c.store, op)
		if ok {
			out = append(out, ch)
		}
	}
	return out
}

// publishChanges appends the changes of a commit that landed.
func (c *Conn) publishChanges(cs []Change) {
	f := c.feed
	if f == nil || len(cs) == 0 {
		return
	}
	if len(f.pending)+len(cs) > maxPendingChanges {
		f.pending, f.overflow = nil, true
		return
	}
	f.pending = append(f.pending, cs...)
}

// noteSchema records that a schema change landed.
func (c *Conn) noteSchema() {
	if c.feed != nil {
		c.feed.schema = true
	}
}

type tableRef struct {
	db string
	t  *Table
}

func (c *Conn) tablesByID() map[uint32]tableRef {
	m := map[uint32]tableRef{}
	for db, tables := range c.cat.DBs {
		for _, t := range tables {
			m[t.ID] = tableRef{db, t}
		}
	}
	return m
}

// change describes the write of one row key; ok is false when it changes
// nothing (a delete of a missing row) or a row cannot be decoded.
func (ref tableRef) change(rd kv.Reader, op kv.Op) (Change, bool) {
	t := ref.t
	var old, cur row
	raw, err := rd.Get(op.Key)
	if err == nil {
		if old, err = decodeRow(t, raw); err != nil {
			return Change{}, false
		}
	} else if !errors.Is(err, kv.ErrNotFound) {
		return Change{}, false
	}
	if !op.Delete {
		if cur, err = decodeRow(t, op.Value); err != nil {
			return Change{}, false
		}
	}
	ch := Change{DB: ref.db, Table: t.Name, Row: value.NullValue}
	switch {
	case old == nil && cur == nil:
		return Change{}, false
	case old == nil:
		ch.Op = "insert"
	case cur == nil:
		ch.Op = "delete"
	default:
		ch.Op = "update"
	}
	key := append([]byte(nil), op.Key...)
	ch.Keys = append(ch.Keys, key)
	pk := key[len(t.primaryPrefix):]
	rowid := t.rowidOf(key)
	for _, r := range []row{old, cur} {
		if r == nil {
			continue
		}
		for i := range t.Indexes {
			if e, err := t.appendIndexEntry(nil, i, r, pk); err == nil && !containsKey(ch.Keys, e) {
				ch.Keys = append(ch.Keys, e)
			}
		}
	}
	if cur != nil {
		ch.Key = t.pkValue(cur, rowid)
		ch.Row = t.rowObject(cur)
	} else {
		ch.Key = t.pkValue(old, rowid)
	}
	return ch, true
}

func containsKey(ks [][]byte, k []byte) bool {
	for _, x := range ks {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// KeyRange is a range of store keys a read covers: Lo ≤ key < Hi.
type KeyRange struct{ Lo, Hi []byte }

// ReadRanges returns the key ranges the plan of q reads: a commit whose
// changes have no key in them (Change.Keys) cannot change q's answer.
func (tx *Tx) ReadRanges(db, table string, q Query) ([]KeyRange, error) {
	defer tx.lock()()
	pr, err := tx.prepare(db, table, q)
	if err != nil {
		return nil, err
	}
	out := make([]KeyRange, len(pr.p.ranges))
	for i, r := range pr.p.ranges {
		out[i] = KeyRange{Lo: r.lo, Hi: r.hi}
	}
	return out, nil
}

// KeyReadRange is the range Get(key) reads: the one row key.
func (tx *Tx) KeyReadRange(db, table string, key value.Value) (KeyRange, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return KeyRange{}, err
	}
	t, err := tx.c.lookupTable(db, table)
	if err != nil {
		return KeyRange{}, err
	}
	k, err := t.keyFromValue(key)
	if err != nil {
		return KeyRange{}, err
	}
	return KeyRange{Lo: k, Hi: append(append([]byte(nil), k...), 0)}, nil
}
