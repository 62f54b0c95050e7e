// Package memtable is an in-memory ordered map from byte strings to byte
// strings with O(1) copy-on-write snapshots.
//
// # Basics
//
// A Table is a B-tree. Clone returns a second Table sharing every node with the
// first; afterwards a write to either copy duplicates only the nodes on its
// path from the root, and each node at most once per clone generation. That
// makes a snapshot of a table with millions of keys cost nothing up front and a
// few kilobytes per later write.
//
// # Caveats
//
// A Table is not safe for concurrent use; callers serialize access. Set keeps
// the key and value slices it is given (it does not copy them), and Get and
// iterators return slices over those same arrays (a nil value as nil, with
// their length as capacity): nobody may modify them afterwards. An
// iterator reads the Table it was made from; writes to that Table while an
// iterator is open invalidate the iterator, so iterate a Clone when writes may
// interleave.
package memtable

import (
	"bytes"
	"unsafe"

	"minibase/engine/internal/keyhead"
)

// degree is the B-tree's minimum degree: nodes hold between degree-1 and
// 2*degree-1 items. 32 keeps nodes within a few cache lines of pointers while
// the tree stays about four levels deep at a million keys.
const (
	degree   = 32
	maxItems = 2*degree - 1
	minItems = degree - 1
)

// item is one key and its value, with the key's heads (keyhead.Of): a
// search compares those inline and calls bytes.Compare only on a tie (under
// wasm that call was most of a lookup's cost).
//
// The key and the value are kept as a pointer and a 32-bit length each,
// not as slices: 40 bytes an item with the heads instead of 64, which on
// the small-device defaults was 5 MB of wasm memory at the peak of a
// million-row load (a memtable is rebuilt while the old one is still read).
// The pointers keep the slices' arrays alive as the slices did; lengths
// past 4 GiB cannot occur (a batch holds 32-bit lengths too).
type item struct {
	k, v   unsafe.Pointer // the key's and the value's first byte; nil when empty
	kl, vl uint32         // their lengths; vl is nilValue for a nil value
	h0, h1 uint64
}

// nilValue is the vl of a nil value, told apart from an empty one.
const nilValue = ^uint32(0)

// vlen is the value's length.
func (it *item) vlen() uint32 {
	if it.vl == nilValue {
		return 0
	}
	return it.vl
}

// newItem is the item of key and value, heads computed.
func newItem(key, value []byte) item {
	h0, h1 := keyhead.Of(key)
	return itemWithHeads(key, value, h0, h1)
}

// itemWithHeads is newItem for heads already computed.
func itemWithHeads(key, value []byte, h0, h1 uint64) item {
	it := item{kl: uint32(len(key)), vl: uint32(len(value)), h0: h0, h1: h1}
	if len(key) > 0 {
		it.k = unsafe.Pointer(unsafe.SliceData(key))
	}
	switch {
	case value == nil:
		it.vl = nilValue
	case len(value) > 0:
		it.v = unsafe.Pointer(unsafe.SliceData(value))
	}
	return it
}

// key is the item's key, the slice Set was given (but for its capacity).
func (it *item) key() []byte { return unsafe.Slice((*byte)(it.k), it.kl) }

// value is the item's value, the slice Set was given (but for its
// capacity): the same array, so that a caller may tell a value by its
// address (lsm's tombstone).
func (it *item) value() []byte {
	switch {
	case it.vl == nilValue:
		return nil
	case it.vl == 0:
		return []byte{}
	}
	return unsafe.Slice((*byte)(it.v), it.vl)
}

// probe is a key being searched for, with its heads.
type probe struct {
	key    []byte
	h0, h1 uint64
}

func newProbe(key []byte) probe {
	h0, h1 := keyhead.Of(key)
	return probe{key, h0, h1}
}

// compare orders the item's key against the probe's, as bytes.Compare.
func (it *item) compare(p *probe) int {
	switch {
	case it.h0 != p.h0:
		return cmpHead(it.h0, p.h0)
	case it.h1 != p.h1:
		return cmpHead(it.h1, p.h1)
	}
	return it.compareTail(p)
}

// compareTail is compare for keys whose heads are equal.
func (it *item) compareTail(p *probe) int { return keyhead.CompareTail(it.key(), p.key) }

func cmpHead(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// cowCtx identifies the generation that owns a node: a Table may modify a
// node in place only when the node carries the Table's own context. It has a
// field because pointers to distinct zero-size values may compare equal.
type cowCtx struct{ _ byte }

// node is a B-tree node. Leaves have no children; an inner node with n items
// has n+1 children.
type node struct {
	items    []item
	children []*node
	cow      *cowCtx
}

// Table is an ordered map with copy-on-write clones. The zero value is not
// usable; call New.
type Table struct {
	root   *node
	cow    *cowCtx
	length int
	size   int64
}

// New returns an empty Table.
func New() *Table {
	return &Table{cow: new(cowCtx)}
}

// Len is the number of keys.
func (t *Table) Len() int { return t.length }

// Size is the number of key and value bytes held.
func (t *Table) Size() int64 { return t.size }

// Clone returns a copy of t in O(1). Both tables then own none of the shared
// nodes, so each copies a node the first time it writes to it.
func (t *Table) Clone() *Table {
	t.cow = new(cowCtx)
	return &Table{root: t.root, cow: new(cowCtx), length: t.length, size: t.size}
}

// Get returns the value of key and whether it is present.
func (t *Table) Get(key []byte) ([]byte, bool) {
	n := t.root
	p := newProbe(key)
	for n != nil {
		i, found := n.find(&p)
		if found {
			return n.items[i].value(), true
		}
		if len(n.children) == 0 {
			return nil, false
		}
		n = n.children[i]
	}
	return nil, false
}

// Set stores value under key, replacing any previous value. The table keeps
// both slices as they are, nil included.
func (t *Table) Set(key, value []byte) {
	it := newItem(key, value)
	if t.root == nil {
		t.root = t.newNode()
		t.root.items = append(t.root.items, it)
		t.length++
		t.size += int64(len(key) + len(value))
		return
	}
	t.root = t.root.mutableFor(t.cow)
	if len(t.root.items) >= maxItems {
		mid, right := t.root.split(maxItems / 2)
		left := t.root
		t.root = t.newNode()
		t.root.items = append(t.root.items, mid)
		t.root.children = append(t.root.children, left, right)
	}
	old, replaced := t.root.insert(it)
	if replaced {
		t.size += int64(len(value)) - int64(old.vlen())
		return
	}
	t.length++
	t.size += int64(len(key) + len(value))
}

// Delete removes key and reports whether it was present.
func (t *Table) Delete(key []byte) bool {
	if t.root == nil || len(t.root.items) == 0 {
		return false
	}
	if _, ok := t.Get(key); !ok {
		// Checking first spares copying the root-to-leaf path of a clone
		// for a key that is not there.
		return false
	}
	t.root = t.root.mutableFor(t.cow)
	p := newProbe(key)
	old, found := t.root.remove(&p, removeKey)
	if len(t.root.items) == 0 && len(t.root.children) > 0 {
		t.root = t.root.children[0]
	}
	if !found {
		return false
	}
	t.length--
	t.size -= int64(old.kl) + int64(old.vlen())
	return true
}

func (t *Table) newNode() *node {
	return &node{items: make([]item, 0, maxItems), cow: t.cow}
}

// find returns the index of the first item whose key is >= p's key and
// whether that item's key equals it.
func (n *node) find(p *probe) (int, bool) {
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		it := &n.items[m]
		var less bool // it.key < p.key, the heads compared inline
		switch {
		case it.h0 != p.h0:
			less = it.h0 < p.h0
		case it.h1 != p.h1:
			less = it.h1 < p.h1
		default:
			less = it.compareTail(p) < 0
		}
		if less {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(n.items) {
		return lo, false
	}
	it := &n.items[lo]
	return lo, it.h0 == p.h0 && it.h1 == p.h1 && bytes.Equal(it.key(), p.key)
}

// mutableFor returns n when cow owns it, else a copy owned by cow.
func (n *node) mutableFor(cow *cowCtx) *node {
	if n.cow == cow {
		return n
	}
	c := &node{cow: cow, items: make([]item, len(n.items), maxItems)}
	copy(c.items, n.items)
	if len(n.children) > 0 {
		c.children = make([]*node, len(n.children), maxItems+1)
		copy(c.children, n.children)
	}
	return c
}

// mutableChild makes child i writable by n's generation and returns it.
func (n *node) mutableChild(i int) *node {
	c := n.children[i].mutableFor(n.cow)
	n.children[i] = c
	return c
}

// split moves the items after index i (and their children) to a new node and
// returns item i together with that node.
func (n *node) split(i int) (item, *node) {
	mid := n.items[i]
	right := &node{cow: n.cow, items: make([]item, 0, maxItems)}
	right.items = append(right.items, n.items[i+1:]...)
	clear(n.items[i:])
	n.items = n.items[:i]
	if len(n.children) > 0 {
		right.children = make([]*node, 0, maxItems+1)
		right.children = append(right.children, n.children[i+1:]...)
		clear(n.children[i+1:])
		n.children = n.children[:i+1]
	}
	return mid, right
}

// maybeSplitChild splits child i when it is full, so an insert below never has
// to split upwards, and reports whether it did.
func (n *node) maybeSplitChild(i int) bool {
	if len(n.children[i].items) < maxItems {
		return false
	}
	first := n.mutableChild(i)
	mid, second := first.split(maxItems / 2)
	n.items = insertAt(n.items, i, mid)
	n.children = insertAt(n.children, i+1, second)
	return true
}

// insert adds it below n, which must be mutable and not full. It returns the
// replaced item when the key was present.
func (n *node) insert(it item) (item, bool) {
	p := probe{it.key(), it.h0, it.h1}
	for {
		i, found := n.find(&p)
		if found {
			old := n.items[i]
			n.items[i] = it
			return old, true
		}
		if len(n.children) == 0 {
			n.items = insertAt(n.items, i, it)
			return item{}, false
		}
		if n.maybeSplitChild(i) {
			switch c := n.items[i].compare(&p); {
			case c < 0:
				i++
			case c == 0:
				old := n.items[i]
				n.items[i] = it
				return old, true
			}
		}
		n = n.mutableChild(i)
	}
}

// removeKind says what remove takes out of a subtree.
type removeKind int

const (
	removeKey removeKind = iota // the item with the given key
	removeMax                   // the largest item (to replace a removed inner item)
)

// remove deletes from the subtree rooted at n, which must be mutable. Before
// descending it makes sure the child has more than minItems items, so the
// removal never has to rebalance upwards.
func (n *node) remove(key *probe, kind removeKind) (item, bool) {
	var i int
	var found bool
	switch kind {
	case removeMax:
		if len(n.children) == 0 {
			last := n.items[len(n.items)-1]
			n.items[len(n.items)-1] = item{}
			n.items = n.items[:len(n.items)-1]
			return last, true
		}
		i = len(n.items)
	default:
		i, found = n.find(key)
		if len(n.children) == 0 {
			if !found {
				return item{}, false
			}
			out := n.items[i]
			n.items = removeAt(n.items, i)
			return out, true
		}
	}
	if len(n.children[i].items) <= minItems {
		return n.growChildAndRemove(i, key, kind)
	}
	child := n.mutableChild(i)
	if found {
		// The key sits in this inner node: replace it by its predecessor,
		// the largest item of the left child, which has items to spare.
		out := n.items[i]
		n.items[i], _ = child.remove(nil, removeMax)
		return out, true
	}
	return child.remove(key, kind)
}

// growChildAndRemove gives child i an extra item, by stealing from a sibling
// or merging with one, then retries the removal from n.
func (n *node) growChildAndRemove(i int, key *probe, kind removeKind) (item, bool) {
	switch {
	case i > 0 && len(n.children[i-1].items) > minItems:
		child := n.mutableChild(i)
		from := n.mutableChild(i - 1)
		stolen := from.items[len(from.items)-1]
		from.items[len(from.items)-1] = item{}
		from.items = from.items[:len(from.items)-1]
		child.items = insertAt(child.items, 0, n.items[i-1])
		n.items[i-1] = stolen
		if len(from.children) > 0 {
			last := from.children[len(from.children)-1]
			from.children[len(from.children)-1] = nil
			from.children = from.children[:len(from.children)-1]
			child.children = insertAt(child.children, 0, last)
		}
	case i < len(n.items) && len(n.children[i+1].items) > minItems:
		child := n.mutableChild(i)
		from := n.mutableChild(i + 1)
		stolen := from.items[0]
		from.items = removeAt(from.items, 0)
		child.items = append(child.items, n.items[i])
		n.items[i] = stolen
		if len(from.children) > 0 {
			first := from.children[0]
			from.children = removeAt(from.children, 0)
			child.children = append(child.children, first)
		}
	default:
		if i >= len(n.items) {
			i--
		}
		child := n.mutableChild(i)
		mergeItem := n.items[i]
		n.items = removeAt(n.items, i)
		right := n.children[i+1]
		n.children = removeAt(n.children, i+1)
		child.items = append(child.items, mergeItem)
		child.items = append(child.items, right.items...)
		child.children = append(child.children, right.children...)
	}
	return n.remove(key, kind)
}

// insertAt inserts v at index i, shifting later elements right.
func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// removeAt removes index i, zeroing the vacated slot so the garbage
// collector can reclaim what it pointed to.
func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
