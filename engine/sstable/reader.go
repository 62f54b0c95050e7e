package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"minibase/engine/checksum"
	"sort"

	"minibase/engine/cache"
	"minibase/engine/kv"
)

// ReadFunc reads n bytes at offset off of the segment file. The returned
// slice is the caller's to keep.
type ReadFunc func(off int64, n int) ([]byte, error)

// blockHandle locates one data block; lastKey is its largest key.
type blockHandle struct {
	lastKey []byte
	off     int64
	size    int // including the CRC
}

// extent locates an index or filter partition (size includes the CRC).
type extent struct {
	off  int64
	size int
}

// partition is a top-level index entry of a version 2 file: the data
// blocks [first, first+count) at [dataOff, dataEnd), with their index and
// filter partitions.
type partition struct {
	lastKey          []byte
	first, count     int
	dataOff, dataEnd int64
	index, filter    extent
}

// partitionBytes is about what a partition's entry in memory costs beyond
// its bytes in the file.
const partitionBytes = 96

// Reader reads a segment file. A version 2 file's top-level index stays in
// memory and its index and filter partitions go through the shared cache
// with the data blocks; a version 1 file's whole index and bloom filter stay
// in memory. It is safe for concurrent use.
type Reader struct {
	name    string
	id      uint64
	read    ReadFunc
	cache   *cache.Cache
	v2      bool
	blocks  []blockHandle // version 1: every data block
	bloom   []byte        // version 1
	parts   []partition   // version 2
	nblocks int
	first   []byte
	last    []byte

	// Entries, Tombstones and LiveBytes come from the footer.
	Entries    uint64
	Tombstones uint64
	LiveBytes  uint64
	// ResidentBytes is what the reader keeps in memory: the top-level
	// index (version 2), or the whole index and filter (version 1).
	ResidentBytes int64

	tail int64 // bytes from the (top-level) index to the end of the file
}

// TailBytes is the size of the segment's top-level index and footer (of a
// version 1 file: index, bloom filter and footer), which end the file: what
// OpenTail reads in one go.
func (r *Reader) TailBytes() int64 { return r.tail }

// Open reads and verifies the footer and the index resident in memory of
// the segment file name of size bytes. id names the file in the cache.
// Damage fails it with an error wrapping kv.ErrCorrupt that names the file.
func Open(name string, id uint64, size int64, read ReadFunc, c *cache.Cache) (*Reader, error) {
	return OpenTail(name, id, size, 0, read, c)
}

// OpenTail is Open reading the last tail bytes of the file in one read
// first: given the segment's TailBytes, the resident index and the footer
// come in one read instead of two (a backend that loads on demand misses
// once, not twice). A tail that is wrong costs a second read, never a wrong
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
	switch string(footer[:8]) {
	case footerMagic:
		r.v2 = true
	case footerMagicV1:
	default:
		return nil, r.corrupt("bad magic")
	}
	crcAt := FooterSize - 8
	if checksum.Of(footer[:crcAt]) != binary.LittleEndian.Uint32(footer[crcAt:]) {
		return nil, r.corrupt("footer checksum mismatch")
	}
	le := binary.LittleEndian
	// Version 1: index and bloom filter. Version 2: top-level index and
	// partitions, in the other order.
	aOff, aLen := le.Uint64(footer[8:]), uint64(le.Uint32(footer[16:]))
	bOff, bLen := le.Uint64(footer[20:]), uint64(le.Uint32(footer[28:]))
	r.Entries, r.Tombstones, r.LiveBytes = le.Uint64(footer[32:]), le.Uint64(footer[40:]), le.Uint64(footer[48:])
	body := uint64(size - FooterSize)
	if r.v2 {
		if aLen < crcSize || aOff > body || aLen != body-aOff || bOff > aOff || bLen != aOff-bOff {
			return nil, r.corrupt("footer locates blocks outside the file")
		}
	} else if aLen < crcSize || bLen < crcSize || aOff > body || aLen > body-aOff ||
		bOff != aOff+aLen || bLen != body-bOff {
		return nil, r.corrupt("footer locates blocks outside the file")
	}
	metaLen := aLen // what is read at aOff and kept
	if !r.v2 {
		metaLen += bLen
	}
	var meta []byte
	if from := int64(len(end)) - (size - int64(aOff)); end != nil && from >= 0 {
		meta = end[from : from+int64(metaLen)]
	} else {
		var err error
		if meta, err = read(int64(aOff), int(metaLen)); err != nil {
			return nil, fmt.Errorf("read segment %s: %w", name, err)
		}
	}
	r.tail = size - int64(aOff)
	if len(meta) != int(metaLen) {
		return nil, r.corrupt("short read of index")
	}
	if r.v2 {
		// Copied: a tail read longer than the top-level index must not
		// stay alive for its sake.
		top, err := r.verify(bytes.Clone(meta), "top-level index")
		if err != nil {
			return nil, err
		}
		if err := r.parseTop(top, int64(bOff), int64(aOff)); err != nil {
			return nil, err
		}
		r.ResidentBytes = int64(len(meta)) + int64(len(r.parts))*partitionBytes
		return r, nil
	}
	index, err := r.verify(meta[:aLen], "index")
	if err != nil {
		return nil, err
	}
	if r.bloom, err = r.verify(meta[aLen:], "bloom filter"); err != nil {
		return nil, err
	}
	if err := r.parseIndex(index, aOff); err != nil {
		return nil, err
	}
	r.nblocks = len(r.blocks)
	if n := len(r.blocks); n > 0 {
		r.last = r.blocks[n-1].lastKey
	}
	r.ResidentBytes = int64(len(meta)) + int64(len(r.blocks))*40
	return r, nil
}

// parseTop reads a version 2 top-level index; the data blocks end at
// dataEnd, where the partitions start, which end at metaEnd.
func (r *Reader) parseTop(top []byte, dataEnd, metaEnd int64) error {
	first, p, ok := lengthPrefixed(top, 0)
	if !ok {
		return r.corrupt("bad first key in top-level index")
	}
	r.first = first
	var vals [6]uint64
	for p < len(top) {
		var pt partition
		if pt.lastKey, p, ok = lengthPrefixed(top, p); !ok {
			return r.corrupt("bad key in top-level index")
		}
		for i := range vals {
			v, w := binary.Uvarint(top[p:])
			if w <= 0 {
				return r.corrupt("bad top-level index entry %d", len(r.parts))
			}
			vals[i], p = v, p+w
		}
		blocks, dataOff := vals[0], vals[1]
		iOff, iLen, fOff, fLen := vals[2], vals[3], vals[4], vals[5]
		meta := func(off, n uint64) bool {
			return off >= uint64(dataEnd) && off <= uint64(metaEnd) && n > crcSize && n <= uint64(metaEnd)-off
		}
		// Partitions cover the data blocks in order, from offset 0; each
		// data block is at least one byte, and the checks keep every
		// number far from overflowing.
		want := int64(0)
		if n := len(r.parts); n > 0 {
			want = r.parts[n-1].dataOff
		}
		if blocks == 0 || blocks > uint64(dataEnd) || dataOff >= uint64(dataEnd) ||
			(len(r.parts) == 0) != (dataOff == 0) || len(r.parts) > 0 && int64(dataOff) <= want ||
			!meta(iOff, iLen) || !meta(fOff, fLen) {
			return r.corrupt("top-level index entry %d out of place", len(r.parts))
		}
		if n := len(r.parts); n > 0 {
			if bytes.Compare(r.parts[n-1].lastKey, pt.lastKey) >= 0 {
				return r.corrupt("top-level index keys out of order")
			}
			r.parts[n-1].dataEnd = int64(dataOff)
		}
		pt.first, pt.count = r.nblocks, int(blocks)
		pt.dataOff = int64(dataOff)
		pt.index, pt.filter = extent{int64(iOff), int(iLen)}, extent{int64(fOff), int(fLen)}
		r.nblocks += int(blocks)
		if r.nblocks > int(dataEnd) {
			return r.corrupt("top-level index counts more blocks than bytes")
		}
		r.parts = append(r.parts, pt)
	}
	if n := len(r.parts); n > 0 {
		r.parts[n-1].dataEnd = dataEnd
		r.last = r.parts[n-1].lastKey
	} else if dataEnd != 0 {
		return r.corrupt("top-level index does not cover the data")
	}
	if (len(r.parts) == 0) != (r.Entries == 0) {
		return r.corrupt("index and footer disagree")
	}
	if len(r.parts) > 0 && bytes.Compare(r.first, r.last) > 0 {
		return r.corrupt("first key after last key")
	}
	return nil
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
	if r.nblocks == 0 {
		return nil
	}
	return r.first
}

// Largest is the file's last key.
func (r *Reader) Largest() []byte {
	if r.nblocks == 0 {
		return nil
	}
	return r.last
}

// Name is the file's name.
func (r *Reader) Name() string { return r.name }

// partRef holds the last index partition a caller used, so that walking
// the blocks of one partition looks it up once. bypass reads partitions
// past the cache (scans).
type partRef struct {
	p      int
	b      []byte // the verified partition; nil when none is held
	bypass bool
}

// handle returns the handle of data block i.
func (r *Reader) handle(i int, ref *partRef) (blockHandle, error) {
	if !r.v2 {
		return r.blocks[i], nil
	}
	if ref.b == nil || i < r.parts[ref.p].first || i >= r.parts[ref.p].first+r.parts[ref.p].count {
		p := sort.Search(len(r.parts), func(q int) bool { return r.parts[q].first+r.parts[q].count > i })
		if err := r.holdPart(p, ref); err != nil {
			return blockHandle{}, err
		}
	}
	return r.handleAt(ref.p, ref.b, i-r.parts[ref.p].first)
}

// holdPart makes ref hold index partition p.
func (r *Reader) holdPart(p int, ref *partRef) error {
	if ref.b != nil && ref.p == p {
		return nil
	}
	b, err := r.indexPart(p, ref.bypass)
	if err != nil {
		return err
	}
	ref.p, ref.b = p, b
	return nil
}

// handleAt decodes entry j of index partition p (b, checked by
// checkIndexPart).
func (r *Reader) handleAt(p int, b []byte, j int) (blockHandle, error) {
	entries, offs, _ := splitBlock(b)
	e, _, ok := decodeEntry(entries, int(binary.LittleEndian.Uint32(offs[4*j:])))
	off, w := binary.Uvarint(e.value)
	size, w2 := uint64(0), 0
	if ok && w > 0 {
		size, w2 = binary.Uvarint(e.value[w:])
	}
	if !ok || w <= 0 || w2 <= 0 {
		return blockHandle{}, r.corrupt("bad entry in index partition at %d", r.parts[p].index.off)
	}
	return blockHandle{lastKey: e.key, off: int64(off), size: int(size)}, nil
}

// indexPart returns the verified and checked index partition p, through
// the cache unless bypass.
func (r *Reader) indexPart(p int, bypass bool) ([]byte, error) {
	return r.metaBlock(r.parts[p].index, "index partition", p, bypass)
}

// filterPart returns the verified filter partition p through the cache.
func (r *Reader) filterPart(p int) ([]byte, error) {
	return r.metaBlock(r.parts[p].filter, "filter partition", -1, false)
}

// metaBlock reads the index (p >= 0: of partition p, checked) or filter
// partition at e. They go into the cache at high priority: every lookup in
// their range needs them again, where a data block serves only its keys.
func (r *Reader) metaBlock(e extent, what string, p int, bypass bool) ([]byte, error) {
	k := cache.Key{File: r.id, Off: e.off}
	if !bypass {
		if b, ok := r.cache.Get(k); ok {
			return b, nil
		}
	}
	raw, err := r.read(e.off, e.size)
	if err != nil {
		return nil, fmt.Errorf("read segment %s: %w", r.name, err)
	}
	if len(raw) != e.size {
		return nil, r.corrupt("short read of %s at %d", what, e.off)
	}
	b, err := r.verifyAt(raw, what, e.off)
	if err != nil {
		return nil, err
	}
	if p >= 0 {
		if err := r.checkIndexPart(p, b); err != nil {
			return nil, err
		}
	}
	if !bypass {
		r.cache.AddHigh(k, b)
	}
	return b, nil
}

// checkIndexPart checks index partition p once, when it is read, so that
// lookups in it need not: its entry table matches its entries, which are
// the handles of its data blocks in order, contiguous over the partition's
// data, ending with the top-level index's last key.
func (r *Reader) checkIndexPart(p int, b []byte) error {
	pt := &r.parts[p]
	bad := func(what string) error {
		return r.corrupt("index partition at %d: %s", pt.index.off, what)
	}
	entries, offs, ok := splitBlock(b)
	if !ok || len(offs)/4 != pt.count {
		return bad("wrong number of entries")
	}
	next := pt.dataOff
	var prev []byte
	q := 0
	for j := 0; j < pt.count; j++ {
		if int(binary.LittleEndian.Uint32(offs[4*j:])) != q {
			return bad("entry table does not match its entries")
		}
		e, n, ok := decodeEntry(entries, q)
		if !ok || e.tomb {
			return bad("bad entry")
		}
		off, w := binary.Uvarint(e.value)
		if w <= 0 {
			return bad("bad offset")
		}
		size, w2 := binary.Uvarint(e.value[w:])
		if w2 <= 0 || w+w2 != len(e.value) {
			return bad("bad size")
		}
		if off != uint64(next) || size <= crcSize || size > uint64(pt.dataEnd-next) {
			return bad(fmt.Sprintf("entry %d out of place", j))
		}
		if prev != nil && bytes.Compare(prev, e.key) >= 0 {
			return bad("keys out of order")
		}
		if p == 0 && j == 0 && bytes.Compare(r.first, e.key) > 0 {
			return bad("first key after the first block's last key")
		}
		if p > 0 && j == 0 && bytes.Compare(r.parts[p-1].lastKey, e.key) >= 0 {
			return bad("keys out of order with the partition before")
		}
		prev, next, q = e.key, next+int64(size), n
	}
	if q != len(entries) {
		return bad("bytes after the last entry")
	}
	if next != pt.dataEnd || !bytes.Equal(prev, pt.lastKey) {
		return bad("does not match the top-level index")
	}
	return nil
}

// blockHit returns the verified entries of the data block h locates, through
// the cache, also saying whether it came from the cache.
func (r *Reader) blockHit(h blockHandle) ([]byte, bool, error) {
	if b, ok := r.cached(h); ok {
		return b, true, nil
	}
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

// Prime adds copies of the index and filter partitions, then the data
// blocks, of file, the bytes of this segment just written by this process,
// to the cache, up to budget bytes and only into free room (it evicts
// nothing), and returns how many bytes it added. A run just flushed is what
// the next reads ask for; without this every first read of it would go
// back to storage for a block that was in memory a moment ago (RocksDB's
// prepopulate_block_cache). Filling only free room keeps a sustained load
// from churning the cache (and the collector) with copies no one reads.
// The blocks' checksums are not verified again: they never left memory.
func (r *Reader) Prime(file []byte, budget int64) int64 {
	var added int64
	add := func(off int64, size int, high bool, check func([]byte) error) bool {
		n := int64(size - crcSize)
		if added+n > budget || size < crcSize || off+int64(size) > int64(len(file)) || !r.cache.Room(n) {
			return false
		}
		b := append([]byte(nil), file[off:off+n]...)
		if check != nil && check(b) != nil {
			return false // not the file this reader opened
		}
		if high {
			r.cache.AddHigh(cache.Key{File: r.id, Off: off}, b)
		} else {
			r.cache.Add(cache.Key{File: r.id, Off: off}, b)
		}
		added += n
		return true
	}
	if !r.v2 {
		for _, h := range r.blocks {
			if !add(h.off, h.size, false, nil) {
				break
			}
		}
		return added
	}
	for p, pt := range r.parts {
		// Index partitions are checked as when read: lookups trust them.
		check := func(b []byte) error { return r.checkIndexPart(p, b) }
		if !add(pt.filter.off, pt.filter.size, true, nil) || !add(pt.index.off, pt.index.size, true, check) {
			return added
		}
	}
	var ref partRef
	for i := 0; i < r.nblocks; i++ {
		h, err := r.handle(i, &ref)
		if err != nil || !add(h.off, h.size, false, nil) {
			break
		}
	}
	return added
}

// cached returns the data block h locates when the cache holds it.
func (r *Reader) cached(h blockHandle) ([]byte, bool) {
	return r.cache.Get(cache.Key{File: r.id, Off: h.off})
}

// cacheIfRoom adds a copy of the verified data block h locates (b may
// share a larger read) to the cache when that evicts nothing.
func (r *Reader) cacheIfRoom(h blockHandle, b []byte) {
	if r.cache.Room(int64(len(b))) {
		r.cache.Add(cache.Key{File: r.id, Off: h.off}, append([]byte(nil), b...))
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

// findBlock is the first block whose last key is >= key (nblocks when
// none); ref holds the index partition it searched.
func (r *Reader) findBlock(key []byte, ref *partRef) (int, error) {
	if !r.v2 {
		return sort.Search(len(r.blocks), func(i int) bool { return bytes.Compare(r.blocks[i].lastKey, key) >= 0 }), nil
	}
	p := r.findPart(key)
	if p == len(r.parts) {
		return r.nblocks, nil
	}
	if err := r.holdPart(p, ref); err != nil {
		return 0, err
	}
	j, err := r.searchPart(p, ref.b, key)
	return r.parts[p].first + j, err
}

// findPart is the first partition whose last key is >= key.
func (r *Reader) findPart(key []byte) int {
	return sort.Search(len(r.parts), func(q int) bool { return bytes.Compare(r.parts[q].lastKey, key) >= 0 })
}

// searchPart binary-searches the bytes of index partition p (b) for the
// first block whose last key is >= key, which the top-level index says is
// in it.
func (r *Reader) searchPart(p int, b []byte, key []byte) (int, error) {
	entries, offs, _ := splitBlock(b)
	lo, hi := 0, len(offs)/4
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, _, ok := lengthPrefixed(entries, int(binary.LittleEndian.Uint32(offs[4*mid:])))
		if !ok {
			return 0, r.corrupt("bad entry in index partition at %d", r.parts[p].index.off)
		}
		if bytes.Compare(k, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return min(lo, len(offs)/4-1), nil
}

// Get looks key up: found reports whether the file has an entry for it, tomb
// whether that entry is a deletion.
func (r *Reader) Get(key []byte) (value []byte, tomb, found bool, err error) {
	return r.GetHashed(key, Hash(key))
}

// GetHashed is Get for a key whose Hash the caller computed once for
// several files.
func (r *Reader) GetHashed(key []byte, h uint64) (value []byte, tomb, found bool, err error) {
	var bh blockHandle
	if r.v2 {
		p := r.findPart(key)
		if p == len(r.parts) {
			return nil, false, false, nil
		}
		f, err := r.filterPart(p)
		if err != nil {
			// The index partition too, though the answer is an error: a
			// backend that loads what reads miss and runs the call again
			// then loads both at once, one round trip instead of two.
			_, _ = r.indexPart(p, false)
			return nil, false, false, err
		}
		if !mayContain(f, h) {
			return nil, false, false, nil
		}
		ib, err := r.indexPart(p, false)
		if err != nil {
			return nil, false, false, err
		}
		j, err := r.searchPart(p, ib, key)
		if err != nil {
			return nil, false, false, err
		}
		if bh, err = r.handleAt(p, ib, j); err != nil {
			return nil, false, false, err
		}
	} else {
		if len(r.blocks) == 0 || !mayContain(r.bloom, h) {
			return nil, false, false, nil
		}
		i, _ := r.findBlock(key, nil)
		if i == len(r.blocks) {
			return nil, false, false, nil
		}
		bh = r.blocks[i]
	}
	b, _, err := r.blockHit(bh)
	if err != nil {
		return nil, false, false, err
	}
	entries, offs, ok := splitBlock(b)
	if !ok {
		return nil, false, false, r.corrupt("bad entry table in block at %d", bh.off)
	}
	// Binary search for the first entry whose key is >= key.
	lo, hi := 0, len(offs)/4
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, _, ok := lengthPrefixed(entries, int(binary.LittleEndian.Uint32(offs[4*mid:])))
		if !ok {
			return nil, false, false, r.corrupt("bad entry in block at %d", bh.off)
		}
		if bytes.Compare(k, key) < 0 {
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
		return nil, false, false, r.corrupt("bad entry in block at %d", bh.off)
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
// the index says, every key in its filter, and the entry and tombstone
// counts of the footer. Damage is an error wrapping kv.ErrCorrupt. Tests
// run it after every store test; it is also what a full integrity check of
// a store reads.
func (r *Reader) Verify() error {
	it := r.NewScanIter(1 << 20)
	var prev []byte
	var n, tombs uint64
	bi := -1
	var ref partRef
	ref.bypass = true
	lastOf := func(i int) ([]byte, error) {
		h, err := r.handle(i, &ref)
		return h.lastKey, err
	}
	var filter []byte
	fp := -1
	for it.Next() {
		k := it.Key()
		if n == 0 && !bytes.Equal(k, r.first) {
			return r.corrupt("first key is not the index's")
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return r.corrupt("keys out of order at entry %d", n)
		}
		if it.bi != bi {
			if bi >= 0 {
				last, err := lastOf(bi)
				if err != nil {
					return err
				}
				if !bytes.Equal(prev, last) {
					return r.corrupt("block %d ends at another key than the index says", bi)
				}
			}
			bi = it.bi
		}
		if r.v2 {
			if fp < 0 || bi >= r.parts[fp].first+r.parts[fp].count {
				fp = sort.Search(len(r.parts), func(q int) bool { return r.parts[q].first+r.parts[q].count > bi })
				pt := r.parts[fp]
				raw, err := r.read(pt.filter.off, pt.filter.size)
				if err != nil {
					return fmt.Errorf("read segment %s: %w", r.name, err)
				}
				if len(raw) != pt.filter.size {
					return r.corrupt("short read of filter partition at %d", pt.filter.off)
				}
				if filter, err = r.verifyAt(raw, "filter partition", pt.filter.off); err != nil {
					return err
				}
			}
			if !mayContain(filter, Hash(k)) {
				return r.corrupt("key %d is not in its filter", n)
			}
		} else if !mayContain(r.bloom, Hash(k)) {
			return r.corrupt("key %d is not in the filter", n)
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
	if bi >= 0 {
		last, err := lastOf(bi)
		if err != nil {
			return err
		}
		if !bytes.Equal(prev, last) {
			return r.corrupt("last block ends at another key than the index says")
		}
	}
	if n != r.Entries || tombs != r.Tombstones {
		return r.corrupt("%d entries and %d tombstones, the footer says %d and %d", n, tombs, r.Entries, r.Tombstones)
	}
	return nil
}
