package engine

import (
	"errors"
	"math"
	"sync"
	"time"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/engine/value"
	"minibase/fsadapter"
)

// Durability says when a commit is acknowledged.
type Durability int

const (
	// Normal acknowledges a commit once its bytes are handed to the backend:
	// it survives the process being killed (like SQLite WAL with
	// synchronous=NORMAL).
	Normal Durability = iota
	// Strict also syncs to stable storage before acknowledging, so the commit
	// survives power loss where the backend can sync.
	Strict
)

// Options configure Open.
type Options struct {
	Durability Durability
	// Store tunes the storage engine; zero values take its defaults.
	Store lsm.Options
	// Now is the wall clock behind sync timestamps (time.Now when nil);
	// tests replace it.
	Now func() time.Time
	// Restore opens a store whose restore was interrupted, so that it can
	// be restored again (NewRestore); without it such a store does not open.
	Restore bool
}

// Conn is an open minibase: databases, their tables, and the store they
// live in. Its methods are safe for concurrent use.
type Conn struct {
	mu        sync.Mutex
	store     kv.Store
	cat       *catalog
	seqs      map[uint32]float64 // autoIncrement high-water marks, loaded lazily
	commitSeq uint64
	nextTxID  uint64
	open      map[uint64]*Tx
	recent    []commitRecord
	auto      Tx // reused by Auto
	// point is scratch for point reads (GetTo, SelectEqTo), which run under
	// the connection lock: a read by key allocates no view or key buffer.
	point   pointScratch
	now     func() time.Time
	syncSt  *syncState  // sync client id and clock (syncmeta.go), loaded lazily
	feed    *changeFeed // committed changes, while watched (changes.go)
	restore bool        // Options.Restore, for Resume
	callLog *callLog    // call records (calls.go), loaded lazily
}

// Open opens (or creates) the minibase stored in fs.
func Open(fs fsadapter.FS, opts Options) (*Conn, error) {
	c, err := OpenStore(fs, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Resume(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// OpenStore is the first half of Open: it opens and recovers the store in
// fs (replaying its logs) but reads none of its data. Resume is the second
// half, and the connection is usable once Resume succeeded. A backend that
// loads bytes on demand fails Resume with fsadapter.ErrNotResident until it
// has loaded what Resume read; keeping the connection between the runs of
// Resume spares the recovery each time.
func OpenStore(fs fsadapter.FS, opts Options) (*Conn, error) {
	so := opts.Store
	if opts.Durability == Strict {
		so.Durability = lsm.Strict
	}
	// What Resume reads at every open, kept in the store's manifest too:
	// an open then reads no segment before the first query.
	so.Pinned = append(so.Pinned[:len(so.Pinned):len(so.Pinned)], catalogKey, restoreKey)
	st, err := lsm.Open(fs, so)
	if err != nil {
		return nil, storageErr("open", err)
	}
	return &Conn{store: st, seqs: map[uint32]float64{}, open: map[uint64]*Tx{}, now: opts.Now, restore: opts.Restore}, nil
}

// Resume reads the catalog of a connection OpenStore returned; it does
// nothing once that succeeded.
func (c *Conn) Resume() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil || c.cat != nil {
		return err
	}
	cat, err := loadCatalog(c.store, c.restore)
	if err != nil {
		return err
	}
	c.cat = cat
	return nil
}

// Close closes the connection; open transactions are rolled back.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store == nil {
		return errorf(CodeClosed, "connection is already closed")
	}
	for _, tx := range c.open {
		tx.done = true
		if tx.snap != nil {
			tx.snap.Release()
		}
	}
	c.open = map[uint64]*Tx{}
	err := c.store.Close()
	c.store = nil
	return storageErr("close", err)
}

func (c *Conn) checkOpen() error {
	if c.store == nil {
		return errorf(CodeClosed, "connection is closed")
	}
	return nil
}

// Begin starts an explicit transaction.
func (c *Conn) Begin() (*Tx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	return c.newExplicitTx(), nil
}

// BeginBulk starts a bulk transaction: one that takes only InsertMany (and
// InsertEncoded) into one table, then Commit or Rollback. Its rows are not
// written through the transaction's overlay but collected and sorted at
// commit (bulk.go), several times cheaper for a large load; the price is
// that uniqueness is checked at Commit, which fails as a whole, naming the
// row (counted across the load's statements) that collides first. Rows of
// a synced table load as in Begin's transactions.
func (c *Conn) BeginBulk() (*Tx, error) {
	tx, err := c.Begin()
	if err == nil {
		tx.bulkMode, tx.bulkBegun = true, true
	}
	return tx, err
}

// Tx returns the open explicit transaction with the given ID.
func (c *Conn) Tx(id uint64) (*Tx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tx, ok := c.open[id]; ok {
		return tx, nil
	}
	return nil, errorf(CodeTxClosed, "transaction %d is not open (committed, rolled back or never begun)", id)
}

// Auto runs fn as one autocommit statement: its writes commit together when
// it returns nil and are discarded when it returns an error. The Tx is valid
// only during fn.
func (c *Conn) Auto(fn func(tx *Tx) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	// One Tx value serves every autocommit statement (they run one at a time
	// under the lock): a point read should not allocate a transaction. fn
	// must not keep tx beyond its call.
	tx := &c.auto
	// The scratch buffers and the table list keep their room from the last
	// statement: nothing holds them past a commit (the overlay copies what
	// it is given).
	*tx = Tx{c: c, base: c.store, startSeq: c.commitSeq, locked: true, scratch: tx.scratch, tables: tx.tables[:0]}
	if err := fn(tx); err != nil {
		tx.end()
		return err
	}
	return tx.commit()
}

// Stats reports the store's numbers.
func (c *Conn) Stats() (kv.Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return kv.Stats{}, err
	}
	return c.store.Stats(), nil
}

// Compact reclaims space now.
func (c *Conn) Compact() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	return storageErr("compact", c.store.Compact())
}

// CompactStep does a bounded part of the merging the store's size tiers
// call for (lsm.Store.CompactStep) and reports whether more remains, and
// whether the store has more runs than reads should consult (behind: a
// caller holds new writes back until steps caught up). A step that could
// merge nothing for bytes the backend has not loaded yet fails with an error
// wrapping fsadapter.ErrNotResident, having changed nothing.
func (c *Conn) CompactStep() (more, behind bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return false, false, err
	}
	st, ok := c.store.(*lsm.Store)
	if !ok {
		return false, false, nil
	}
	more, err = st.CompactStep()
	behind = st.Stats().Runs > lsm.MaxRuns
	if errors.Is(err, fsadapter.ErrNotResident) {
		return more, behind, err
	}
	return more, behind, storageErr("compact", err)
}

// Checkpoint flushes the store's log to a segment once it holds enough to
// make replaying it at the next open costly (lsm.Store.Checkpoint), and
// reports whether it did. Hosts call it when writes have gone quiet.
func (c *Conn) Checkpoint() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return false, err
	}
	st, ok := c.store.(*lsm.Store)
	if !ok {
		return false, nil
	}
	flushed, err := st.Checkpoint()
	return flushed, storageErr("checkpoint", err)
}

// LendCache lends the store's block cache up to n bytes more for the
// blocks it evicts (lsm.Store.LendCache) and returns what it took; 0 takes
// the loan back. A closed store, or one without a block cache, takes none.
func (c *Conn) LendCache(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checkOpen() != nil {
		return 0
	}
	if st, ok := c.store.(*lsm.Store); ok {
		return st.LendCache(n)
	}
	return 0
}

// WarmCache fills the block cache's free room (and, after a bulk load, its
// loan) with what the store's newest flush wrote but could not keep there
// (lsm.Store.WarmCache): the host calls it after collecting a bulk load's
// garbage. It is a hint: an error is one a later read of the same block
// would meet.
func (c *Conn) WarmCache() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	st, ok := c.store.(*lsm.Store)
	if !ok {
		return nil
	}
	return storageErr("warm cache", st.WarmCache())
}

func (c *Conn) tableByID(id uint32) *Table {
	for _, tables := range c.cat.DBs {
		for _, t := range tables {
			if t.ID == id {
				return t
			}
		}
	}
	return nil
}

func (c *Conn) lookupTable(db, name string) (*Table, error) {
	return c.cat.lookup(db, name)
}

// nextSeq takes the next autoIncrement value (or hidden row id) of t.
func (tx *Tx) nextSeq(t *Table) (float64, error) {
	cur, err := tx.c.seq(t)
	if err != nil {
		return 0, err
	}
	if cur >= 1<<53 {
		return 0, errorf(CodeTooLarge, "autoIncrement of %s is exhausted", t.Name)
	}
	if err := tx.bumpSeq(t, cur+1); err != nil {
		return 0, err
	}
	return cur + 1, nil
}

// bumpSeq raises t's high-water mark to at least v (explicit ids count too,
// so a later generated id never collides with one the user chose). The
// stored mark is loaded first: comparing with a mark not yet loaded (zero)
// would lower it, and the next generated id would land on an existing row.
func (tx *Tx) bumpSeq(t *Table, v float64) error {
	cur, err := tx.c.seq(t)
	if err != nil {
		return err
	}
	if v > cur {
		tx.c.seqs[t.ID] = math.Floor(v)
		if tx.seqs == nil {
			tx.seqs = map[uint32]bool{}
		}
		tx.seqs[t.ID] = true
	}
	return nil
}

func (c *Conn) seq(t *Table) (float64, error) {
	if v, ok := c.seqs[t.ID]; ok {
		return v, nil
	}
	raw, err := c.store.Get(seqKey(t.ID))
	switch {
	case errors.Is(err, kv.ErrNotFound):
		c.seqs[t.ID] = 0
		return 0, nil
	case err != nil:
		return 0, storageErr("read autoIncrement", err)
	case len(raw) != 8:
		return 0, errorf(CodeCorrupt, "autoIncrement counter of %s is corrupt", t.Name)
	}
	v := math.Float64frombits(uint64(raw[0])<<56 | uint64(raw[1])<<48 | uint64(raw[2])<<40 | uint64(raw[3])<<32 |
		uint64(raw[4])<<24 | uint64(raw[5])<<16 | uint64(raw[6])<<8 | uint64(raw[7]))
	if !value.CheckNumber(v) || v < 0 {
		return 0, errorf(CodeCorrupt, "autoIncrement counter of %s is corrupt", t.Name)
	}
	c.seqs[t.ID] = v
	return v, nil
}
