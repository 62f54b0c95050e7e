// Package wal is the write-ahead log record format.
//
// # Basics
//
// A log file is a sequence of records:
//
//	[4-byte little-endian payload length][4-byte CRC-32C of payload][payload]
//
// and a payload is one commit group:
//
//	[uvarint seq][uvarint op count] then per op:
//	[1 byte kind: 1 = set, 2 = delete][uvarint key length][key]
//	and for a set [uvarint value length][value]
//
// Encode appends a record; Reader reads them back one at a time and
// DecodeBatch turns a payload into its sequence number and operations.
//
// # Caveats
//
// The length field is not covered by the checksum. A damaged length that
// claims more bytes than the file holds looks like a torn final write; the
// Reader tells them apart by looking for a valid record after it, which a
// torn write (a prefix of one record) cannot contain. Damage to the final
// record of a file is indistinguishable from a torn write and reads as one.
package wal

import (
	"encoding/binary"
	"fmt"
	"minibase/engine/checksum"

	"minibase/engine/kv"
)

// HeaderSize is the size of a record header: length and checksum.
const HeaderSize = 8

// MaxPayload bounds a record's payload. A larger length field is damage, and
// the bound keeps a damaged length from ever sizing an allocation.
const MaxPayload = 1 << 30

// Op kinds in a payload.
const (
	kindSet    = 1
	kindDelete = 2
)

// EncodedSize is the exact size of the record Encode writes for ops.
func EncodedSize(seq uint64, ops []kv.Op) int {
	n := HeaderSize + uvarintLen(seq) + uvarintLen(uint64(len(ops)))
	for i := range ops {
		n += opSize(ops[i])
	}
	return n
}

// opSize is the size of one op of a payload (see appendOp).
func opSize(op kv.Op) int {
	n := 1 + uvarintLen(uint64(len(op.Key))) + len(op.Key)
	if !op.Delete {
		n += uvarintLen(uint64(len(op.Value))) + len(op.Value)
	}
	return n
}

// Encode appends the record for commit group seq with ops to dst and returns
// the extended slice. Callers reuse dst across commits to avoid allocating;
// they check EncodedSize against MaxPayload first when ops may be huge.
func Encode(dst []byte, seq uint64, ops []kv.Op) []byte {
	if need := EncodedSize(seq, ops); cap(dst)-len(dst) < need {
		grown := make([]byte, len(dst), len(dst)+need)
		copy(grown, dst)
		dst = grown
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	dst = binary.AppendUvarint(dst, seq)
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for i := range ops {
		dst = appendOp(dst, ops[i])
	}
	return sealRecord(dst, start)
}

// sealRecord fills in the header of the record that starts at dst[start].
func sealRecord(dst []byte, start int) []byte {
	payload := dst[start+HeaderSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], checksum.Of(payload))
	return dst
}

// DecodeBatch parses a payload into its sequence number and operations. The
// operations' keys and values alias payload. A malformed payload returns an
// error wrapping kv.ErrCorrupt; callers add the file name and offset.
func DecodeBatch(payload []byte) (seq uint64, ops []kv.Op, err error) {
	d := decoder{buf: payload}
	seq = d.uvarint()
	count := d.uvarint()
	if d.err != nil {
		return 0, nil, d.err
	}
	// Every op takes at least two bytes, so a larger count is damage, and
	// checking first keeps it from sizing the allocation.
	if count > uint64(len(d.buf)-d.off)/2 {
		return 0, nil, fmt.Errorf("decode batch: op count %d exceeds payload: %w", count, kv.ErrCorrupt)
	}
	ops = make([]kv.Op, 0, count)
	for i := uint64(0); i < count; i++ {
		kind := d.byte()
		key := d.bytes()
		switch kind {
		case kindSet:
			value := d.bytes()
			ops = append(ops, kv.Op{Key: key, Value: value})
		case kindDelete:
			ops = append(ops, kv.Op{Key: key, Delete: true})
		default:
			if d.err == nil {
				d.err = fmt.Errorf("decode batch: op %d has unknown kind %d: %w", i, kind, kv.ErrCorrupt)
			}
		}
		if d.err != nil {
			return 0, nil, d.err
		}
	}
	if d.off != len(d.buf) {
		return 0, nil, fmt.Errorf("decode batch: %d trailing bytes: %w", len(d.buf)-d.off, kv.ErrCorrupt)
	}
	return seq, ops, nil
}

// decoder reads a payload, remembering the first error so callers check once.
type decoder struct {
	buf []byte
	off int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("decode batch: bad varint at byte %d: %w", d.off, kv.ErrCorrupt)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.buf) {
		d.err = fmt.Errorf("decode batch: truncated at byte %d: %w", d.off, kv.ErrCorrupt)
		return 0
	}
	b := d.buf[d.off]
	d.off++
	return b
}

// bytes reads a length-prefixed byte string. The result is capped at its
// length so appending to it can never overwrite the bytes that follow.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)-d.off) {
		d.err = fmt.Errorf("decode batch: length %d at byte %d exceeds payload: %w", n, d.off, kv.ErrCorrupt)
		return nil
	}
	b := d.buf[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// BatchSize is EncodedSize for the writes of b.
func BatchSize(seq uint64, b *kv.Batch) int {
	n := HeaderSize + uvarintLen(seq) + uvarintLen(uint64(b.Len()))
	for i := range b.Len() {
		n += opSize(b.Op(i))
	}
	return n
}

// BatchSizeBound is at least BatchSize(seq, b), found without walking the
// writes.
func BatchSizeBound(b *kv.Batch) int {
	return HeaderSize + 2*binary.MaxVarintLen64 + b.Size() + b.Len()*(1+2*binary.MaxVarintLen64)
}

// AppendBatch appends the record for commit group seq with b's writes to
// dst, as Encode does.
func AppendBatch(dst []byte, seq uint64, b *kv.Batch) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	dst = binary.AppendUvarint(dst, seq)
	dst = binary.AppendUvarint(dst, uint64(b.Len()))
	for i := range b.Len() {
		dst = appendOp(dst, b.Op(i))
	}
	return sealRecord(dst, start)
}

// appendOp appends one op of a payload: kind, key and, for a set, value.
func appendOp(dst []byte, op kv.Op) []byte {
	if op.Delete {
		dst = append(dst, kindDelete)
	} else {
		dst = append(dst, kindSet)
	}
	dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
	dst = append(dst, op.Key...)
	if op.Delete {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
	return append(dst, op.Value...)
}

// streamChunk is how many bytes WriteBatch hands to write at a time.
const streamChunk = 256 << 10

// WriteBatch writes the record for commit group seq with b's writes, the
// bytes AppendBatch would produce, through write in pieces of about
// streamChunk bytes: a bulk commit's record is never held whole. It reads
// the batch twice, once for the checksum the header carries.
func WriteBatch(seq uint64, b *kv.Batch, write func([]byte) error) error {
	var prefix []byte
	prefix = binary.AppendUvarint(prefix, seq)
	prefix = binary.AppendUvarint(prefix, uint64(b.Len()))
	buf := make([]byte, 0, streamChunk+4<<10)
	each := func(emit func([]byte) error) error {
		buf = append(buf[:0], prefix...)
		for i := range b.Len() {
			buf = appendOp(buf, b.Op(i))
			if len(buf) >= streamChunk {
				if err := emit(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		if len(buf) == 0 {
			return nil
		}
		return emit(buf)
	}
	crc, n := uint32(0), 0
	_ = each(func(p []byte) error { crc = checksum.Update(crc, p); n += len(p); return nil })
	if n > MaxPayload {
		return fmt.Errorf("write batch: payload of %d bytes: %w", n, kv.ErrCorrupt)
	}
	var head [HeaderSize]byte
	binary.LittleEndian.PutUint32(head[:], uint32(n))
	binary.LittleEndian.PutUint32(head[4:], crc)
	if err := write(head[:]); err != nil {
		return err
	}
	return each(write)
}
