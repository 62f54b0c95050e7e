package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"

	"minibase/engine/kv"
	"minibase/fsadapter"
)

// Tx is a transaction. Reads see the snapshot taken when it began plus its
// own writes; its writes become visible to others, all at once, on Commit.
//
// Isolation is snapshot isolation with first-committer-wins: Commit fails
// with TX_CONFLICT when a commit made after this transaction began wrote a
// key this one writes (a row, or a unique index entry) or changed the schema
// of a table it writes. Autocommit statements never conflict: each runs and
// commits in one step.
type Tx struct {
	c        *Conn
	id       uint64
	explicit bool
	base     kv.Reader
	snap     kv.Snapshot
	ov       *kv.Overlay
	startSeq uint64
	tables   []tableVersion  // the tables written, with the schema version seen
	seqs     map[uint32]bool // tables whose autoIncrement counter advanced
	done     bool
	locked   bool // run by Conn.Auto, which already holds the connection lock

	// Schema changes inside the transaction (version.go): cat is its own
	// catalog once it changed one, catBase the connection's when it began.
	cat, catBase *catalog

	// Sync (syncmeta.go): syncDirty says the commit must persist the sync
	// clock; remoteMeta/remoteKey are set while a received change is applied.
	syncDirty  bool
	remoteMeta *RowMeta
	remoteKey  []byte

	// A bulk transaction (Conn.BeginBulk) takes only insertMany into one
	// table; load holds its rows, or an autocommit bulk insert's (bulk.go).
	bulkMode bool
	load     *bulkLoad
	// newKeys says the statement's deletions (deleteKey) and patched rows
	// (setPatched) are of keys the overlay holds no write of, appended
	// without a lookup (see Delete and Update).
	newKeys bool
	// rowsBefore counts the rows a transaction begun as a bulk one took
	// row by row (a synced table's): its errors count rows from the load's
	// first, like a bulk load's.
	bulkBegun  bool
	rowsBefore int

	call *pendingCall // the call record the commit writes (calls.go)

	scratch struct{ key, old, new, row []byte } // reused by mutate
	existed map[string]bool                     // row keys written → held a row before (change feed only)
}

// lock takes the connection lock unless the caller (Conn.Auto) holds it.
func (tx *Tx) lock() func() {
	if tx.locked {
		return func() {}
	}
	tx.c.mu.Lock()
	return tx.c.mu.Unlock
}

// commitRecord remembers which keys a commit wrote while explicit
// transactions that began before it are still open.
type commitRecord struct {
	seq    uint64
	keys   map[string]struct{}
	tables map[uint32]bool
}

// newExplicitTx begins a transaction on a snapshot of the store. (Autocommit
// statements use Conn.Auto's reused Tx, reading the store directly.)
func (c *Conn) newExplicitTx() *Tx {
	c.nextTxID++
	snap := c.store.Snapshot()
	tx := &Tx{c: c, explicit: true, startSeq: c.commitSeq, id: c.nextTxID, snap: snap, base: snap, catBase: c.cat}
	c.open[tx.id] = tx
	return tx
}

// reader is what the transaction reads: its writes over its base.
func (tx *Tx) reader() kv.Reader {
	tx.unload()
	if tx.ov != nil {
		return tx.ov
	}
	return tx.base
}

// writer returns the overlay that collects the transaction's writes.
func (tx *Tx) writer() *kv.Overlay {
	tx.unload()
	if tx.ov == nil {
		tx.ov = kv.NewOverlay(tx.base)
	}
	return tx.ov
}

// unload moves an autocommit bulk load, sealed, into the overlay, when a
// later statement of the same autocommit transaction reads or writes: it
// must see the rows, and extend the same commit (Go callers can run several
// statements in one Conn.Auto; the bridge runs one).
func (tx *Tx) unload() {
	if tx.load == nil || tx.bulkMode || tx.load.out == nil {
		return
	}
	b := tx.load.out
	tx.load = nil
	if tx.ov == nil {
		tx.ov = kv.NewOverlay(tx.base)
	}
	for i := range b.Len() {
		op := b.Op(i)
		tx.ov.Set(op.Key, op.Value)
	}
}

func (tx *Tx) check() error {
	if err := tx.live(); err != nil {
		return err
	}
	if tx.bulkMode {
		return errorf(CodeBadQuery, "transaction %d is a bulk load: it takes only insertMany, commit and rollback", tx.id)
	}
	return nil
}

// live reports a transaction that can no longer be used.
func (tx *Tx) live() error {
	if tx.done {
		return errorf(CodeTxClosed, "transaction %d is already committed or rolled back", tx.id)
	}
	if tx.c.store == nil {
		return errorf(CodeClosed, "connection is closed")
	}
	return nil
}

// statement runs fn so that it either fully applies or leaves the
// transaction as it was: inside an explicit transaction its writes are
// rolled back to a savepoint when it fails.
func (tx *Tx) statement(fn func(w *kv.Overlay) error) error {
	if err := tx.check(); err != nil {
		return err
	}
	if !tx.explicit {
		return fn(tx.writer())
	}
	w := tx.writer()
	sp := w.Mark()
	if err := fn(w); err != nil {
		w.Rollback(sp)
		return err // ids it took stay taken: gaps are fine, reuse is not
	}
	w.Release(sp)
	return nil
}

// tableVersion is a table a transaction wrote and the schema version it
// saw: a transaction writes one table or a few, a slice rather than a map
// (an autocommit insert allocated one per statement).
type tableVersion struct {
	id  uint32
	ver uint64
}

// touch records that the transaction writes table t.
func (tx *Tx) touch(t *Table) {
	for _, tv := range tx.tables {
		if tv.id == t.ID {
			return
		}
	}
	tx.tables = append(tx.tables, tableVersion{t.ID, t.Version})
}

// Commit makes the transaction's writes durable and visible.
func (tx *Tx) Commit() error {
	defer tx.lock()()
	return tx.commit()
}

// Writes is the number of keys the transaction has written so far (rows and
// index entries, set or deleted).
func (tx *Tx) Writes() int {
	n := 0
	if tx.ov != nil {
		n = tx.ov.Len()
	}
	if tx.load != nil {
		n += tx.load.writes()
	}
	return n
}

func (tx *Tx) commit() error {
	if err := tx.live(); err != nil {
		return err
	}
	c := tx.c
	var b *kv.Batch
	if tx.load != nil && tx.load.rows() > 0 {
		var err error
		if b, err = tx.load.seal(tx); errors.Is(err, fsadapter.ErrNotResident) {
			// Still open: the call runs again once the bytes it missed are
			// loaded (a bulk load reads the store at commit).
			return err
		} else if err != nil {
			tx.end()
			return err
		}
	}
	defer tx.end()
	if b == nil && tx.ov != nil && tx.ov.Len() > 0 {
		b = tx.ov.Batch()
		tx.ov.Seal()
	}
	if b == nil && len(tx.seqs) == 0 && tx.cat == nil {
		return nil
	}
	if b == nil {
		b = &kv.Batch{}
	}
	if tx.explicit {
		if err := tx.conflicts(b); err != nil {
			return err
		}
	}
	if tx.cat != nil {
		b.Set(catalogKey, tx.cat.encode())
	}
	for id := range tx.seqs {
		b.Set(seqKey(id), binary.BigEndian.AppendUint64(nil, math.Float64bits(c.seqs[id])))
	}
	if tx.syncDirty {
		c.writeSyncClock(b)
	}
	called, err := c.writeCall(b, tx.call)
	if err != nil {
		return err
	}
	notes := c.noteChanges(b, tx)
	if err := c.store.Apply(b); err != nil {
		return storageErr("commit", err)
	}
	called()
	if tx.cat != nil {
		c.cat = tx.cat
	}
	c.publishChanges(notes)
	c.commitSeq++
	c.recordCommit(tx, b)
	return nil
}

// conflicts checks the batch against commits made since the transaction began.
func (tx *Tx) conflicts(b *kv.Batch) error {
	c := tx.c
	if tx.cat != nil {
		if err := tx.schemaConflicts(); err != nil {
			return err
		}
	}
	for _, tv := range tx.tables {
		if tx.cat != nil {
			break // the catalog is the one it began on (schemaConflicts): versions are its own
		}
		if t := c.tableByID(tv.id); t == nil || t.Version != tv.ver {
			return errorf(CodeTxConflict, "transaction conflict: a table it writes was changed or dropped since it began")
		}
	}
	for _, rec := range c.recent {
		if rec.seq <= tx.startSeq {
			continue
		}
		for i := range b.Len() {
			if _, hit := rec.keys[string(b.Op(i).Key)]; hit {
				return errorf(CodeTxConflict, "transaction conflict: another commit wrote the same row or unique value since it began")
			}
		}
	}
	return nil
}

// recordCommit keeps the written keys while an explicit transaction that
// began earlier is still open; with none open it keeps nothing.
func (c *Conn) recordCommit(tx *Tx, b *kv.Batch) {
	if len(c.open) == 0 || tx != nil && len(c.open) == 1 && c.open[tx.id] == tx {
		// No other transaction can conflict with this commit: keep nothing
		// (a bulk insert's keys would be a map of hundreds of thousands).
		c.recent = c.recent[:0]
		return
	}
	rec := commitRecord{seq: c.commitSeq, keys: make(map[string]struct{}, b.Len())}
	for i := range b.Len() {
		if op := b.Op(i); !bytes.HasPrefix(op.Key, seqPrefix) && !bytes.Equal(op.Key, syncClockKey) && !isCallKey(op.Key) {
			rec.keys[string(op.Key)] = struct{}{}
		}
	}
	c.recent = append(c.recent, rec)
}

// Rollback discards the transaction's writes.
func (tx *Tx) Rollback() error {
	defer tx.lock()()
	if tx.done {
		return errorf(CodeTxClosed, "transaction %d is already committed or rolled back", tx.id)
	}
	tx.end()
	return nil
}

func (tx *Tx) end() {
	tx.done = true
	tx.ov = nil
	tx.load = nil
	tx.cat = nil
	if tx.snap != nil {
		tx.snap.Release()
		tx.snap = nil
	}
	if tx.explicit {
		delete(tx.c.open, tx.id)
		tx.c.pruneRecent()
	}
}

// pruneRecent drops commit records no open transaction can conflict with.
func (c *Conn) pruneRecent() {
	oldest := c.commitSeq
	for _, t := range c.open {
		oldest = min(oldest, t.startSeq)
	}
	keep := c.recent[:0]
	for _, r := range c.recent {
		if r.seq > oldest {
			keep = append(keep, r)
		}
	}
	c.recent = keep
}

// ID is the transaction's handle number (0 for autocommit statements).
func (tx *Tx) ID() uint64 { return tx.id }
