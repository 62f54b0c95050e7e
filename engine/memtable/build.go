package memtable

// Builder builds a table from entries added in strictly increasing key
// order, bottom up in O(n) instead of n inserts: it is how the store loads a
// checkpoint and repacks its memory after writing one. The table keeps the
// slices it is given.
type Builder struct {
	items []item
	size  int64
}

// NewBuilder returns a builder with room for n entries.
func NewBuilder(n int) *Builder { return &Builder{items: make([]item, 0, max(n, 0))} }

// Add appends an entry; its key must be greater than every key added before.
func (b *Builder) Add(key, value []byte) {
	b.items = append(b.items, newItem(key, value))
	b.size += int64(len(key) + len(value))
}

// Table returns the table of the entries added. The builder must not be used
// afterwards.
func (b *Builder) Table() *Table {
	t := New()
	items := b.items
	b.items = nil
	if len(items) == 0 {
		return t
	}
	t.length, t.size = len(items), b.size
	var children []*node
	for {
		nodes, up := t.buildLevel(items, children)
		if len(nodes) == 1 {
			t.root = nodes[0]
			return t
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
	pos, child := 0, 0
	for j := 0; j < count; j++ {
		k := fill / count
		if j < fill%count {
			k++
		}
		nd := t.newNode()
		nd.items = append(nd.items, items[pos:pos+k]...)
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
