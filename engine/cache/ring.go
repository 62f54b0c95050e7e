package cache

// RingChunk is the size of the chunks a loan is kept in (Cache.SetLoan):
// large enough to be let go as whole spans of pages, small enough for a
// loan of a few megabytes to be a few of them.
const RingChunk = 1 << 20

// ring holds blocks a cache evicted, copied into its chunks one after the
// other; when the chunk being written is full, the next one (cyclically)
// is replaced by a new one, dropping every block it held. A block is handed
// out as a slice of its chunk, so a chunk is never written over: one a
// caller still reads from is collected once it is done with it.
type ring struct {
	chunks [][]byte // RingChunk bytes each, allocated when first written
	held   [][]Key  // the blocks written into each chunk, some since taken
	at     int      // the chunk being written
	pos    int      // where in it
	items  map[Key]slot
	bytes  int64
}

// slot is where a block is in the ring.
type slot struct {
	chunk, off, n int32
}

func newRing(chunks int) *ring {
	return &ring{chunks: make([][]byte, chunks), held: make([][]Key, chunks), items: map[Key]slot{}}
}

// keep copies data in, under k. A block larger than a chunk is not kept.
func (r *ring) keep(k Key, data []byte) {
	if len(data) > RingChunk {
		return
	}
	r.drop(k)
	if r.pos+len(data) > RingChunk {
		r.at = (r.at + 1) % len(r.chunks)
		r.pos = 0
		for _, old := range r.held[r.at] {
			if s, ok := r.items[old]; ok && int(s.chunk) == r.at {
				r.drop(old)
			}
		}
		r.held[r.at] = r.held[r.at][:0]
		r.chunks[r.at] = nil
	}
	if r.chunks[r.at] == nil {
		r.chunks[r.at] = make([]byte, RingChunk)
	}
	copy(r.chunks[r.at][r.pos:], data)
	r.items[k] = slot{chunk: int32(r.at), off: int32(r.pos), n: int32(len(data))}
	r.held[r.at] = append(r.held[r.at], k)
	r.pos += len(data)
	r.bytes += int64(len(data))
}

// get returns the block under k, a slice of its chunk.
func (r *ring) get(k Key) ([]byte, bool) {
	s, ok := r.items[k]
	if !ok {
		return nil, false
	}
	end := s.off + s.n
	return r.chunks[s.chunk][s.off:end:end], true
}

func (r *ring) drop(k Key) {
	if s, ok := r.items[k]; ok {
		delete(r.items, k)
		r.bytes -= int64(s.n)
	}
}

// evict drops every block of file.
func (r *ring) evict(file uint64) {
	for k := range r.items {
		if k.File == file {
			r.drop(k)
		}
	}
}
