// Package lsm is minibase's crash-safe ordered key-value store, implementing
// kv.Store over an fsadapter.FS.
//
// # Basics
//
// Version 1 keeps all data in a memtable in memory. Durability comes from a
// write-ahead log plus checkpoints, all in one directory:
//
//	NNNNNNNNNNNNNNNNNNNN.log   log records (package wal), named by the
//	                           sequence number of their first record
//	NNNNNNNNNNNNNNNNNNNN.ckpt  the whole map as of sequence number N
//
// Apply encodes a batch as one log record and hands it to the backend before
// touching the memtable, so a returned Apply is acknowledged in the sense of
// DESIGN.md. Where the backend appends cheaply (Caps.AppendCheap) commits
// append to a log file that is rotated at Options.LogFileSize; elsewhere
// (IndexedDB) every commit is its own file, written once and never touched
// again. When the log outgrows max(Options.CheckpointBytes, live data) the
// store writes a checkpoint in one call, starts a new log and only then
// deletes what the checkpoint made obsolete.
//
// Open loads the newest checkpoint that verifies and replays the logs after
// it. A torn record at the end of the last log (a write cut short) is cut off;
// all other damage fails Open with an error wrapping kv.ErrCorrupt that names
// the file.
//
// # Caveats
//
// Data must fit in memory; segment files and a block cache come later. The
// deletion of whole trailing log files cannot be detected, since nothing
// records the last sequence number elsewhere. Flipped bits in the final
// record of the final log are indistinguishable from a torn write and drop
// that record. On a backend without cheap appends, open time grows with the
// number of commits since the last checkpoint.
package lsm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sync"

	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/wal"
	"minibase/fsadapter"
)

// Store is the v1 LSM store. It is safe for concurrent use, though minibase
// calls it from one goroutine.
type Store struct {
	mu         sync.Mutex
	fs         fsadapter.FS
	opts       Options
	dir        string
	appendMode bool
	strict     bool

	mem *memtable.Table
	seq uint64 // sequence number of the last commit

	files    map[string]int64 // every log and checkpoint known, with its size
	ckptSeq  uint64           // what the newest checkpoint covers; 0 = none
	ckptName string
	logBytes int64 // log record bytes after ckptSeq
	ckptWait int64 // after a failed checkpoint, logBytes to reach before retrying

	// The open log when appending. logName "" means the next commit starts
	// a new file; log nil with a logName means reopen that file.
	log     fsadapter.AppendFile
	logName string
	logSize int64

	closed  bool
	broken  error // set when the log cannot take more writes; see ErrLogDamaged
	commits int64
	written int64
	pinned  int64        // bytes of record and file buffers the table references
	unlock  func() error // releases the cross-process lock; nil without one
}

var _ kv.Store = (*Store)(nil)

// sortedApplyThreshold is the batch size from which applyOwned sorts.
const sortedApplyThreshold = 256

// Apply writes b atomically; see kv.Store. An empty or nil batch is a no-op.
// On error nothing of b is applied and the store stays usable, unless the
// error wraps ErrLogDamaged.
func (s *Store) Apply(b *kv.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("apply batch: %w", kv.ErrClosed)
	}
	if b == nil || len(b.Ops) == 0 {
		return nil
	}
	if s.broken != nil {
		return fmt.Errorf("apply batch: %w", s.broken)
	}
	seq := s.seq + 1
	if size := wal.EncodedSize(seq, b.Ops); size-wal.HeaderSize > wal.MaxPayload {
		return fmt.Errorf("apply batch: record of %d bytes: %w", size, ErrTooLarge)
	}
	// Each record gets its own buffer, and the memtable keeps slices of it
	// rather than the batch's own: one object per commit instead of one per
	// key and value, which is what the garbage collector pays for (marking
	// hundreds of thousands of small objects is most of a collection in wasm).
	ops := slices.Clone(b.Ops) // relocated below; the caller's batch stays as it was
	rec := wal.EncodeOwned(make([]byte, 0, wal.EncodedSize(seq, ops)), seq, ops)
	err := s.writeRecord(seq, rec)
	n := len(rec)
	if err != nil {
		return fmt.Errorf("apply batch: %w", err)
	}
	s.seq = seq
	s.mem = applyOwned(s.mem, ops)
	s.commits++
	s.pinned += int64(n)
	s.written += int64(n)
	s.logBytes += int64(n)
	if s.checkpointDue() {
		// The commit is durable already; a failed checkpoint is retried later
		// and surfaces through Compact, not as a failed commit.
		if err := s.checkpoint(); err != nil {
			s.ckptWait = s.logBytes + s.opts.CheckpointBytes
		}
	}
	return nil
}

// sortEntry is an op's position with its key's first 16 bytes.
type sortEntry struct {
	h1, h2 uint64
	i      int32
}

// keyHeads returns the first 16 bytes of k as two big-endian integers,
// zero-padded, so that comparing heads orders keys as bytes.Compare does
// whenever the heads differ.
func keyHeads(k []byte) (uint64, uint64) {
	var buf [16]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

// applyOwned applies ops, whose slices the table may keep, and returns the
// table: t itself, or a new one when the batch was merged in. A batch at
// least a quarter the size of the table is sorted and merged with it into a
// table built bottom up, in O(n+m), instead of m inserts that each shift
// half a B-tree leaf; that makes bulk loads several times cheaper.
func applyOwned(t *memtable.Table, ops []kv.Op) *memtable.Table {
	if len(ops) < sortedApplyThreshold || len(ops) < t.Len()/4 {
		for i := range ops {
			if ops[i].Delete {
				t.Delete(ops[i].Key)
			} else {
				t.Set(ops[i].Key, ops[i].Value)
			}
		}
		return t
	}
	// Sort small entries — the first 16 key bytes as two integers and the
	// op's position — not ops: most comparisons are then two integer
	// compares instead of a byte loop (slow under wasm), and 24 bytes move
	// instead of 56. Equal keys keep batch order so the last write wins.
	entries := make([]sortEntry, len(ops))
	for i := range ops {
		h1, h2 := keyHeads(ops[i].Key)
		entries[i] = sortEntry{h1: h1, h2: h2, i: int32(i)}
	}
	slices.SortFunc(entries, func(a, b sortEntry) int {
		switch {
		case a.h1 != b.h1:
			return cmp.Compare(a.h1, b.h1)
		case a.h2 != b.h2:
			return cmp.Compare(a.h2, b.h2)
		}
		if c := bytes.Compare(ops[a.i].Key, ops[b.i].Key); c != 0 {
			return c
		}
		return int(a.i - b.i)
	})
	order := make([]int32, len(entries))
	for j, e := range entries {
		order[j] = e.i
	}
	b := memtable.NewBuilder(t.Len() + len(ops))
	it := t.NewIter(nil, nil, false)
	more := it.Next()
	for j := 0; j < len(order); j++ {
		op := &ops[order[j]]
		if j+1 < len(order) && bytes.Equal(op.Key, ops[order[j+1]].Key) {
			continue // a later write to the same key wins
		}
		for more && bytes.Compare(it.Key(), op.Key) < 0 {
			b.Add(it.Key(), it.Value())
			more = it.Next()
		}
		if more && bytes.Equal(it.Key(), op.Key) {
			more = it.Next() // replaced or deleted by op
		}
		if !op.Delete {
			b.Add(op.Key, op.Value)
		}
	}
	for ; more; more = it.Next() {
		b.Add(it.Key(), it.Value())
	}
	_ = it.Close()
	return b.Table()
}

// Get returns the value of key or kv.ErrNotFound. The value stays valid and
// unchanged for as long as the caller holds it.
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("get: %w", kv.ErrClosed)
	}
	if v, ok := s.mem.Get(key); ok {
		return v, nil
	}
	return nil, kv.ErrNotFound
}

// NewIter iterates a snapshot taken now, so writes during the iteration are
// safe and invisible to it.
func (s *Store) NewIter(opts kv.IterOptions) kv.Iterator {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errIter{fmt.Errorf("new iterator: %w", kv.ErrClosed)}
	}
	return s.mem.Clone().NewIter(opts.Lower, opts.Upper, opts.Reverse)
}

// Snapshot freezes the current state in O(1).
func (s *Store) Snapshot() kv.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &snapshot{}
	}
	return &snapshot{t: s.mem.Clone()}
}

// Stats reports sizes and counters.
func (s *Store) Stats() kv.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := kv.Stats{
		Keys:         int64(s.mem.Len()),
		LiveBytes:    s.mem.Size(),
		Files:        len(s.files),
		LogBytes:     s.logBytes,
		Commits:      s.commits,
		BytesWritten: s.written,
	}
	for _, size := range s.files {
		st.DiskBytes += size
	}
	return st
}

// Compact writes a checkpoint now and deletes the files it makes obsolete.
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("compact: %w", kv.ErrClosed)
	}
	if err := s.checkpoint(); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// Close releases the open log file. Every acknowledged commit is already
// durable, so there is nothing to flush.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("close store: %w", kv.ErrClosed)
	}
	s.closed = true
	var err error
	if s.log != nil {
		if cerr := s.log.Close(); cerr != nil {
			err = fmt.Errorf("close log %s: %w", s.logName, cerr)
		}
		s.log = nil
	}
	if lerr := s.releaseLock(); err == nil && lerr != nil {
		err = fmt.Errorf("close store: %w", lerr)
	}
	return err
}

func (s *Store) path(name string) string { return path.Join(s.dir, name) }

// writeRecord hands the record of commit seq to the backend. On failure the
// log is left as if the write never happened, or s.broken is set.
func (s *Store) writeRecord(seq uint64, rec []byte) error {
	if !s.appendMode {
		name := logFileName(seq)
		if err := s.fs.WriteFile(s.path(name), rec, s.strict); err != nil {
			// Whatever landed was never acknowledged, and the next commit
			// reuses seq and so replaces the file; removing it is tidiness.
			s.remove(name)
			return fmt.Errorf("write log %s: %w", name, err)
		}
		s.files[name] = int64(len(rec))
		return nil
	}
	if s.logName == "" {
		s.logName, s.logSize = logFileName(seq), 0
	}
	if s.log == nil {
		f, err := s.fs.OpenAppend(s.path(s.logName))
		if err != nil {
			return fmt.Errorf("open log %s: %w", s.logName, err)
		}
		s.log = f
		s.files[s.logName] = s.logSize
	}
	n, err := s.log.Write(rec)
	if err == nil && s.strict {
		err = s.log.Sync()
	}
	if err != nil {
		name := s.logName
		s.undoAppend(n, len(rec))
		return fmt.Errorf("write log %s: %w", name, err)
	}
	s.logSize += int64(len(rec))
	s.files[s.logName] = s.logSize
	if s.logSize >= s.opts.LogFileSize {
		// A close error cannot lose the record: Write already handed it
		// to the backend.
		_ = s.log.Close()
		s.log, s.logName = nil, ""
	}
	return nil
}

// undoAppend makes sure a failed append is never followed by good records:
// cut the file back, or else leave the stub at the end of a log nobody
// appends to again, where reopening recognizes it as torn.
func (s *Store) undoAppend(wrote, size int) {
	_ = s.log.Close()
	s.log = nil
	name := s.logName
	if err := s.fs.Truncate(s.path(name), s.logSize); err == nil {
		return // the next commit reopens the file
	}
	if s.logSize == 0 && s.remove(name) {
		s.logName = ""
		return
	}
	s.files[name] = s.logSize + int64(max(wrote, 0))
	if wrote < size && s.logSize > 0 {
		// The next log is named after the next commit's seq, which is the
		// failed record's, so it cannot collide with this file's name.
		s.logName = ""
		return
	}
	// A complete record may be in the file: the next commit would reuse its
	// sequence number. Only reopening sorts that out.
	s.broken = fmt.Errorf("log %s: %w", name, ErrLogDamaged)
}

// remove deletes a file the store owns and reports whether it is gone.
func (s *Store) remove(name string) bool {
	if err := s.fs.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	delete(s.files, name)
	return true
}

// checkpointDue says whether the log has grown enough to pay for rewriting
// the live data.
func (s *Store) checkpointDue() bool {
	return s.logBytes > max(s.opts.CheckpointBytes, s.mem.Size()) && s.logBytes >= s.ckptWait
}

// checkpoint writes the whole map as of s.seq, starts a new log and deletes
// the files the checkpoint made obsolete.
func (s *Store) checkpoint() error {
	if s.seq != s.ckptSeq {
		name := ckptFileName(s.seq)
		data := encodeCheckpoint(s.seq, s.mem)
		if err := s.fs.WriteFile(s.path(name), data, s.strict); err != nil {
			s.remove(name)
			return fmt.Errorf("write checkpoint %s: %w", name, err)
		}
		s.files[name] = int64(len(data))
		s.written += int64(len(data))
		s.ckptSeq, s.ckptName = s.seq, name
		// Repack memory when the records the table references hold more
		// dead bytes than live ones: the table then references the
		// checkpoint's one buffer and the records can be freed. Memory stays
		// within about twice the live data.
		if s.pinned > 2*s.mem.Size() {
			if t, _, err := decodeCheckpoint(name, data); err == nil {
				s.mem, s.pinned = t, int64(len(data))
			}
		}
		s.logBytes, s.ckptWait = 0, 0
	}
	if s.ckptName == "" {
		return nil // nothing committed yet, so nothing to cover
	}
	// Later commits go to a new log, so every existing log holds only
	// records the checkpoint covers.
	if s.log != nil {
		_ = s.log.Close()
		s.log = nil
	}
	s.logName = ""
	s.removeAllBut(s.ckptName)
	return nil
}

// removeAllBut deletes every file the store knows except keep. Failures
// leave files for the next checkpoint.
func (s *Store) removeAllBut(keep string) {
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		if name != keep {
			names = append(names, name)
		}
	}
	// Sorted, so the order of deletions (and of crash points in tests) is
	// the same on every run.
	slices.Sort(names)
	for _, name := range names {
		s.remove(name)
	}
}

// snapshot is a frozen clone of the memtable.
type snapshot struct{ t *memtable.Table }

func (sn *snapshot) Get(key []byte) ([]byte, error) {
	if sn.t == nil {
		return nil, fmt.Errorf("get: %w", kv.ErrClosed)
	}
	if v, ok := sn.t.Get(key); ok {
		return v, nil
	}
	return nil, kv.ErrNotFound
}

func (sn *snapshot) NewIter(opts kv.IterOptions) kv.Iterator {
	if sn.t == nil {
		return errIter{fmt.Errorf("new iterator: %w", kv.ErrClosed)}
	}
	return sn.t.NewIter(opts.Lower, opts.Upper, opts.Reverse)
}

func (sn *snapshot) Release() { sn.t = nil }

// errIter is an empty iterator that reports err from Close.
type errIter struct{ err error }

func (errIter) Next() bool     { return false }
func (errIter) Key() []byte    { return nil }
func (errIter) Value() []byte  { return nil }
func (e errIter) Close() error { return e.err }
