package cache_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/cache"
)

func TestEvictsUnreadFirstByBytes(t *testing.T) {
	c := cache.New(100)
	k := func(i int) cache.Key { return cache.Key{File: 1, Off: int64(i)} }
	for i := 0; i < 10; i++ {
		c.Add(k(i), make([]byte, 30))
		require.LessOrEqual(t, c.Stats().Bytes, int64(100))
	}
	// Only the last three fit.
	for i := 0; i < 7; i++ {
		_, ok := c.Get(k(i))
		require.False(t, ok, "block %d", i)
	}
	_, ok := c.Get(k(7))
	require.True(t, ok)
	// 7 was read since it came: adding one evicts 8, the oldest unread, and
	// sends 7 round again.
	c.Add(k(10), make([]byte, 30))
	_, ok = c.Get(k(8))
	require.False(t, ok)
	_, ok = c.Get(k(7))
	require.True(t, ok)
	st := c.Stats()
	require.Equal(t, int64(90), st.Bytes)
	require.Equal(t, int64(2), st.Hits)
	require.Equal(t, int64(8), st.Misses)
}

func TestTooLargeAndReplaceAndEvict(t *testing.T) {
	c := cache.New(50)
	c.Add(cache.Key{File: 1}, make([]byte, 51))
	require.Equal(t, int64(0), c.Stats().Bytes)
	c.Add(cache.Key{File: 1}, make([]byte, 20))
	c.Add(cache.Key{File: 1}, make([]byte, 10))
	require.Equal(t, int64(10), c.Stats().Bytes)
	c.Add(cache.Key{File: 2}, make([]byte, 10))
	c.Evict(1)
	require.Equal(t, int64(10), c.Stats().Bytes)
	_, ok := c.Get(cache.Key{File: 2})
	require.True(t, ok)
	require.Equal(t, int64(0), cache.New(0).Stats().Bytes)
	z := cache.New(0)
	z.Add(cache.Key{}, []byte{1})
	_, ok = z.Get(cache.Key{})
	require.False(t, ok)
}

func TestLoanKeepsEvictedBlocksInARing(t *testing.T) {
	c := cache.New(100)
	k := func(i int) cache.Key { return cache.Key{File: uint64(1 + i%2), Off: int64(i)} }
	block := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i)}, n) }
	c.SetLoan(cache.RingChunk - 1)
	require.Equal(t, int64(100), c.Stats().Limit, "less than a chunk lends nothing")
	c.SetLoan(2 * cache.RingChunk)
	require.Equal(t, int64(100+2*cache.RingChunk), c.Stats().Limit)
	for i := 0; i < 10; i++ {
		c.Add(k(i), block(i, 30))
	}
	st := c.Stats()
	require.Equal(t, int64(300), st.Bytes, "three in the cache, seven in the ring")
	// A block in the ring is read from there: a hit.
	got, ok := c.Get(k(0))
	require.True(t, ok)
	require.Equal(t, block(0, 30), got)
	require.Equal(t, int64(1), c.Stats().Hits)
	require.Equal(t, 30, cap(got), "a slice that cannot grow over its neighbours")
	require.Equal(t, int64(300), c.Stats().Bytes)
	// Evict drops a file's blocks from the ring too.
	c.Evict(2)
	for i := 0; i < 10; i++ {
		_, ok := c.Get(k(i))
		require.Equal(t, i%2 == 0, ok, "block %d", i)
	}
	// Taken back: only the cache's own blocks stay.
	c.SetLoan(0)
	require.Equal(t, int64(100), c.Stats().Limit)
	require.LessOrEqual(t, c.Stats().Bytes, int64(100))
}

func TestLoanRingReusesItsOldestChunk(t *testing.T) {
	const big = cache.RingChunk/2 + 1 // one to a chunk
	c := cache.New(big)
	c.SetLoan(2 * cache.RingChunk)
	key := func(i int) cache.Key { return cache.Key{File: 1, Off: int64(i)} }
	kept := make([][]byte, 5)
	for i := range kept {
		kept[i] = bytes.Repeat([]byte{byte(i + 1)}, big)
		c.Add(key(i), kept[i])
	}
	// 4 is cached, 2 and 3 are in the ring's two chunks, 0 and 1 were
	// written over.
	for _, i := range []int{0, 1} {
		_, ok := c.Get(key(i))
		require.False(t, ok, "block %d", i)
	}
	got, ok := c.Get(key(2)) // a slice of the ring's first chunk
	require.True(t, ok)
	require.Equal(t, kept[2], got)
	c.Add(key(5), bytes.Repeat([]byte{6}, big)) // 4 goes to the ring, replacing 2's chunk
	require.Equal(t, kept[2], got, "a block handed out is never written over")
	_, ok = c.Get(key(2))
	require.False(t, ok)
	for _, i := range []int{3, 4, 5} {
		b, ok := c.Get(key(i))
		require.True(t, ok, "block %d", i)
		require.Equal(t, bytes.Repeat([]byte{byte(i + 1)}, big), b)
	}
	// A block larger than a chunk is not kept.
	huge := cache.New(3 * cache.RingChunk)
	huge.SetLoan(4 * cache.RingChunk)
	huge.Add(key(0), make([]byte, cache.RingChunk+1))
	huge.Add(key(1), make([]byte, 2*cache.RingChunk))
	_, ok = huge.Get(key(0))
	require.False(t, ok)
	require.Equal(t, int64(2*cache.RingChunk), huge.Stats().Bytes)
}

// Random adds, reads, file evictions and loans changing size: every block
// read is the one added under its key, and the cache (its ring too) stays
// within its limit.
func TestLoanModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	content := func(k cache.Key, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(k.File*31 + uint64(k.Off)*7 + uint64(i))
		}
		return b
	}
	size := func(k cache.Key) int { return 1 + int(k.File*7919+uint64(k.Off)*104729)%(cache.RingChunk/3) }
	c := cache.New(2 * cache.RingChunk)
	gone := map[uint64]bool{}
	for step := 0; step < 5000; step++ {
		k := cache.Key{File: uint64(rng.IntN(6)), Off: int64(rng.IntN(40))}
		switch r := rng.IntN(100); {
		case r < 45:
			if !gone[k.File] {
				c.Add(k, content(k, size(k)))
			}
		case r < 90:
			if b, ok := c.Get(k); ok {
				require.False(t, gone[k.File], "block of evicted file %d", k.File)
				require.Equal(t, content(k, size(k)), b, "step %d", step)
			}
		case r < 93:
			c.Evict(k.File)
			gone[k.File] = true
		case r < 96:
			delete(gone, k.File) // a new file of that number: nothing of the old one may be read
		default:
			c.SetLoan(int64(rng.IntN(4)) * cache.RingChunk)
		}
		st := c.Stats()
		require.LessOrEqual(t, st.Bytes, st.Limit)
		require.GreaterOrEqual(t, st.Bytes, int64(0))
	}
}

// Blocks added while Spare says they fit are all kept, in the cache or its
// loan's ring; without a loan Spare is Room. It does not stop early either:
// what it lets in fills the cache and all of the ring's chunks but one.
func TestSpareKeepsEveryBlockAdded(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limit, loan int64
		block       int
		want        int64 // at least this many bytes let in
	}{
		{"no loan", 10 << 10, 0, 1 << 10, 10 << 10},
		{"a loan of one chunk", 10 << 10, cache.RingChunk, 4 << 10, 8 << 10},
		{"a loan of three chunks", 10 << 10, 3 * cache.RingChunk, 4 << 10, 8<<10 + 2*cache.RingChunk - 4<<10},
		{"blocks of odd sizes", 7 << 10, 2 * cache.RingChunk, 3001, 4<<10 + cache.RingChunk - 3001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.New(tc.limit)
			c.SetLoan(tc.loan)
			n := int64(tc.block)
			var added int64
			var keys []cache.Key
			for i := 0; c.Spare(n); i++ {
				if tc.loan == 0 {
					require.True(t, c.Room(n), "without a loan Spare is Room")
				}
				k := cache.Key{File: 1, Off: int64(i)}
				c.Add(k, bytes.Repeat([]byte{byte(i)}, tc.block))
				keys = append(keys, k)
				added += n
				require.Less(t, i, 1<<20, "Spare never says no")
			}
			require.False(t, c.Room(n) && tc.loan == 0)
			require.GreaterOrEqual(t, added, tc.want)
			for i, k := range keys {
				b, ok := c.Get(k)
				require.True(t, ok, "block %d of %d was dropped", i, len(keys))
				require.Equal(t, bytes.Repeat([]byte{byte(i)}, tc.block), b)
			}
		})
	}
}
