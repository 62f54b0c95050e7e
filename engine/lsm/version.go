package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	"minibase/engine/cache"
	"minibase/engine/internal/keyhead"
	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/sstable"
	"minibase/fsadapter"
)

// segment is a segment file of the store. refs counts the versions (the
// store's current one, snapshots, iterators) that include it; the file is
// deleted once it is obsolete (dropped by a durable manifest) and
// unreferenced.
//
// A segment named by a manifest that records its key range and counts is
// opened (its footer, index and bloom filter read) on its first read, not
// when the store opens: opening then costs the same for any amount of data,
// and a lookup reads the index of the one segment per run that covers its
// key (what Pebble's table cache does).
type segment struct {
	num  uint64
	name string
	size int64
	meta segMeta
	// described says meta came from a manifest: the file must agree with
	// it when it is opened.
	described bool
	read      sstable.ReadFunc     // the file's bytes
	readInto  sstable.ReadIntoFunc // the same into a caller's buffer; nil when the backend cannot
	cache     *cache.Cache
	// r is the open reader, nil until the first read of a lazily opened
	// segment and after openReaders closed it.
	r        atomic.Pointer[sstable.Reader]
	refs     int
	obsolete bool
	readers  *openReaders // the store's, which counts r
	used     atomic.Bool  // read since the hand of readers last passed
	// held and heldBytes: r is counted by readers, as this many bytes
	// (guarded by readers.mu).
	held      bool
	heldBytes int64
}

// open reads the segment's footer, index and bloom filter (in one read when
// meta knows their size).
func (sg *segment) open() (*sstable.Reader, error) {
	r, err := sstable.OpenTail(sg.name, sg.num, sg.size, sg.meta.tail, sg.read, sg.cache)
	if err != nil {
		return nil, err
	}
	if sg.readInto != nil {
		r.SetReadInto(sg.readInto)
	}
	if !sg.described {
		return r, nil
	}
	if got := metaOf(r); !bytes.Equal(got.smallest, sg.meta.smallest) || !bytes.Equal(got.largest, sg.meta.largest) ||
		got.entries != sg.meta.entries || got.tombstones != sg.meta.tombstones {
		return nil, fmt.Errorf("read segment %s: its keys or counts differ from what the manifest says: %w", sg.name, kv.ErrCorrupt)
	}
	return r, nil
}

// segMeta is what a manifest records of a segment beside its number and size.
type segMeta struct {
	smallest, largest              []byte
	entries, tombstones, liveBytes uint64
	tail                           int64 // sstable.Reader.TailBytes
}

// metaOf is the segMeta of an open reader.
func metaOf(r *sstable.Reader) segMeta {
	return segMeta{smallest: r.Smallest(), largest: r.Largest(), entries: r.Entries, tombstones: r.Tombstones, liveBytes: r.LiveBytes, tail: r.TailBytes()}
}

// reader returns the segment's reader, opening it on first use (and again
// after openReaders closed it). Two
// goroutines may open it at once; one reader is kept. A failure (damage, or
// bytes a backend has not loaded yet) is not kept: the next read tries again.
func (sg *segment) reader() (*sstable.Reader, error) {
	if r := sg.r.Load(); r != nil {
		if !sg.used.Load() {
			sg.used.Store(true)
		}
		return r, nil
	}
	r, err := sg.open()
	if err != nil {
		return nil, err
	}
	if !sg.r.CompareAndSwap(nil, r) {
		if kept := sg.r.Load(); kept != nil {
			return kept, nil
		}
		return r, nil // closed again meanwhile: this read uses its own
	}
	sg.readers.add(sg, r)
	return r, nil
}

// run is a sorted sequence of segments with disjoint key ranges, in key
// order: the output of one flush or compaction. Runs are immutable.
type run []*segment

func (r run) size() int64 {
	var n int64
	for _, s := range r {
		n += s.size
	}
	return n
}

// size is the bytes of v's segment files.
func (v version) size() int64 {
	var n int64
	for _, r := range v {
		n += r.size()
	}
	return n
}

// find returns the segment that may hold key, or nil.
func (r run) find(key []byte) *segment {
	// Every point read runs this per run: the search inline, without
	// sort.Search's call per step (costly under wasm), comparing heads.
	i, hi := 0, len(r)
	for i < hi {
		mid := int(uint(i+hi) >> 1)
		if keyhead.Compare(r[mid].meta.largest, key) < 0 {
			i = mid + 1
		} else {
			hi = mid
		}
	}
	if i == len(r) || keyhead.Compare(r[i].meta.smallest, key) > 0 {
		return nil
	}
	return r[i]
}

// version is the list of runs, newest first. A version never changes; a
// flush or compaction makes a new one.
type version []run

// ref and unref count a holder of every segment in v.
func (v version) ref() {
	for _, r := range v {
		for _, s := range r {
			s.refs++
		}
	}
}

// tombstone marks a deleted key in the memtable, so the deletion shadows
// older values in segments. It is recognized by identity, not content: a
// value with the same byte is an ordinary value. It is the memtable's own
// marker, which the memtable hands back as itself.
var tombstone = memtable.Tombstone

func isTomb(v []byte) bool { return memtable.IsTombstone(v) }

// lookup finds key in mem (unless nil) and then the runs, newest first.
//
// A run whose bytes the backend has not loaded yet (fsadapter.
// ErrNotResident: the host loads what the call missed and runs it again)
// fails the lookup, but the older runs are still read, so that one run of
// the call names what every run needs (a segment's index and filter, then
// its block) instead of one run of the call per run of the store.
func lookup(mem *memtable.Table, v version, key []byte) (value []byte, found bool, err error) {
	if mem != nil {
		if val, ok := mem.Get(key); ok {
			return val, !isTomb(val), nil
		}
	}
	var h uint64
	hashed := false
	var later error // a newer run was not loaded: whatever older runs hold is not the answer
	for _, r := range v {
		s := r.find(key)
		if s == nil {
			continue
		}
		if !hashed {
			h, hashed = sstable.Hash(key), true
		}
		sr, err := s.reader()
		var val []byte
		var tomb, ok bool
		if err == nil {
			val, tomb, ok, err = sr.GetHashed(key, h)
		}
		if errors.Is(err, fsadapter.ErrNotResident) {
			if later == nil {
				later = err
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if ok {
			if later != nil {
				return nil, false, later
			}
			return val, !tomb, nil
		}
	}
	return nil, false, later
}

// source is one input of a merge: entries in order, tombstones included.
// The slices Key, Value and Entry return stay valid through the source's
// next Next, not after (a segment's read buffers are reused: see
// sstable.Iter): the merge compares its other sources against the key it
// just stepped one past, and copies nothing.
type source interface {
	Next() bool
	Key() []byte
	Value() []byte
	Tomb() bool
	// Entry is Key, Value and Tomb in one call: writing a run reads all
	// three of every entry, and a call each through this interface (and
	// the ones it wraps) was a good part of a bulk load's flush under wasm.
	Entry() (key, value []byte, tomb bool)
	Err() error
}

// memSource adapts a memtable iterator.
type memSource struct{ it *memtable.Iter }

func (m memSource) Next() bool    { return m.it.Next() }
func (m memSource) Key() []byte   { return m.it.Key() }
func (m memSource) Value() []byte { return m.it.Value() }
func (m memSource) Tomb() bool    { return isTomb(m.it.Value()) }
func (m memSource) Entry() ([]byte, []byte, bool) {
	v := m.it.Value()
	return m.it.Key(), v, isTomb(v)
}
func (m memSource) Err() error             { return nil }
func (m memSource) SeekGE(key []byte) bool { return m.it.SeekGE(key) }

// runSource walks the segments of a run that overlap [lower, upper) one
// after another.
type runSource struct {
	segs         []*segment // in walking order
	lower, upper []byte
	reverse      bool
	scan         bool // bulk reads past the cache, for compactions
	chunk        int  // bytes per bulk read; see sstable.Reader.NewScanIter
	cur          *sstable.Iter
	// bufs are the read buffers of cur and of the segments' iterators
	// before it, so that the last key of a segment stays valid while the
	// next one reads (see sstable.Iter).
	bufs sstable.ReadBuffers
	err  error
}

func newRunSource(r run, lower, upper []byte, reverse bool) *runSource {
	var segs []*segment
	for _, s := range r {
		if lower != nil && bytes.Compare(s.meta.largest, lower) < 0 {
			continue
		}
		if upper != nil && bytes.Compare(s.meta.smallest, upper) >= 0 {
			continue
		}
		segs = append(segs, s)
	}
	if reverse {
		for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
			segs[i], segs[j] = segs[j], segs[i]
		}
	}
	return &runSource{segs: segs, lower: lower, upper: upper, reverse: reverse}
}

func (r *runSource) Next() bool {
	for r.err == nil {
		if r.cur != nil {
			if r.cur.Next() {
				return true
			}
			if r.err = r.cur.Err(); r.err != nil {
				return false
			}
		}
		if !r.open() {
			return false
		}
	}
	return false
}

// open makes the run's next segment current and reports whether there was
// one to open.
func (r *runSource) open() bool {
	if len(r.segs) == 0 {
		r.cur = nil
		return false
	}
	sr, err := r.segs[0].reader()
	if err != nil {
		r.err = err
		return false
	}
	if r.scan {
		r.cur = sr.NewScanIter(r.chunk)
	} else {
		r.cur = sr.NewIter(r.lower, r.upper, r.reverse)
	}
	r.cur.SetBuffers(&r.bufs)
	r.segs = r.segs[1:]
	return true
}

// walkBefore is sstable.Iter.WalkBefore on the current segment; the next
// segment is opened by Next.
func (r *runSource) walkBefore(limit []byte, tombs bool, fn func(key, value []byte) bool) bool {
	if r.cur == nil || r.err != nil {
		return false
	}
	return r.cur.WalkBefore(limit, tombs, fn)
}

// SeekGE moves to the first entry at or after key, which must not be
// before the current one: in the current segment if it holds key's range,
// else in the first later segment that reaches key.
func (r *runSource) SeekGE(key []byte) bool {
	if r.reverse {
		return false // a merge seeks forward only
	}
	if r.scan {
		// A compaction's scan reads every block in bulk: it steps there.
		if r.cur != nil && r.err == nil && bytes.Compare(r.Key(), key) >= 0 {
			return true
		}
		for r.Next() {
			if bytes.Compare(r.Key(), key) >= 0 {
				return true
			}
		}
		return false
	}
	for r.err == nil {
		if r.cur != nil {
			if r.cur.SeekGE(key) {
				return true
			}
			if r.err = r.cur.Err(); r.err != nil {
				return false
			}
		}
		for len(r.segs) > 0 && bytes.Compare(r.segs[0].meta.largest, key) < 0 {
			r.segs = r.segs[1:]
		}
		if !r.open() {
			return false
		}
	}
	return false
}

func (r *runSource) Key() []byte   { return r.cur.Key() }
func (r *runSource) Value() []byte { return r.cur.Value() }
func (r *runSource) Tomb() bool    { return r.cur.Tomb() }
func (r *runSource) Entry() ([]byte, []byte, bool) {
	return r.cur.Key(), r.cur.Value(), r.cur.Tomb()
}
func (r *runSource) Err() error { return r.err }

// mergeIter merges sources ordered newest first: for a key in several, the
// newest wins. It yields tombstones only when keepTombs is set. Its Key and
// Value are the current source's, valid until the next call to Next (the
// kv.Iterator contract).
//
// Sources rarely interleave key by key: a table loaded in bulk is one run
// and the rows written since sit in the memtable past its end. So the
// iterator remembers the runner-up (the source with the least key among
// the others) and, while the current source's next key stays strictly
// before the runner-up's, steps that source alone: one comparison per
// entry instead of a pass over every source.
type mergeIter struct {
	srcs      []source
	valid     []bool
	reverse   bool
	keepTombs bool
	started   bool
	cur       int  // source of the current entry; -1 when none
	next      int  // the runner-up: the other valid source with the least key; -1 when none
	ahead     bool // the current key is strictly before the runner-up's
	key       []byte
	err       error
	onClose   func()
}

func newMergeIter(srcs []source, reverse, keepTombs bool) *mergeIter {
	return &mergeIter{srcs: srcs, valid: make([]bool, len(srcs)), reverse: reverse, keepTombs: keepTombs, cur: -1, next: -1}
}

// advance moves every source positioned at key past it. key is the
// current source's key: it stays valid after that source stepped once (see
// source), which is all this needs.
func (m *mergeIter) advance(key []byte) {
	for i, s := range m.srcs {
		if m.valid[i] && bytes.Equal(s.Key(), key) {
			m.step(i)
		}
	}
}

func (m *mergeIter) step(i int) {
	m.valid[i] = m.srcs[i].Next()
	if !m.valid[i] && m.err == nil {
		m.err = m.srcs[i].Err()
	}
}

// pass moves past the current key: only the current source holds it when
// it is ahead of the runner-up.
func (m *mergeIter) pass() {
	if m.ahead {
		m.step(m.cur)
	} else {
		m.advance(m.key)
	}
}

// before reports whether key a comes strictly before b in walking order.
func (m *mergeIter) before(a, b []byte) bool {
	c := bytes.Compare(a, b)
	return c < 0 && !m.reverse || c > 0 && m.reverse
}

func (m *mergeIter) Next() bool {
	if !m.started {
		m.started = true
		for i := range m.srcs {
			m.step(i)
		}
	} else if m.cur >= 0 {
		m.pass()
	}
	return m.settle()
}

// seekSource is a source that can seek forward (see kv.Seeker).
type seekSource interface {
	SeekGE(key []byte) bool
}

// SeekGE implements kv.Seeker for a forward merge: every source behind key
// seeks to it (a source that cannot steps there), and the least key wins.
func (m *mergeIter) SeekGE(key []byte) bool {
	if m.reverse || m.err != nil {
		return false
	}
	fresh := !m.started
	m.started = true
	for i, s := range m.srcs {
		if !fresh && (!m.valid[i] || bytes.Compare(s.Key(), key) >= 0) {
			continue
		}
		if ss, ok := s.(seekSource); ok {
			m.valid[i] = ss.SeekGE(key)
		} else {
			if fresh {
				m.valid[i] = s.Next()
			}
			for m.valid[i] && bytes.Compare(s.Key(), key) < 0 {
				m.valid[i] = s.Next()
			}
		}
		if !m.valid[i] && m.err == nil {
			m.err = s.Err()
		}
	}
	m.cur, m.ahead = -1, false
	return m.settle()
}

// settle makes the source with the least key current, passing over
// tombstones unless they are kept, and reports whether there is one.
func (m *mergeIter) settle() bool {
	for m.err == nil {
		best := -1
		if m.cur >= 0 && m.ahead && m.valid[m.cur] &&
			(m.next < 0 || m.before(m.srcs[m.cur].Key(), m.srcs[m.next].Key())) {
			// Only the current source moved, and it is still ahead.
			best = m.cur
		} else {
			second := -1
			for i, s := range m.srcs {
				if !m.valid[i] {
					continue
				}
				switch {
				case best < 0:
					best = i
				case m.before(s.Key(), m.srcs[best].Key()):
					best, second = i, best
				case second < 0 || m.before(s.Key(), m.srcs[second].Key()):
					second = i
				}
			}
			if best < 0 {
				break
			}
			m.next = second
			m.ahead = second < 0 || m.before(m.srcs[best].Key(), m.srcs[second].Key())
		}
		m.cur, m.key = best, m.srcs[best].Key()
		if m.keepTombs || !m.srcs[best].Tomb() {
			return true
		}
		m.pass()
	}
	m.cur = -1
	return false
}

// Walk implements kv.Walker. While the current source is a run ahead of
// the runner-up, the run's entries before the runner-up's key are handed
// to fn straight from the segment's blocks.
func (m *mergeIter) Walk(fn func(key, value []byte) bool) {
	for m.Next() {
		if !fn(m.key, m.Value()) {
			return
		}
		if m.reverse || !m.ahead {
			continue
		}
		rs, ok := m.srcs[m.cur].(*runSource)
		if !ok {
			continue
		}
		var limit []byte
		if m.next >= 0 {
			limit = m.srcs[m.next].Key()
		}
		if rs.walkBefore(limit, m.keepTombs, fn) {
			m.key = rs.Key() // where a plain loop would have stopped
			return
		}
	}
}

func (m *mergeIter) Key() []byte   { return m.key }
func (m *mergeIter) Value() []byte { return m.srcs[m.cur].Value() }
func (m *mergeIter) Tomb() bool    { return m.srcs[m.cur].Tomb() }
func (m *mergeIter) Entry() ([]byte, []byte, bool) {
	_, v, tomb := m.srcs[m.cur].Entry()
	return m.key, v, tomb
}
func (m *mergeIter) Err() error { return m.err }

// Close releases what the iterator holds and returns its first error.
func (m *mergeIter) Close() error {
	if m.onClose != nil {
		m.onClose()
		m.onClose = nil
	}
	m.cur = -1
	m.srcs = nil
	m.valid = nil
	return m.err
}

// newReadIter merges mem and v for reading [lower, upper).
func newReadIter(mem *memtable.Table, v version, lower, upper []byte, reverse bool) *mergeIter {
	srcs := make([]source, 0, len(v)+1)
	srcs = append(srcs, memSource{mem.NewIter(lower, upper, reverse)})
	for _, r := range v {
		srcs = append(srcs, newRunSource(r, lower, upper, reverse))
	}
	return newMergeIter(srcs, reverse, false)
}
