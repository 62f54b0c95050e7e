package memtable

import "bytes"

// Iter walks a Table's keys in [lower, upper), forward or in reverse. It
// satisfies kv.Iterator. Call Next before the first Key.
type Iter struct {
	lower, upper []byte
	reverse      bool
	started      bool
	done         bool
	root         *node
	chunks       chunks // the table's, when the iterator was made
	stack        []frame
	cur          item
}

// frame is one level of the path from the root to the iterator's position.
// Going forward, items[i] is the next item to yield at this level once the
// subtree being walked below it is finished; in reverse, items[i] is the next
// item going down (i = -1 once the level is used up).
type frame struct {
	n *node
	i int
}

// NewIter returns an iterator over the keys in [lower, upper), in reverse
// order when reverse is set. A nil bound is unbounded. The iterator is
// invalidated by writes to t; iterate t.Clone() when writes may interleave.
func (t *Table) NewIter(lower, upper []byte, reverse bool) *Iter {
	return &Iter{lower: lower, upper: upper, reverse: reverse, root: t.root, chunks: t.chunks, stack: make([]frame, 0, 8)}
}

// Next advances to the next key and reports whether there is one.
func (it *Iter) Next() bool {
	if it.done {
		return false
	}
	if !it.started {
		it.started = true
		if it.root != nil {
			if it.reverse {
				it.seekLT(it.upper)
			} else {
				it.seekGE(it.lower)
			}
		}
	}
	var ok bool
	if it.reverse {
		ok = it.prev()
		ok = ok && (it.lower == nil || bytes.Compare(it.chunks.key(&it.cur), it.lower) >= 0)
	} else {
		ok = it.next()
		ok = ok && (it.upper == nil || bytes.Compare(it.chunks.key(&it.cur), it.upper) < 0)
	}
	if !ok {
		it.done = true
		it.cur = item{}
		it.stack = it.stack[:0]
	}
	return ok
}

// SeekGE moves a forward iterator to the first key at or after key and
// reports whether there is one before the upper bound. It searches from
// the root: a memtable is small next to the segments beneath it.
func (it *Iter) SeekGE(key []byte) bool {
	if it.done || it.reverse {
		return false
	}
	it.started = true
	if it.lower != nil && bytes.Compare(key, it.lower) < 0 {
		key = it.lower
	}
	it.stack = it.stack[:0]
	ok := it.root != nil
	if ok {
		it.seekGE(key)
		ok = it.next() && (it.upper == nil || bytes.Compare(it.chunks.key(&it.cur), it.upper) < 0)
	}
	if !ok {
		it.done = true
		it.cur = item{}
		it.stack = it.stack[:0]
	}
	return ok
}

// Key is the current key; valid until the table's next write.
func (it *Iter) Key() []byte { return it.chunks.key(&it.cur) }

// Value is the current value; valid until the table's next write.
func (it *Iter) Value() []byte { return it.chunks.value(&it.cur) }

// Close releases the iterator. It never fails.
func (it *Iter) Close() error {
	it.done = true
	it.cur = item{}
	it.stack = nil
	it.root = nil
	it.chunks = nil
	return nil
}

// seekGE positions the stack so that next yields the first key >= key
// (every key when key is nil).
func (it *Iter) seekGE(key []byte) {
	n := it.root
	p := newProbe(key)
	for {
		i, found := 0, false
		if key != nil {
			i, found = n.find(it.chunks, &p)
		}
		it.stack = append(it.stack, frame{n, i})
		if found || len(n.children) == 0 {
			return
		}
		n = n.children[i]
	}
}

// seekLT positions the stack so that prev yields the last key < key (the
// last key of all when key is nil).
func (it *Iter) seekLT(key []byte) {
	n := it.root
	p := newProbe(key)
	for {
		i := len(n.items)
		if key != nil {
			i, _ = n.find(it.chunks, &p)
		}
		it.stack = append(it.stack, frame{n, i - 1})
		if len(n.children) == 0 {
			return
		}
		n = n.children[i]
	}
}

func (it *Iter) next() bool {
	for len(it.stack) > 0 {
		top := &it.stack[len(it.stack)-1]
		if top.i >= len(top.n.items) {
			it.stack = it.stack[:len(it.stack)-1]
			continue
		}
		it.cur = top.n.items[top.i]
		top.i++
		if len(top.n.children) > 0 {
			// Everything in the child right of the yielded item comes next.
			c := top.n.children[top.i]
			for {
				it.stack = append(it.stack, frame{c, 0})
				if len(c.children) == 0 {
					break
				}
				c = c.children[0]
			}
		}
		return true
	}
	return false
}

func (it *Iter) prev() bool {
	for len(it.stack) > 0 {
		top := &it.stack[len(it.stack)-1]
		if top.i < 0 {
			it.stack = it.stack[:len(it.stack)-1]
			continue
		}
		i := top.i
		it.cur = top.n.items[i]
		top.i--
		if len(top.n.children) > 0 {
			// Everything in the child left of the yielded item comes next.
			c := top.n.children[i]
			for {
				it.stack = append(it.stack, frame{c, len(c.items) - 1})
				if len(c.children) == 0 {
					break
				}
				c = c.children[len(c.items)]
			}
		}
		return true
	}
	return false
}
