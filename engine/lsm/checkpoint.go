package lsm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/wal"
)

// A checkpoint file holds the whole map as of one sequence number, written
// once in a single WriteFile call:
//
//	header  "MBCKPT\r\n" | version u32 | seq u64
//	blocks  repeated: [u32 body length][body: entries]
//	        entry: [uvarint key length][key][uvarint value length][value]
//	footer  entry count u64 | CRC-32C u32 | "MBCE"
//
// All integers are little-endian. The CRC covers every byte before it, so a
// torn or damaged file is rejected before any of it is trusted. Keys are
// strictly ascending. Blocks bound how much a reader must hold at once, which
// the segment files of the LSM will rely on.
const (
	ckptMagic       = "MBCKPT\r\n"
	ckptFooterMagic = "MBCE"
	ckptVersion     = 1
	ckptHeaderSize  = 8 + 4 + 8
	ckptFooterSize  = 8 + 4 + 4
	ckptBlockSize   = 64 << 10
)

// encodeCheckpoint serializes t as of seq.
func encodeCheckpoint(seq uint64, t *memtable.Table) []byte {
	// Every entry costs at most two 10-byte varints on top of its bytes;
	// sizing up front spares regrowing a buffer as large as the data.
	est := ckptHeaderSize + ckptFooterSize + int(t.Size()) + t.Len()*2*binary.MaxVarintLen32
	est += (est/ckptBlockSize + 1) * 4
	buf := make([]byte, 0, est)
	buf = append(buf, ckptMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, ckptVersion)
	buf = binary.LittleEndian.AppendUint64(buf, seq)

	blockStart := -1
	finishBlock := func() {
		if blockStart >= 0 {
			binary.LittleEndian.PutUint32(buf[blockStart:], uint32(len(buf)-blockStart-4))
			blockStart = -1
		}
	}
	var count uint64
	it := t.NewIter(nil, nil, false)
	for it.Next() {
		if blockStart < 0 {
			blockStart = len(buf)
			buf = append(buf, 0, 0, 0, 0)
		}
		k, v := it.Key(), it.Value()
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
		count++
		if len(buf)-blockStart >= ckptBlockSize {
			finishBlock()
		}
	}
	finishBlock()
	buf = binary.LittleEndian.AppendUint64(buf, count)
	buf = binary.LittleEndian.AppendUint32(buf, wal.Checksum(buf))
	return append(buf, ckptFooterMagic...)
}

// decodeCheckpoint verifies a checkpoint file and loads its entries into a
// new table that references data (one object for the garbage collector to
// mark, not two per entry). Every failure wraps kv.ErrCorrupt and names the
// file.
func decodeCheckpoint(name string, data []byte) (*memtable.Table, uint64, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("read checkpoint %s: %s: %w", name, fmt.Sprintf(format, args...), kv.ErrCorrupt)
	}
	if len(data) < ckptHeaderSize+ckptFooterSize {
		return nil, 0, bad("%d bytes is too short", len(data))
	}
	footer := data[len(data)-ckptFooterSize:]
	if string(footer[12:]) != ckptFooterMagic {
		return nil, 0, bad("no footer (torn write?)")
	}
	crcAt := len(data) - 8
	if got, want := wal.Checksum(data[:crcAt]), binary.LittleEndian.Uint32(data[crcAt:]); got != want {
		return nil, 0, bad("checksum mismatch")
	}
	if string(data[:8]) != ckptMagic {
		return nil, 0, bad("bad magic")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != ckptVersion {
		return nil, 0, bad("unknown version %d", v)
	}
	seq := binary.LittleEndian.Uint64(data[12:])
	count := binary.LittleEndian.Uint64(footer)

	// The checksum matched, but the parse still checks every bound: a file
	// crafted to pass it must not crash the process.
	bld := memtable.NewBuilder(int(min(count, uint64(len(data)/2))))
	body := data[ckptHeaderSize : len(data)-ckptFooterSize]
	var prev []byte
	var n uint64
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return nil, 0, bad("truncated block header at byte %d", ckptHeaderSize+off)
		}
		size := int64(binary.LittleEndian.Uint32(body[off:]))
		off += 4
		if size > int64(len(body)-off) {
			return nil, 0, bad("block at byte %d overruns the file", ckptHeaderSize+off-4)
		}
		block := body[off : off+int(size)]
		off += int(size)
		for p := 0; p < len(block); {
			k, next, ok := lengthPrefixed(block, p)
			if !ok {
				return nil, 0, bad("bad key in block ending at byte %d", ckptHeaderSize+off)
			}
			v, next, ok := lengthPrefixed(block, next)
			if !ok {
				return nil, 0, bad("bad value in block ending at byte %d", ckptHeaderSize+off)
			}
			p = next
			if n > 0 && bytes.Compare(prev, k) >= 0 {
				return nil, 0, bad("keys out of order at entry %d", n)
			}
			prev = k
			n++
			bld.Add(k[:len(k):len(k)], v[:len(v):len(v)])
		}
	}
	if n != count {
		return nil, 0, bad("%d entries, footer says %d", n, count)
	}
	return bld.Table(), seq, nil
}

// lengthPrefixed reads a uvarint length and that many bytes at b[p:].
func lengthPrefixed(b []byte, p int) ([]byte, int, bool) {
	l, w := binary.Uvarint(b[p:])
	if w <= 0 {
		return nil, 0, false
	}
	p += w
	if l > uint64(len(b)-p) {
		return nil, 0, false
	}
	return b[p : p+int(l)], p + int(l), true
}
