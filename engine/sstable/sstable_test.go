package sstable_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/cache"
	"minibase/engine/kv"
	"minibase/engine/sstable"
)

type ent struct {
	k, v string
	tomb bool
}

func build(n int) ([]byte, []ent) { return buildKeys(n, decimalKey) }

// Key shapes: short decimal keys, and the engine's: 7 bytes of table and
// index ids and a tag, then a big-endian number (16 bytes: the second of a
// search's two integer heads decides), or a number shared by 10 keys and
// another after it (20 bytes: the heads tie and the bytes after decide).
func decimalKey(i int) string { return fmt.Sprintf("k%05d", i*2) }
func engineKey(i int) string {
	return "\x01\x00\x00\x00\x07\x00\x01\x10" + string(binary.BigEndian.AppendUint64(nil, uint64(i*2)))
}
func tiedKey(i int) string {
	return "\x01\x00\x00\x00\x07\x00\x02\x10" + string(binary.BigEndian.AppendUint64(nil, uint64(i/10))) + string(binary.BigEndian.AppendUint32(nil, uint32(i*2)))
}

func buildKeys(n int, key func(int) string) ([]byte, []ent) {
	w := sstable.NewWriter(256, 0)
	var ents []ent
	for i := 0; i < n; i++ {
		e := ent{k: key(i), v: fmt.Sprintf("value-%d", i), tomb: i%7 == 3}
		if e.tomb {
			e.v = ""
		}
		w.Add([]byte(e.k), []byte(e.v), e.tomb)
		ents = append(ents, e)
	}
	return w.Finish(), ents
}

func reader(data []byte) sstable.ReadFunc {
	return func(off int64, n int) ([]byte, error) {
		if off < 0 || off+int64(n) > int64(len(data)) {
			return nil, errors.New("out of range")
		}
		return bytes.Clone(data[off : off+int64(n)]), nil
	}
}

func open(t testing.TB, name string, data []byte) (*sstable.Reader, error) {
	return sstable.Open(name, 1, int64(len(data)), reader(data), cache.New(1<<20))
}

func TestGetAndIterate(t *testing.T) {
	for _, shape := range []struct {
		name string
		key  func(int) string
	}{{"decimal", decimalKey}, {"engine", engineKey}, {"tied", tiedKey}} {
		for _, n := range []int{0, 1, 2, 50, 1000} {
			t.Run(fmt.Sprint(shape.name, n), func(t *testing.T) { testGetAndIterate(t, n, shape.key) })
		}
	}
}

func testGetAndIterate(t *testing.T, n int, key func(int) string) {
	data, ents := buildKeys(n, key)
	r, err := open(t, "a.seg", data)
	require.NoError(t, err)
	require.Equal(t, uint64(n), r.Entries)
	for _, e := range ents {
		v, tomb, found, err := r.Get([]byte(e.k))
		require.NoError(t, err)
		require.True(t, found, e.k)
		require.Equal(t, e.tomb, tomb)
		if !e.tomb {
			require.Equal(t, e.v, string(v))
		}
		_, _, found, err = r.Get([]byte(e.k + "x")) // between keys
		require.NoError(t, err)
		require.False(t, found)
	}
	// Every bound pair, both directions, against a filter of ents.
	bounds := []string{"", "k", key(0), key(0) + "\x00", key(50), key(50) + "\x00", key(999), "\xff"}
	for _, lo := range bounds {
		for _, hi := range bounds {
			var lower, upper []byte
			if lo != "" {
				lower = []byte(lo)
			}
			if hi != "" {
				upper = []byte(hi)
			}
			var want []string
			for _, e := range ents {
				if (lower == nil || e.k >= lo) && (upper == nil || e.k < hi) {
					want = append(want, e.k)
				}
			}
			for _, rev := range []bool{false, true} {
				it := r.NewIter(lower, upper, rev)
				var got []string
				for it.Next() {
					got = append(got, string(it.Key()))
				}
				require.NoError(t, it.Err())
				w := want
				if rev {
					w = reversed(want)
				}
				require.Equal(t, w, got, "[%q,%q) rev=%v", lo, hi, rev)
			}
		}
	}
}

func reversed(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func TestDamageIsCorruptNamingFile(t *testing.T) {
	data, ents := build(300)
	for _, cut := range []int{0, 1, sstable.FooterSize, len(data) / 2, len(data) - 1} {
		_, err := open(t, "cut.seg", data[:cut])
		require.ErrorIs(t, err, kv.ErrCorrupt, "cut %d", cut)
		require.Contains(t, err.Error(), "cut.seg")
	}
	// A flipped byte anywhere fails either Open or the read of its block.
	for i := 0; i < len(data); i += 7 {
		d := bytes.Clone(data)
		d[i] ^= 0x40
		r, err := open(t, "flip.seg", d)
		if err == nil {
			for _, e := range ents {
				if _, _, _, err = r.Get([]byte(e.k)); err != nil {
					break
				}
			}
		}
		require.ErrorIs(t, err, kv.ErrCorrupt, "byte %d", i)
		require.Contains(t, err.Error(), "flip.seg")
	}
}

func TestBloomRejectsMostAbsentKeys(t *testing.T) {
	data, _ := build(1000)
	c := cache.New(1 << 20)
	r, err := sstable.Open("b.seg", 1, int64(len(data)), reader(data), c)
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		_, _, found, err := r.Get(fmt.Appendf(nil, "absent%d", i))
		require.NoError(t, err)
		require.False(t, found)
	}
	// 10 bits per key: about 1% false positives; 5% is far outside chance.
	require.Less(t, c.Stats().Misses, int64(50))
}

func FuzzReader(f *testing.F) {
	data, _ := build(40)
	f.Add(data)
	empty, _ := build(0)
	f.Add(empty)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := open(t, "f.seg", data)
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
			return
		}
		for _, rev := range []bool{false, true} {
			it := r.NewIter(nil, nil, rev)
			for n := 0; it.Next() && n < 1e5; n++ {
				_, _, _, _ = r.Get(it.Key())
			}
			if err := it.Err(); err != nil {
				require.ErrorIs(t, err, kv.ErrCorrupt)
			}
		}
		// A walk hands out what Next does, or fails as it does.
		var next, walked []string
		it := r.NewIter(nil, nil, false)
		for n := 0; it.Next() && n < 1e5; n++ {
			next = append(next, string(it.Key()))
		}
		nextErr := it.Err()
		it = r.NewIter(nil, nil, false)
		if it.Next() {
			walked = append(walked, string(it.Key()))
			it.WalkBefore(nil, true, func(k, _ []byte) bool {
				walked = append(walked, string(k))
				return len(walked) < 1e5
			})
		}
		if nextErr == nil && it.Err() == nil {
			require.Equal(t, next, walked)
		} else if it.Err() != nil {
			require.ErrorIs(t, it.Err(), kv.ErrCorrupt)
		}
	})
}

func TestScanIter(t *testing.T) {
	data, ents := build(500)
	c := cache.New(1 << 20)
	r, err := sstable.Open("s.seg", 1, int64(len(data)), reader(data), c)
	require.NoError(t, err)
	for _, chunk := range []int{0, 1, 1000, 1 << 20} {
		it := r.NewScanIter(chunk)
		i := 0
		for ; it.Next(); i++ {
			require.Equal(t, ents[i].k, string(it.Key()))
			require.Equal(t, ents[i].tomb, it.Tomb())
		}
		require.NoError(t, it.Err())
		require.Equal(t, len(ents), i, "chunk %d", chunk)
	}
	it := r.NewScanIter(0)
	i := 0
	for ; it.Next(); i++ {
		require.Equal(t, ents[i].k, string(it.Key()))
		require.Equal(t, ents[i].tomb, it.Tomb())
	}
	require.NoError(t, it.Err())
	require.Equal(t, len(ents), i)
	require.Equal(t, int64(0), c.Stats().Hits+c.Stats().Misses, "scans bypass the cache")
	d := bytes.Clone(data)
	d[5] ^= 1
	r, err = open(t, "s.seg", d)
	require.NoError(t, err)
	it = r.NewScanIter(1000)
	for it.Next() {
	}
	require.ErrorIs(t, it.Err(), kv.ErrCorrupt)
}

// Verify reads the whole file: any flipped byte in a data block is
// corruption, and an intact file passes.
func TestVerifyFindsEveryFlippedByte(t *testing.T) {
	w := sstable.NewWriter(256, 0)
	for i := 0; i < 200; i++ {
		w.Add([]byte(fmt.Sprintf("key%04d", i)), []byte(fmt.Sprintf("value %d", i)), i%17 == 0)
	}
	data := w.Finish()
	open := func(b []byte) (*sstable.Reader, error) {
		return sstable.Open("f", 1, int64(len(b)), func(off int64, n int) ([]byte, error) { return b[off : off+int64(n)], nil }, cache.New(1<<20))
	}
	r, err := open(data)
	require.NoError(t, err)
	require.NoError(t, r.Verify())
	for i := 0; i < len(data)-sstable.FooterSize; i += 7 {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		r, err := open(bad)
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt, "byte %d", i)
			continue // the index or filter: refused at open
		}
		require.ErrorIs(t, r.Verify(), kv.ErrCorrupt, "byte %d", i)
	}
}

// A forward iterator that keeps missing the cache reads ahead: the same
// entries as block-at-a-time reads, in a few reads, never past the block
// holding the upper bound, filling the cache only while it has room, and
// still reporting a damaged block.
func TestReadahead(t *testing.T) {
	data, ents := build(3000)
	for _, limit := range []int64{0, 2000, 1 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			reads, bytesRead := 0, 0
			read := func(off int64, n int) ([]byte, error) {
				reads++
				bytesRead += n
				return reader(data)(off, n)
			}
			c := cache.New(limit)
			r, err := sstable.Open("ra.seg", 1, int64(len(data)), read, c)
			require.NoError(t, err)
			for _, hi := range []string{"", "k00500", "k04000"} {
				var upper []byte
				var want []string
				for _, e := range ents {
					if hi == "" || e.k < hi {
						want = append(want, e.k)
					}
				}
				if hi != "" {
					upper = []byte(hi)
				}
				reads, bytesRead = 0, 0
				it := r.NewIter(nil, upper, false)
				var got []string
				for it.Next() {
					got = append(got, string(it.Key()))
				}
				require.NoError(t, it.Err())
				require.Equal(t, want, got, "upper %q", hi)
				if limit == 0 {
					// The file is ~200 blocks of 256 bytes, under one
					// readahead: two misses, then one read.
					require.LessOrEqual(t, reads, 3, "upper %q: %d reads", hi, reads)
					if hi == "k00500" {
						require.Less(t, bytesRead, len(data)/4, "read past the upper bound")
					}
				}
			}
			require.LessOrEqual(t, c.Stats().Bytes, limit)
		})
	}
	d := bytes.Clone(data)
	d[len(data)/2] ^= 1 // a data block well past the first readahead
	r, err := sstable.Open("ra.seg", 1, int64(len(d)), reader(d), cache.New(0))
	if err == nil {
		it := r.NewIter(nil, nil, false)
		for it.Next() {
		}
		err = it.Err()
	}
	require.ErrorIs(t, err, kv.ErrCorrupt)
}

// OpenTail given the segment's TailBytes reads index, filter and footer in
// one read; any other tail still opens the same reader, with more reads.
func TestOpenTail(t *testing.T) {
	data, ents := build(500)
	r, err := open(t, "a.seg", data)
	require.NoError(t, err)
	tail := r.TailBytes()
	require.Greater(t, tail, int64(sstable.FooterSize))
	for _, tc := range []struct {
		name  string
		tail  int64
		reads int
	}{
		{"exact", tail, 1},
		{"longer", tail + 300, 1},
		{"whole file", int64(len(data)), 1},
		{"footer only", sstable.FooterSize, 2},
		{"too short for the footer", 3, 2},
		{"none", 0, 2},
		{"past the file", int64(len(data)) + 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads := 0
			rd := reader(data)
			counting := func(off int64, n int) ([]byte, error) { reads++; return rd(off, n) }
			r, err := sstable.OpenTail("a.seg", 1, int64(len(data)), tc.tail, counting, cache.New(1<<20))
			require.NoError(t, err)
			require.Equal(t, tc.reads, reads)
			require.Equal(t, tail, r.TailBytes())
			for _, e := range ents[:50] {
				_, _, found, err := r.Get([]byte(e.k))
				require.NoError(t, err)
				require.True(t, found)
			}
		})
	}
}

// readerInto is reader's ReadIntoFunc, noting each buffer it was handed
// (by its first byte's address).
func readerInto(data []byte, bufs map[*byte]bool) sstable.ReadIntoFunc {
	return func(off int64, dst []byte) error {
		if off < 0 || off+int64(len(dst)) > int64(len(data)) {
			return errors.New("out of range")
		}
		if len(dst) > 0 {
			bufs[&dst[:1][0]] = true
		}
		copy(dst, data[off:])
		return nil
	}
}

// Given a read into the caller's buffer, bulk reads (read-ahead, scan
// iterators) go into two buffers used by turns, shared by the iterators of
// consecutive segments: a walk of any length reads into two buffers, and
// the entry before the current one still reads as it was (what a merge
// relies on), across the move to the next segment too. Buffers are
// poisoned when recycled (poison_test.go), so a recycled one would show.
func TestReadIntoReusesTwoBuffers(t *testing.T) {
	dataA, entsA := buildKeys(30000, func(i int) string { return fmt.Sprintf("a%05d", i) })
	dataB, entsB := buildKeys(30000, func(i int) string { return fmt.Sprintf("b%05d", i) })
	want := append(entsA, entsB...)
	for _, kind := range []string{"scan", "readahead"} {
		t.Run(kind, func(t *testing.T) {
			used := map[*byte]bool{}
			var segs []*sstable.Reader
			for i, data := range [][]byte{dataA, dataB} {
				r, err := sstable.Open(fmt.Sprintf("%d.seg", i), uint64(i), int64(len(data)), reader(data), cache.New(0))
				require.NoError(t, err)
				r.SetReadInto(readerInto(data, used))
				segs = append(segs, r)
			}
			var bufs sstable.ReadBuffers
			var prevK, prevV []byte // the entry before the current one, as handed out
			var prevKC, prevVC string
			n := 0
			for _, r := range segs {
				it := r.NewIter(nil, nil, false)
				if kind == "scan" {
					it = r.NewScanIter(1000)
				}
				it.SetBuffers(&bufs)
				for it.Next() {
					if n > 0 {
						require.Equal(t, prevKC, string(prevK), "entry %d: the previous key was overwritten", n)
						require.Equal(t, prevVC, string(prevV), "entry %d: the previous value was overwritten", n)
					}
					require.Equal(t, want[n].k, string(it.Key()))
					require.Equal(t, want[n].v, string(it.Value()))
					require.Equal(t, want[n].tomb, it.Tomb())
					prevK, prevV = it.Key(), it.Value()
					prevKC, prevVC = string(prevK), string(prevV)
					n++
				}
				require.NoError(t, it.Err())
			}
			require.Equal(t, len(want), n)
			require.Len(t, used, 2, "bulk reads went into %d buffers", len(used))
		})
	}
}
