package sstable

import (
	"bytes"
	"fmt"

	"minibase/engine/internal/recycle"
)

// Iter walks a segment's entries in [lower, upper), tombstones included,
// forward or in reverse. Call Next before the first Key.
//
// Key and Value (and the slices WalkBefore hands out) are valid until the
// iterator has moved on twice: the current entry's bytes stay as they are
// through the next call to Next, and are overwritten after that. A bulk
// read (read-ahead, scan iterators) goes into one of two buffers that the
// iterator reuses by turns (ReadBuffers) instead of allocating one per
// read: a scan then allocates two buffers, not one per chunk of data. The
// one step of slack is for a merge, which compares its other sources
// against the key it just stepped past. A caller that keeps a key or value
// longer copies it.
type Iter struct {
	r            *Reader
	lower, upper []byte
	reverse      bool
	started      bool
	bi           int     // current block
	ents         []entry // its decoded entries
	pos          int
	err          error
	scan         bool         // a scan iterator: blocks come from bulk reads past the cache
	chunk        int          // bytes per bulk read; <= 0 reads all data blocks at once
	bulk         []byte       // the blocks bulkFirst.. read by the last bulk read
	bufs         *ReadBuffers // where bulk reads go when the reader can read into a buffer
	bulkFirst    int
	bulkEnd      int  // index after the last block in bulk
	misses       int  // blocks in a row that were not in the cache
	allIn        bool // every entry of the current block is within the far bound
}

// A forward iterator that misses the cache readaheadAfter blocks in a row
// is scanning: it reads the blocks ahead of it readaheadBytes at a time,
// one read instead of one per block (a call out to JS per block on the
// node adapter), and adds them to the cache only while the cache has room,
// so that a scan larger than the cache does not evict what point reads use.
const (
	readaheadAfter = 2
	readaheadBytes = 256 << 10
)

// NewIter returns an iterator over [lower, upper); nil bounds are open.
func (r *Reader) NewIter(lower, upper []byte, reverse bool) *Iter {
	return &Iter{r: r, lower: lower, upper: upper, reverse: reverse}
}

// NewScanIter returns a forward iterator over the whole file that reads
// consecutive data blocks about chunk bytes at a time (all of them at once
// when chunk <= 0) and bypasses the cache: for compactions, which read every
// block once and should neither evict what readers use nor pay a read per
// block.
func (r *Reader) NewScanIter(chunk int) *Iter {
	return &Iter{r: r, scan: true, chunk: chunk}
}

// blockAt returns the verified bytes of block i, read the way this
// iterator reads.
func (it *Iter) blockAt(i int) ([]byte, error) {
	switch {
	case it.scan:
		return it.bulkBlock(i)
	case !it.reverse && it.misses >= readaheadAfter:
		return it.readahead(i)
	default:
		b, hit, err := it.r.blockHit(i)
		if hit {
			it.misses = 0
		} else {
			it.misses++
		}
		return b, err
	}
}

// load decodes block i into it.ents.
func (it *Iter) load(i int) bool {
	b, err := it.blockAt(i)
	if err != nil {
		it.err = err
		return false
	}
	it.bi = i
	if it.reverse {
		it.allIn = it.lower == nil || i > 0 && bytes.Compare(it.r.blocks[i-1].lastKey, it.lower) >= 0
	} else {
		it.allIn = it.before(i, nil)
	}
	b, offs, ok := splitBlock(b)
	if !ok {
		it.err = it.r.corrupt("bad entry table in block at %d", it.r.blocks[i].off)
		return false
	}
	if it.ents, ok = decodeEntries(it.ents[:0], b); !ok {
		it.err = it.r.corrupt("bad entry in block at %d", it.r.blocks[i].off)
		return false
	}
	if len(it.ents) != len(offs)/4 {
		it.err = it.r.corrupt("entry table of block at %d does not match its entries", it.r.blocks[i].off)
		return false
	}
	return true
}

// Next advances and reports whether there is a current entry.
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	if !it.started {
		it.started = true
		return it.seek()
	}
	if it.reverse {
		it.pos--
		for it.pos < 0 {
			if it.bi == 0 || !it.load(it.bi-1) {
				it.ents = nil
				return false
			}
			it.pos = len(it.ents) - 1
		}
		return it.inBounds()
	}
	it.pos++
	for it.pos >= len(it.ents) {
		if it.bi+1 >= len(it.r.blocks) || !it.load(it.bi+1) {
			it.ents = nil
			return false
		}
		it.pos = 0
	}
	return it.inBounds()
}

func (it *Iter) seek() bool {
	blocks := it.r.blocks
	if len(blocks) == 0 {
		return false
	}
	if !it.reverse {
		i := 0
		if it.lower != nil {
			i = it.r.findBlock(it.lower)
		}
		if i == len(blocks) || !it.load(i) {
			return false
		}
		it.pos = 0
		for it.pos < len(it.ents) && it.lower != nil && bytes.Compare(it.ents[it.pos].key, it.lower) < 0 {
			it.pos++
		}
		if it.pos == len(it.ents) {
			// Only when the bound is past the block's last key, which
			// findBlock rules out, or on a malformed block.
			it.pos = len(it.ents) - 1
			return it.Next()
		}
		return it.inBounds()
	}
	i := len(blocks) - 1
	if it.upper != nil {
		i = min(it.r.findBlock(it.upper), len(blocks)-1)
	}
	if !it.load(i) {
		return false
	}
	it.pos = len(it.ents) - 1
	for it.pos >= 0 && it.upper != nil && bytes.Compare(it.ents[it.pos].key, it.upper) >= 0 {
		it.pos--
	}
	if it.pos < 0 {
		return it.Next() // moves to the previous block
	}
	return it.inBounds()
}

// SeekGE moves a forward iterator to the first entry at or after key,
// which must not be before the current entry, and reports whether there is
// one within the bounds. A key in the current block is found there; another
// is found through the index, as a Get would.
func (it *Iter) SeekGE(key []byte) bool {
	if it.err != nil || it.reverse {
		return false
	}
	if !it.started {
		it.started = true
		lower := it.lower
		if lower == nil || bytes.Compare(key, lower) > 0 {
			it.lower = key
		}
		ok := it.seek()
		it.lower = lower // key is the caller's, to change once this returns
		return ok
	}
	if it.ents == nil {
		return false // past the end
	}
	if bytes.Compare(key, it.r.blocks[it.bi].lastKey) > 0 {
		i := it.r.findBlock(key)
		if i == len(it.r.blocks) {
			it.ents = nil
			return false
		}
		if i > it.bi+1 {
			it.misses = 0 // a jump, not a scan: no read-ahead
		}
		if !it.load(i) {
			it.ents = nil
			return false
		}
		it.pos = 0
	}
	// key is at most the block's last key: an entry at or after it is here.
	lo, hi := it.pos, len(it.ents)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(it.ents[mid].key, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(it.ents) {
		// Only on a malformed block, whose last key is not the index's.
		it.err = it.r.corrupt("block at %d ends before its last key", it.r.blocks[it.bi].off)
		it.ents = nil
		return false
	}
	it.pos = lo
	return it.inBounds()
}

// inBounds checks the far bound of the walk at the current entry.
func (it *Iter) inBounds() bool {
	if it.allIn {
		return true
	}
	k := it.ents[it.pos].key
	if it.reverse {
		if it.lower != nil && bytes.Compare(k, it.lower) < 0 {
			it.ents = nil
			return false
		}
		return true
	}
	if it.upper != nil && bytes.Compare(k, it.upper) >= 0 {
		it.ents = nil
		return false
	}
	return true
}

// WalkBefore calls fn for the entries after the current one, in forward
// order, while their keys are before limit (nil: no limit) and within the
// far bound, skipping tombstones unless tombs is set, until fn returns
// false. The iterator is left on the last entry it read (delivered or
// skipped), so Next goes on from there; stopped reports that fn returned
// false. It reads blocks as Next does. It must be called on a started
// forward iterator with a current entry.
func (it *Iter) WalkBefore(limit []byte, tombs bool, fn func(key, value []byte) bool) (stopped bool) {
	for it.err == nil && it.ents != nil && !it.reverse {
		ents := it.ents
		check := !it.allIn || limit != nil // most blocks of a scan need no compare
		for it.pos+1 < len(ents) {
			e := &ents[it.pos+1]
			if check && (!it.allIn && bytes.Compare(e.key, it.upper) >= 0 || limit != nil && bytes.Compare(e.key, limit) >= 0) {
				return false // Next reads e again
			}
			it.pos++
			if e.tomb && !tombs {
				continue
			}
			if !fn(e.key, e.value) {
				return true
			}
		}
		// The block is done. The blocks after it that lie wholly before
		// both bounds are handed out straight from their bytes.
		for it.bi+1 < len(it.r.blocks) && it.before(it.bi+1, limit) {
			switch it.stream(it.bi+1, tombs, fn) {
			case streamStopped:
				return true
			case streamFailed:
				return false
			}
		}
		// On to the next one, with pos before its first entry, which is
		// what Next expects of a fresh block.
		if it.bi+1 >= len(it.r.blocks) || !it.load(it.bi+1) {
			return false // Next finds the end (or the error) as it would have
		}
		it.pos = -1
	}
	return false
}

// before reports whether every key of block i is before limit (nil: no
// limit) and the far bound of a forward walk.
func (it *Iter) before(i int, limit []byte) bool {
	last := it.r.blocks[i].lastKey
	return (it.upper == nil || bytes.Compare(last, it.upper) < 0) && (limit == nil || bytes.Compare(last, limit) < 0)
}

// What stream did with a block.
const (
	streamDone    = iota // every entry handed out; the iterator is on the last
	streamStopped        // fn returned false; the iterator is on that entry
	streamFailed         // it.err is set
)

// stream hands fn the entries of block i, which before said lie within
// the walk's bounds, decoding each as it goes instead of into it.ents
// first: a scan's steps were load's decoding into the slice and the walk's
// reading it back. The iterator then stands where a walk of the loaded
// block would have left it.
func (it *Iter) stream(i int, tombs bool, fn func(key, value []byte) bool) int {
	b, err := it.blockAt(i)
	if err != nil {
		it.err = err
		return streamFailed
	}
	body, offs, ok := splitBlock(b)
	if !ok {
		it.err = it.r.corrupt("bad entry table in block at %d", it.r.blocks[i].off)
		return streamFailed
	}
	n := 0
	var e entry
	for p := 0; p < len(body); n++ {
		// The commonest entry inline, as in decodeEntries.
		if q := p + 1 + int(body[p]); body[p] < 0x80 && q < len(body) && body[q] < 0x80 && int(body[q]) <= len(body)-q {
			e.key = body[p+1 : q : q]
			if tag := int(body[q]); tag == 0 {
				e.tomb, e.value, p = true, nil, q+1
			} else {
				e.tomb, e.value, p = false, body[q+1:q+tag:q+tag], q+tag
			}
		} else {
			var next int
			if e, next, ok = decodeEntry(body, p); !ok {
				it.err = it.r.corrupt("bad entry in block at %d", it.r.blocks[i].off)
				return streamFailed
			}
			p = next
		}
		if e.tomb && !tombs {
			continue
		}
		if !fn(e.key, e.value) {
			// Rare (the end of a query): stand on this entry of the block
			// loaded the usual way.
			if !it.load(i) {
				return streamFailed
			}
			it.pos = n
			return streamStopped
		}
	}
	if n != len(offs)/4 {
		it.err = it.r.corrupt("entry table of block at %d does not match its entries", it.r.blocks[i].off)
		return streamFailed
	}
	if n > 0 {
		// On the block's last entry, kept alone: Key, Value and Next work
		// from here as after a load.
		it.ents = append(it.ents[:0], e)
		it.pos = 0
	}
	it.bi, it.allIn = i, true
	return streamDone
}

// Key is the current key.
func (it *Iter) Key() []byte { return it.ents[it.pos].key }

// Value is the current value (nil for a tombstone).
func (it *Iter) Value() []byte { return it.ents[it.pos].value }

// Tomb reports whether the current entry is a deletion.
func (it *Iter) Tomb() bool { return it.ents[it.pos].tomb }

// Err is the first error met.
func (it *Iter) Err() error { return it.err }

// ReadBuffers are the two buffers an iterator's bulk reads go into by
// turns: the latest read's bytes stay valid while the next read fills the
// other buffer. The iterators of one walk over consecutive segments (a run)
// share theirs (SetBuffers), so that a walk over a run allocates two
// buffers in all, not two per segment. The zero value is ready to use.
type ReadBuffers struct {
	b    [2][]byte
	last int // which of b holds the latest read
}

// next returns a buffer of n bytes for the next bulk read: the one the read
// before the latest used. hint is the iterator's usual read size, the
// capacity to allocate so that a slightly larger read later does not
// allocate again.
func (rb *ReadBuffers) next(n, hint int) []byte {
	i := 1 - rb.last
	rb.last = i
	b := rb.b[i]
	if cap(b) < n {
		recycle.Reuse(b) // dropped, but whoever still reads it must not read on
		c := n
		if 2*n >= hint {
			c = max(n, hint)
		}
		rb.b[i] = make([]byte, n, c)
		return rb.b[i]
	}
	recycle.Reuse(b)
	return b[:n]
}

// SetBuffers makes the iterator's bulk reads go into bufs, which the
// iterator the walk had on the previous segment used: the last entry it
// yielded stays valid while this one reads, as within one iterator. Call it
// before the first Next.
func (it *Iter) SetBuffers(bufs *ReadBuffers) { it.bufs = bufs }

// readahead returns block i for a scanning iterator: from the cache, from
// the last readahead, or by reading it and the blocks after it up to
// readaheadBytes (and not past the block holding the upper bound).
func (it *Iter) readahead(i int) ([]byte, error) {
	r := it.r
	if i < it.bulkFirst || i >= it.bulkEnd {
		if b, ok := r.cached(i); ok {
			return b, nil
		}
		last := len(r.blocks) - 1
		if it.upper != nil {
			last = min(r.findBlock(it.upper), last)
		}
		end, size := i+1, r.blocks[i].size
		for end <= last && size+r.blocks[end].size <= readaheadBytes {
			size += r.blocks[end].size
			end++
		}
		if err := it.bulkRead(i, end, size, readaheadBytes); err != nil {
			return nil, err
		}
	}
	b, err := it.bulkAt(i)
	if err == nil {
		// A copy: the read buffer is reused.
		r.cacheIfRoom(i, b)
	}
	return b, err
}

// bulkRead reads blocks [i, end), size bytes, into it.bulk: into the next
// of the iterator's read buffers when the reader can read into a buffer
// (hint: the usual read size), else into a fresh slice.
func (it *Iter) bulkRead(i, end, size, hint int) error {
	r := it.r
	var data []byte
	var err error
	if r.readInto != nil {
		if it.bufs == nil {
			it.bufs = new(ReadBuffers)
		}
		data = it.bufs.next(size, hint)
		err = r.readInto(r.blocks[i].off, data)
	} else {
		data, err = r.read(r.blocks[i].off, size)
	}
	if err != nil {
		return fmt.Errorf("read segment %s: %w", r.name, err)
	}
	if len(data) != size {
		return r.corrupt("short read of data blocks")
	}
	it.bulk, it.bulkFirst, it.bulkEnd = data, i, end
	return nil
}

// bulkAt verifies and returns block i of the last bulk read.
func (it *Iter) bulkAt(i int) ([]byte, error) {
	h := it.r.blocks[i]
	off := h.off - it.r.blocks[it.bulkFirst].off
	return it.r.verifyAt(it.bulk[off:off+int64(h.size)], "block", int64(h.off))
}

// bulkBlock returns block i, reading it and the blocks after it that fit in
// one chunk when it is not in the last bulk read.
func (it *Iter) bulkBlock(i int) ([]byte, error) {
	r := it.r
	if i < it.bulkFirst || i >= it.bulkEnd {
		end := i + 1
		size := r.blocks[i].size
		for end < len(r.blocks) && (it.chunk <= 0 || size+r.blocks[end].size <= it.chunk) {
			size += r.blocks[end].size
			end++
		}
		if err := it.bulkRead(i, end, size, it.chunk); err != nil {
			return nil, err
		}
	}
	return it.bulkAt(i)
}
