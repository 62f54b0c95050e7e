// Package kv defines the ordered key-value store the relational layer is built
// on, and the pieces every implementation shares: write batches, iterators and
// a transaction overlay that merges uncommitted writes over a snapshot.
//
// Keys and values are byte strings; keys sort bytewise. A Store applies a
// Batch atomically: after a crash either all of it is there or none of it.
package kv

import "errors"

// ErrNotFound is returned by Get when the key is absent.
var ErrNotFound = errors.New("kv: not found")

// ErrClosed is returned by every method of a closed Store.
var ErrClosed = errors.New("kv: store closed")

// ErrCorrupt is wrapped by errors about damaged files; the message names the file.
var ErrCorrupt = errors.New("kv: corrupt")

// Reader reads a consistent view of the store.
type Reader interface {
	// Get returns the value of key, or ErrNotFound. The returned slice must not
	// be modified and is valid until the next write to the store.
	Get(key []byte) ([]byte, error)
	// NewIter iterates the keys in [opts.Lower, opts.Upper) in order
	// (reverse order when opts.Reverse). A nil bound is unbounded.
	NewIter(opts IterOptions) Iterator
}

// IterOptions bounds an iterator.
type IterOptions struct {
	Lower   []byte // inclusive; nil means from the first key
	Upper   []byte // exclusive; nil means to the last key
	Reverse bool   // iterate from the largest key down
}

// Iterator walks keys in order. Call Next before the first Key.
//
//	it := r.NewIter(kv.IterOptions{Lower: lo, Upper: hi})
//	for it.Next() { use(it.Key(), it.Value()) }
//	err := it.Close()
type Iterator interface {
	// Next advances to the next key and reports whether there is one.
	Next() bool
	// Key is the current key; valid until Next is called.
	Key() []byte
	// Value is the current value; valid until Next is called.
	Value() []byte
	// Close releases the iterator and returns the first error it met.
	Close() error
}

// Seeker is a forward Iterator that can move ahead to a key: SeekGE(key)
// moves to the first key at or after key (within the iterator's bounds)
// and reports whether there is one, as Next does. key must not be before
// the current key. Reading many keys in ascending order, a seek to a key
// near the current one costs about a Next, where a Get each would search
// from the top every time.
type Seeker interface {
	Iterator
	SeekGE(key []byte) bool
}

// Walker is an Iterator that can hand its remaining entries to a function
// in a loop of its own: Walk(fn) does what
//
//	for it.Next() { if !fn(it.Key(), it.Value()) { break } }
//
// does, minus the calls through every layer of the iterator per entry
// (most of a scan's cost per row under wasm). The slices passed to fn are
// valid only during the call.
type Walker interface {
	Iterator
	Walk(fn func(key, value []byte) bool)
}

// Snapshot is a read-only view of the store frozen at one point in time.
// Writes applied after it was taken are invisible to it.
type Snapshot interface {
	Reader
	// Release frees the snapshot. Reading a released snapshot is undefined.
	Release()
}

// Store is an ordered, crash-safe key-value store.
type Store interface {
	Reader
	// Snapshot freezes the current state for reading.
	Snapshot() Snapshot
	// Apply writes the batch atomically. When it returns without error the
	// batch survives the process being killed (and, with strict durability,
	// power loss).
	Apply(b *Batch) error
	// Stats reports sizes and counters.
	Stats() Stats
	// Compact reclaims space held by deleted and overwritten data now.
	Compact() error
	// Close flushes what needs flushing and releases files.
	Close() error
}

// Stats describes a store.
type Stats struct {
	Keys         int64 // live keys
	LiveBytes    int64 // bytes of live keys and values
	Files        int   // files on the backend
	DiskBytes    int64 // bytes in those files
	LogBytes     int64 // bytes in write-ahead log files not yet flushed to segments
	Commits      int64 // batches applied since open
	BytesWritten int64 // bytes handed to the backend since open

	// Log-structured stores fill these; others leave them zero.
	Flushes       int64 // memtable flushes to segment files since open
	Compactions   int64 // merges of segment runs since open
	Runs          int   // sorted runs of segments
	Segments      int   // segment files in those runs
	MemtableBytes int64 // key and value bytes in the memtable
	IndexBytes    int64 // indexes and bloom filters held in memory (of the segments read since opened)
	IndexCloses   int64 // segments closed since open to keep IndexBytes within its limit
	CacheBytes    int64 // bytes held by the block cache
	CacheLimit    int64 // the block cache's byte limit
	CacheHits     int64 // block reads served by the cache since open
	CacheMisses   int64 // block reads that went to the backend since open
}
