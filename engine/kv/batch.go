package kv

import "bytes"

// Op is one write in a Batch.
type Op struct {
	Key    []byte
	Value  []byte // nil for a delete
	Delete bool
}

// Batch is an ordered list of writes applied atomically. When a key appears
// more than once the last write wins.
//
// A batch copies what it is given into chunks of its own (up to 256 KiB) and keeps
// each write as offsets into them: a commit of hundreds of thousands of
// writes is a few dozen objects, not two per write, so the garbage
// collector has nothing to mark or scan in it and no write barrier fires
// while it grows (in wasm those were most of what a bulk insert cost).
// The bytes of a write never move once added, so Op's slices stay valid for
// the batch's life.
type Batch struct {
	chunks [][]byte
	refs   refList
	size   int
	sorted int // the first sorted writes are known to be in strictly ascending key order (AppendSorted)
}

// opRef is where one write's key and value are: pointer-free on purpose.
type opRef struct {
	chunk      uint32
	off        uint32
	klen, vlen uint32
	del        bool
}

// refList is the list of a batch's writes, in pages: a list that grew by
// append would copy itself whole each time it doubled, holding the old and
// the new copy at once (8 and 16 MB for a 100,000-row insert) and leaving
// the old one as garbage that wasm memory never gives back.
type refList struct {
	pages [][]opRef // every page full to refPage but the last; the first grows by append
	n     int
}

const refPageBits = 14

// refPage is how many writes a page holds (320 KiB of refs).
const refPage = 1 << refPageBits

func (l *refList) len() int           { return l.n }
func (l *refList) at(i int) opRef     { return l.pages[i>>refPageBits][i&(refPage-1)] }
func (l *refList) set(i int, r opRef) { l.pages[i>>refPageBits][i&(refPage-1)] = r }

func (l *refList) push(r opRef) {
	p := l.n >> refPageBits
	if p == len(l.pages) {
		c := 0
		if p > 0 {
			c = refPage
		}
		l.pages = append(l.pages, make([]opRef, 0, c))
	}
	l.pages[p] = append(l.pages[p], r)
	l.n++
}

// truncate drops the writes from n on.
func (l *refList) truncate(n int) {
	if n >= l.n {
		return
	}
	p := n >> refPageBits
	l.pages[p] = l.pages[p][:n&(refPage-1)]
	for i := p + 1; i < len(l.pages); i++ {
		l.pages[i] = nil
	}
	l.pages = l.pages[:p+1]
	if len(l.pages[p]) == 0 && p > 0 {
		l.pages = l.pages[:p]
	}
	l.n = n
}

// Arena chunks start small (most batches are a commit of a few writes) and
// double up to maxChunk; a larger write gets a chunk of its own.
const (
	minChunk = 256
	maxChunk = 256 << 10
)

// add copies key and value into the arena and returns where they went.
func (b *Batch) add(key, value []byte, del bool) opRef {
	n := len(key) + len(value)
	last := len(b.chunks) - 1
	if last < 0 || cap(b.chunks[last])-len(b.chunks[last]) < n {
		size := minChunk
		if last >= 0 {
			size = min(2*cap(b.chunks[last]), maxChunk)
		}
		b.chunks = append(b.chunks, make([]byte, 0, max(size, n)))
		last++
	}
	// The chunk has room: it is resliced in place (no pointer stored, so no
	// write barrier per write while a collection runs) and filled.
	off := len(b.chunks[last])
	b.chunks[last] = b.chunks[last][:off+n]
	c := b.chunks[last]
	copy(c[off:], key)
	copy(c[off+len(key):], value)
	b.size += n
	return opRef{chunk: uint32(last), off: uint32(off), klen: uint32(len(key)), vlen: uint32(len(value)), del: del}
}

// op materializes a reference; the slices point into the arena.
func (b *Batch) op(r opRef) Op {
	c := b.chunks[r.chunk]
	k := c[r.off : r.off+r.klen : r.off+r.klen]
	if r.del {
		return Op{Key: k, Delete: true}
	}
	end := r.off + r.klen + r.vlen
	return Op{Key: k, Value: c[r.off+r.klen : end : end]}
}

// Set adds key=value. The batch copies both.
func (b *Batch) Set(key, value []byte) { b.refs.push(b.add(key, value, false)) }

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) { b.refs.push(b.add(key, nil, true)) }

// Len is the number of writes.
func (b *Batch) Len() int { return b.refs.len() }

// Op returns write i, in the order added. Its slices point into the batch
// and must not be modified.
func (b *Batch) Op(i int) Op { return b.op(b.refs.at(i)) }

// Ops returns every write, in order (a slice built for the caller).
func (b *Batch) Ops() []Op {
	out := make([]Op, b.refs.len())
	for i := range out {
		out[i] = b.op(b.refs.at(i))
	}
	return out
}

// Size is the number of key and value bytes in the batch.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch for reuse. Slices returned by Op before it stay
// valid: the arena is dropped, not overwritten.
func (b *Batch) Reset() { b.chunks, b.refs, b.size, b.sorted = nil, refList{}, 0, 0 }

// Key returns the key of write i (Op(i).Key, without building the Op).
func (b *Batch) Key(i int) []byte {
	r := b.refs.at(i)
	return b.chunks[r.chunk][r.off : r.off+r.klen : r.off+r.klen]
}

// Value returns the value of write i, and false for a delete (Op(i)
// without building the Op).
func (b *Batch) Value(i int) ([]byte, bool) {
	r := b.refs.at(i)
	if r.del {
		return nil, false
	}
	end := r.off + r.klen + r.vlen
	return b.chunks[r.chunk][r.off+r.klen : end : end], true
}

// Mark is a position in a batch: Truncate drops the writes added after it.
type Mark struct{ refs, size, chunks, chunkLen int }

// Mark returns the batch's current position.
func (b *Batch) Mark() Mark {
	m := Mark{refs: b.refs.len(), size: b.size, chunks: len(b.chunks)}
	if m.chunks > 0 {
		m.chunkLen = len(b.chunks[m.chunks-1])
	}
	return m
}

// Truncate drops every write added after m, which must be a mark of b taken
// since its last Reset or Append.
func (b *Batch) Truncate(m Mark) {
	b.refs.truncate(m.refs)
	b.sorted = min(b.sorted, m.refs)
	clear(b.chunks[m.chunks:])
	b.chunks = b.chunks[:m.chunks]
	if m.chunks > 0 {
		b.chunks[m.chunks-1] = b.chunks[m.chunks-1][:m.chunkLen]
	}
	b.size = m.size
}

// AppendSorted is Append for an order that lists src's keys in strictly
// ascending order: when they all follow b's, b remembers it is sorted so
// far, and SortedOrder does not compare them again.
func (b *Batch) AppendSorted(src *Batch, order []int32) {
	extends := b.sorted == b.refs.len() && (b.refs.len() == 0 || len(order) == 0 ||
		bytes.Compare(b.Key(b.refs.len()-1), src.Key(int(order[0]))) < 0)
	b.Append(src, order)
	if extends {
		b.sorted = b.refs.len()
	}
}

// SortedOrder is SortedOrder over the batch's keys.
func (b *Batch) SortedOrder(lastOnly bool) []int32 {
	return sortedOrder(b.refs.len(), b.sorted, keySource{b: b}, lastOnly)
}

// Append adds src's writes at the given positions, in that order, taking
// over src's arena instead of copying it (src is left empty). A sorted
// commit is assembled this way from runs sorted apart.
func (b *Batch) Append(src *Batch, order []int32) {
	if b.refs.len() == 0 && len(b.chunks) == 0 && isIdentity(order, src.refs.len()) {
		// All of src in its own order: take it whole, refs included.
		*b = *src
		b.sorted = 0
		src.Reset()
		return
	}
	base := uint32(len(b.chunks))
	b.chunks = append(b.chunks, src.chunks...)
	for _, i := range order {
		r := src.refs.at(int(i))
		b.size += int(r.klen + r.vlen)
		r.chunk += base
		b.refs.push(r)
	}
	src.Reset()
}

// isIdentity reports whether order is 0, 1, ..., n-1.
func isIdentity(order []int32, n int) bool {
	if len(order) != n {
		return false
	}
	for i, o := range order {
		if int(o) != i {
			return false
		}
	}
	return true
}
