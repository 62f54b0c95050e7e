package lsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"minibase/engine/checksum"

	"minibase/engine/kv"
)

// A manifest names the segment files that hold the data up to one sequence
// number. It is written once, in one call, and the highest-numbered manifest
// that verifies is the current one, which makes switching atomic on every
// backend:
//
//	"MBMANI03" | flushed seq u64 | next file number u64 | first log u64 |
//	uvarint run count
//	per run (newest first): uvarint segment count, then per segment (in key
//	order): uvarint file number, uvarint size, uvarint-length-prefixed
//	smallest and largest keys, uvarint entries, tombstones, live bytes,
//	tail bytes (index, filter and footer: read in one go)
//	uvarint pin count, per pin (in key order): uvarint-length-prefixed
//	key, a byte (1: the key holds a value, 0: it holds none), and for a
//	value, its uvarint-length-prefixed bytes
//	CRC-32C u32 of everything before | "MBME"
//
// A pin is the value the segments hold for one of Options.Pinned keys, so
// that reading it at Open reads no segment (see pins).
// Every commit with a sequence number up to the flushed seq is in the
// segments; later ones are in the logs. First log, when not zero, is the
// number of the log that follows the flushed seq: the store creates it
// before writing the manifest, so its absence means it was deleted. A
// segment's keys and counts let the store open it on its first read instead
// of at Open. Older manifests are still read: version 3 ("MBMANI03") has no
// pins, version 2 ("MBMANI02") no keys or counts either (its segments are
// opened at Open), version 1 ("MBMANI01") no first-log field either.
const (
	manifestMagic    = "MBMANI04"
	manifestMagicV3  = "MBMANI03"
	manifestMagicV2  = "MBMANI02"
	manifestMagicV1  = "MBMANI01"
	manifestEndMagic = "MBME"
)

// manifest is the decoded content of a manifest file.
type manifest struct {
	flushedSeq uint64
	nextFile   uint64
	firstLog   uint64 // 0: no log is promised
	runs       [][]segRef
	pins       pins // nil from a manifest before version 4
}

// segRef names a segment file and its size, and describes it where the
// manifest does (meta nil: a version 1 or 2 manifest).
type segRef struct {
	num  uint64
	size int64
	meta *segMeta
}

func encodeManifest(m manifest) []byte {
	buf := []byte(manifestMagic)
	buf = binary.LittleEndian.AppendUint64(buf, m.flushedSeq)
	buf = binary.LittleEndian.AppendUint64(buf, m.nextFile)
	buf = binary.LittleEndian.AppendUint64(buf, m.firstLog)
	buf = binary.AppendUvarint(buf, uint64(len(m.runs)))
	for _, run := range m.runs {
		buf = binary.AppendUvarint(buf, uint64(len(run)))
		for _, s := range run {
			buf = binary.AppendUvarint(buf, s.num)
			buf = binary.AppendUvarint(buf, uint64(s.size))
			buf = binary.AppendUvarint(buf, uint64(len(s.meta.smallest)))
			buf = append(buf, s.meta.smallest...)
			buf = binary.AppendUvarint(buf, uint64(len(s.meta.largest)))
			buf = append(buf, s.meta.largest...)
			buf = binary.AppendUvarint(buf, s.meta.entries)
			buf = binary.AppendUvarint(buf, s.meta.tombstones)
			buf = binary.AppendUvarint(buf, s.meta.liveBytes)
			buf = binary.AppendUvarint(buf, uint64(s.meta.tail))
		}
	}
	buf = m.pins.appendTo(buf)
	buf = binary.LittleEndian.AppendUint32(buf, checksum.Of(buf))
	return append(buf, manifestEndMagic...)
}

// decodeManifest verifies and parses a manifest file. Every failure wraps
// kv.ErrCorrupt and names the file.
func decodeManifest(name string, data []byte) (manifest, error) {
	var m manifest
	bad := func(format string, args ...any) error {
		return fmt.Errorf("read manifest %s: %s: %w", name, fmt.Sprintf(format, args...), kv.ErrCorrupt)
	}
	fixed := len(manifestMagic) + 16
	described := false // segments come with their keys and counts
	pinned := false    // pins follow the runs
	if len(data) >= 8 {
		switch string(data[:8]) {
		case manifestMagic:
			fixed, described, pinned = fixed+8, true, true
		case manifestMagicV3:
			fixed, described = fixed+8, true
		case manifestMagicV2:
			fixed += 8
		}
	}
	if len(data) < fixed+8 {
		return m, bad("%d bytes is too short", len(data))
	}
	if string(data[len(data)-4:]) != manifestEndMagic {
		return m, bad("no end marker (torn write?)")
	}
	crcAt := len(data) - 8
	if checksum.Of(data[:crcAt]) != binary.LittleEndian.Uint32(data[crcAt:]) {
		return m, bad("checksum mismatch")
	}
	if magic := string(data[:8]); magic != manifestMagic && magic != manifestMagicV3 && magic != manifestMagicV2 && magic != manifestMagicV1 {
		return m, bad("bad magic")
	}
	m.flushedSeq = binary.LittleEndian.Uint64(data[8:])
	m.nextFile = binary.LittleEndian.Uint64(data[16:])
	if fixed > 24 {
		m.firstLog = binary.LittleEndian.Uint64(data[24:])
		if m.firstLog != 0 && m.firstLog != m.flushedSeq+1 {
			return m, bad("first log %d does not follow flushed seq %d", m.firstLog, m.flushedSeq)
		}
	}
	body := data[fixed:crcAt]
	p := 0
	uv := func() (uint64, bool) {
		v, w := binary.Uvarint(body[p:])
		if w <= 0 {
			return 0, false
		}
		p += w
		return v, true
	}
	bytesField := func() ([]byte, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(body)-p) {
			return nil, false
		}
		b := bytes.Clone(body[p : p+int(n)])
		p += int(n)
		return b, true
	}
	nruns, ok := uv()
	if !ok || nruns > uint64(len(body)) {
		return m, bad("bad run count")
	}
	seen := map[uint64]bool{}
	for range nruns {
		nsegs, ok := uv()
		if !ok || nsegs == 0 || nsegs > uint64(len(body)) {
			return m, bad("bad segment count")
		}
		run := make([]segRef, 0, nsegs)
		for range nsegs {
			num, ok1 := uv()
			size, ok2 := uv()
			if !ok1 || !ok2 || size > 1<<40 || num >= m.nextFile || seen[num] {
				return m, bad("bad segment entry")
			}
			seen[num] = true
			ref := segRef{num: num, size: int64(size)}
			if described {
				var meta segMeta
				var ok [6]bool
				var tail uint64
				meta.smallest, ok[0] = bytesField()
				meta.largest, ok[1] = bytesField()
				meta.entries, ok[2] = uv()
				meta.tombstones, ok[3] = uv()
				meta.liveBytes, ok[4] = uv()
				tail, ok[5] = uv()
				meta.tail = int64(tail)
				if ok != [6]bool{true, true, true, true, true, true} || meta.entries == 0 || meta.tombstones > meta.entries ||
					bytes.Compare(meta.smallest, meta.largest) > 0 || tail > size {
					return m, bad("bad segment description")
				}
				ref.meta = &meta
			}
			run = append(run, ref)
		}
		m.runs = append(m.runs, run)
	}
	if pinned {
		n, ok := uv()
		if !ok || n > uint64(len(body)) {
			return m, bad("bad pin count")
		}
		if n > 0 {
			m.pins = make(pins, n)
		}
		var last []byte
		for i := range n {
			key, ok := bytesField()
			if !ok || p >= len(body) || body[p] > 1 || i > 0 && bytes.Compare(last, key) >= 0 {
				return m, bad("bad pin")
			}
			has := body[p] == 1
			p++
			var val []byte
			if has {
				if val, ok = bytesField(); !ok {
					return m, bad("bad pin value")
				}
				if val == nil {
					val = []byte{}
				}
			}
			m.pins[string(key)] = pin{value: val, has: has}
			last = key
		}
	}
	if p != len(body) {
		return m, bad("%d trailing bytes", len(body)-p)
	}
	return m, nil
}
