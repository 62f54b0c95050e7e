package wal

import (
	"encoding/binary"
	"fmt"
	"io"
	"minibase/engine/checksum"

	"minibase/engine/kv"
)

// Reader returns the records of one log file held in memory.
//
// Damage is classified by what follows it. A record that is incomplete or
// fails its checksum and runs exactly to the end of the file, or is followed
// only by zero bytes (a file extended before its data landed), is a torn
// write: Next returns an error wrapping ErrTorn. Any other damage is followed
// by more data, so acknowledged records may be behind it: Next returns an
// error wrapping kv.ErrCorrupt. Either way the error names the file and the
// record's offset.
type Reader struct {
	name string
	data []byte
	off  int
	err  error
}

// NewReader reads the records in data, the content of the file called name.
func NewReader(name string, data []byte) *Reader {
	return &Reader{name: name, data: data}
}

// Next returns the next record's payload, which aliases the file content.
// At the clean end of the file it returns io.EOF. After an error every call
// returns the same error.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	payload, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return payload, nil
}

// Offset is the length of the valid prefix read so far: the end of the last
// good record. After ErrTorn it is where to cut the file.
func (r *Reader) Offset() int64 { return int64(r.off) }

func (r *Reader) next() ([]byte, error) {
	rest := r.data[r.off:]
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if len(rest) < HeaderSize {
		return nil, r.damaged(len(rest), "incomplete header")
	}
	n := binary.LittleEndian.Uint32(rest)
	sum := binary.LittleEndian.Uint32(rest[4:])
	if n == 0 {
		// A payload is never empty, and an all-zero header would pass the
		// checksum (CRC-32C of nothing is zero), so zeroed space is damage.
		return nil, r.damaged(HeaderSize, "empty record")
	}
	if n > MaxPayload || int64(n) > int64(len(rest)-HeaderSize) {
		// A torn write leaves a prefix of one record, so no whole record
		// can start inside it; one that does means the length is damaged
		// and acknowledged records follow.
		if p := findRecord(r.data, r.off+1); p >= 0 {
			return nil, fmt.Errorf("read log %s at offset %d: record length %d runs past end of file, but a valid record starts at offset %d: %w",
				r.name, r.off, n, p, kv.ErrCorrupt)
		}
		return nil, r.damaged(len(rest), fmt.Sprintf("record length %d runs past end of file", n))
	}
	end := HeaderSize + int(n)
	payload := rest[HeaderSize:end:end]
	if checksum.Of(payload) != sum {
		return nil, r.damaged(end, "checksum mismatch")
	}
	r.off += end
	return payload, nil
}

// damaged classifies a bad record spanning size bytes at the current offset.
func (r *Reader) damaged(size int, what string) error {
	tail := r.data[r.off+size:]
	if allZero(tail) {
		return fmt.Errorf("read log %s at offset %d: %s: %w", r.name, r.off, what, ErrTorn)
	}
	return fmt.Errorf("read log %s at offset %d: %s with %d bytes after it: %w", r.name, r.off, what, len(tail), kv.ErrCorrupt)
}

// maxResyncBytes bounds the bytes findRecord checksums, so a pathological
// tail costs a bounded time. Real torn tails are one record, and candidate
// lengths that fit are rare in it, so the bound is seldom reached.
const maxResyncBytes = 64 << 20

// findRecord returns the offset of the first complete record with a valid
// checksum starting at or after from, or -1.
func findRecord(data []byte, from int) int {
	budget := maxResyncBytes
	for p := from; p+HeaderSize < len(data) && budget > 0; p++ {
		n := binary.LittleEndian.Uint32(data[p:])
		if n == 0 || int64(n) > int64(len(data)-p-HeaderSize) {
			continue
		}
		budget -= int(n)
		if checksum.Of(data[p+HeaderSize:p+HeaderSize+int(n)]) == binary.LittleEndian.Uint32(data[p+4:]) {
			return p
		}
	}
	return -1
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
