package memtable_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"minibase/engine/value/valuetest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/memtable"
)

var _ kv.Iterator = (*memtable.Iter)(nil)

// model is the reference the table is checked against.
type model map[string]string

func (m model) sortedKeys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return nilIfEmpty(keys)
}

func (m model) clone() model {
	c := make(model, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m model) size() int64 {
	var n int64
	for k, v := range m {
		n += int64(len(k) + len(v))
	}
	return n
}

// requireSame checks every observable property of t against m.
func requireSame(t *testing.T, m model, tab *memtable.Table) {
	t.Helper()
	require.Equal(t, len(m), tab.Len())
	require.Equal(t, m.size(), tab.Size())
	keys := m.sortedKeys()
	var got []string
	it := tab.NewIter(nil, nil, false)
	for it.Next() {
		got = append(got, string(it.Key()))
		require.Equal(t, m[string(it.Key())], string(it.Value()))
	}
	require.NoError(t, it.Close())
	require.Equal(t, keys, nilIfEmpty(got))
	for _, k := range keys {
		v, ok := tab.Get([]byte(k))
		require.True(t, ok, k)
		require.Equal(t, m[k], string(v))
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func collect(tab *memtable.Table, lower, upper []byte, reverse bool) []string {
	var out []string
	it := tab.NewIter(lower, upper, reverse)
	for it.Next() {
		out = append(out, string(it.Key()))
	}
	_ = it.Close()
	return out
}

func TestEmpty(t *testing.T) {
	tab := memtable.New()
	_, ok := tab.Get([]byte("a"))
	require.False(t, ok)
	require.False(t, tab.Delete([]byte("a")))
	require.Empty(t, collect(tab, nil, nil, false))
	require.Empty(t, collect(tab, nil, nil, true))
	require.Equal(t, 0, tab.Len())
	c := tab.Clone()
	c.Set([]byte("x"), []byte("y"))
	require.Equal(t, 0, tab.Len())
	require.Equal(t, 1, c.Len())
}

func TestSetGetDelete(t *testing.T) {
	tab := memtable.New()
	tab.Set([]byte("b"), []byte("2"))
	tab.Set([]byte("a"), []byte("1"))
	tab.Set([]byte("b"), []byte("22"))
	v, ok := tab.Get([]byte("b"))
	require.True(t, ok)
	require.Equal(t, "22", string(v))
	require.Equal(t, 2, tab.Len())
	require.Equal(t, int64(len("a1b22")), tab.Size())
	require.True(t, tab.Delete([]byte("a")))
	require.False(t, tab.Delete([]byte("a")))
	require.Equal(t, []string{"b"}, collect(tab, nil, nil, false))
	// nil and empty values stay distinguishable: the overlay relies on it.
	tab.Set([]byte("n"), nil)
	tab.Set([]byte("e"), []byte{})
	v, _ = tab.Get([]byte("n"))
	require.Nil(t, v)
	v, _ = tab.Get([]byte("e"))
	require.NotNil(t, v)
}

func TestBounds(t *testing.T) {
	tab := memtable.New()
	var all []string
	for i := 0; i < 1000; i += 2 {
		k := fmt.Sprintf("k%04d", i)
		all = append(all, k)
		tab.Set([]byte(k), []byte("v"))
	}
	rev := slices.Clone(all)
	slices.Reverse(rev)
	filter := func(keys []string, lo, hi string) []string {
		var out []string
		for _, k := range keys {
			if (lo == "" || k >= lo) && (hi == "" || k < hi) {
				out = append(out, k)
			}
		}
		return out
	}
	tests := []struct{ lo, hi string }{
		{"", ""}, {"k0100", ""}, {"", "k0100"}, {"k0101", "k0201"}, {"k0100", "k0200"},
		{"a", "b"}, {"z", ""}, {"", "a"}, {"k0500", "k0500"}, {"k0600", "k0500"}, {"k0998", ""},
		{"k0001", "k0003"},
	}
	for _, tc := range tests {
		t.Run(tc.lo+"_"+tc.hi, func(t *testing.T) {
			var lo, hi []byte
			if tc.lo != "" {
				lo = []byte(tc.lo)
			}
			if tc.hi != "" {
				hi = []byte(tc.hi)
			}
			require.Equal(t, filter(all, tc.lo, tc.hi), collect(tab, lo, hi, false))
			require.Equal(t, filter(rev, tc.lo, tc.hi), collect(tab, lo, hi, true))
		})
	}
	// An empty, non-nil upper bound excludes everything: "" is the smallest key.
	require.Empty(t, collect(tab, nil, []byte{}, false))
	require.Empty(t, collect(tab, nil, []byte{}, true))
}

func TestIterAfterExhaustion(t *testing.T) {
	tab := memtable.New()
	tab.Set([]byte("a"), []byte("1"))
	it := tab.NewIter(nil, nil, false)
	require.True(t, it.Next())
	require.False(t, it.Next())
	require.False(t, it.Next())
	require.Nil(t, it.Key())
	require.NoError(t, it.Close())
	require.False(t, it.Next())
}

// TestModel runs random writes, clones and range scans against a map, and
// checks that clones never see writes made to each other. Keys come in two
// shapes: short decimal ones, and binary ones of 0–24 bytes over a shared
// 14-byte prefix and an alphabet of 0x00, 0x01 and 0xff, so that searches
// tie on the 16 bytes the nodes compare inline (heads) in every way: equal
// heads with different tails, and keys shorter than 16 bytes that differ
// from another only by trailing zero bytes.
func TestModel(t *testing.T) {
	prefix := "\x01\x00\x00\x00\x07\x00\x02tablekey"
	binary := func(r *rand.Rand) string {
		n := r.IntN(25)
		b := []byte(prefix[:min(n, len(prefix))])
		for len(b) < n {
			b = append(b, "\x00\x01\xff"[r.IntN(3)])
		}
		return string(b)
	}
	for _, tc := range []struct {
		name string
		key  func(*rand.Rand) string
	}{
		{"decimal", func(r *rand.Rand) string { return fmt.Sprintf("%05d", r.IntN(3000)) }},
		{"binary", binary},
	} {
		t.Run(tc.name, func(t *testing.T) { testModel(t, tc.key) })
	}
}

func testModel(t *testing.T, key func(*rand.Rand) string) {
	r := rand.New(rand.NewPCG(valuetest.Seed(t), 0))
	type pair struct {
		tab *memtable.Table
		m   model
	}
	live := pair{memtable.New(), model{}}
	var frozen []pair
	ops := 30000
	if testing.Short() {
		ops = 5000
	}
	for i := 0; i < ops; i++ {
		target := &live
		if len(frozen) > 0 && r.IntN(4) == 0 {
			target = &frozen[r.IntN(len(frozen))]
		}
		k := key(r)
		switch x := r.IntN(100); {
		case x < 55:
			v := fmt.Sprintf("v%d", r.IntN(1000))
			target.tab.Set([]byte(k), []byte(v))
			target.m[k] = v
		case x < 95:
			_, want := target.m[k]
			require.Equal(t, want, target.tab.Delete([]byte(k)), "delete %s", k)
			delete(target.m, k)
		case x < 98:
			frozen = append(frozen, pair{target.tab.Clone(), target.m.clone()})
			if len(frozen) > 6 {
				frozen = frozen[1:]
			}
		default:
			lo, hi := key(r), key(r)
			var want []string
			for _, key := range target.m.sortedKeys() {
				if key >= lo && key < hi {
					want = append(want, key)
				}
			}
			require.Equal(t, want, collect(target.tab, []byte(lo), []byte(hi), false))
			slices.Reverse(want)
			require.Equal(t, want, collect(target.tab, []byte(lo), []byte(hi), true))
		}
		if i%5000 == 0 {
			requireSame(t, live.m, live.tab)
		}
	}
	requireSame(t, live.m, live.tab)
	for _, f := range frozen {
		requireSame(t, f.m, f.tab)
	}
	// Delete everything, which exercises every merge and steal path.
	for _, k := range live.m.sortedKeys() {
		require.True(t, live.tab.Delete([]byte(k)))
	}
	require.Equal(t, 0, live.tab.Len())
	require.Equal(t, int64(0), live.tab.Size())
	require.Empty(t, collect(live.tab, nil, nil, false))
}

func TestLargeSequential(t *testing.T) {
	tab := memtable.New()
	const n = 100000
	for i := 0; i < n; i++ {
		tab.Set(key(i), key(i))
	}
	snap := tab.Clone()
	for i := 0; i < n; i += 2 {
		require.True(t, tab.Delete(key(i)))
	}
	require.Equal(t, n/2, tab.Len())
	require.Equal(t, n, snap.Len())
	i := 1
	it := tab.NewIter(nil, nil, false)
	for it.Next() {
		require.True(t, bytes.Equal(key(i), it.Key()))
		i += 2
	}
	require.Equal(t, n+1, i)
	i = n - 1
	it = snap.NewIter(nil, nil, true)
	for it.Next() {
		require.True(t, bytes.Equal(key(i), it.Key()))
		i--
	}
	require.Equal(t, -1, i)
}

func key(i int) []byte { return fmt.Appendf(nil, "user/%015d", i) }

func BenchmarkSetSorted300k(b *testing.B) {
	keys := make([][]byte, 300000)
	for i := range keys {
		keys[i] = key(i)
	}
	b.ResetTimer()
	for b.Loop() {
		tab := memtable.New()
		for _, k := range keys {
			tab.Set(k, k)
		}
	}
}

func BenchmarkSetRandom300k(b *testing.B) {
	keys := make([][]byte, 300000)
	for i := range keys {
		keys[i] = key(i)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	b.ResetTimer()
	for b.Loop() {
		tab := memtable.New()
		for _, k := range keys {
			tab.Set(k, k)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	const n = 300000
	tab := memtable.New()
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = key(i)
		tab.Set(keys[i], keys[i])
	}
	i := 0
	for b.Loop() {
		tab.Get(keys[i%n])
		i += 7919
	}
}

func BenchmarkSetAfterClone(b *testing.B) {
	const n = 300000
	tab := memtable.New()
	for i := 0; i < n; i++ {
		tab.Set(key(i), key(i))
	}
	i := 0
	for b.Loop() {
		_ = tab.Clone()
		tab.Set(key(i%n), nil)
		i += 7919
	}
}

func BenchmarkIterate300k(b *testing.B) {
	const n = 300000
	tab := memtable.New()
	for i := 0; i < n; i++ {
		tab.Set(key(i), key(i))
	}
	for b.Loop() {
		it := tab.NewIter(nil, nil, false)
		for it.Next() {
		}
	}
}

// Get and an iterator hand back copies of what Set was given: a nil value as
// nil, an empty one as empty, Tombstone as Tombstone itself (the store tells
// it by address), any other as bytes of the table's own that the caller's
// later changes to its slices do not reach.
func TestValuesComeBackAsGiven(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   []byte
		value []byte
	}{
		{"nil value", []byte("a"), nil},
		{"empty value", []byte("b"), []byte{}},
		{"tombstone", []byte("c"), memtable.Tombstone},
		{"a byte like the tombstone's", []byte("c"), []byte{0}},
		{"long key", bytes.Repeat([]byte{7}, 40), []byte("v")},
		{"empty key", []byte{}, []byte("w")},
		{"larger than a chunk", []byte("big"), bytes.Repeat([]byte{9}, 100<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := memtable.New()
			key, value := bytes.Clone(tc.key), tc.value
			if value != nil && !memtable.IsTombstone(value) {
				value = bytes.Clone(value)
			}
			tab.Set(key, value)
			got, ok := tab.Get(tc.key)
			require.True(t, ok)
			it := tab.NewIter(nil, nil, false)
			require.True(t, it.Next())
			for _, v := range [][]byte{got, it.Value()} {
				require.Equal(t, tc.value == nil, v == nil)
				require.Equal(t, tc.value, v)
				require.Equal(t, memtable.IsTombstone(tc.value), memtable.IsTombstone(v))
			}
			require.True(t, bytes.Equal(tc.key, it.Key()), "keys are equal as bytes (an empty one may come back nil)")
			require.NoError(t, it.Close())
			require.Equal(t, int64(len(tc.key)+len(tc.value)), tab.Size())
			// The caller's slices are its own again.
			for i := range key {
				key[i]++
			}
			if !memtable.IsTombstone(value) {
				for i := range value {
					value[i]++
				}
			}
			again, ok := tab.Get(tc.key)
			require.True(t, ok)
			require.Equal(t, tc.value, again)
			require.Equal(t, tc.value, got, "a value handed out stays as it was")
		})
	}
}

// A value handed out stays as it was while the table, a clone of it and a
// table merged from it write on, each into chunks of its own: no write of
// one reaches the bytes another reads.
func TestValuesStayAcrossClonesAndMerges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tab := memtable.New()
	type held struct{ key, want, got []byte }
	var hold []held
	keep := func(tb *memtable.Table, k []byte) {
		v, ok := tb.Get(k)
		require.True(t, ok)
		hold = append(hold, held{k, bytes.Clone(v), v})
	}
	tables := []*memtable.Table{tab}
	for round := 0; round < 200; round++ {
		tb := tables[rng.IntN(len(tables))]
		switch rng.IntN(10) {
		case 0:
			tables = append(tables, tb.Clone())
		case 1:
			k := key(rng.IntN(500))
			tables = append(tables, tb.Merged(1, func(int) ([]byte, []byte, bool) { return k, fmt.Appendf(nil, "m%d", round), false }))
		default:
			for j := 0; j < 20; j++ {
				k := key(rng.IntN(500))
				tb.Set(k, bytes.Repeat([]byte{byte(round)}, rng.IntN(300)))
				keep(tb, k)
			}
		}
	}
	for _, h := range hold {
		require.Equal(t, h.want, h.got, "%s", h.key)
	}
}
