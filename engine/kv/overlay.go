package kv

import (
	"bytes"
	"errors"

	"minibase/engine/memtable"
)

// Overlay holds uncommitted writes over a base Reader, typically a Snapshot:
// reads see the overlay's own writes first (its deletes hide base keys), then
// the base. The relational layer uses one per transaction so a transaction
// reads its own writes, and commits it with Store.Apply(o.Batch()).
//
// An Overlay is not safe for concurrent use.
type Overlay struct {
	base   Reader
	writes *memtable.Table // value nil marks a delete
}

// empty is the stored value of a set to an empty value, because a nil value
// in writes marks a delete.
var empty = []byte{}

// NewOverlay returns an empty overlay over base; a nil base reads as empty.
func NewOverlay(base Reader) *Overlay {
	if base == nil {
		base = emptyReader{}
	}
	return &Overlay{base: base, writes: memtable.New()}
}

// Set records key=value. Both slices are copied, so callers may reuse them.
func (o *Overlay) Set(key, value []byte) {
	v := empty
	if len(value) > 0 {
		v = bytes.Clone(value)
	}
	o.writes.Set(bytes.Clone(key), v)
}

// Delete records a deletion of key, hiding any base value.
func (o *Overlay) Delete(key []byte) {
	o.writes.Set(bytes.Clone(key), nil)
}

// Len is the number of keys written (set or deleted) in the overlay.
func (o *Overlay) Len() int { return o.writes.Len() }

// Reset drops every write, keeping the base.
func (o *Overlay) Reset() { o.writes = memtable.New() }

// Batch returns the overlay's writes in key order, one per key.
func (o *Overlay) Batch() *Batch {
	b := &Batch{Ops: make([]Op, 0, o.writes.Len())}
	it := o.writes.NewIter(nil, nil, false)
	for it.Next() {
		if it.Value() == nil {
			b.Delete(it.Key())
		} else {
			b.Set(it.Key(), it.Value())
		}
	}
	return b
}

// Get returns the overlay's value of key, else the base's.
func (o *Overlay) Get(key []byte) ([]byte, error) {
	if v, ok := o.writes.Get(key); ok {
		if v == nil {
			return nil, ErrNotFound
		}
		return v, nil
	}
	return o.base.Get(key)
}

// NewIter merges the overlay's writes over the base. It iterates a clone of
// the writes, so writing to the overlay while iterating is safe (the iterator
// does not see those writes); whether it sees base writes is up to the base.
func (o *Overlay) NewIter(opts IterOptions) Iterator {
	return &mergeIter{
		top:     o.writes.Clone().NewIter(opts.Lower, opts.Upper, opts.Reverse),
		base:    o.base.NewIter(opts),
		reverse: opts.Reverse,
	}
}

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
