package memtable

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkShape verifies the B-tree invariants a build must keep: sorted
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
				require.Less(t, string(prev), string(tb.chunks.key(&n.items[i])))
			}
			prev = tb.chunks.key(&n.items[i])
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
			tb := New().Merged(n, func(i int) ([]byte, []byte, bool) { return keys[i], []byte("v"), false })
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

// TestMerged checks Merged against a map, on tables built by inserts, by a
// build and by an earlier merge, with changes that replace, add and remove
// keys (present or not, nil and empty values), and that the table merged
// from is left as it was and both take writes afterwards.
func TestMerged(t *testing.T) {
	for _, tc := range []struct {
		name          string
		base, changes int
		every         int // the changes include every every-th key of the base, in order
	}{
		{"empty both", 0, 0, 0},
		{"all deleted", 1, 50, 0},
		{"into empty", 0, 300, 0},
		{"none", 500, 0, 0},
		{"one", 2000, 1, 0},
		{"few", 5000, 40, 0},
		{"as many", 3000, 3000, 0},
		{"many more", 200, 9000, 0},
		{"every key", 4000, 100, 1},
		{"every 7th key", 6000, 0, 7},
		{"every 40th key", 6000, 0, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.base), uint64(tc.changes)))
			key := func() []byte { return fmt.Appendf(nil, "prefix-of-sixteen/%06d", rng.IntN(3*(tc.base+tc.changes)+1)) }
			base := New()
			model := map[string][]byte{}
			for range tc.base {
				k, v := key(), fmt.Appendf(nil, "v%d", rng.IntN(100))
				base.Set(k, v)
				model[string(k)] = v
			}
			if tc.base == 1 {
				// Every key deleted leaves an empty root leaf.
				for k := range model {
					base.Delete([]byte(k))
				}
				clear(model)
			}
			_ = base.Clone() // the merge reads nodes another generation owns
			before := map[string][]byte{}
			for k, v := range model {
				before[k] = v
			}
			type change struct {
				k, v []byte
				del  bool
			}
			seen := map[string]bool{}
			var cs []change
			var keys [][]byte
			if tc.every > 0 {
				for i, k := range slices.Sorted(maps.Keys(before)) {
					if i%tc.every == 0 {
						keys = append(keys, []byte(k))
					}
				}
			}
			for range tc.changes {
				keys = append(keys, key())
			}
			for _, k := range keys {
				if seen[string(k)] {
					continue
				}
				seen[string(k)] = true
				c := change{k: k}
				switch rng.IntN(5) {
				case 0:
					c.del = true
				case 1:
					c.v = nil
				case 2:
					c.v = []byte{}
				default:
					c.v = fmt.Appendf(nil, "new%d", rng.IntN(100))
				}
				cs = append(cs, c)
			}
			slices.SortFunc(cs, func(a, b change) int { return bytes.Compare(a.k, b.k) })
			for _, c := range cs {
				if c.del {
					delete(model, string(c.k))
				} else {
					model[string(c.k)] = c.v
				}
			}
			got := base.Merged(len(cs), func(i int) ([]byte, []byte, bool) { return cs[i].k, cs[i].v, cs[i].del })
			checkShape(t, got)
			requireHolds(t, got, model)
			requireHolds(t, base, before)

			// Both take writes, which reallocate a node's items rather than
			// write past them into its neighbour's.
			for i := range 400 {
				k := key()
				if i%3 == 0 {
					got.Delete(k)
					delete(model, string(k))
				} else {
					got.Set(k, []byte("w"))
					model[string(k)] = []byte("w")
				}
			}
			checkShape(t, got)
			requireHolds(t, got, model)
			requireHolds(t, base, before)
		})
	}
}

// requireHolds checks that tb holds exactly model, in order, nil values as
// nil and empty ones as empty, and that its size adds up.
func requireHolds(t *testing.T, tb *Table, model map[string][]byte) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(model))
	it := tb.NewIter(nil, nil, false)
	var size int64
	for _, k := range keys {
		require.True(t, it.Next(), "missing %s", k)
		require.Equal(t, k, string(it.Key()))
		require.Equal(t, model[k] == nil, it.Value() == nil, "nil value of %s", k)
		require.Equal(t, string(model[k]), string(it.Value()))
		size += int64(len(k) + len(model[k]))
	}
	require.False(t, it.Next())
	require.Equal(t, len(model), tb.Len())
	require.Equal(t, size, tb.Size())
}
