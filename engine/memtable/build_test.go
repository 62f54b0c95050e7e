package memtable

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkShape verifies the B-tree invariants a bulk build must keep: sorted
// keys, node sizes within bounds (the root may hold fewer), every leaf at the
// same depth, and children = items + 1.
func checkShape(t *testing.T, tb *Table) {
	t.Helper()
	leafDepth := -1
	var prev []byte
	count := 0
	var walk func(n *node, depth int, root bool)
	walk = func(n *node, depth int, root bool) {
		if !root {
			require.GreaterOrEqual(t, len(n.items), minItems)
		}
		require.LessOrEqual(t, len(n.items), maxItems)
		if len(n.children) == 0 {
			if leafDepth < 0 {
				leafDepth = depth
			}
			require.Equal(t, leafDepth, depth, "leaves at one depth")
		} else {
			require.Len(t, n.children, len(n.items)+1)
		}
		for i := range n.items {
			if len(n.children) > 0 {
				walk(n.children[i], depth+1, false)
			}
			if prev != nil {
				require.Less(t, string(prev), string(n.items[i].key()))
			}
			prev = n.items[i].key()
			count++
		}
		if len(n.children) > 0 {
			walk(n.children[len(n.items)], depth+1, false)
		}
	}
	if tb.root != nil {
		walk(tb.root, 0, true)
	}
	require.Equal(t, tb.Len(), count)
}

func TestBuild(t *testing.T) {
	for _, n := range []int{0, 1, 2, 62, 63, 64, 65, 127, 128, 1000, 4095, 4096, 4097, 70000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "k%08d", i)
			}
			b := NewBuilder(n)
			for _, k := range keys {
				b.Add(k, []byte("v"))
			}
			tb := b.Table()
			checkShape(t, tb)
			require.Equal(t, int64(n*10), tb.Size())
			for i := 0; i < n; i += 1 + n/100 {
				v, ok := tb.Get(keys[i])
				require.True(t, ok)
				require.Equal(t, "v", string(v))
			}
			// A built table takes writes and deletes like any other.
			tb.Set([]byte("k99999999"), []byte("x"))
			for i := 0; i < n; i += 2 {
				require.True(t, tb.Delete(keys[i]))
			}
			checkShape(t, tb)
			require.Equal(t, n-(n+1)/2+1, tb.Len())
		})
	}
}
