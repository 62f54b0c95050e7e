package lsm

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
)

// Pins: the values the segments hold for a few keys (Options.Pinned), kept
// in the manifest too. A store's Open then reads those keys (a catalog read
// at every open) from the manifest and the logs it replays, never from a
// segment: on a backend that loads blocks on demand that is a load and a
// rerun less per open, and on any backend no segment is opened before the
// first query. A pin is kept for the current version only; a snapshot of an
// older one reads its segments.

// maxPinBytes bounds a pinned value: a larger one is read from the segments.
const maxPinBytes = 64 << 10

// pin is what the segments hold for one pinned key: a value, or none.
type pin struct {
	value []byte
	has   bool
}

// pins are the pins known for the current version, by key. A pinned key
// missing here is unknown (a manifest written before pins, a value over
// maxPinBytes): it is read from the segments, and learned there.
type pins map[string]pin

// appendTo appends the pins as the manifest holds them, in key order.
func (p pins) appendTo(buf []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(p)))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		if !p[k].has {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(p[k].value)))
		buf = append(buf, p[k].value...)
	}
	return buf
}

// pinSet is the store's pinned keys.
type pinSet struct {
	keys  [][]byte  // sorted
	first [256]bool // the first bytes of keys: most Gets are told no by one load
}

func newPinSet(keys [][]byte) pinSet {
	var ps pinSet
	for _, k := range keys {
		if len(k) == 0 || slices.ContainsFunc(ps.keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			continue
		}
		ps.keys = append(ps.keys, bytes.Clone(k))
		ps.first[k[0]] = true
	}
	slices.SortFunc(ps.keys, bytes.Compare)
	return ps
}

// has reports whether key is pinned.
func (ps *pinSet) has(key []byte) bool {
	if len(key) == 0 || !ps.first[key[0]] {
		return false
	}
	for _, k := range ps.keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	return false
}

// keep returns the pins of m that are of pinned keys.
func (ps *pinSet) keep(m pins) pins {
	out := pins{}
	for k, p := range m {
		if ps.has([]byte(k)) {
			out[k] = p
		}
	}
	return out
}

// pinWatch follows what a flush writes, in key order, for the pinned keys:
// the newest value of each it sees is what the segments will hold.
type pinWatch struct {
	ps   *pinSet
	next int  // keys[next] is the next pinned key the flush may reach
	seen pins // what it saw
}

func (ps *pinSet) watch() *pinWatch {
	if len(ps.keys) == 0 {
		return nil
	}
	return &pinWatch{ps: ps, seen: pins{}}
}

// saw notes one entry of the flush, and reports whether a pinned key may
// still come (the flush stops asking once the entries are past them all).
func (w *pinWatch) saw(key, value []byte, tomb bool) bool {
	for w.next < len(w.ps.keys) {
		c := bytes.Compare(key, w.ps.keys[w.next])
		if c < 0 {
			return true
		}
		if c == 0 && tomb {
			w.seen[string(key)] = pin{}
		} else if c == 0 {
			w.seen[string(key)] = pin{value: bytes.Clone(value), has: true}
		}
		w.next++
		if c == 0 {
			break
		}
	}
	return w.next < len(w.ps.keys)
}

// after returns the pins once the flush is installed: old, with what the
// flush wrote of a pinned key in place of what the older segments held.
// A value too large to keep is unknown.
func (w *pinWatch) after(old pins) pins {
	out := maps.Clone(old)
	if out == nil {
		out = pins{}
	}
	for k, p := range w.seen {
		if len(p.value) > maxPinBytes {
			delete(out, k)
			continue
		}
		out[k] = p
	}
	return out
}
