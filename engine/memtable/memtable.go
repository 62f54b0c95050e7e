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
// A Table is not safe for concurrent use; callers serialize access. Set
// copies the key and the value into the table's own chunks of memory (the
// caller may reuse its slices), and Get and iterators return slices over
// those copies (a nil value as nil, Tombstone as Tombstone itself, with their
// length as capacity), which never change: a value stays valid for as long
// as the caller holds it. An iterator reads the Table it was made from;
// writes to that Table while an iterator is open invalidate the iterator, so
// iterate a Clone when writes may interleave.
package memtable

import (
	"bytes"

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
// The key's bytes, then the value's, sit at off in the table's chunk c: an
// item holds no pointer, so a node's items are memory the garbage collector
// neither scans nor guards with write barriers. With a pointer to each key
// and value, a collection in wasm marked two per item and every shift of a
// node's items under a running collection paid a barrier per pointer: in an
// update of 10,000 rows, 35-40% of the time went to the collector.
type item struct {
	c, off uint32 // the chunk and the offset of the key's bytes
	kl, vl uint32 // their lengths; vl is nilValue or tombValue for those
	h0, h1 uint64
}

// The vl of a nil value and of Tombstone, neither of which is stored.
const (
	nilValue  = ^uint32(0)
	tombValue = ^uint32(0) - 1
)

// Tombstone is a value the table keeps as a marker rather than as bytes: Get
// and iterators return this very slice for it, so that a caller may tell it
// by address (the store marks deleted keys with it).
var Tombstone = []byte{0}

// IsTombstone reports whether v is Tombstone itself (not a copy of it).
func IsTombstone(v []byte) bool { return len(v) == 1 && &v[0] == &Tombstone[0] }

// vlen is the value's length.
func (it *item) vlen() uint32 {
	switch it.vl {
	case nilValue:
		return 0
	case tombValue:
		return uint32(len(Tombstone))
	}
	return it.vl
}

// stored is the number of bytes the item's key and value take in a chunk.
func (it *item) stored() int {
	if it.vl >= tombValue {
		return int(it.kl)
	}
	return int(it.kl) + int(it.vl)
}

// chunks hold the bytes of a table's keys and values, appended and never
// changed: a slice handed out stays valid, and a clone reads the chunks
// it shares with its origin while the origin writes new ones.
type chunks [][]byte

// key is the item's key; an empty one is nil.
func (cs chunks) key(it *item) []byte {
	if it.kl == 0 {
		return nil
	}
	c := cs[it.c]
	end := it.off + it.kl
	return c[it.off:end:end]
}

// value is the item's value: nil, Tombstone, or its bytes.
func (cs chunks) value(it *item) []byte {
	switch it.vl {
	case nilValue:
		return nil
	case tombValue:
		return Tombstone
	case 0:
		return []byte{}
	}
	c := cs[it.c]
	start := it.off + it.kl
	end := start + it.vl
	return c[start:end:end]
}

// Chunk sizes: the first chunk of a table is small (most tables of a store's
// life hold a few keys), each next one twice the last, up to maxChunk. A key
// and value larger than a chunk get a chunk of their own.
const (
	minChunk = 256
	maxChunk = 64 << 10
)

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
func (cs chunks) compare(it *item, p *probe) int {
	switch {
	case it.h0 != p.h0:
		return cmpHead(it.h0, p.h0)
	case it.h1 != p.h1:
		return cmpHead(it.h1, p.h1)
	}
	return keyhead.CompareTail(cs.key(it), p.key)
}

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
	// chunks hold the keys and values; fill bytes of the last one are
	// used. Only the table that owns the list (open) writes into its last
	// chunk and appends chunks to it; a clone gets the list with its
	// capacity cut, so that its first write starts a chunk (and a list) of
	// its own. A chunk's slice never changes once in the list: a clone
	// reads the list while its origin writes on.
	chunks chunks
	fill   int
	open   bool
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
// nodes, so each copies a node the first time it writes to it. t goes on
// writing into its chunks; the clone writes into chunks of its own.
func (t *Table) Clone() *Table {
	t.cow = new(cowCtx)
	return &Table{root: t.root, cow: new(cowCtx), length: t.length, size: t.size, chunks: t.chunks[:len(t.chunks):len(t.chunks)]}
}

// newItem copies key and value into t's chunks and returns their item.
func (t *Table) newItem(key, value []byte, h0, h1 uint64) item {
	it := item{kl: uint32(len(key)), vl: uint32(len(value)), h0: h0, h1: h1}
	switch {
	case value == nil:
		it.vl = nilValue
	case IsTombstone(value):
		it.vl = tombValue
	}
	n := it.stored()
	if n == 0 {
		return it
	}
	last := len(t.chunks) - 1
	if !t.open || len(t.chunks[last])-t.fill < n {
		size := minChunk
		if last >= 0 {
			size = min(2*len(t.chunks[last]), maxChunk)
		}
		t.chunks = append(t.chunks, make([]byte, max(size, n)))
		t.fill, t.open = 0, true
		last++
	}
	c := t.chunks[last][t.fill:]
	copy(c, key)
	if it.vl < tombValue {
		copy(c[len(key):], value)
	}
	it.c, it.off = uint32(last), uint32(t.fill)
	t.fill += n
	return it
}

// Get returns the value of key and whether it is present.
func (t *Table) Get(key []byte) ([]byte, bool) {
	n := t.root
	p := newProbe(key)
	for n != nil {
		i, found := n.find(t.chunks, &p)
		if found {
			return t.chunks.value(&n.items[i]), true
		}
		if len(n.children) == 0 {
			return nil, false
		}
		n = n.children[i]
	}
	return nil, false
}

// Set stores a copy of value under key, replacing any previous value; a
// nil value stays nil, Tombstone stays Tombstone.
func (t *Table) Set(key, value []byte) {
	p := newProbe(key)
	it := t.newItem(key, value, p.h0, p.h1)
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
	old, replaced := t.root.insert(t.chunks, it, &p)
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
	old, found := t.root.remove(t.chunks, &p, removeKey)
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
func (n *node) find(cs chunks, p *probe) (int, bool) {
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
			less = keyhead.CompareTail(cs.key(it), p.key) < 0
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
	return lo, it.h0 == p.h0 && it.h1 == p.h1 && bytes.Equal(cs.key(it), p.key)
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

// insert adds it, whose key p is, below n, which must be mutable and not
// full. It returns the replaced item when the key was present.
func (n *node) insert(cs chunks, it item, p *probe) (item, bool) {
	for {
		i, found := n.find(cs, p)
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
			switch c := cs.compare(&n.items[i], p); {
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
func (n *node) remove(cs chunks, key *probe, kind removeKind) (item, bool) {
	var i int
	var found bool
	switch kind {
	case removeMax:
		if len(n.children) == 0 {
			last := n.items[len(n.items)-1]
			n.items = n.items[:len(n.items)-1]
			return last, true
		}
		i = len(n.items)
	default:
		i, found = n.find(cs, key)
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
		return n.growChildAndRemove(cs, i, key, kind)
	}
	child := n.mutableChild(i)
	if found {
		// The key sits in this inner node: replace it by its predecessor,
		// the largest item of the left child, which has items to spare.
		out := n.items[i]
		n.items[i], _ = child.remove(cs, nil, removeMax)
		return out, true
	}
	return child.remove(cs, key, kind)
}

// growChildAndRemove gives child i an extra item, by stealing from a sibling
// or merging with one, then retries the removal from n.
func (n *node) growChildAndRemove(cs chunks, i int, key *probe, kind removeKind) (item, bool) {
	switch {
	case i > 0 && len(n.children[i-1].items) > minItems:
		child := n.mutableChild(i)
		from := n.mutableChild(i - 1)
		stolen := from.items[len(from.items)-1]
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
	return n.remove(cs, key, kind)
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
// collector can reclaim what it pointed to (a child node).
func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
