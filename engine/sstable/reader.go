package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"minibase/engine/cache"
	"minibase/engine/checksum"
	"minibase/engine/internal/keyhead"
	"minibase/engine/kv"
)

// ReadFunc reads n bytes at offset off of the segment file. The returned
// slice is the caller's to keep.
type ReadFunc func(off int64, n int) ([]byte, error)

// ReadIntoFunc fills dst with the len(dst) bytes at offset off of the
// segment file; dst is not retained. Scanning iterators read ahead through
// it into buffers they reuse (see Iter) where the backend can.
type ReadIntoFunc func(off int64, dst []byte) error

// blockHandle locates one data block; lastKey is its largest key.
type blockHandle struct {
	lastKey []byte
	h0, h1  uint64 // lastKey's heads (keyhead.Of)
	off     int64
	size    int // including the CRC
}

// Reader reads a segment file. The index and bloom filter stay in memory;
// data blocks go through the shared cache. It is safe for concurrent use.
type Reader struct {
	name   string
	id     uint64
	read   ReadFunc
	cache  *cache.Cache
	blocks []blockHandle
	bloom  []byte
	first  []byte

	// Entries, Tombstones and LiveBytes come from the footer.
	Entries    uint64
	Tombstones uint64
	LiveBytes  uint64
	// ResidentBytes is what the reader keeps in memory: index and filter.
	ResidentBytes int64

	tail int64 // bytes from the index to the end of the file

	readInto ReadIntoFunc // nil: bulk reads go through read
}

// SetReadInto gives the reader a way to read into a caller's buffer, which
// scanning iterators then use for their bulk reads instead of read. Call it
// before the reader is shared.
func (r *Reader) SetReadInto(f ReadIntoFunc) { r.readInto = f }

// TailBytes is the size of the segment's index, bloom filter and footer,
// which end the file: what OpenTail reads in one go.
func (r *Reader) TailBytes() int64 { return r.tail }

// Open reads and verifies the footer, index and bloom filter of the segment
// file name of size bytes. id names the file in the cache. Damage fails it
// with an error wrapping kv.ErrCorrupt that names the file.
func Open(name string, id uint64, size int64, read ReadFunc, c *cache.Cache) (*Reader, error) {
	return OpenTail(name, id, size, 0, read, c)
}

// OpenTail is Open reading the last tail bytes of the file in one read
// first: given the segment's TailBytes, the index, filter and footer come
// in one read instead of two (a backend that loads on demand misses once,
// not twice). A tail that is wrong costs a second read, never a wrong
// answer.
func OpenTail(name string, id uint64, size, tail int64, read ReadFunc, c *cache.Cache) (*Reader, error) {
	r := &Reader{name: name, id: id, read: read, cache: c}
	if size < FooterSize {
		return nil, r.corrupt("%d bytes is too short", size)
	}
	var end []byte // the last len(end) bytes of the file
	if tail >= FooterSize && tail <= size {
		b, err := read(size-tail, int(tail))
		if err != nil {
			return nil, fmt.Errorf("read segment %s: %w", name, err)
		}
		if int64(len(b)) == tail {
			end = b
		}
	}
	var footer []byte
	if end != nil {
		footer = end[len(end)-FooterSize:]
	} else {
		var err error
		if footer, err = read(size-FooterSize, FooterSize); err != nil {
			return nil, fmt.Errorf("read segment %s: %w", name, err)
		}
	}
	if len(footer) != FooterSize || string(footer[FooterSize-4:]) != footerEndMagic {
		return nil, r.corrupt("no footer (torn write?)")
	}
	if string(footer[:8]) != footerMagic {
		return nil, r.corrupt("bad magic")
	}
	crcAt := FooterSize - 8
	if checksum.Of(footer[:crcAt]) != binary.LittleEndian.Uint32(footer[crcAt:]) {
		return nil, r.corrupt("footer checksum mismatch")
	}
	le := binary.LittleEndian
	indexOff, indexLen := le.Uint64(footer[8:]), uint64(le.Uint32(footer[16:]))
	bloomOff, bloomLen := le.Uint64(footer[20:]), uint64(le.Uint32(footer[28:]))
	r.Entries, r.Tombstones, r.LiveBytes = le.Uint64(footer[32:]), le.Uint64(footer[40:]), le.Uint64(footer[48:])
	body := uint64(size - FooterSize)
	if indexLen < crcSize || bloomLen < crcSize || indexOff > body || indexLen > body-indexOff ||
		bloomOff != indexOff+indexLen || bloomLen != body-bloomOff {
		return nil, r.corrupt("footer locates blocks outside the file")
	}
	var meta []byte
	if from := int64(len(end)) - (size - int64(indexOff)); end != nil && from >= 0 {
		meta = end[from : from+int64(indexLen+bloomLen)]
	} else {
		var err error
		if meta, err = read(int64(indexOff), int(indexLen+bloomLen)); err != nil {
			return nil, fmt.Errorf("read segment %s: %w", name, err)
		}
	}
	r.tail = size - int64(indexOff)
	if len(meta) != int(indexLen+bloomLen) {
		return nil, r.corrupt("short read of index")
	}
	index, err := r.verify(meta[:indexLen], "index")
	if err != nil {
		return nil, err
	}
	if r.bloom, err = r.verify(meta[indexLen:], "bloom filter"); err != nil {
		return nil, err
	}
	if err := r.parseIndex(index, indexOff); err != nil {
		return nil, err
	}
	r.ResidentBytes = int64(len(meta)) + int64(len(r.blocks))*48
	return r, nil
}

func (r *Reader) corrupt(format string, args ...any) error {
	return fmt.Errorf("read segment %s: %s: %w", r.name, fmt.Sprintf(format, args...), kv.ErrCorrupt)
}

// verify checks the trailing CRC of b and returns the body before it.
func (r *Reader) verify(b []byte, what string) ([]byte, error) {
	return r.verifyAt(b, what, -1)
}

// verifyAt is verify for the block at offset at (at < 0: a block named by
// what alone). The message is built only on failure: blocks are verified on
// every cache miss of a scan.
func (r *Reader) verifyAt(b []byte, what string, at int64) ([]byte, error) {
	if len(b) >= crcSize {
		body := b[:len(b)-crcSize]
		if checksum.Of(body) == binary.LittleEndian.Uint32(b[len(body):]) {
			return body, nil
		}
	}
	if at >= 0 {
		what = fmt.Sprintf("%s at %d", what, at)
	}
	if len(b) < crcSize {
		return nil, r.corrupt("%s too short", what)
	}
	return nil, r.corrupt("%s checksum mismatch", what)
}

func (r *Reader) parseIndex(index []byte, dataEnd uint64) error {
	first, p, ok := lengthPrefixed(index, 0)
	if !ok {
		return r.corrupt("bad first key in index")
	}
	r.first = first
	var next uint64
	for p < len(index) {
		var h blockHandle
		h.lastKey, p, ok = lengthPrefixed(index, p)
		if !ok {
			return r.corrupt("bad key in index")
		}
		off, w := binary.Uvarint(index[p:])
		if w <= 0 {
			return r.corrupt("bad offset in index")
		}
		p += w
		size, w := binary.Uvarint(index[p:])
		if w <= 0 {
			return r.corrupt("bad size in index")
		}
		p += w
		// Blocks are contiguous from offset 0 up to the index.
		if off != next || size <= crcSize || size > dataEnd-off {
			return r.corrupt("index entry %d out of place", len(r.blocks))
		}
		if n := len(r.blocks); n > 0 && bytes.Compare(r.blocks[n-1].lastKey, h.lastKey) >= 0 {
			return r.corrupt("index keys out of order")
		}
		next = off + size
		h.off, h.size = int64(off), int(size)
		h.h0, h.h1 = keyhead.Of(h.lastKey)
		r.blocks = append(r.blocks, h)
	}
	if next != dataEnd {
		return r.corrupt("index does not cover the data")
	}
	if (len(r.blocks) == 0) != (r.Entries == 0) {
		return r.corrupt("index and footer disagree")
	}
	if len(r.blocks) > 0 && bytes.Compare(r.first, r.blocks[len(r.blocks)-1].lastKey) > 0 {
		return r.corrupt("first key after last key")
	}
	return nil
}

// Smallest and Largest are the file's key range; both nil for an empty file.
func (r *Reader) Smallest() []byte {
	if len(r.blocks) == 0 {
		return nil
	}
	return r.first
}

// Largest is the file's last key.
func (r *Reader) Largest() []byte {
	if len(r.blocks) == 0 {
		return nil
	}
	return r.blocks[len(r.blocks)-1].lastKey
}

// Name is the file's name.
func (r *Reader) Name() string { return r.name }

// block returns the verified entries of block i, through the cache.
func (r *Reader) block(i int) ([]byte, error) {
	b, _, err := r.blockHit(i)
	return b, err
}

// blockHit is block, also saying whether the block came from the cache.
func (r *Reader) blockHit(i int) ([]byte, bool, error) {
	if b, ok := r.cached(i); ok {
		return b, true, nil
	}
	h := r.blocks[i]
	raw, err := r.read(h.off, h.size)
	if err != nil {
		return nil, false, fmt.Errorf("read segment %s: %w", r.name, err)
	}
	if len(raw) != h.size {
		return nil, false, r.corrupt("short read of block at %d", h.off)
	}
	b, err := r.verifyAt(raw, "block", int64(h.off))
	if err != nil {
		return nil, false, err
	}
	r.cache.Add(cache.Key{File: r.id, Off: h.off}, b)
	return b, false, nil
}

// Prime adds copies of the data blocks of file, the bytes of this segment
// just written by this process, to the cache, up to budget bytes and only
// into free room (it evicts nothing), and returns how many it added. A run
// just flushed is what the next reads ask for; without this every first
// read of it would go back to storage for a block that was in memory a
// moment ago (RocksDB's prepopulate_block_cache). Filling only free room
// keeps a sustained load from churning the cache (and the collector) with
// copies no one reads. The blocks are not verified again: they never left
// memory.
func (r *Reader) Prime(file []byte, budget int64) int64 {
	var added int64
	for _, h := range r.blocks {
		n := int64(h.size - crcSize)
		if added+n > budget || h.size < crcSize || h.off+int64(h.size) > int64(len(file)) || !r.cache.Room(n) {
			break
		}
		r.cache.Add(cache.Key{File: r.id, Off: h.off}, append([]byte(nil), file[h.off:h.off+n]...))
		added += n
	}
	return added
}

// Warm reads the data blocks the cache lacks into its free room, in file
// order, readaheadBytes at a time into bufs, up to budget bytes, verifying
// each as a read would; it stops at the first block that would evict
// something (with loan set: that would drop something, the cache keeping
// what it evicts in its loan, cache.Cache.Spare), and returns how many
// bytes it added. It is Prime for a segment whose bytes are no longer in
// memory: the blocks of a load too large to copy into the cache while the
// load's garbage filled the heap.
func (r *Reader) Warm(bufs *ReadBuffers, budget int64, loan bool) (int64, error) {
	it := &Iter{r: r, bufs: bufs}
	var added int64
	for i, h := range r.blocks {
		n := int64(h.size - crcSize)
		room := r.cache.Room(n) // else readahead keeps no copy: one that evicts is added here
		if added+n > budget || !(room || loan && r.cache.Spare(n)) {
			break
		}
		if _, ok := r.cached(i); ok {
			continue
		}
		b, err := it.readahead(i)
		if err != nil {
			return added, err
		}
		if !room {
			r.cache.Add(cache.Key{File: r.id, Off: h.off}, append([]byte(nil), b...))
		}
		added += n
	}
	return added, nil
}

// cached returns block i when the cache holds it.
func (r *Reader) cached(i int) ([]byte, bool) {
	return r.cache.Get(cache.Key{File: r.id, Off: r.blocks[i].off})
}

// cacheIfRoom adds a copy of verified block i (b may share a larger read)
// to the cache when that evicts nothing.
func (r *Reader) cacheIfRoom(i int, b []byte) {
	k := cache.Key{File: r.id, Off: r.blocks[i].off}
	if r.cache.Room(int64(len(b))) {
		r.cache.Add(k, append([]byte(nil), b...))
	}
}

// entry is one decoded entry; key and value point into a block.
type entry struct {
	key, value []byte
	tomb       bool
}

// decodeEntry reads the entry at b[p:] and returns the offset after it.
// Keys and values under 128 bytes (one-byte lengths) are read inline: it
// runs once per entry of every block a scan loads.
func decodeEntry(b []byte, p int) (entry, int, bool) {
	var e entry
	if p < len(b) && b[p] < 0x80 {
		n := int(b[p])
		if p+1+n > len(b) {
			return e, 0, false
		}
		e.key, p = b[p+1:p+1+n:p+1+n], p+1+n
	} else {
		var ok bool
		if e.key, p, ok = lengthPrefixed(b, p); !ok {
			return e, 0, false
		}
	}
	var tag uint64
	if p < len(b) && b[p] < 0x80 {
		tag, p = uint64(b[p]), p+1
	} else {
		t, w := binary.Uvarint(b[p:])
		if w <= 0 {
			return e, 0, false
		}
		tag, p = t, p+w
	}
	if tag == 0 {
		e.tomb = true
		return e, p, true
	}
	if tag-1 > uint64(len(b)-p) {
		return e, 0, false
	}
	e.value = b[p : p+int(tag-1) : p+int(tag-1)]
	return e, p + int(tag-1), true
}

// decodeEntries appends the entries of a block's entry bytes b to dst. The
// commonest entry, a key and a value of under 128 bytes each, decodes
// inline: a call to decodeEntry per entry was a third of a filtered scan's
// time under wasm.
func decodeEntries(dst []entry, b []byte) ([]entry, bool) {
	for p := 0; p < len(b); {
		if q := p + 1 + int(b[p]); b[p] < 0x80 && q < len(b) && b[q] < 0x80 && int(b[q]) <= len(b)-q {
			e := entry{key: b[p+1 : q : q]}
			if tag := int(b[q]); tag == 0 {
				e.tomb, p = true, q+1
			} else {
				e.value, p = b[q+1:q+tag:q+tag], q+tag
			}
			dst = append(dst, e)
			continue
		}
		e, next, ok := decodeEntry(b, p)
		if !ok {
			return dst, false
		}
		dst, p = append(dst, e), next
	}
	return dst, true
}

// findBlock is the first block whose last key is >= key (len when none).
func (r *Reader) findBlock(key []byte) int {
	// sort.Search's closure is a call per step under wasm: the search
	// inline, on the heads.
	k0, k1 := keyhead.Of(key)
	lo, hi := 0, len(r.blocks)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		b := &r.blocks[mid]
		var less bool // b.lastKey < key
		switch {
		case b.h0 != k0:
			less = b.h0 < k0
		case b.h1 != k1:
			less = b.h1 < k1
		default:
			less = keyhead.CompareTail(b.lastKey, key) < 0
		}
		if less {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Get looks key up: found reports whether the file has an entry for it, tomb
// whether that entry is a deletion.
func (r *Reader) Get(key []byte) (value []byte, tomb, found bool, err error) {
	return r.GetHashed(key, Hash(key))
}

// GetHashed is Get for a key whose Hash the caller computed once for
// several files.
func (r *Reader) GetHashed(key []byte, h uint64) (value []byte, tomb, found bool, err error) {
	if len(r.blocks) == 0 || !mayContain(r.bloom, h) {
		return nil, false, false, nil
	}
	i := r.findBlock(key)
	if i == len(r.blocks) {
		return nil, false, false, nil
	}
	b, err := r.block(i)
	if err != nil {
		return nil, false, false, err
	}
	entries, offs, ok := splitBlock(b)
	if !ok {
		return nil, false, false, r.corrupt("bad entry table in block at %d", r.blocks[i].off)
	}
	// Binary search for the first entry whose key is >= key, on the keys'
	// integer heads (keyhead) inline where both have 16 bytes or more, as
	// an engine key nearly always does: bytes.Compare is a chain of calls
	// into a byte loop under wasm, and every key of a block shares the
	// table's prefix.
	k0, k1 := keyhead.Of(key)
	lo, hi := 0, len(offs)/4
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		p := int(binary.LittleEndian.Uint32(offs[4*mid:]))
		var k []byte
		if p < len(entries) && entries[p] < 0x80 && p+1+int(entries[p]) <= len(entries) {
			k = entries[p+1 : p+1+int(entries[p])] // a key under 128 bytes, inline
		} else if k, _, ok = lengthPrefixed(entries, p); !ok {
			return nil, false, false, r.corrupt("bad entry in block at %d", r.blocks[i].off)
		}
		var less bool
		if len(k) >= 16 && len(key) >= 16 {
			e0, e1 := binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:])
			switch {
			case e0 != k0:
				less = e0 < k0
			case e1 != k1:
				less = e1 < k1
			default:
				less = bytes.Compare(k[16:], key[16:]) < 0
			}
		} else {
			less = bytes.Compare(k, key) < 0
		}
		if less {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(offs)/4 {
		return nil, false, false, nil
	}
	e, _, ok := decodeEntry(entries, int(binary.LittleEndian.Uint32(offs[4*lo:])))
	if !ok {
		return nil, false, false, r.corrupt("bad entry in block at %d", r.blocks[i].off)
	}
	if !bytes.Equal(e.key, key) {
		return nil, false, false, nil
	}
	return e.value, e.tomb, true, nil
}

// splitBlock separates a verified block into its entries and its table of
// entry offsets (u32 each).
func splitBlock(b []byte) (entries, offsets []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if n*4 > uint64(len(b)-4) {
		return nil, nil, false
	}
	end := len(b) - 4 - int(n)*4
	return b[:end], b[end : len(b)-4], true
}

// lengthPrefixed reads a uvarint length and that many bytes at b[p:].
func lengthPrefixed(b []byte, p int) ([]byte, int, bool) {
	if p > len(b) {
		return nil, 0, false
	}
	l, w := binary.Uvarint(b[p:])
	if w <= 0 {
		return nil, 0, false
	}
	p += w
	if l > uint64(len(b)-p) {
		return nil, 0, false
	}
	return b[p : p+int(l) : p+int(l)], p + int(l), true
}

// Verify reads every data block past the cache and checks the whole file:
// each block's checksum and entries, keys strictly ascending within and
// across blocks, each block's last key as the index says, the first key as
// the index says, and the entry and tombstone counts of the footer. Damage
// is an error wrapping kv.ErrCorrupt. Tests run it after every store test;
// it is also what a full integrity check of a store reads.
func (r *Reader) Verify() error {
	it := r.NewScanIter(1 << 20)
	var prev []byte
	var n, tombs uint64
	bi := -1
	for it.Next() {
		k := it.Key()
		if n == 0 && !bytes.Equal(k, r.first) {
			return r.corrupt("first key is not the index's")
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return r.corrupt("keys out of order at entry %d", n)
		}
		if it.bi != bi {
			if bi >= 0 && !bytes.Equal(prev, r.blocks[bi].lastKey) {
				return r.corrupt("block %d ends at another key than the index says", bi)
			}
			bi = it.bi
		}
		prev = append(prev[:0], k...)
		n++
		if it.Tomb() {
			tombs++
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if bi >= 0 && !bytes.Equal(prev, r.blocks[bi].lastKey) {
		return r.corrupt("last block ends at another key than the index says")
	}
	if n != r.Entries || tombs != r.Tombstones {
		return r.corrupt("%d entries and %d tombstones, the footer says %d and %d", n, tombs, r.Entries, r.Tombstones)
	}
	return nil
}
