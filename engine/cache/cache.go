// Package cache is a block cache: a map from (file, offset) to an immutable
// byte slice, bounded by the total bytes it holds, evicting by second chance
// (CLOCK): blocks leave in the order they came unless read since they last
// came round, which sends them round again. A hit only sets a flag, where
// LRU would move the block to the front of a list on every read: under wasm
// those pointer writes (and their write barriers during a collection) were
// a share of every point read.
//
// The store shares one Cache between all its segment files, so the bytes
// held for data blocks never exceed the limit however large the data grows.
// Cached slices are never modified or reused: a caller may keep one after it
// was evicted (the garbage collector frees it when the caller drops it).
//
// A Cache may also be lent memory (SetLoan): the blocks it evicts are then
// copied into a ring of a few large chunks of that size, the oldest chunk
// replaced first, and read from there. The ring is for memory a host holds
// but does not use (wasm memory is never given back): in large chunks, it
// can be let go whole. A loan spent on more blocks of their own (a higher
// limit) left them scattered among the heap's small-object spans, and a
// later bulk load needed more memory beside them (a second 100,000-row
// load: 71.5 MB of wasm memory against 67.0).
package cache

import (
	"container/list"
	"sync"
)

// Key names a block: the file's number and the block's offset in it.
type Key struct {
	File uint64
	Off  int64
}

// Stats counts what a Cache did.
type Stats struct {
	Bytes  int64 // bytes held now, in the ring too
	Limit  int64 // the configured limit, plus the ring's chunks
	Hits   int64
	Misses int64
}

// Cache is a second-chance cache bounded by bytes. It is safe for
// concurrent use.
type Cache struct {
	mu     sync.Mutex
	limit  int64
	bytes  int64
	hits   int64
	misses int64
	queue  *list.List // front = newest (or sent round again); values are *entry
	items  map[Key]*list.Element
	ring   *ring // what SetLoan lent; nil: nothing
}

type entry struct {
	key  Key
	data []byte
	used bool // read since it last came round
}

// New returns a cache holding at most limit bytes; limit <= 0 caches nothing.
func New(limit int64) *Cache {
	return &Cache{limit: limit, queue: list.New(), items: map[Key]*list.Element{}}
}

// Get returns the block under k, from the cache or the loan's ring, and
// counts a hit or a miss.
func (c *Cache) Get(k Key) ([]byte, bool) {
	c.mu.Lock()
	if e, ok := c.items[k]; ok {
		en := e.Value.(*entry)
		en.used = true
		c.hits++
		c.mu.Unlock()
		return en.data, true
	}
	if c.ring != nil {
		if data, ok := c.ring.get(k); ok {
			c.hits++
			c.mu.Unlock()
			return data, true
		}
	}
	c.misses++
	c.mu.Unlock()
	return nil, false
}

// Add stores data under k, evicting the least recently used blocks to stay
// within the limit. A block larger than the limit is not kept.
func (c *Cache) Add(k Key, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(len(data))
	if size > c.limit {
		return
	}
	if e, ok := c.items[k]; ok {
		c.bytes -= int64(len(e.Value.(*entry).data))
		c.queue.Remove(e)
		delete(c.items, k)
	}
	c.evictTo(c.limit - size)
	c.items[k] = c.queue.PushFront(&entry{key: k, data: data})
	c.bytes += size
}

// evictTo drops blocks by second chance until at most n bytes are held,
// into the loan's ring when there is one.
func (c *Cache) evictTo(n int64) {
	for c.bytes > n {
		e := c.queue.Back()
		en := e.Value.(*entry)
		if en.used {
			en.used = false
			c.queue.MoveToFront(e)
			continue
		}
		c.removeElement(e)
		if c.ring != nil {
			c.ring.keep(en.key, en.data)
		}
	}
}

// SetLoan lends the cache up to n bytes more, for the blocks it evicts, in
// whole chunks of RingChunk, and returns the bytes it took; 0 takes the
// loan back, with what it held. Lending as many chunks again keeps them.
func (c *Cache) SetLoan(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	chunks := int(max(n, 0) / RingChunk)
	switch {
	case chunks == 0:
		c.ring = nil
	case c.ring == nil || len(c.ring.chunks) != chunks:
		c.ring = newRing(chunks)
	}
	return int64(chunks) * RingChunk
}

// Evict drops every block of file, whose file is gone.
func (c *Cache) Evict(file uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ring != nil {
		c.ring.evict(file)
	}
	for e := c.queue.Front(); e != nil; {
		next := e.Next()
		if e.Value.(*entry).key.File == file {
			c.removeElement(e)
		}
		e = next
	}
}

func (c *Cache) removeElement(e *list.Element) {
	en := e.Value.(*entry)
	c.queue.Remove(e)
	delete(c.items, en.key)
	c.bytes -= int64(len(en.data))
}

// Stats reports the cache's size and counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{Bytes: c.bytes, Limit: c.limit, Hits: c.hits, Misses: c.misses}
	if c.ring != nil {
		st.Bytes += c.ring.bytes
		st.Limit += int64(len(c.ring.chunks)) * RingChunk
	}
	return st
}

// Room reports whether n more bytes fit without evicting anything.
func (c *Cache) Room(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes+n <= c.limit
}

// Spare reports whether n more bytes fit without dropping any block: in
// the cache's own room, or with what that evicts kept in the loan's ring
// (less a chunk, which a ring may leave part empty before it starts the
// next). A cache is warmed this far: the loan is memory already held.
func (c *Cache) Spare(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+n <= c.limit {
		return true
	}
	if c.ring == nil {
		return false
	}
	room := int64(len(c.ring.chunks)-1) * RingChunk
	return c.ring.bytes+(c.bytes+n-c.limit) <= room
}
