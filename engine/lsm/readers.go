package lsm

import (
	"sync"

	"minibase/engine/sstable"
)

// openReaders bounds what open segments hold in memory: each one's index
// and bloom filter (sstable.Reader.ResidentBytes), a few percent of its
// size. Without a bound a store read across all its keys would end up
// holding them for every segment, memory that grows with the data (tens of
// MB at a gigabyte) where the block cache does not. Past the limit the
// least recently read segments are closed by second chance, as the block
// cache evicts, and opened again on their next read (Pebble's table cache
// bounds open tables the same way).
//
// Closing only drops the segment's reference: a read or iterator that
// holds the reader goes on with it.
type openReaders struct {
	mu     sync.Mutex
	ring   []*segment // the open segments, the hand going round
	hand   int
	bytes  int64 // their ResidentBytes
	limit  int64
	closed int64 // segments closed to stay within limit
}

// add counts sg, just opened as r, and closes others while the open ones
// hold more than the limit. sg itself stays open.
func (o *openReaders) add(sg *segment, r *sstable.Reader) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if sg.held {
		return
	}
	sg.held, sg.heldBytes = true, r.ResidentBytes
	sg.used.Store(true)
	o.ring = append(o.ring, sg)
	o.bytes += sg.heldBytes
	// Two turns of the hand clear every flag; a reader setting flags
	// meanwhile cannot keep it going for ever.
	for turns := 2*len(o.ring) + 1; o.bytes > o.limit && len(o.ring) > 1 && turns > 0; turns-- {
		if o.hand >= len(o.ring) {
			o.hand = 0
		}
		c := o.ring[o.hand]
		if c == sg || c.used.Swap(false) {
			o.hand++
			continue
		}
		o.closeAt(o.hand)
		o.closed++
	}
}

// drop forgets sg, a segment the store no longer reads.
func (o *openReaders) drop(sg *segment) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !sg.held {
		return
	}
	for i, c := range o.ring {
		if c == sg {
			o.closeAt(i)
			return
		}
	}
}

// closeAt closes the segment at ring[i] and takes it out of the ring.
func (o *openReaders) closeAt(i int) {
	c := o.ring[i]
	c.r.Store(nil)
	c.held = false
	o.bytes -= c.heldBytes
	last := len(o.ring) - 1
	o.ring[i] = o.ring[last]
	o.ring[last] = nil
	o.ring = o.ring[:last]
}

// stats returns the bytes the open segments hold and how many were closed
// to stay within the limit.
func (o *openReaders) stats() (bytes, closed int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bytes, o.closed
}
