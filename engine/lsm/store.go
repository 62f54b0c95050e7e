// Package lsm is minibase's crash-safe ordered key-value store, a
// log-structured merge tree implementing kv.Store over an fsadapter.FS.
//
// # Basics
//
// All files live in one directory:
//
//	NNNNNNNNNNNNNNNNNNNN.log       log records (package wal), named by the
//	                               sequence number of their first record
//	NNNNNNNNNNNNNNNNNNNN.sst       segment files (package sstable)
//	NNNNNNNNNNNNNNNNNNNN.manifest  the live segments and the sequence number
//	                               up to which commits are in them
//
// Apply encodes a batch as one log record and hands it to the backend before
// touching the memtable, so a returned Apply is acknowledged: the record is
// with the backend (on stable storage when the store syncs). Where the backend appends cheaply (Caps.AppendCheap) commits
// append to a log file that is rotated at Options.LogFileSize; elsewhere
// (IndexedDB) every commit is its own file, written once.
//
// When the log since the last flush passes Options.MemtableBytes, the same
// Apply (after its commit is durable) flushes the memtable to a run of
// segment files, writes a new manifest and only then deletes the older
// manifest and the logs. Deletions are kept in the memtable as tombstones,
// so they shadow older values in segments. Reads merge the memtable and the
// runs newest first. After a flush, runs of similar size (within a factor of
// four) are merged once four of them are adjacent (size-tiered compaction);
// a merge that includes the oldest run drops tombstones. Compact flushes and
// merges everything into one run. All of this work happens synchronously
// inside Apply and Compact: under wasm a goroutine does not run between calls
// from JavaScript, and synchronous work keeps crash tests deterministic.
//
// A segment file is deleted once a durable manifest no longer names it and no
// snapshot or iterator still reads it. Data blocks are read on demand through
// a block cache bounded by Options.CacheBytes; only segment indexes and
// bloom filters stay in memory.
//
// Open takes the newest manifest that verifies and replays the logs after
// it. A torn record at the end of the last log (a write cut short) is cut off;
// all other damage fails Open with an error wrapping kv.ErrCorrupt that names
// the file. Missing commits are damage too: sequence numbers run on from log
// to log, and where logs are appended to, every manifest promises the log
// that follows it and every full log ends with a mark promising the next
// one (both are created before they are promised), so a deleted log is
// found even when it is the last.
//
// # Caveats
//
// Compactions run inside the Apply that triggers them, which then takes as
// long as rewriting the runs merged, unless Options.CompactInSteps leaves
// them to CompactStep (for backends that load bytes on demand, whose
// merges must be done a bounded step at a time). Backends that do not implement
// RangeReader serve a block by reading its whole segment file (the last one
// read is kept). Records cut off the end of the last log at a record
// boundary cannot be detected, nor the deletion of the last commit's file on
// write-once backends (IndexedDB): nothing written after them tells. Stores
// written before manifests promised logs are covered from their next flush.
// Flipped bits in the final record of the final log are indistinguishable
// from a torn write and drop that record. Stats.Keys and Stats.LiveBytes
// count shadowed entries until a compaction removes them.
package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"minibase/engine/cache"
	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/wal"
	"minibase/fsadapter"
)

// RangeReader is the backend's optional range read (fsadapter.RangeReader).
type RangeReader = fsadapter.RangeReader

// Prefetcher is the backend's optional hint of whole-file reads to come
// (fsadapter.Prefetcher).
type Prefetcher = fsadapter.Prefetcher

// Store is the LSM store. It is safe for concurrent use, though minibase
// calls it from one goroutine.
type Store struct {
	mu         sync.Mutex
	fs         fsadapter.FS
	opts       Options
	dir        string
	appendMode bool
	strict     bool

	mem    *memtable.Table
	seq    uint64 // sequence number of the last commit
	record []byte // the last commit's log record, whose buffer the next one reuses

	cur          version             // live runs, newest first
	segs         map[uint64]*segment // every open segment, obsolete ones still read included
	flushedSeq   uint64              // commits up to here are in segments
	nextFile     uint64              // number of the next segment or manifest
	manifestName string              // "" before the first flush
	cache        *cache.Cache
	readers      *openReaders // bounds what open segments hold
	whole        wholeFile

	files     map[string]int64 // every file of the store, with its size
	logFiles  int              // how many of them are logs
	logBytes  int64            // log record bytes after flushedSeq
	flushWait int64            // after a failed flush, logBytes to reach before retrying

	// The open log when appending. logName "" means the next commit starts
	// a new file; log nil with a logName means reopen that file.
	log     fsadapter.AppendFile
	logName string
	logSize int64
	// claimed is the open log when it was created empty ahead of its first
	// commit and a manifest or the log before it promises it exists: it
	// must not be deleted, even empty. firstLog is the log the current
	// manifest promises (0: none).
	claimed  string
	firstLog uint64

	closed      bool
	broken      error // set when the log cannot take more writes; see ErrLogDamaged
	commits     int64
	written     int64
	flushes     int64
	compactions int64
	unlock      func() error // releases the cross-process lock; nil without one

	pinned pinSet // Options.Pinned
	pins   pins   // their values in the current version's segments, where known (pins.go)

	job *compaction // the merge CompactStep has under way; nil when none
	// cold are the newest flush's segments whose blocks it could not copy
	// into the cache (WarmCache); coldLoad: that flush wrote a bulk load.
	cold     []uint64
	coldLoad bool
}

var _ kv.Store = (*Store)(nil)

// sortedApplyThreshold is the batch size from which applyOps sorts.
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
	if b == nil || b.Len() == 0 {
		return nil
	}
	if s.broken != nil {
		return fmt.Errorf("apply batch: %w", s.broken)
	}
	seq := s.seq + 1
	if b.Len() >= sortedApplyThreshold && int64(b.Size()) >= s.opts.MemtableBytes && s.flushWait == 0 &&
		wal.BatchSizeBound(b)-wal.HeaderSize <= wal.MaxPayload {
		// A batch that fills the memtable by itself (a bulk load) is written
		// as a run at once, merged with what the memtable holds, and commits
		// when the manifest naming that run is installed: it never goes
		// through the log (written twice) nor a memtable (held twice more).
		// Only if the run cannot be installed is it logged and kept in the
		// memtable like any commit (a batch never overwrites what it holds).
		prevLog, prevSize := s.logName, s.logSize
		s.seq = seq
		src := &batchSource{b: b, order: b.SortedOrder(true)}
		if err := s.flushWith(src); err == nil {
			s.commits++
			s.written += int64(b.Size())
			// The commit is durable; a merge that fails is retried later.
			if !s.opts.CompactInSteps {
				_ = s.compactAfterFlush()
			}
			return nil
		}
		s.seq = seq - 1
		s.flushWait = s.logBytes + s.opts.MemtableBytes/4
		if s.appendMode {
			return s.logBulk(seq, b, prevLog, prevSize)
		}
		// A log file of its own, written below as any commit's (flushWait
		// keeps it from coming back here).
	}
	bound := wal.BatchSizeBound(b)
	if bound-wal.HeaderSize > wal.MaxPayload {
		if size := wal.BatchSize(seq, b); size-wal.HeaderSize > wal.MaxPayload {
			return fmt.Errorf("apply batch: record of %d bytes: %w", size, ErrTooLarge)
		}
	}
	// The memtable copies what it keeps, so the record is built in a buffer
	// the store reuses (up to recordReuse bytes; a larger one is dropped).
	rec := wal.AppendBatch(slices.Grow(s.record[:0], bound), seq, b)
	if cap(rec) <= recordReuse {
		s.record = rec
	}
	if err := s.writeRecord(seq, rec); err != nil {
		return fmt.Errorf("apply batch: %w", err)
	}
	size := len(rec)
	s.seq = seq
	s.commits++
	s.written += int64(size)
	s.logBytes += int64(size)
	s.mem = applyBatch(s.mem, b, len(s.cur) > 0)
	if s.flushDue() {
		// The commit is durable already; a failed flush (a full disk) is
		// retried later and surfaces through Compact, not as a failed commit.
		if err := s.flushAndCompact(); err != nil {
			s.flushWait = s.logBytes + s.opts.MemtableBytes/4
		}
	}
	return nil
}

// recordReuse is the largest log record buffer a store keeps for the next
// commit: an autocommit's records are a few hundred bytes, a bulk load's
// megabytes that should not stay held.
const recordReuse = 64 << 10

// sortedOps returns the positions of n ops in key order, one per key: the
// last write of each.
func sortedOps(n int, opAt func(int) kv.Op) []int32 {
	return kv.SortedOrder(n, func(i int) []byte { return opAt(i).Key }, true)
}

// applyBatch is applyOps for a batch's writes, which the batch sorts itself
// (its keys read in place, a sorted prefix it knows not sorted again).
func applyBatch(t *memtable.Table, b *kv.Batch, tombs bool) *memtable.Table {
	return applyOps(t, b.Len(), b.Op, func() []int32 { return b.SortedOrder(true) }, tombs)
}

// logBulk commits bulk batch b as seq the way of any other commit, logged
// and kept in the memtable, once its run could not be installed. A flush
// that failed after moving the commits to come on to a new log (named after
// seq+1, the commit it was installing) leaves the record to the log that was
// open before it, prevLog, where it follows that log's last record: a log's
// first record is the one it is named after.
func (s *Store) logBulk(seq uint64, b *kv.Batch, prevLog string, prevSize int64) error {
	next := logFileName(seq + 1)
	moved := s.logName == next
	claimed := s.claimed
	if moved {
		s.logName, s.logSize = prevLog, prevSize // "": writeStream starts a log named after seq
	}
	size := wal.BatchSize(seq, b)
	err := s.writeStream(seq, size, func(w func([]byte) error) error { return wal.WriteBatch(seq, b, w) })
	switch {
	case !moved || s.logName == next: // (a full log rotated on to next by itself)
	case err == nil:
		if s.log != nil {
			_ = s.log.Close()
			s.log = nil
		}
		s.logName, s.logSize, s.claimed = next, 0, claimed
	default:
		// seq is still to come, and goes on in the log before: the empty
		// next log must not stay between it and the logs after.
		if claimed == next {
			s.claimed = ""
		}
		if !s.remove(next) && s.broken == nil {
			s.broken = fmt.Errorf("log %s: %w", next, ErrLogDamaged)
		}
	}
	if err != nil {
		return fmt.Errorf("apply batch: %w", err)
	}
	s.seq = seq
	s.commits++
	s.written += int64(size)
	s.logBytes += int64(size)
	s.mem = applyBatch(s.mem, b, len(s.cur) > 0)
	return nil
}

// batchSource reads a batch's writes in the given order (one per key, see
// Batch.SortedOrder) as a flush source, deletes as tombstones. It keeps a
// position, not the write's slices: storing slices in the heap per key is
// a write barrier per key while a collection runs.
type batchSource struct {
	b     *kv.Batch
	order []int32
	j     int
	i     int
}

func (o *batchSource) Next() bool {
	if o.j >= len(o.order) {
		return false
	}
	o.i = int(o.order[o.j])
	o.j++
	return true
}

func (o *batchSource) Key() []byte { return o.b.Key(o.i) }
func (o *batchSource) Value() []byte {
	if v, ok := o.b.Value(o.i); ok {
		return v
	}
	return tombstone
}
func (o *batchSource) Tomb() bool {
	_, ok := o.b.Value(o.i)
	return !ok
}
func (o *batchSource) Entry() ([]byte, []byte, bool) {
	if v, ok := o.b.Value(o.i); ok {
		return o.b.Key(o.i), v, false
	}
	return o.b.Key(o.i), tombstone, true
}
func (o *batchSource) Err() error { return nil }

// applyOps applies ops (the table copies what it keeps) and returns the
// table: t itself, or a new one when the batch was merged in. A batch at
// least a quarter the size of the table is sorted and merged with it into a
// table built bottom up, in O(n+m), instead of m inserts that each shift
// half a B-tree leaf; that makes bulk loads several times cheaper.
//
// sorted returns the positions of the ops in key order, one per key (the
// last write of each), as sortedOps does. With tombs set (older data lives
// in segments) a delete stores a tombstone instead of removing the key.
func applyOps(t *memtable.Table, n int, opAt func(int) kv.Op, sorted func() []int32, tombs bool) *memtable.Table {
	if n < sortedApplyThreshold || n < t.Len()/4 {
		for i := range n {
			op := opAt(i)
			if op.Delete && tombs {
				t.Set(op.Key, tombstone)
			} else if op.Delete {
				t.Delete(op.Key)
			} else {
				t.Set(op.Key, op.Value)
			}
		}
		return t
	}
	order := sorted()
	return t.Merged(len(order), func(j int) ([]byte, []byte, bool) {
		op := opAt(int(order[j]))
		if op.Delete && tombs {
			return op.Key, tombstone, false
		}
		return op.Key, op.Value, op.Delete
	})
}

// Get returns the value of key or kv.ErrNotFound. The value stays valid and
// unchanged for as long as the caller holds it.
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("get: %w", kv.ErrClosed)
	}
	if len(key) > 0 && s.pinned.first[key[0]] && s.pinned.has(key) {
		return s.getPinned(key)
	}
	v, ok, err := lookup(s.mem, s.cur, key)
	switch {
	case err != nil:
		return nil, fmt.Errorf("get: %w", err)
	case !ok:
		return nil, kv.ErrNotFound
	}
	return v, nil
}

// getPinned is Get of a pinned key: from the memtable, else its pin, else
// the segments, which teach the pin.
func (s *Store) getPinned(key []byte) ([]byte, error) {
	if val, ok := s.mem.Get(key); ok {
		if isTomb(val) {
			return nil, kv.ErrNotFound
		}
		return val, nil
	}
	p, known := s.pins[string(key)]
	if !known {
		val, ok, err := lookup(nil, s.cur, key)
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		p = pin{value: bytes.Clone(val), has: ok}
		if len(p.value) <= maxPinBytes {
			if s.pins == nil {
				s.pins = pins{}
			}
			s.pins[string(key)] = p
		}
	}
	if !p.has {
		return nil, kv.ErrNotFound
	}
	return p.value, nil
}

// NewIter iterates a snapshot taken now, so writes during the iteration are
// safe and invisible to it. Close releases the segments it reads.
func (s *Store) NewIter(opts kv.IterOptions) kv.Iterator {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errIter{fmt.Errorf("new iterator: %w", kv.ErrClosed)}
	}
	v := s.cur
	v.ref()
	it := newReadIter(s.mem.Clone(), v, opts.Lower, opts.Upper, opts.Reverse)
	it.onClose = func() { s.release(v) }
	return it
}

// Snapshot freezes the current state: a memtable clone in O(1) and a
// reference to the current segments, which stay until Release.
func (s *Store) Snapshot() kv.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &snapshot{}
	}
	s.cur.ref()
	return &snapshot{s: s, mem: s.mem.Clone(), v: s.cur}
}

// release drops a reference to every segment of v, deleting the files of
// obsolete segments nobody reads any more.
func (s *Store) release(v version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unref(v)
}

func (s *Store) unref(v version) {
	for _, r := range v {
		for _, sg := range r {
			sg.refs--
			if sg.refs == 0 && sg.obsolete {
				s.dropSegment(sg)
			}
		}
	}
}

// dropSegment forgets an obsolete segment and deletes its file. A failed
// removal leaves the file for Open to delete as an orphan.
func (s *Store) dropSegment(sg *segment) {
	delete(s.segs, sg.num)
	s.readers.drop(sg)
	s.cache.Evict(sg.num)
	s.whole.forget(s.path(sg.name))
	if !s.closed {
		s.remove(sg.name)
	}
}

// LendCache lends the block cache up to n bytes more for the blocks it
// evicts (cache.Cache.SetLoan) and returns what it took; 0 takes the loan
// back. The wasm host lends memory the runtime already took from the host
// and no longer uses: wasm memory is never given back, so blocks kept
// there cost the device nothing more. A store without a block cache
// (CacheBytes < 0) takes none.
func (s *Store) LendCache(n int64) int64 {
	if s.opts.CacheBytes < 0 {
		return 0
	}
	return s.cache.SetLoan(n)
}

// Stats reports sizes and counters. Keys and LiveBytes count entries in
// segments that later writes shadow, until compaction drops them; right
// after Compact they are exact.
func (s *Store) Stats() kv.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.cache.Stats()
	st := kv.Stats{
		Keys:          int64(s.mem.Len()),
		LiveBytes:     s.mem.Size(),
		Files:         len(s.files),
		LogBytes:      s.logBytes,
		Commits:       s.commits,
		BytesWritten:  s.written,
		Flushes:       s.flushes,
		Compactions:   s.compactions,
		CacheBytes:    cs.Bytes,
		CacheLimit:    max(cs.Limit, 0),
		CacheHits:     cs.Hits,
		CacheMisses:   cs.Misses,
		MemtableBytes: s.mem.Size(),
	}
	for _, r := range s.cur {
		st.Runs++
		for _, sg := range r {
			st.Segments++
			st.Keys += int64(sg.meta.entries - 2*sg.meta.tombstones)
			st.LiveBytes += int64(sg.meta.liveBytes)
		}
	}
	st.IndexBytes, st.IndexCloses = s.readers.stats()
	st.Keys = max(st.Keys, 0)
	for _, size := range s.files {
		st.DiskBytes += size
	}
	return st
}

// Check verifies the store's files as they stand: every segment of every
// run read whole (sstable.Reader.Verify), each run's segments in key order
// with disjoint ranges, and the memtable's keys in order. It reads every
// byte of the segments, past the cache; tests run it after every store
// test. Damage is an error wrapping kv.ErrCorrupt.
func (s *Store) Check() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("check: %w", kv.ErrClosed)
	}
	v, mem, pinned := s.cur, s.mem.Clone(), maps.Clone(s.pins)
	v.ref()
	s.mu.Unlock()
	defer s.release(v)
	// A pin says what the segments hold for its key.
	for k, p := range pinned {
		val, ok, err := lookup(nil, v, []byte(k))
		if err != nil {
			return fmt.Errorf("check: pinned key %q: %w", k, err)
		}
		if ok != p.has || ok && !bytes.Equal(val, p.value) {
			return fmt.Errorf("check: pinned key %q: the manifest holds %d bytes (%v), the segments %d (%v): %w", k, len(p.value), p.has, len(val), ok, kv.ErrCorrupt)
		}
	}
	var prev []byte
	it := mem.NewIter(nil, nil, false)
	for it.Next() {
		if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
			_ = it.Close()
			return fmt.Errorf("check: memtable keys out of order: %w", kv.ErrCorrupt)
		}
		prev = append(prev[:0], it.Key()...)
	}
	_ = it.Close()
	for ri, r := range v {
		for i, sg := range r {
			sr, err := sg.reader()
			if err == nil {
				err = sr.Verify()
			}
			if err != nil {
				return fmt.Errorf("check: run %d: %w", ri, err)
			}
			if i > 0 && bytes.Compare(r[i-1].meta.largest, sg.meta.smallest) >= 0 {
				return fmt.Errorf("check: run %d: segments %s and %s overlap: %w", ri, r[i-1].name, sg.name, kv.ErrCorrupt)
			}
		}
	}
	return nil
}

// Compact flushes the memtable and merges every run into one, dropping
// deleted and overwritten data, then deletes the files that made obsolete.
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("compact: %w", kv.ErrClosed)
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	// This merge covers every run, so the one under way is not needed.
	s.abandon()
	if len(s.cur) > 1 || (len(s.cur) == 1 && s.hasTombstones(s.cur[0])) {
		if err := s.merge(0, len(s.cur)-1); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	s.removeStaleLogs()
	return nil
}

func (s *Store) hasTombstones(r run) bool {
	for _, sg := range r {
		if sg.meta.tombstones > 0 {
			return true
		}
	}
	return false
}

// Checkpoint flushes the memtable to a segment when its log holds
// closeFlushBytes or more, as Close does, and reports whether it did. Hosts
// call it once writes have gone quiet: a process or tab that then ends
// without closing leaves nothing to replay at the next open (a replay costs
// about as much as the writes it repeats). Merges follow as after any flush;
// one that fails is retried later and surfaces through Compact, as after a
// commit's flush. A failed flush changes nothing but is returned: the log
// still holds every commit.
func (s *Store) Checkpoint() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false, fmt.Errorf("checkpoint: %w", kv.ErrClosed)
	case s.broken != nil:
		return false, fmt.Errorf("checkpoint: %w", s.broken)
	case s.logBytes < closeFlushBytes:
		return false, nil
	}
	if err := s.flush(); err != nil {
		s.flushWait = s.logBytes + s.opts.MemtableBytes/4
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.mergeAfterFlush(); err != nil {
		s.flushWait = s.logBytes + s.opts.MemtableBytes/4
	}
	return true, nil
}

// closeFlushBytes is the least log Close flushes to a segment rather than
// leave for the next open to replay: below it the replay is a few
// milliseconds, less than a flush and the extra run it makes.
const closeFlushBytes = 256 << 10

// Close releases the open log file. Every acknowledged commit is already
// durable; no work is in flight between calls. A log of closeFlushBytes or
// more is flushed to a segment first, so that the next open starts without
// replaying it.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("close store: %w", kv.ErrClosed)
	}
	// A merge under way is dropped with its output (Open would delete that
	// output as orphans anyway).
	s.abandon()
	if s.logBytes >= closeFlushBytes && s.broken == nil {
		// The next open would replay the log into a memtable, sorting and
		// inserting every write again: a cold start that grows with the
		// log (up to the memtable's size). A flush now leaves it nothing to
		// replay. A failed one changes nothing: the log still holds every
		// commit, and the next open replays it as before.
		_ = s.flush()
	}
	s.closed = true
	var err error
	if s.log != nil {
		if cerr := s.log.Close(); cerr != nil {
			err = fmt.Errorf("close log %s: %w", s.logName, cerr)
		}
		s.log = nil
	}
	s.whole.forget("")
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
		s.setFile(name, int64(len(rec)))
		return nil
	}
	return s.writeStream(seq, len(rec), func(w func([]byte) error) error { return w(rec) })
}

// writeStream appends the record of commit seq, size bytes that stream
// hands to its write function, to the open log (append mode only).
func (s *Store) writeStream(seq uint64, size int, stream func(write func([]byte) error) error) error {
	if s.logName == "" {
		s.logName, s.logSize = logFileName(seq), 0
	}
	if s.log == nil {
		f, err := s.fs.OpenAppend(s.path(s.logName))
		if err != nil {
			return fmt.Errorf("open log %s: %w", s.logName, err)
		}
		s.log = f
		s.setFile(s.logName, s.logSize)
	}
	wrote := 0
	err := stream(func(p []byte) error {
		n, err := s.log.Write(p)
		wrote += max(n, 0)
		return err
	})
	if err == nil && wrote != size {
		err = fmt.Errorf("wrote %d of %d bytes: %w", wrote, size, kv.ErrCorrupt)
	}
	if err == nil && s.strict {
		err = s.log.Sync()
	}
	if err != nil {
		name := s.logName
		s.undoAppend(wrote, size)
		return fmt.Errorf("write log %s: %w", name, err)
	}
	s.logSize += int64(size)
	s.files[s.logName] = s.logSize
	if s.logSize >= s.opts.LogFileSize {
		s.rotate(seq)
	}
	return nil
}

// successorMark ends a full log: a record no commit has (sequence number 0,
// no operations) saying that the commits after its last one continue in the
// log named after the next sequence number, which exists already. Recovery
// then knows that log must be there: without the mark, deleting the last log
// would silently roll back every commit in it.
var successorMark = wal.Encode(nil, 0, nil)

// rotate closes the log that commit seq filled. The next log is created
// (empty) first and only then promised by the mark, so a crash in between
// leaves a log nobody promised, never a promise without its log. A failure
// on the way costs the promise, never a commit: seq is durable already.
func (s *Store) rotate(seq uint64) {
	full, name := s.log, s.logName
	s.log, s.logName, s.claimed = nil, "", ""
	if s.createNextLog(seq) {
		n, _ := full.Write(successorMark) // a torn mark ends a log that is not the last: harmless
		s.files[name] += int64(max(n, 0))
		s.logBytes += int64(max(n, 0))
	}
	// A close error cannot lose the record: Write already handed it to the
	// backend.
	_ = full.Close()
}

// createNextLog creates the empty log the commit after seq goes to and makes
// it the open log, so that a manifest or the log before it can promise it.
// It is synced with its directory entry whatever the durability: a promise
// that outlived its log after a power loss would make the store unopenable.
// Only where logs are appended to; it reports whether the log exists.
func (s *Store) createNextLog(seq uint64) bool {
	if !s.appendMode {
		return false
	}
	name := logFileName(seq + 1)
	// Nothing acknowledged can be in a file named after an uncommitted
	// sequence number: at most the stub of a failed append, which this
	// replaces.
	if err := s.fs.WriteFile(s.path(name), nil, true); err != nil {
		return false
	}
	s.setFile(name, 0)
	s.logName, s.logSize, s.claimed = name, 0, name
	return true
}

// promised says whether a manifest or a log's mark promises that log name
// exists, so that it must not be deleted even when empty.
func (s *Store) promised(name string) bool {
	return name == s.claimed || (s.firstLog != 0 && name == logFileName(s.firstLog))
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
	if wrote == 0 {
		// Nothing landed (a full disk refuses the write whole), so the file
		// is as it was and the next commit may append to it.
		return
	}
	if s.logSize == 0 {
		if !s.promised(name) && s.remove(name) {
			s.logName = ""
			return
		}
		// A promised log must stay: emptying it by rewriting does too.
		if s.promised(name) && s.fs.WriteFile(s.path(name), nil, true) == nil {
			s.files[name] = 0
			return
		}
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
	s.forgetFile(name)
	return true
}

// setFile records a file of the store and its size.
func (s *Store) setFile(name string, size int64) {
	if _, ok := s.files[name]; !ok && strings.HasSuffix(name, logSuffix) {
		s.logFiles++
	}
	s.files[name] = size
}

// forgetFile drops a file from the records.
func (s *Store) forgetFile(name string) {
	if _, ok := s.files[name]; ok && strings.HasSuffix(name, logSuffix) {
		s.logFiles--
	}
	delete(s.files, name)
}

// snapshot is a frozen memtable clone plus the runs it saw.
type snapshot struct {
	s   *Store
	mem *memtable.Table
	v   version
}

func (sn *snapshot) Get(key []byte) ([]byte, error) {
	if sn.mem == nil {
		return nil, fmt.Errorf("get: %w", kv.ErrClosed)
	}
	v, ok, err := lookup(sn.mem, sn.v, key)
	switch {
	case err != nil:
		return nil, fmt.Errorf("get: %w", err)
	case !ok:
		return nil, kv.ErrNotFound
	}
	return v, nil
}

func (sn *snapshot) NewIter(opts kv.IterOptions) kv.Iterator {
	if sn.mem == nil {
		return errIter{fmt.Errorf("new iterator: %w", kv.ErrClosed)}
	}
	return newReadIter(sn.mem, sn.v, opts.Lower, opts.Upper, opts.Reverse)
}

func (sn *snapshot) Release() {
	if sn.mem == nil {
		return
	}
	sn.mem = nil
	sn.s.release(sn.v)
	sn.v = nil
}

// errIter is an empty iterator that reports err from Close.
type errIter struct{ err error }

func (errIter) Next() bool     { return false }
func (errIter) Key() []byte    { return nil }
func (errIter) Value() []byte  { return nil }
func (e errIter) Close() error { return e.err }
