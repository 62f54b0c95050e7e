package engine

import (
	"bytes"
	"encoding/binary"
	"sort"

	"minibase/engine/keys"
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
	Keys      [][]byte    // the store keys covering the row: row key, index entries old and new

	t   *Table
	cur row // the row after the change (RowValue), nil for a delete
}

// maxPendingChanges bounds the feed, and what one commit may put in it:
// past it the changes are dropped (and not even built: a bulk insert must
// not hold a copy of every row it wrote) and TakeChanges reports an
// overflow, after which a watcher assumes that everything changed. A UI
// re-running its queries after a bulk write costs less than the changes.
const maxPendingChanges = 10000

type changeFeed struct {
	byID     map[uint32]tableRef // tables by ID, for the catalog in cat
	cat      *catalog
	all      bool       // keep every change, not only those in ranges
	ranges   []KeyRange // sorted, disjoint: the keys watchers read (FilterChanges)
	notify   func()     // OnChanges
	pending  []Change
	schema   bool // a schema changed since the last take
	overflow bool
	overrun  bool // the commit being noted has more changes than the feed keeps
}

// WatchChanges turns the feed on or off. Turning it off drops what was
// pending.
func (c *Conn) WatchChanges(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on && c.feed == nil {
		c.feed = &changeFeed{all: true}
	} else if !on {
		c.feed = nil
	}
}

// FilterChanges narrows the feed: unless all is set, a commit leaves only
// the changes with a key in one of ranges, so that writes nobody watches cost
// no more than the check. The ranges must be in place before a watcher reads
// (a commit between its read and the filter would be missed).
func (c *Conn) FilterChanges(all bool, ranges []KeyRange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.feed == nil {
		return
	}
	rs := append([]KeyRange(nil), ranges...)
	sort.Slice(rs, func(i, j int) bool { return bytes.Compare(rs[i].Lo, rs[j].Lo) < 0 })
	merged := rs[:0]
	for _, r := range rs {
		if n := len(merged); n > 0 && bytes.Compare(r.Lo, merged[n-1].Hi) <= 0 {
			if bytes.Compare(r.Hi, merged[n-1].Hi) > 0 {
				merged[n-1].Hi = r.Hi
			}
			continue
		}
		merged = append(merged, r)
	}
	c.feed.all, c.feed.ranges = all, merged
}

// OnChanges sets fn to run (under the connection's lock; it must not call
// back into the Conn) each time a commit leaves changes in the feed or a
// schema changes.
func (c *Conn) OnChanges(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.feed != nil {
		c.feed.notify = fn
	}
}

// wanted reports whether one of ks lies in the feed's ranges.
func (f *changeFeed) wanted(ks [][]byte) bool {
	if f.all {
		return true
	}
	for _, k := range ks {
		i := sort.Search(len(f.ranges), func(i int) bool { return bytes.Compare(f.ranges[i].Lo, k) > 0 })
		if i > 0 && bytes.Compare(k, f.ranges[i-1].Hi) < 0 {
			return true
		}
	}
	return false
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

// noteExisted records, for the change feed, whether a row key the
// transaction writes held a row before the transaction: the first write of
// the key in the transaction decides. Only while the feed is on.
func (tx *Tx) noteExisted(key []byte, existed bool) {
	if tx.existed == nil {
		tx.existed = map[string]bool{}
	}
	if len(tx.existed) > maxPendingChanges {
		return // the commit will overflow the feed anyway (noteChanges)
	}
	if _, seen := tx.existed[string(key)]; !seen {
		tx.existed[string(key)] = existed
	}
}

// noteChanges reads what batch b, about to be applied, changes (nil with
// nobody watching). Everything comes from the batch and from what mutate saw
// (tx.existed), so watching adds no read of the store: a row key set is an
// insert or an update, a row key deleted a delete, and the index entries the
// batch sets or deletes are the old and new entries that moved; the entries
// that did not move are rebuilt from the new row.
func (c *Conn) noteChanges(b *kv.Batch, tx *Tx) []Change {
	f := c.feed
	if f == nil || f.overflow {
		return nil
	}
	if tx != nil && len(tx.existed) > maxPendingChanges || b.Len() > 64*maxPendingChanges {
		f.overrun = true
		return nil
	}
	if f.cat != c.cat {
		f.byID, f.cat = c.tablesByID(), c.cat
	}
	var out []Change
	first := map[uint32]int{} // table ID → its first change in out
	var moved [][]byte        // index entries the batch deletes, by table below
	var movedTable []uint32
	for i := range b.Len() {
		op := b.Op(i)
		k := op.Key
		if len(k) < 7 || k[0] != dataTag {
			continue // a counter, the catalog, sync state
		}
		id := binary.BigEndian.Uint32(k[1:5])
		ref, ok := f.byID[id]
		if !ok {
			continue
		}
		if binary.BigEndian.Uint16(k[5:7]) != 0 {
			// An index entry. The ones set are the new row's, rebuilt
			// below; the ones deleted are old entries that moved away.
			if op.Delete {
				moved = append(moved, append([]byte(nil), k...))
				movedTable = append(movedTable, id)
			}
			continue
		}
		existed, known := false, false
		if tx != nil {
			existed, known = tx.existed[string(k)]
		}
		if !known {
			_, err := c.store.Get(k)
			existed = err == nil
		}
		ch, ok := ref.change(op, existed)
		if !ok {
			continue
		}
		if len(out)+len(f.pending) >= maxPendingChanges {
			f.overrun = true
			return nil
		}
		if _, ok := first[id]; !ok {
			first[id] = len(out)
		}
		out = append(out, ch)
	}
	// Which row an old entry belonged to does not matter to a watcher (only
	// whether some change of the commit has a key in its ranges), so they
	// go with the table's first change: linear, however large the commit.
	for i, k := range moved {
		if at, ok := first[movedTable[i]]; ok {
			out[at].Keys = append(out[at].Keys, k)
		}
	}
	if f.all {
		return out
	}
	kept := out[:0]
	for _, ch := range out {
		if f.wanted(ch.Keys) {
			kept = append(kept, ch)
		}
	}
	return kept
}

// publishChanges appends the changes of a commit that landed.
func (c *Conn) publishChanges(cs []Change) {
	f := c.feed
	if f == nil || len(cs) == 0 && !f.overrun {
		return
	}
	if f.overrun || len(f.pending)+len(cs) > maxPendingChanges {
		f.pending, f.overflow, f.overrun = nil, true, false
	} else {
		f.pending = append(f.pending, cs...)
	}
	if f.notify != nil {
		f.notify()
	}
}

// noteSchema records that a schema change landed.
func (c *Conn) noteSchema() {
	if c.feed != nil {
		c.feed.schema = true
		if c.feed.notify != nil {
			c.feed.notify()
		}
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
// nothing (a delete of a row that did not exist) or a row cannot be decoded.
func (ref tableRef) change(op kv.Op, existed bool) (Change, bool) {
	t := ref.t
	ch := Change{DB: ref.db, Table: t.Name, t: t}
	key := append([]byte(nil), op.Key...)
	ch.Keys = append(ch.Keys, key)
	rowid := t.rowidOf(key)
	if op.Delete {
		if !existed {
			return Change{}, false
		}
		ch.Op = "delete"
		k, err := t.keyValue(key)
		if err != nil {
			return Change{}, false
		}
		ch.Key = k
		return ch, true
	}
	cur, err := decodeRow(t, op.Value)
	if err != nil {
		return Change{}, false
	}
	ch.Op = "insert"
	if existed {
		ch.Op = "update"
	}
	pk := key[len(t.primaryPrefix):]
	for i := range t.Indexes {
		if e, err := t.appendIndexEntry(nil, i, cur, pk); err == nil {
			ch.Keys = append(ch.Keys, e)
		}
	}
	ch.Key = t.pkValue(cur, rowid)
	ch.cur = cur
	return ch, true
}

// keyValue is the primary key value of a row key, as pkValue gives it.
func (t *Table) keyValue(key []byte) (value.Value, error) {
	if len(t.pkPos) == 0 {
		return value.NumberOf(t.rowidOf(key)), nil
	}
	r := make(row, len(t.Columns))
	rest := key[len(t.primaryPrefix):]
	for _, p := range t.pkPos {
		v, next, err := keys.Decode(rest)
		if err != nil {
			return value.Value{}, err
		}
		r[p], rest = v, next
	}
	return t.pkValue(r, 0), nil
}

// RowValue is the row after the change as an object; null for a delete.
func (ch *Change) RowValue() value.Value {
	if ch.cur == nil {
		return value.NullValue
	}
	return ch.t.rowObject(ch.cur)
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
