package kv

import (
	"bytes"
	"math/bits"
	"slices"
	"sync"

	"minibase/engine/internal/keyhead"
)

// sortEntry is an op's position with 16 bytes of its key, read at the depth
// its run is being sorted at, as two big-endian integers. fin marks a key
// that ends within those 16 bytes; h1 is then 0 and h2 its length.
type sortEntry struct {
	h1, h2 uint64
	i      int32
	fin    bool
	dup    bool // a later write of the same key follows
}

// lessEntry orders finished keys first (by length, then position), then
// by heads, then by position, so equal keys keep batch order. It is small
// so that the sort below inlines it.
func lessEntry(a, b *sortEntry) bool {
	if a.fin != b.fin {
		return a.fin
	}
	if a.h1 != b.h1 {
		return a.h1 < b.h1
	}
	if a.h2 != b.h2 {
		return a.h2 < b.h2
	}
	return a.i < b.i
}

// sortEntries sorts by lessEntry: a quicksort whose comparisons are inline
// (slices.SortFunc calls its comparison through a function value, and in
// wasm those calls were most of a bulk load's sort), falling back to
// slices.SortFunc past a recursion depth that only adversarial orders
// reach. Entries are distinct (positions differ), so the order is total.
func sortEntries(a []sortEntry, depth int) {
	for len(a) > 16 {
		if depth == 0 {
			slices.SortFunc(a, compareEntries)
			return
		}
		depth--
		n, m := len(a), len(a)/2
		if lessEntry(&a[m], &a[0]) {
			a[m], a[0] = a[0], a[m]
		}
		if lessEntry(&a[n-1], &a[0]) {
			a[n-1], a[0] = a[0], a[n-1]
		}
		if lessEntry(&a[n-1], &a[m]) {
			a[n-1], a[m] = a[m], a[n-1]
		}
		pivot := a[m] // the median of three, not the last: both parts are non-empty
		i, j := -1, n
		for {
			for i++; lessEntry(&a[i], &pivot); i++ {
			}
			for j--; lessEntry(&pivot, &a[j]); j-- {
			}
			if i >= j {
				break
			}
			a[i], a[j] = a[j], a[i]
		}
		if j+1 < n-j-1 {
			sortEntries(a[:j+1], depth)
			a = a[j+1:]
		} else {
			sortEntries(a[j+1:], depth)
			a = a[:j+1]
		}
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && lessEntry(&a[j], &a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// sortHeads sorts entries that are in ascending position order by
// lessEntry. A large set whose heads differ in few bytes (keys share their
// table and index prefix, and an index value or a sequential id varies in
// its low bytes) is sorted by a stable least-significant-byte radix sort
// over only the bytes that differ: a counting pass per such byte instead of
// log2(n) levels of compares, which under wasm were a tenth of a bulk load
// and of a large delete. Stability keeps equal heads in position order, the
// tie-break lessEntry has. Otherwise the quicksort.
func sortHeads(entries []sortEntry) {
	n := len(entries)
	// Entries are often in order already: a bulk load's rows arrive by
	// ascending id, so the rows that tie on an index value (a run sorted
	// again on the primary key that follows it) are in key order.
	for i := 1; i < n; i++ {
		if lessEntry(&entries[i], &entries[i-1]) {
			break
		}
		if i == n-1 {
			return
		}
	}
	if n < radixMin {
		sortEntries(entries, 2*bits.Len(uint(n)))
		return
	}
	var d1, d2 uint64
	var dfin bool
	e0 := entries[0]
	for i := range entries {
		e := &entries[i]
		d1 |= e.h1 ^ e0.h1
		d2 |= e.h2 ^ e0.h2
		dfin = dfin || e.fin != e0.fin
	}
	var digits [17]uint8 // the differing bytes, least significant first: 0–7 of h2, 8–15 of h1, 16 fin
	passes := 0
	for b := range 16 {
		d := d2
		if b >= 8 {
			d = d1
		}
		if (d>>(8*(b&7)))&0xff != 0 {
			digits[passes] = uint8(b)
			passes++
		}
	}
	if dfin {
		digits[passes] = 16
		passes++
	}
	if passes == 0 {
		return // all heads equal: already in position order
	}
	// A pass reads and writes every entry; the quicksort compares each about
	// 2·log2(n) times.
	if 3*passes > 2*bits.Len(uint(n)) {
		sortEntries(entries, 2*bits.Len(uint(n)))
		return
	}
	buf, _ := radixPool.Get().(*[]sortEntry)
	if buf == nil || cap(*buf) < n {
		buf = &[]sortEntry{}
		*buf = make([]sortEntry, n)
	}
	defer radixPool.Put(buf)
	src, dst := entries, (*buf)[:n]
	var count [256]int
	for _, b := range digits[:passes] {
		clear(count[:])
		for i := range src {
			count[entryDigit(&src[i], b)]++
		}
		sum := 0
		for c := range count {
			count[c], sum = sum, sum+count[c]
		}
		for i := range src {
			k := entryDigit(&src[i], b)
			dst[count[k]] = src[i]
			count[k]++
		}
		src, dst = dst, src
	}
	if passes%2 == 1 {
		copy(entries, src)
	}
}

// entryDigit is digit b of an entry's sort key (see sortHeads): a byte of
// h2 (b < 8) or h1 (b < 16), least significant first, or 0 for a finished
// key and 1 for another (b == 16), finished keys sorting first.
func entryDigit(e *sortEntry, b uint8) uint8 {
	switch {
	case b < 8:
		return uint8(e.h2 >> (8 * b))
	case b < 16:
		return uint8(e.h1 >> (8 * (b - 8)))
	case e.fin:
		return 0
	}
	return 1
}

// radixMin is the fewest entries sortHeads radix-sorts.
const radixMin = 256

// radixPool holds sortHeads' scratch between sorts.
var radixPool sync.Pool

// compareEntries is lessEntry as a three-way comparison, for slices.SortFunc.
func compareEntries(a, b sortEntry) int {
	switch {
	case lessEntry(&a, &b):
		return -1
	case lessEntry(&b, &a):
		return 1
	}
	return 0
}

// SortedOrder returns the positions 0..n-1 in the byte order of their keys
// (keyAt(i)), equal keys in position order; with lastOnly, only the last
// position of each key (the write that wins in a batch).
//
// It is a most-significant-digit sort with 16-byte digits: entries are
// sorted by their keys' first 16 bytes as integers, and each run that ties
// is sorted again by the next 16 bytes. Every comparison is then a couple
// of integer compares. Keys share long prefixes (table and index ids, then
// an index value held by many rows), so a sort that fell back to comparing
// whole keys did so for most entries, and under wasm that byte loop and
// the lookups behind it were a quarter of a bulk load.
//
// Keys already in order (a bulk load's rows by ascending id, or a batch
// built sorted with a few keys added at its end) are found in one pass and
// not sorted again.
func SortedOrder(n int, keyAt func(int) []byte, lastOnly bool) []int32 {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = keyAt(i)
	}
	return sortedOrder(n, 0, keySource{keys: keys}, lastOnly)
}

// keySource is where a sort reads its keys, inline: a batch's, or a list.
// (A call through a function value per key and per depth was a third of a
// bulk load's sort under wasm.)
type keySource struct {
	b    *Batch
	keys [][]byte
}

func (k keySource) at(i int) []byte {
	if k.b == nil {
		return k.keys[i]
	}
	r := k.b.refs.at(i)
	return k.b.chunks[r.chunk][r.off : r.off+r.klen : r.off+r.klen]
}

// sortedOrder is SortedOrder for keys whose first known are already in
// strictly ascending order.
func sortedOrder(n, known int, keyAt keySource, lastOnly bool) []int32 {
	p := max(known, 1)
	if n > 0 && p < n {
		for prev := keyAt.at(p - 1); p < n; p++ {
			k := keyAt.at(p)
			if bytes.Compare(prev, k) >= 0 {
				break
			}
			prev = k
		}
	}
	if p >= n {
		return identity(n)
	}
	if n-p > sortedTailMax {
		return sortAll(n, 0, keyAt, lastOnly)
	}
	// A sorted prefix and a short tail: sort the tail, then merge the two.
	tail := sortAll(n-p, p, keyAt, lastOnly)
	order := make([]int32, 0, n)
	i := 0
	for _, t := range tail {
		tk := keyAt.at(int(t))
		for ; i < p; i++ {
			c := bytes.Compare(keyAt.at(i), tk)
			if c > 0 {
				break
			}
			if c < 0 || !lastOnly {
				order = append(order, int32(i)) // an equal key of the prefix is older: it goes first, or goes
			}
		}
		order = append(order, t)
	}
	for ; i < p; i++ {
		order = append(order, int32(i))
	}
	return order
}

// sortedTailMax is the longest unsorted tail SortedOrder merges into a
// sorted prefix instead of sorting everything.
const sortedTailMax = 64

func identity(n int) []int32 {
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	return order
}

// sortAll sorts the n positions from first on.
func sortAll(n, first int, keyAt keySource, lastOnly bool) []int32 {
	// The entries are scratch: a bulk load sorts a run per index, one after
	// the other, and each set of entries was garbage for the collector the
	// moment its order was read out.
	buf, _ := entriesPool.Get().(*[]sortEntry)
	if buf == nil || cap(*buf) < n {
		buf = &[]sortEntry{}
		*buf = make([]sortEntry, n)
	}
	entries := (*buf)[:n]
	defer entriesPool.Put(buf)
	for i := range n {
		h1, h2 := keyhead.At(keyAt.at(first+i), 0)
		entries[i] = sortEntry{h1: h1, h2: h2, i: int32(first + i)}
	}
	sortDigits(entries, 0, keyAt)
	order := make([]int32, 0, len(entries))
	for _, e := range entries {
		if !e.dup || !lastOnly {
			order = append(order, e.i)
		}
	}
	return order
}

// entriesPool holds sortAll's scratch entries between sorts.
var entriesPool sync.Pool

// sortDigits sorts entries whose keys agree on their first d bytes by the
// 16 bytes from d on (already in the entries), then each tying run by what
// follows. Equal keys end as neighbouring finished entries of equal length
// in one run; all but the last are marked dup.
func sortDigits(entries []sortEntry, d int, keyAt keySource) {
	sortHeads(entries)
	if d > 0 {
		for j := 0; j+1 < len(entries) && entries[j+1].fin; j++ {
			entries[j].dup = entries[j].h2 == entries[j+1].h2
		}
	}
	for lo := 0; lo < len(entries); {
		hi := lo + 1
		for hi < len(entries) && !entries[lo].fin && entries[hi].h1 == entries[lo].h1 && entries[hi].h2 == entries[lo].h2 {
			hi++
		}
		if hi-lo > 1 {
			run := entries[lo:hi]
			next := d + 16
			for k := range run {
				key := keyAt.at(int(run[k].i))
				if len(key) <= next {
					run[k] = sortEntry{h2: uint64(len(key)), i: run[k].i, fin: true}
				} else {
					h1, h2 := keyhead.At(key, next)
					run[k] = sortEntry{h1: h1, h2: h2, i: run[k].i}
				}
			}
			sortDigits(run, next, keyAt)
		}
		lo = hi
	}
}
