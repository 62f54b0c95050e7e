package memtable

// Merged returns a new table holding t's entries with n changes applied,
// built bottom up in O(len+n) rather than by n inserts that each shift half
// a node (and copy a path a clone shares): change(i) is the i-th change in
// strictly increasing key order, a value to set under key or, with del, the
// removal of key. t is left as it was; the new table takes over its chunks,
// and t writes into chunks of its own should it write again.
func (t *Table) Merged(n int, change func(i int) (key, value []byte, del bool)) *Table {
	out := &Table{cow: new(cowCtx), chunks: t.chunks, fill: t.fill, open: t.open}
	t.chunks, t.open = t.chunks[:len(t.chunks):len(t.chunks)], false
	m := merger{t: out, items: make([]item, 0, t.length+n), size: t.size, change: change, n: n}
	m.advance()
	if t.root != nil {
		m.walk(t.root)
	}
	for m.has {
		m.put()
	}
	out.build(m.items, m.size)
	return out
}

// merger interleaves a table's items, walked in order, with sorted changes.
type merger struct {
	t      *Table // the table being built, which holds the changes' bytes
	items  []item
	size   int64
	change func(int) ([]byte, []byte, bool)
	i, n   int   // the next change to read, of n
	has    bool  // cur is a change not yet applied
	cur    probe // its key with heads
	val    []byte
	del    bool
}

// advance reads the next change into cur.
func (m *merger) advance() {
	if m.has = m.i < m.n; !m.has {
		return
	}
	var k []byte
	k, m.val, m.del = m.change(m.i)
	m.i++
	m.cur = newProbe(k)
}

// put applies the current change to a key the table does not hold (or
// whose item was just passed over) and reads the next one.
func (m *merger) put() {
	if !m.del {
		it := m.t.newItem(m.cur.key, m.val, m.cur.h0, m.cur.h1)
		m.items = append(m.items, it)
		m.size += int64(len(m.cur.key) + len(m.val))
	}
	m.advance()
}

// walk emits n's subtree in order. A leaf whose items all come before the
// next change is copied whole.
func (m *merger) walk(n *node) {
	if len(n.children) == 0 {
		// (A root leaf may be empty once every key was deleted.)
		if len(n.items) == 0 || !m.has || m.t.chunks.compare(&n.items[len(n.items)-1], &m.cur) < 0 {
			m.items = append(m.items, n.items...)
			return
		}
	}
	for i := range n.items {
		if len(n.children) > 0 {
			m.walk(n.children[i])
		}
		m.emit(&n.items[i])
	}
	if len(n.children) > 0 {
		m.walk(n.children[len(n.items)])
	}
}

// emit outputs the changes that sort before x, then x unless a change
// replaces or removes it.
func (m *merger) emit(x *item) {
	for m.has {
		switch c := m.t.chunks.compare(x, &m.cur); {
		case c < 0:
			m.items = append(m.items, *x)
			return
		case c == 0:
			m.size -= int64(x.kl) + int64(x.vlen())
			m.put()
			return
		}
		m.put()
	}
	m.items = append(m.items, *x)
}

// build makes empty t the table of items, in strictly increasing key order,
// whose key and value bytes (in t's chunks) add up to size. Nodes take their
// items as sub-slices of the level's array, capacity cut at their length so
// that a later insert reallocates rather than write into a neighbour's
// items.
func (t *Table) build(items []item, size int64) {
	if len(items) == 0 {
		return
	}
	t.length, t.size = len(items), size
	var children []*node
	for {
		nodes, up := t.buildLevel(items, children)
		if len(nodes) == 1 {
			t.root = nodes[0]
			return
		}
		items, children = up, nodes
	}
}

// buildLevel packs items into nodes of one level, every node but a lone root
// holding between minItems and maxItems of them, with one item between
// neighbours left over to go up a level. With children (one more than
// items), a node of k items takes the next k+1 of them.
func (t *Table) buildLevel(items []item, children []*node) (nodes []*node, up []item) {
	count := (len(items) + 1 + maxItems) / (maxItems + 1) // ceil((len+1)/(maxItems+1))
	if count < 1 {
		count = 1
	}
	fill := len(items) - (count - 1) // items that stay on this level
	nodes = make([]*node, 0, count)
	up = make([]item, 0, count-1)
	pos, child := 0, 0
	for j := 0; j < count; j++ {
		k := fill / count
		if j < fill%count {
			k++
		}
		nd := &node{items: items[pos : pos+k : pos+k], cow: t.cow}
		pos += k
		if children != nil {
			nd.children = make([]*node, 0, maxItems+1)
			nd.children = append(nd.children, children[child:child+k+1]...)
			child += k + 1
		}
		nodes = append(nodes, nd)
		if j < count-1 {
			up = append(up, items[pos])
			pos++
		}
	}
	return nodes, up
}
