package cache_test

import (
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
