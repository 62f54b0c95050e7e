// Package sstable is the segment file format of the LSM store: an immutable,
// sorted run of keys with their values or tombstones, read one block at a
// time.
//
// # Format
//
//	data blocks   repeated: [entries][offsets][count u32][CRC-32C u32 of
//	              all before it in the block]
//	              entry: [uvarint key length][key][uvarint tag][value]
//	              tag 0 is a tombstone (no value), else value length + 1;
//	              offsets: u32 offset of every entry in the block, so a
//	              lookup binary-searches the block instead of scanning it
//	index block   [uvarint length][first key of the file], then per data
//	              block [uvarint length][last key][uvarint offset][uvarint size]
//	              (size includes the block's CRC); then CRC-32C u32
//	bloom block   [u8 probes][bit array]; then CRC-32C u32
//	footer        "MBSST001" | index offset u64 | index size u32 |
//	              bloom offset u64 | bloom size u32 | entries u64 |
//	              tombstones u64 | key+value bytes of live entries u64 |
//	              CRC-32C u32 of the footer so far | "MBSE"
//
// All integers are little-endian. Every block carries its own checksum, so a
// reader verifies just what it reads; the footer's checksum covers the
// footer. Keys are strictly ascending. A file is written once, whole, by the
// Writer and never modified.
package sstable

import (
	"encoding/binary"
	"slices"

	"minibase/engine/checksum"
)

// Format constants.
const (
	footerMagic    = "MBSST001"
	footerEndMagic = "MBSE"
	// FooterSize is the size of the fixed footer at the end of every file.
	FooterSize = 8 + 8 + 4 + 8 + 4 + 8 + 8 + 8 + 4 + 4
	crcSize    = 4
	// DefaultBlockSize is the target size of a data block.
	DefaultBlockSize = 4 << 10
	bitsPerKey       = 10
)

// Writer builds a segment file in memory. Add entries in strictly increasing
// key order, then call Finish.
type Writer struct {
	blockSize  int
	sizeHint   int
	buf        []byte // the file so far
	blockStart int
	index      []byte
	firstKey   []byte
	lastAt     int // where the last key added is in buf (it ends the index entry of its block)
	lastLen    int
	hashes     []uint64
	offsets    []uint32 // of the entries in the current block
	entries    uint64
	tombs      uint64
	liveBytes  uint64
}

// NewWriter returns a writer cutting data blocks at about blockSize bytes
// (DefaultBlockSize when <= 0). sizeHint is the expected file size: the
// buffer is allocated once at that size instead of growing by doubling,
// which would leave the garbage of every smaller copy behind.
func NewWriter(blockSize, sizeHint int) *Writer {
	if blockSize <= 0 {
		blockSize = DefaultBlockSize
	}
	return &Writer{blockSize: blockSize, sizeHint: sizeHint}
}

// NewWriterInto is NewWriter writing into buf's storage (from length 0):
// a caller writing many files one after another reuses one buffer once the
// previous file was handed to the backend.
func NewWriterInto(blockSize int, buf []byte) *Writer {
	w := NewWriter(blockSize, 0)
	w.buf = buf[:0]
	return w
}

// Add appends an entry: key with value, or a tombstone for key when tomb is
// set. Keys must be strictly increasing; the writer copies them.
func (w *Writer) Add(key, value []byte, tomb bool) {
	if w.entries == 0 {
		w.firstKey = append([]byte(nil), key...)
		if w.buf == nil && w.sizeHint > 0 {
			w.buf = make([]byte, 0, w.sizeHint)
		}
	}
	// The entry is written through a local view of w.buf's spare room and
	// w.buf is only resliced (w.buf = w.buf[:k] stores no pointer): storing
	// a slice header into the writer is a write barrier while a collection
	// runs, and a bulk load's flush runs mostly during one.
	w.offsets = append(w.offsets, uint32(len(w.buf)-w.blockStart))
	need := 2*binary.MaxVarintLen64 + len(key) + len(value)
	if cap(w.buf)-len(w.buf) < need {
		w.grow(need)
	}
	k := len(w.buf)
	b := w.buf[:cap(w.buf)]
	k += binary.PutUvarint(b[k:], uint64(len(key)))
	w.lastAt, w.lastLen = k, len(key)
	k += copy(b[k:], key)
	if tomb {
		b[k] = 0
		k++
		w.tombs++
	} else {
		k += binary.PutUvarint(b[k:], uint64(len(value))+1)
		k += copy(b[k:], value)
		w.liveBytes += uint64(len(key) + len(value))
	}
	w.buf = w.buf[:k]
	w.hashes = append(w.hashes, Hash(key))
	w.entries++
	if len(w.buf)-w.blockStart >= w.blockSize {
		w.finishBlock()
	}
}

// grow makes room for need more bytes, doubling as append would.
func (w *Writer) grow(need int) {
	w.buf = slices.Grow(w.buf, max(need, cap(w.buf)))
}

// Entries is the number of entries added so far.
func (w *Writer) Entries() int { return int(w.entries) }

// Size is about the size of the file Finish would return now.
func (w *Writer) Size() int {
	return len(w.buf) + 4*len(w.offsets) + len(w.index) + len(w.hashes)*bitsPerKey/8 + FooterSize + 64
}

func (w *Writer) finishBlock() {
	if len(w.buf) == w.blockStart {
		return
	}
	buf := w.buf // stored back once (a write barrier per store while collecting)
	for _, off := range w.offsets {
		buf = binary.LittleEndian.AppendUint32(buf, off)
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(w.offsets)))
	w.offsets = w.offsets[:0]
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf[w.blockStart:]))
	w.buf = buf
	w.index = binary.AppendUvarint(w.index, uint64(w.lastLen))
	w.index = append(w.index, w.buf[w.lastAt:w.lastAt+w.lastLen]...)
	w.index = binary.AppendUvarint(w.index, uint64(w.blockStart))
	w.index = binary.AppendUvarint(w.index, uint64(len(w.buf)-w.blockStart))
	w.blockStart = len(w.buf)
}

// Finish returns the whole file. The writer must not be used afterwards.
func (w *Writer) Finish() []byte {
	w.finishBlock()
	buf := w.buf
	indexOff := len(buf)
	buf = binary.AppendUvarint(buf, uint64(len(w.firstKey)))
	buf = append(buf, w.firstKey...)
	buf = append(buf, w.index...)
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf[indexOff:]))
	bloomOff := len(buf)
	buf = appendBloom(buf, w.hashes)
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf[bloomOff:]))
	footerOff := len(buf)
	buf = append(buf, footerMagic...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(indexOff))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(bloomOff-indexOff))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(bloomOff))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(footerOff-bloomOff))
	buf = binary.LittleEndian.AppendUint64(buf, w.entries)
	buf = binary.LittleEndian.AppendUint64(buf, w.tombs)
	buf = binary.LittleEndian.AppendUint64(buf, w.liveBytes)
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf[footerOff:]))
	buf = append(buf, footerEndMagic...)
	w.buf = nil
	return buf
}

// Hash is the 64-bit hash the bloom filter uses: the same on every platform
// and run, since filters live in files. It takes eight bytes per step (byte
// loops are slow under wasm) and mixes with multiplications.
func Hash(key []byte) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(len(key)) * m
	for len(key) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(key)) * m
		h ^= h >> 29
		key = key[8:]
	}
	var tail uint64
	for i, c := range key {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * m
	h ^= h >> 32
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// appendBloom appends a filter over hashes: probes byte, then the bits.
func appendBloom(dst []byte, hashes []uint64) []byte {
	nbits := max(len(hashes)*bitsPerKey, 64)
	nbytes := (nbits + 7) / 8
	nbits = nbytes * 8
	const probes = 7 // about ln2 * bitsPerKey
	dst = append(dst, probes)
	start := len(dst)
	dst = append(dst, make([]byte, nbytes)...)
	bits := dst[start:]
	for _, h := range hashes {
		delta := h>>33 | h<<31
		for j := 0; j < probes; j++ {
			bit := h % uint64(nbits)
			bits[bit/8] |= 1 << (bit % 8)
			h += delta
		}
	}
	return dst
}

// mayContain reports whether the filter (probes byte, then bits) may hold a
// key of hash h.
func mayContain(filter []byte, h uint64) bool {
	if len(filter) < 2 {
		return true
	}
	probes := int(filter[0])
	bits := filter[1:]
	nbits := uint64(len(bits)) * 8
	delta := h>>33 | h<<31
	for j := 0; j < probes; j++ {
		bit := h % nbits
		if bits[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
		h += delta
	}
	return true
}
