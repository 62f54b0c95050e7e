package engine

import (
	"errors"
	"slices"

	"minibase/engine/backupfile"
	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
)

// restoreKey marks a store whose restore has begun and not finished: it is
// written with the first restored keys and deleted with the last, and a
// store that still has it does not open (its content is neither the old
// one nor the backup's).
var restoreKey = []byte("\x00restoring")

// errUnfinishedRestore is what Open reports for a store with restoreKey.
var errUnfinishedRestore = errorf(CodeCorrupt, "open: a restore into this root was interrupted; restore the backup again or remove the root")

// Backup reads a consistent copy of the whole store (every database, the
// storage manager, sync state) in backup file format, a piece at a time. It
// reads a snapshot taken when it was made, so writers go on meanwhile and
// what it returns is the store as of that instant.
type Backup struct {
	c    *Conn
	snap kv.Snapshot
	it   kv.Iterator
	w    backupfile.Writer
	done bool
}

// NewBackup starts a backup of the store.
func (c *Conn) NewBackup() (*Backup, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	snap := c.store.Snapshot()
	return &Backup{c: c, snap: snap, it: snap.NewIter(kv.IterOptions{})}, nil
}

// Read returns the next piece of the backup file, about max bytes (at least
// one block), or nil once the whole file has been returned.
func (b *Backup) Read(max int) ([]byte, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	if b.it == nil {
		return nil, nil
	}
	if err := b.c.checkOpen(); err != nil {
		b.it, b.snap = nil, nil // the store closed and released it
		return nil, err
	}
	for !b.done && b.w.Buffered() < max {
		if !b.it.Next() {
			if err := b.it.Close(); err != nil {
				b.release()
				return nil, storageErr("backup", err)
			}
			b.done = true
			b.w.Finish()
			break
		}
		if isCallKey(b.it.Key()) {
			continue // call records answer resent calls of this store's callers, not a restored one's
		}
		if err := b.w.Add(b.it.Key(), b.it.Value()); err != nil {
			b.release()
			return nil, errorf(CodeInternal, "backup: %v", err)
		}
	}
	out := b.w.Take()
	if b.done && len(out) == 0 {
		b.release()
		return nil, nil
	}
	return out, nil
}

func (b *Backup) release() {
	if b.it != nil && !b.done {
		b.it.Close()
	}
	if b.snap != nil {
		b.snap.Release()
	}
	b.it, b.snap = nil, nil
}

// Close ends the backup early (or after the end), releasing its snapshot.
func (b *Backup) Close() {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	if b.c.checkOpen() != nil {
		b.it, b.snap = nil, nil
		return
	}
	b.release()
}

// backupErr gives backup file errors their codes.
func backupErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, backupfile.ErrTooNew):
		return &Error{Code: CodeVersionTooNew, Msg: "restore: " + err.Error(), Err: err}
	case errors.Is(err, backupfile.ErrCorrupt):
		return &Error{Code: CodeCorrupt, Msg: "restore: " + err.Error(), Err: err}
	}
	return err
}

// CheckBackup verifies a backup file fed to it in pieces; nothing is
// written. A restore checks the whole file this way before it changes
// anything.
type CheckBackup struct{ r backupfile.Reader }

// Write feeds the next piece.
func (v *CheckBackup) Write(p []byte) error { return backupErr(v.r.Write(p, nil)) }

// Close reports whether the file was whole and sound, and how many keys it holds.
func (v *CheckBackup) Close() (uint64, error) { return v.r.Pairs(), backupErr(v.r.Close()) }

// Restore replaces the whole store with a backup fed to it in pieces. Check
// the file with CheckBackup first: Restore deletes the store's keys before
// the first piece is applied.
type Restore struct {
	c     *Conn
	r     backupfile.Reader
	batch *kv.Batch
	begun bool
	err   error
}

// restoreBatchBytes bounds the batch a restore applies at once.
const restoreBatchBytes = 1 << 20

// NewRestore starts replacing the store's content. It fails while
// explicit transactions are open.
func (c *Conn) NewRestore() (*Restore, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if len(c.open) > 0 {
		return nil, errorf(CodeLocked, "restore: %d transactions are open on this connection", len(c.open))
	}
	return &Restore{c: c, batch: &kv.Batch{}}, nil
}

func (r *Restore) apply() error {
	if r.batch.Len() == 0 {
		return nil
	}
	err := r.c.store.Apply(r.batch)
	r.batch.Reset()
	return storageErr("restore", err)
}

// begin deletes every key of the store, in bounded batches, the first of
// which sets restoreKey.
func (r *Restore) begin() error {
	r.begun = true
	r.c.callLog = nil // the call records go with the rest
	r.batch.Set(restoreKey, []byte{1})
	if err := r.apply(); err != nil {
		return err
	}
	for {
		n := 0
		it := r.c.store.NewIter(kv.IterOptions{})
		for it.Next() && r.batch.Size() < restoreBatchBytes {
			if string(it.Key()) != string(restoreKey) {
				r.batch.Delete(append([]byte(nil), it.Key()...))
				n++
			}
		}
		if err := it.Close(); err != nil {
			return storageErr("restore", err)
		}
		if n == 0 {
			return nil
		}
		if err := r.apply(); err != nil {
			return err
		}
	}
}

// ready checks that the restore can go on, and begins it the first time.
// A transaction begun meanwhile would read and write a store being
// replaced: it stops the restore (the store stays marked unfinished).
func (r *Restore) ready() error {
	if r.err != nil {
		return r.err
	}
	if err := r.c.checkOpen(); err != nil {
		return err
	}
	if len(r.c.open) > 0 {
		r.err = errorf(CodeLocked, "restore: a transaction was begun on the connection being restored")
		return r.err
	}
	if !r.begun {
		r.err = r.begin()
	}
	return r.err
}

// Write applies the next piece of the backup.
func (r *Restore) Write(p []byte) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if err := r.ready(); err != nil {
		return err
	}
	r.err = backupErr(r.r.Write(p, func(k, v []byte) error {
		if string(k) == string(restoreKey) || isCallKey(k) {
			return nil
		}
		r.batch.Set(k, v)
		if r.batch.Size() >= restoreBatchBytes {
			return r.apply()
		}
		return nil
	}))
	return r.err
}

// Finish applies the rest, removes the restore mark and reloads the
// catalog. On error the store stays marked as an unfinished restore.
func (r *Restore) Finish() error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if err := r.ready(); err != nil {
		return err
	}
	if r.err = backupErr(r.r.Close()); r.err != nil {
		return r.err
	}
	r.batch.Delete(restoreKey)
	if r.err = r.apply(); r.err != nil {
		return r.err
	}
	cat, err := loadCatalog(r.c.store, false)
	if err != nil {
		r.err = err
		return err
	}
	r.c.cat = cat
	r.c.seqs = map[uint32]float64{}
	r.c.syncSt = nil
	r.c.callLog = nil
	r.c.commitSeq++
	r.c.recent = nil
	return nil
}

// loadCatalog reads and prepares the stored catalog (an empty one when the
// store has none). A store marked as an unfinished restore is refused
// unless restoring says it is about to be restored again.
func loadCatalog(st kv.Reader, restoring bool) (*catalog, error) {
	if _, err := st.Get(restoreKey); err == nil {
		if !restoring {
			return nil, errUnfinishedRestore
		}
		return newCatalog(), nil // half restored: about to be replaced
	}
	raw, err := st.Get(catalogKey)
	if errors.Is(err, kv.ErrNotFound) {
		return newCatalog(), nil
	} else if err != nil {
		return nil, storageErr("read catalog", err)
	}
	cat, err := decodeCatalog(raw)
	if err != nil {
		return nil, err
	}
	for _, tables := range cat.DBs {
		for _, t := range tables {
			t.prepare()
		}
	}
	return cat, nil
}

// ExportPageTo appends to out, as one encoded rowset (see SelectTo), up to
// limit rows of a table in primary key order, starting after the row whose
// stored key is after (nil: the first row); it returns the stored key to
// continue from, nil once the table is done. Columns are copied as stored,
// not decoded. Inside an explicit transaction every page reads the same
// snapshot.
func (tx *Tx) ExportPageTo(db, table string, after []byte, limit int, out []byte) ([]byte, []byte, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return out, nil, err
	}
	t, err := tx.c.lookupTable(db, table)
	if err != nil {
		return out, nil, err
	}
	lower := t.primaryPrefix
	if after != nil {
		if len(after) <= len(t.primaryPrefix) || string(after[:len(t.primaryPrefix)]) != string(t.primaryPrefix) {
			return out, nil, errorf(CodeBadQuery, "exportPage: the cursor is not a key of %s.%s", db, table)
		}
		lower = append(append([]byte(nil), after...), 0)
	}
	start := len(out)
	v := newRowView(t)
	it := tx.reader().NewIter(kv.IterOptions{Lower: lower, Upper: keys.PrefixEnd(t.primaryPrefix)})
	var next []byte
	n := 0
	more := false
	for it.Next() {
		if n >= limit || len(out)-start >= MaxResultBytes/2 {
			more = true
			break
		}
		if err := v.load(it.Value()); err == nil {
			err = v.all()
		}
		if v.err != nil || err != nil {
			it.Close()
			return out[:start], nil, errorf(CodeCorrupt, "export %s.%s: a stored row does not decode", db, table)
		}
		for p := range t.Columns {
			out = v.appendCol(out, p)
		}
		n++
		next = append(next[:0], it.Key()...)
	}
	if err := it.Close(); err != nil {
		return out[:start], nil, storageErr("export", err)
	}
	if !more {
		next = nil
	}
	header := value.AppendRowsetHeader(nil, t.names, n)
	return slices.Insert(out, start, header...), next, nil
}

// TableMove names a table to move in ReplaceTables.
type TableMove struct {
	FromDB, From string // the table that moves (a system database's, usually)
	ToDB, To     string // where it goes; a table already there is dropped
}

// ReplaceTables moves tables under new names in one commit, dropping the
// tables they replace and creating missing databases: an import loads its
// rows into staging tables batch by batch and then swaps them all in at
// once, so a failed import changes nothing.
func (c *Conn) ReplaceTables(moves []TableMove) error {
	return c.ddl(func(cat *catalog, w *kv.Overlay) error {
		for _, m := range moves {
			if err := checkName("database", m.ToDB); err != nil {
				return err
			}
			if err := checkName("table", m.To); err != nil {
				return err
			}
			src, ok := cat.DBs[m.FromDB][m.From]
			if !ok {
				return errorf(CodeNoSuchTable, "no table %q in database %q", m.From, m.FromDB)
			}
			if cat.DBs[m.ToDB] == nil {
				cat.DBs[m.ToDB] = map[string]*Table{}
			}
			if old, ok := cat.DBs[m.ToDB][m.To]; ok {
				if err := deleteRange(w, tablePrefix(old.ID)); err != nil {
					return err
				}
				if old.Sync {
					if err := dropSyncData(w, old); err != nil {
						return err
					}
				}
				w.Delete(seqKey(old.ID))
				delete(c.seqs, old.ID)
			}
			moved := *src
			moved.Name = m.To
			moved.prepare()
			delete(cat.DBs[m.FromDB], m.From)
			cat.DBs[m.ToDB][m.To] = &moved
		}
		return nil
	})
}
