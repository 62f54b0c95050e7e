package kv

import (
	"bytes"
	"errors"
	"hash/maphash"
	"slices"
	"sort"
)

// Overlay holds uncommitted writes over a base Reader, typically a Snapshot:
// reads see the overlay's own writes first (its deletes hide base keys), then
// the base. The relational layer uses one per transaction so a transaction
// reads its own writes, and commits it with Store.Apply(o.Batch()).
//
// Writes go to a Batch (an arena, in write order) and an open-addressing
// hash index over it, because a bulk insert writes hundreds of thousands of
// keys and reads them back only by key; the sorted view that iterators need
// is built when one is asked for. Neither holds a pointer per write, so a
// large transaction costs the garbage collector nothing to keep.
//
// An Overlay is not safe for concurrent use.
type Overlay struct {
	base   Reader
	b      Batch
	slots  []uint32 // hash index: position in b.refs + 1, 0 for empty
	sorted []int32  // positions of b.refs in key order; nil when stale
	seed   maphash.Seed
	marks  int      // savepoints outstanding (Mark)
	undo   []undoOp // rewrites made while a savepoint is outstanding
	// stale says writes were appended by AppendNew past the hash index:
	// the next use of the index rebuilds it.
	stale bool
}

// undoOp is a rewrite in place of write pos, whose earlier state was old.
type undoOp struct {
	pos int
	old opRef
}

// A Savepoint is the state of an overlay that Rollback returns it to.
type Savepoint struct {
	mark Mark
	undo int
}

// Mark returns a savepoint: Rollback undoes every write made after it, so
// that one statement of a transaction can fail alone without writing into
// an overlay of its own first (and copying that into the transaction's:
// half of what a bulk insert in a transaction cost). Every Mark is ended by
// Rollback or Release, innermost first.
func (o *Overlay) Mark() Savepoint {
	o.marks++
	return Savepoint{mark: o.b.Mark(), undo: len(o.undo)}
}

// Release ends a savepoint, keeping the writes made since.
func (o *Overlay) Release(Savepoint) {
	if o.marks--; o.marks == 0 {
		o.undo = o.undo[:0]
	}
}

// Rollback ends a savepoint, dropping the writes made since: rewritten keys
// get their earlier writes back, new keys are forgotten, and the key index
// is rebuilt (a failed statement is rare; a rebuild is linear).
func (o *Overlay) Rollback(sp Savepoint) {
	for i := len(o.undo) - 1; i >= sp.undo; i-- {
		o.b.refs.set(o.undo[i].pos, o.undo[i].old)
	}
	o.undo = o.undo[:sp.undo]
	o.b.Truncate(sp.mark)
	o.sorted = nil
	if len(o.slots) > 0 || o.stale {
		o.reindex()
	}
	o.Release(sp)
}

// empty is the stored value of a set to an empty value, so that a nil value
// can mark a delete in iterators.
var empty = []byte{}

// NewOverlay returns an empty overlay over base; a nil base reads as empty.
func NewOverlay(base Reader) *Overlay {
	if base == nil {
		base = emptyReader{}
	}
	return &Overlay{base: base, seed: maphash.MakeSeed()}
}

// Set records key=value. The overlay copies both.
func (o *Overlay) Set(key, value []byte) { o.put(key, value, false) }

// Delete records a deletion of key, hiding any base value.
func (o *Overlay) Delete(key []byte) { o.put(key, nil, true) }

// AppendNew records key=value (del: a deletion of key) for a key the
// overlay holds no write of, which the caller knows: the key is not looked
// up, and the hash index is brought up to date only when next used. A
// statement that writes many keys it knows are new (a delete of many rows
// into an empty overlay, its entries all distinct) then costs no hash
// probe per key, and nothing at all when the overlay is committed next.
func (o *Overlay) AppendNew(key, value []byte, del bool) {
	o.b.refs.push(o.b.add(key, value, del))
	o.sorted = nil
	o.stale = true
}

// fresh brings the hash index up to date with writes AppendNew added.
func (o *Overlay) fresh() {
	if o.stale {
		o.reindex()
	}
}

// reindex rebuilds the hash index over every write.
func (o *Overlay) reindex() {
	clear(o.slots)
	o.slots = o.slots[:0]
	o.stale = false
	o.rehash(o.b.refs.len() + 1)
}

func (o *Overlay) put(key, value []byte, del bool) {
	o.fresh()
	if n := o.b.refs.len() + 1; 2*n > len(o.slots) {
		o.rehash(n)
	}
	s := o.find(key)
	ref := o.b.add(key, value, del)
	if i := o.slots[s]; i != 0 {
		old := o.b.refs.at(int(i - 1))
		if o.marks > 0 {
			o.undo = append(o.undo, undoOp{int(i - 1), old})
		}
		o.b.size -= int(old.klen + old.vlen) // Size counts what the batch will write
		o.b.refs.set(int(i-1), ref)          // a rewrite keeps the key's place
		return
	}
	o.b.refs.push(ref)
	o.slots[s] = uint32(o.b.refs.len())
	o.sorted = nil
}

// find returns the slot of key: the one holding it, or the empty one where
// it would go.
func (o *Overlay) find(key []byte) int {
	mask := len(o.slots) - 1
	for s := int(maphash.Bytes(o.seed, key)) & mask; ; s = (s + 1) & mask {
		i := o.slots[s]
		if i == 0 {
			return s
		}
		r := o.b.refs.at(int(i - 1))
		c := o.b.chunks[r.chunk]
		if string(c[r.off:r.off+r.klen]) == string(key) {
			return s
		}
	}
}

// rehash sizes the index for at least n keys (load at most one half: with
// linear probing a miss, which every new key is, probes ~2.5 slots at that
// load and ~8.5 at three quarters).
func (o *Overlay) rehash(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if size <= len(o.slots) {
		return
	}
	o.slots = make([]uint32, size)
	mask := size - 1
	for i := range o.b.refs.len() {
		r := o.b.refs.at(i)
		c := o.b.chunks[r.chunk]
		s := int(maphash.Bytes(o.seed, c[r.off:r.off+r.klen])) & mask
		for o.slots[s] != 0 {
			s = (s + 1) & mask
		}
		o.slots[s] = uint32(i + 1)
	}
}

// Grow makes room for n more writes, so a bulk write of known size does not
// rehash the overlay's index as it goes.
func (o *Overlay) Grow(n int) {
	if n <= 0 {
		return
	}
	o.fresh()
	o.rehash(o.b.refs.len() + n)
}

// Len is the number of keys written (set or deleted) in the overlay.
func (o *Overlay) Len() int { return o.b.refs.len() }

// Reset drops every write, keeping the base.
func (o *Overlay) Reset() {
	o.b, o.slots, o.sorted, o.stale = Batch{}, nil, nil, false
}

// Batch returns the overlay's writes, one per key, in the order each key was
// first written. The batch is the overlay's own storage (a bulk insert's
// batch is large; copying it would double its memory): writing to the
// overlay afterwards changes the batch.
func (o *Overlay) Batch() *Batch { return &o.b }

// Seal drops the key index, which only reads and writes need: a commit
// calls it before handing the batch to the store, so a bulk transaction's
// index is not held while its batch is sorted and written. The overlay must
// not be used after Seal except through the batch.
func (o *Overlay) Seal() { o.slots, o.sorted, o.stale = nil, nil, false }

// Get returns the overlay's value of key, else the base's.
func (o *Overlay) Get(key []byte) ([]byte, error) {
	o.fresh()
	if len(o.slots) > 0 {
		if i := o.slots[o.find(key)]; i != 0 {
			op := o.b.Op(int(i - 1))
			if op.Delete {
				return nil, ErrNotFound
			}
			if len(op.Value) == 0 {
				return empty, nil
			}
			return op.Value, nil
		}
	}
	return o.base.Get(key)
}

// NewIter merges the overlay's writes over the base. It takes the writes in
// range as they are when it is made, so writing to the overlay while
// iterating is safe (the iterator does not see those writes); whether it
// sees base writes is up to the base.
func (o *Overlay) NewIter(opts IterOptions) Iterator {
	if o.sorted == nil {
		o.sorted = make([]int32, o.b.refs.len())
		for i := range o.sorted {
			o.sorted[i] = int32(i)
		}
		slices.SortFunc(o.sorted, func(a, b int32) int { return bytes.Compare(o.key(a), o.key(b)) })
	}
	lo := 0
	if opts.Lower != nil {
		lo = sort.Search(len(o.sorted), func(i int) bool { return bytes.Compare(o.key(o.sorted[i]), opts.Lower) >= 0 })
	}
	hi := len(o.sorted)
	if opts.Upper != nil {
		hi = sort.Search(len(o.sorted), func(i int) bool { return bytes.Compare(o.key(o.sorted[i]), opts.Upper) >= 0 })
	}
	if lo >= hi {
		// Nothing written in range: the base alone, without a merge step
		// per entry.
		return o.base.NewIter(opts)
	}
	top := &opsIter{reverse: opts.Reverse, pos: -1}
	for _, i := range o.sorted[lo:max(lo, hi)] {
		top.ops = append(top.ops, o.b.Op(int(i)))
	}
	return &mergeIter{top: top, base: o.base.NewIter(opts), reverse: opts.Reverse}
}

// key is the key of write i.
func (o *Overlay) key(i int32) []byte {
	r := o.b.refs.at(int(i))
	return o.b.chunks[r.chunk][r.off : r.off+r.klen]
}

// opsIter walks a sorted copy of overlay writes; a delete reads as a nil value.
type opsIter struct {
	ops     []Op
	pos     int
	reverse bool
	started bool
}

func (it *opsIter) Next() bool {
	if !it.started {
		it.started = true
		if it.reverse {
			it.pos = len(it.ops)
		}
	}
	if it.reverse {
		it.pos--
		return it.pos >= 0
	}
	it.pos++
	return it.pos < len(it.ops)
}

func (it *opsIter) Key() []byte { return it.ops[it.pos].Key }

func (it *opsIter) Value() []byte {
	op := &it.ops[it.pos]
	if op.Delete {
		return nil
	}
	if len(op.Value) == 0 {
		return empty
	}
	return op.Value
}

func (it *opsIter) Close() error { return nil }

// mergeIter merges an iterator of overlay writes (nil value = delete) over a
// base iterator; on equal keys the overlay wins.
type mergeIter struct {
	top, base       Iterator
	reverse         bool
	started         bool
	topOK, baseOK   bool
	key, value      []byte
	advTop, advBase bool
	closed          bool
	err             error
}

func (m *mergeIter) Next() bool {
	if !m.started {
		m.started = true
		m.topOK, m.baseOK = m.top.Next(), m.base.Next()
	} else {
		if m.advTop {
			m.topOK = m.top.Next()
		}
		if m.advBase {
			m.baseOK = m.base.Next()
		}
	}
	for {
		m.advTop, m.advBase = false, false
		if !m.topOK && !m.baseOK {
			m.key, m.value = nil, nil
			return false
		}
		c := 0
		switch {
		case !m.topOK:
			c = 1 // only base left
		case !m.baseOK:
			c = -1
		default:
			c = bytes.Compare(m.top.Key(), m.base.Key())
			if m.reverse {
				c = -c
			}
		}
		if c > 0 {
			m.key, m.value, m.advBase = m.base.Key(), m.base.Value(), true
			return true
		}
		if c == 0 {
			m.advBase = true // the overlay shadows the base's entry
		}
		if m.top.Value() != nil {
			m.key, m.value, m.advTop = m.top.Key(), m.top.Value(), true
			return true
		}
		// A delete: skip it and whatever it shadows.
		m.topOK = m.top.Next()
		if m.advBase {
			m.baseOK = m.base.Next()
		}
	}
}

func (m *mergeIter) Key() []byte   { return m.key }
func (m *mergeIter) Value() []byte { return m.value }

func (m *mergeIter) Close() error {
	if m.closed {
		return m.err
	}
	m.closed = true
	m.err = errors.Join(m.top.Close(), m.base.Close())
	m.top, m.base = closedIter{}, closedIter{}
	m.topOK, m.baseOK, m.started = false, false, true
	m.advTop, m.advBase = false, false
	m.key, m.value = nil, nil
	return m.err
}

// closedIter is what a closed mergeIter reads from.
type closedIter struct{}

func (closedIter) Next() bool    { return false }
func (closedIter) Key() []byte   { return nil }
func (closedIter) Value() []byte { return nil }
func (closedIter) Close() error  { return nil }

// emptyReader is the base of an overlay created without one.
type emptyReader struct{}

func (emptyReader) Get([]byte) ([]byte, error)   { return nil, ErrNotFound }
func (emptyReader) NewIter(IterOptions) Iterator { return closedIter{} }
