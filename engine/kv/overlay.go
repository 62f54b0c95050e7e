package kv

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"unsafe"
)

// Overlay holds uncommitted writes over a base Reader, typically a Snapshot:
// reads see the overlay's own writes first (its deletes hide base keys), then
// the base. The relational layer uses one per transaction so a transaction
// reads its own writes, and commits it with Store.Apply(o.Batch()).
//
// Writes go to a hash map and a log in write order, because a bulk insert
// writes hundreds of thousands of keys and reads them back only by key; the
// sorted view that iterators need is built when one is asked for.
//
// An Overlay is not safe for concurrent use.
type Overlay struct {
	base   Reader
	index  map[string]int // key → position in ops
	ops    []Op
	sorted []int // positions of ops in key order; nil when stale
}

// empty is the stored value of a set to an empty value, so that a nil value
// can mark a delete in iterators.
var empty = []byte{}

// NewOverlay returns an empty overlay over base; a nil base reads as empty.
func NewOverlay(base Reader) *Overlay {
	if base == nil {
		base = emptyReader{}
	}
	return &Overlay{base: base, index: map[string]int{}}
}

// Set records key=value. The overlay keeps both slices: callers must not
// modify them afterwards.
func (o *Overlay) Set(key, value []byte) {
	if value == nil {
		value = empty
	}
	o.put(Op{Key: key, Value: value})
}

// Delete records a deletion of key, hiding any base value.
func (o *Overlay) Delete(key []byte) { o.put(Op{Key: key, Delete: true}) }

func (o *Overlay) put(op Op) {
	if i, ok := o.index[string(op.Key)]; ok {
		op.Key = o.ops[i].Key
		o.ops[i] = op
		return
	}
	o.index[keyString(op.Key)] = len(o.ops)
	o.ops = append(o.ops, op)
	o.sorted = nil
}

// keyString views a key the overlay keeps (and nobody modifies, by the Set
// contract) as a map key without copying it: a bulk insert writes hundreds
// of thousands of keys, and a copy each would double their memory.
func keyString(k []byte) string {
	if len(k) == 0 {
		return ""
	}
	return unsafe.String(&k[0], len(k))
}

// Grow makes room for n more writes, so a bulk write of known size does not
// regrow (and copy, and rehash) the overlay's log and index as it goes.
func (o *Overlay) Grow(n int) {
	if n <= 0 {
		return
	}
	if len(o.ops) == 0 {
		o.index = make(map[string]int, n)
	}
	o.ops = slices.Grow(o.ops, n)
}

// Len is the number of keys written (set or deleted) in the overlay.
func (o *Overlay) Len() int { return len(o.ops) }

// Reset drops every write, keeping the base.
func (o *Overlay) Reset() {
	o.index, o.ops, o.sorted = map[string]int{}, nil, nil
}

// Batch returns the overlay's writes, one per key, in the order each key was
// first written. The batch shares the overlay's storage (a bulk insert's
// batch is large; copying it would double its memory): writing to the
// overlay afterwards changes the batch.
func (o *Overlay) Batch() *Batch {
	b := &Batch{Ops: o.ops}
	for _, op := range o.ops {
		b.size += len(op.Key) + len(op.Value)
	}
	return b
}

// Get returns the overlay's value of key, else the base's.
func (o *Overlay) Get(key []byte) ([]byte, error) {
	if i, ok := o.index[string(key)]; ok {
		if o.ops[i].Delete {
			return nil, ErrNotFound
		}
		return o.ops[i].Value, nil
	}
	return o.base.Get(key)
}

// NewIter merges the overlay's writes over the base. It copies the writes in
// range, so writing to the overlay while iterating is safe (the iterator
// does not see those writes); whether it sees base writes is up to the base.
func (o *Overlay) NewIter(opts IterOptions) Iterator {
	if o.sorted == nil {
		o.sorted = make([]int, len(o.ops))
		for i := range o.sorted {
			o.sorted[i] = i
		}
		sort.Slice(o.sorted, func(a, b int) bool {
			return bytes.Compare(o.ops[o.sorted[a]].Key, o.ops[o.sorted[b]].Key) < 0
		})
	}
	lo := 0
	if opts.Lower != nil {
		lo = sort.Search(len(o.sorted), func(i int) bool { return bytes.Compare(o.ops[o.sorted[i]].Key, opts.Lower) >= 0 })
	}
	hi := len(o.sorted)
	if opts.Upper != nil {
		hi = sort.Search(len(o.sorted), func(i int) bool { return bytes.Compare(o.ops[o.sorted[i]].Key, opts.Upper) >= 0 })
	}
	top := &opsIter{reverse: opts.Reverse, pos: -1}
	for _, i := range o.sorted[lo:max(lo, hi)] {
		top.ops = append(top.ops, o.ops[i])
	}
	return &mergeIter{top: top, base: o.base.NewIter(opts), reverse: opts.Reverse}
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
	if it.ops[it.pos].Delete {
		return nil
	}
	return it.ops[it.pos].Value
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
