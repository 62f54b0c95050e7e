// Package cache is a block cache: an LRU map from (file, offset) to an
// immutable byte slice, bounded by the total bytes it holds.
//
// The store shares one Cache between all its segment files, so the bytes
// held for data blocks never exceed the limit however large the data grows.
// Cached slices are never modified or reused: a caller may keep one after it
// was evicted (the garbage collector frees it when the caller drops it).
//
// Blocks added with AddHigh (segment index and filter partitions, which
// every lookup in their range reads) are evicted only after the others, as
// long as they hold at most HighShare of the limit: a stream of data
// blocks read once does not push out the filters that each lookup needs
// (RocksDB's high-priority pool).
package cache

import (
	"container/list"
	"sync"
)

// HighShare is the part of the limit that high-priority blocks keep ahead
// of the others; past it they are evicted first.
const HighShare = 0.5

// Key names a block: the file's number and the block's offset in it.
type Key struct {
	File uint64
	Off  int64
}

// Stats counts what a Cache did.
type Stats struct {
	Bytes     int64 // bytes held now
	HighBytes int64 // of which high-priority blocks
	Limit     int64 // the configured limit
	Hits      int64
	Misses    int64
}

// Cache is an LRU cache bounded by bytes. It is safe for concurrent use.
type Cache struct {
	mu        sync.Mutex
	limit     int64
	highLimit int64
	bytes     int64
	highBytes int64
	hits      int64
	misses    int64
	lru       *list.List // front = most recently used; values are *entry
	high      *list.List // the high-priority blocks, likewise
	items     map[Key]*list.Element
}

type entry struct {
	key  Key
	data []byte
	high bool
}

// New returns a cache holding at most limit bytes; limit <= 0 caches nothing.
func New(limit int64) *Cache {
	return &Cache{limit: limit, highLimit: int64(float64(limit) * HighShare), lru: list.New(), high: list.New(), items: map[Key]*list.Element{}}
}

// Get returns the block under k and counts a hit or a miss.
func (c *Cache) Get(k Key) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.list(e.Value.(*entry).high).MoveToFront(e)
		c.hits++
		return e.Value.(*entry).data, true
	}
	c.misses++
	return nil, false
}

// Add stores data under k, evicting the least recently used blocks to stay
// within the limit. A block larger than the limit is not kept.
func (c *Cache) Add(k Key, data []byte) { c.add(k, data, false) }

// AddHigh is Add for a block kept ahead of the others (see HighShare).
func (c *Cache) AddHigh(k Key, data []byte) { c.add(k, data, true) }

func (c *Cache) add(k Key, data []byte, high bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(len(data))
	if size > c.limit {
		return
	}
	if e, ok := c.items[k]; ok {
		c.removeElement(e)
	}
	for c.bytes+size > c.limit {
		if c.lru.Len() == 0 || c.highBytes > c.highLimit && c.high.Len() > 0 {
			c.removeElement(c.high.Back())
		} else {
			c.removeElement(c.lru.Back())
		}
	}
	c.items[k] = c.list(high).PushFront(&entry{key: k, data: data, high: high})
	c.bytes += size
	if high {
		c.highBytes += size
	}
}

func (c *Cache) list(high bool) *list.List {
	if high {
		return c.high
	}
	return c.lru
}

// Evict drops every block of file, whose file is gone.
func (c *Cache) Evict(file uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range []*list.List{c.lru, c.high} {
		for e := l.Front(); e != nil; {
			next := e.Next()
			if e.Value.(*entry).key.File == file {
				c.removeElement(e)
			}
			e = next
		}
	}
}

func (c *Cache) removeElement(e *list.Element) {
	en := e.Value.(*entry)
	c.list(en.high).Remove(e)
	delete(c.items, en.key)
	c.bytes -= int64(len(en.data))
	if en.high {
		c.highBytes -= int64(len(en.data))
	}
}

// Stats reports the cache's size and counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Bytes: c.bytes, HighBytes: c.highBytes, Limit: c.limit, Hits: c.hits, Misses: c.misses}
}

// Room reports whether n more bytes fit without evicting anything.
func (c *Cache) Room(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes+n <= c.limit
}
