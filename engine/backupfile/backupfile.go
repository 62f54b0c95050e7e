// Package backupfile is the format of a minibase backup: every key and
// value of a store, in key order, as one file that can be checked end to end
// before anything is restored from it.
//
//	header:  "MBBACKUP" | version u16 | reserved u16 | CRC-32C u32 of the 12 bytes before
//	block:   'B' | payload length u32 | CRC-32C u32 of the payload | payload
//	         payload: pairs of uvarint key length, key, uvarint value length, value
//	trailer: 'E' | pair count u64 | payload bytes u64 | CRC-32C u32 of 'E' and the 16 bytes before
//	         | "MBBEND01"
//
// Integers are little-endian. Keys are strictly increasing across the whole
// file, so a reordered or repeated block is caught as well as a flipped bit.
// A block's payload is at most MaxBlock bytes, so a reader never needs more
// memory than one block whatever the file's size. Anything after the
// trailer is an error: a file is whole or it is refused.
package backupfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"minibase/engine/checksum"
)

// Version is the format version this package writes; it reads versions up
// to it.
const Version = 1

// MaxBlock bounds a block's payload.
const MaxBlock = 1 << 20

// targetBlock is the payload size at which the writer closes a block.
const targetBlock = 256 << 10

const (
	magic      = "MBBACKUP"
	endMagic   = "MBBEND01"
	headerSize = 16
	blockHead  = 9
	trailerLen = 1 + 8 + 8 + 4 + len(endMagic)
)

// ErrCorrupt is wrapped by every error about a damaged, truncated or foreign
// file.
var ErrCorrupt = errors.New("backup file is corrupt")

// ErrTooNew is wrapped when the file was written by a newer format version.
var ErrTooNew = errors.New("backup file is from a newer version of minibase")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrCorrupt)
}

// Header returns the bytes a backup file starts with.
func Header() []byte {
	b := append([]byte(magic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(b[8:], Version)
	return binary.LittleEndian.AppendUint32(b, checksum.Of(b))
}

// Writer encodes pairs into blocks. Its output is taken with Take, so a
// caller can hand the file out in pieces of bounded size.
type Writer struct {
	out     []byte
	payload []byte
	last    []byte
	started bool
	pairs   uint64
	bytes   uint64
}

// Add appends one pair; keys must be given in strictly increasing order.
func (w *Writer) Add(key, value []byte) error {
	if w.started && bytes.Compare(key, w.last) <= 0 {
		return fmt.Errorf("backupfile: key %x out of order", key)
	}
	if n := len(key) + len(value) + 2*binary.MaxVarintLen64; n > MaxBlock {
		return fmt.Errorf("backupfile: a pair of %d bytes does not fit a block", n)
	}
	if len(w.payload)+len(key)+len(value)+2*binary.MaxVarintLen64 > MaxBlock {
		w.flush()
	}
	if !w.started {
		w.out = append(w.out, Header()...)
		w.started = true
	}
	w.last = append(w.last[:0], key...)
	w.payload = binary.AppendUvarint(w.payload, uint64(len(key)))
	w.payload = append(w.payload, key...)
	w.payload = binary.AppendUvarint(w.payload, uint64(len(value)))
	w.payload = append(w.payload, value...)
	w.pairs++
	if len(w.payload) >= targetBlock {
		w.flush()
	}
	return nil
}

func (w *Writer) flush() {
	if len(w.payload) == 0 {
		return
	}
	w.out = append(w.out, 'B')
	w.out = binary.LittleEndian.AppendUint32(w.out, uint32(len(w.payload)))
	w.out = binary.LittleEndian.AppendUint32(w.out, checksum.Of(w.payload))
	w.out = append(w.out, w.payload...)
	w.bytes += uint64(len(w.payload))
	w.payload = w.payload[:0]
}

// Finish closes the last block and appends the trailer.
func (w *Writer) Finish() {
	if !w.started {
		w.out = append(w.out, Header()...)
		w.started = true
	}
	w.flush()
	at := len(w.out)
	w.out = append(w.out, 'E')
	w.out = binary.LittleEndian.AppendUint64(w.out, w.pairs)
	w.out = binary.LittleEndian.AppendUint64(w.out, w.bytes)
	w.out = binary.LittleEndian.AppendUint32(w.out, checksum.Of(w.out[at:]))
	w.out = append(w.out, endMagic...)
}

// Buffered is the number of encoded bytes waiting to be taken.
func (w *Writer) Buffered() int { return len(w.out) }

// Take returns the encoded bytes so far and forgets them; the slice is the
// caller's.
func (w *Writer) Take() []byte {
	out := w.out
	w.out = nil
	return out
}

// Reader decodes a backup file fed to it in pieces of any size. It checks
// everything as it goes: the header, every block's checksum, key order, and
// at the end the trailer's counts; Close reports a file that stopped early.
type Reader struct {
	buf     []byte
	state   int // 0 header, 1 blocks, 2 done
	last    []byte
	started bool
	pairs   uint64
	bytes   uint64
	fed     int64
}

// Pairs is the number of pairs read so far.
func (r *Reader) Pairs() uint64 { return r.pairs }

// Write feeds the next piece of the file; fn is called for each pair of each
// complete block (key and value are valid only during the call). An error
// from fn stops the read and is returned as it is.
func (r *Reader) Write(p []byte, fn func(key, value []byte) error) error {
	r.fed += int64(len(p))
	r.buf = append(r.buf, p...)
	for {
		switch r.state {
		case 0:
			if len(r.buf) < headerSize {
				if len(r.buf) >= len(magic) && string(r.buf[:len(magic)]) != magic {
					return corrupt("not a minibase backup (bad magic)")
				}
				return nil
			}
			h := r.buf[:headerSize]
			if string(h[:len(magic)]) != magic {
				return corrupt("not a minibase backup (bad magic)")
			}
			if checksum.Of(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
				return corrupt("header checksum mismatch")
			}
			if v := binary.LittleEndian.Uint16(h[8:]); v > Version {
				return fmt.Errorf("format version %d, this engine reads up to %d: %w", v, Version, ErrTooNew)
			} else if v == 0 {
				return corrupt("format version 0")
			}
			r.buf = r.buf[headerSize:]
			r.state = 1
		case 1:
			if len(r.buf) == 0 {
				r.compact()
				return nil
			}
			switch r.buf[0] {
			case 'B':
				if len(r.buf) < blockHead {
					return nil
				}
				n := binary.LittleEndian.Uint32(r.buf[1:])
				if n == 0 || n > MaxBlock {
					return corrupt("block of %d bytes", n)
				}
				if len(r.buf) < blockHead+int(n) {
					return nil
				}
				payload := r.buf[blockHead : blockHead+int(n)]
				if checksum.Of(payload) != binary.LittleEndian.Uint32(r.buf[5:]) {
					return corrupt("block checksum mismatch after %d pairs", r.pairs)
				}
				if err := r.pairsOf(payload, fn); err != nil {
					return err
				}
				r.bytes += uint64(n)
				r.buf = r.buf[blockHead+int(n):]
			case 'E':
				if len(r.buf) < trailerLen {
					return nil
				}
				t := r.buf[:trailerLen]
				if checksum.Of(t[:17]) != binary.LittleEndian.Uint32(t[17:]) || string(t[21:]) != endMagic {
					return corrupt("trailer checksum mismatch")
				}
				if binary.LittleEndian.Uint64(t[1:]) != r.pairs || binary.LittleEndian.Uint64(t[9:]) != r.bytes {
					return corrupt("trailer counts %d pairs, the file holds %d", binary.LittleEndian.Uint64(t[1:]), r.pairs)
				}
				r.buf = r.buf[trailerLen:]
				r.state = 2
			default:
				return corrupt("unknown block type %#x", r.buf[0])
			}
		default:
			if len(r.buf) > 0 {
				return corrupt("%d bytes after the end", len(r.buf))
			}
			return nil
		}
	}
}

// compact drops consumed bytes so the buffer holds at most one block.
func (r *Reader) compact() {
	if cap(r.buf) > 2*MaxBlock && len(r.buf) == 0 {
		r.buf = nil
	}
}

func (r *Reader) pairsOf(p []byte, fn func(key, value []byte) error) error {
	for len(p) > 0 {
		kl, n := binary.Uvarint(p)
		if n <= 0 || kl > uint64(len(p)-n) {
			return corrupt("bad key length")
		}
		key := p[n : n+int(kl)]
		p = p[n+int(kl):]
		vl, n := binary.Uvarint(p)
		if n <= 0 || vl > uint64(len(p)-n) {
			return corrupt("bad value length")
		}
		value := p[n : n+int(vl)]
		p = p[n+int(vl):]
		if r.started && bytes.Compare(key, r.last) <= 0 {
			return corrupt("keys out of order")
		}
		r.started = true
		r.last = append(r.last[:0], key...)
		r.pairs++
		if fn != nil {
			if err := fn(key, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close reports whether the whole file was read: a file that ends before its
// trailer is corrupt (truncated).
func (r *Reader) Close() error {
	if r.state != 2 {
		return corrupt("the file ends early after %d bytes (truncated)", r.fed)
	}
	return nil
}
