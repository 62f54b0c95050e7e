package sstable_test

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/cache"
	"minibase/engine/kv"
	"minibase/engine/sstable"
)

// model checks a reader against the entries it was written from: every
// Get, including keys between and around them, and walks from seeks at,
// just before and just after every key, both ways, a few entries each, and
// whole walks under each bound.
func model(t *testing.T, r *sstable.Reader, ents []ent) {
	t.Helper()
	keys := make([]string, len(ents))
	for i, e := range ents {
		keys[i] = e.k
		v, tomb, found, err := r.Get([]byte(e.k))
		require.NoError(t, err)
		require.True(t, found, "key %d", i)
		require.Equal(t, e.tomb, tomb)
		if !e.tomb {
			require.Equal(t, e.v, string(v))
		}
		for _, k := range []string{e.k + "\x00", e.k[:len(e.k)-1]} {
			if j := sort.SearchStrings(keys[:i], k); j < i && keys[j] == k {
				continue
			}
			if i+1 < len(ents) && ents[i+1].k == k {
				continue
			}
			_, _, found, err := r.Get([]byte(k))
			require.NoError(t, err)
			require.False(t, found, "%q", k)
		}
	}
	require.NoError(t, r.Verify())
	var bounds []string
	for _, k := range keys {
		bounds = append(bounds, k, k+"\x00", k[:len(k)-1])
	}
	bounds = append(bounds, "", "\xff")
	for _, b := range bounds {
		from := sort.SearchStrings(keys, b) // first key >= b
		for _, rev := range []bool{false, true} {
			var want []string
			var it *sstable.Iter
			if rev {
				it = r.NewIter(nil, []byte(b), true)
				for j := from - 1; j >= 0 && len(want) < 3; j-- {
					want = append(want, keys[j])
				}
			} else {
				it = r.NewIter([]byte(b), nil, false)
				for j := from; j < len(keys) && len(want) < 3; j++ {
					want = append(want, keys[j])
				}
			}
			var got []string
			for len(got) < 3 && it.Next() {
				got = append(got, string(it.Key()))
			}
			require.NoError(t, it.Err())
			require.Equal(t, want, got, "bound %q rev=%v", b, rev)
		}
	}
	// Whole walks, and WalkBefore across every block and partition.
	for _, rev := range []bool{false, true} {
		it := r.NewIter(nil, nil, rev)
		var got []string
		for it.Next() {
			got = append(got, string(it.Key()))
		}
		require.NoError(t, it.Err())
		want := keys
		if rev {
			want = reversed(keys)
		}
		if len(keys) == 0 {
			require.Empty(t, got)
		} else {
			require.Equal(t, want, got, "rev=%v", rev)
		}
	}
	if len(keys) > 0 {
		it := r.NewIter(nil, nil, false)
		require.True(t, it.Next())
		got := []string{string(it.Key())}
		it.WalkBefore(nil, true, func(k, _ []byte) bool { got = append(got, string(k)); return true })
		require.NoError(t, it.Err())
		require.Equal(t, keys, got)
	}
}

// Keys of every size, from one byte to past a block, values likewise, and
// tombstones, in every format; empty and one-entry files.
func TestFormatsAllSizes(t *testing.T) {
	forFormats(t, func(t *testing.T, f format) {
		for _, n := range []int{0, 1, 2, 7, 300} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				w := f.newWriter()
				var ents []ent
				for i := 0; i < n; i++ {
					k := fmt.Sprintf("%04d", i)
					if i%5 == 1 {
						k += strings.Repeat("k", (i*37)%400) // lengths past one varint byte and one block
					}
					e := ent{k: k, tomb: i%4 == 2}
					if !e.tomb {
						e.v = strings.Repeat("v", (i*53)%700)
					}
					w.Add([]byte(e.k), []byte(e.v), e.tomb)
					ents = append(ents, e)
				}
				data := w.Finish()
				r, err := open(t, "s.seg", data)
				require.NoError(t, err)
				require.Equal(t, uint64(n), r.Entries)
				if n == 0 {
					require.Nil(t, r.Smallest())
					require.Nil(t, r.Largest())
				} else {
					require.Equal(t, ents[0].k, string(r.Smallest()))
					require.Equal(t, ents[n-1].k, string(r.Largest()))
				}
				model(t, r, ents)
			})
		}
	})
}

// Many partitions: the walks and lookups of model cross every boundary,
// and only the top-level index stays resident.
func TestManyPartitions(t *testing.T) {
	f := formats[2]
	data, ents := buildF(f, 2000)
	r, err := open(t, "p.seg", data)
	require.NoError(t, err)
	require.Greater(t, r.Partitions(), 10)
	model(t, r, ents)

	// The same entries in one version 1 file hold far more in memory.
	data1, _ := buildF(formats[0], 2000)
	r1, err := open(t, "p1.seg", data1)
	require.NoError(t, err)
	data2, _ := buildF(formats[1], 2000)
	r2, err := open(t, "p2.seg", data2)
	require.NoError(t, err)
	require.Equal(t, 1, r2.Partitions())
	require.Less(t, r2.ResidentBytes*10, r1.ResidentBytes, "resident: v2 %d, v1 %d", r2.ResidentBytes, r1.ResidentBytes)
	require.Less(t, r2.TailBytes(), int64(200))
}

// Partitions of a large file: the top-level index stays one entry per
// partition (the writer cuts them at about 4 KB), so a reader of a 4 MB
// segment keeps well under 1% of it.
func TestLargeFileResident(t *testing.T) {
	w := sstable.NewWriter(0, 0)
	for i := 0; w.Size() < 4<<20; i++ {
		w.Add(fmt.Appendf(nil, "user/%012d", i), bytes.Repeat([]byte{'v'}, 80), false)
	}
	data := w.Finish()
	r, err := sstable.Open("big.seg", 1, int64(len(data)), reader(data), cache.New(1<<20))
	require.NoError(t, err)
	require.Less(t, r.ResidentBytes, int64(len(data)/500), "%d resident for %d bytes", r.ResidentBytes, len(data))
	require.NoError(t, r.Verify())
	_, _, found, err := r.Get([]byte("user/000000012345"))
	require.NoError(t, err)
	require.True(t, found)
}

// A golden file written by the version 1 writer before version 2 existed
// reads as it always did, and the writer kept for tests still writes it
// byte for byte.
func TestVersion1Golden(t *testing.T) {
	data, err := os.ReadFile("testdata/v1.seg")
	require.NoError(t, err)
	w := sstable.NewWriterV1(256)
	var ents []ent
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%05d", i*2)
		if i%50 == 7 {
			k += strings.Repeat("x", 150)
		}
		v := fmt.Sprintf("value-%d", i)
		if i%97 == 5 {
			v = strings.Repeat("v", 600)
		}
		tomb := i%7 == 3
		w.Add([]byte(k), []byte(v), tomb)
		if tomb {
			v = ""
		}
		ents = append(ents, ent{k: k, v: v, tomb: tomb})
	}
	require.Equal(t, data, w.Finish())
	r, err := open(t, "v1.seg", data)
	require.NoError(t, err)
	require.Equal(t, 0, r.Partitions())
	model(t, r, ents)
}

// A bad checksum in an index or filter partition fails the read that
// needs it with kv.ErrCorrupt naming the file; the file still opens (only
// the top-level index is read then), and Verify finds it.
func TestPartitionDamage(t *testing.T) {
	data, ents := buildF(formats[2], 600)
	r, err := open(t, "ok.seg", data)
	require.NoError(t, err)
	index, filter := r.PartitionExtents()
	require.Greater(t, len(index), 3)
	for _, tc := range []struct {
		name string
		ext  [][2]int64
	}{{"index", index}, {"filter", filter}} {
		for pi, e := range tc.ext {
			for _, at := range []int64{e[0], e[0] + e[1]/2, e[0] + e[1] - 1} {
				bad := bytes.Clone(data)
				bad[at] ^= 0x10
				r, err := open(t, "bad.seg", bad)
				require.NoError(t, err, "%s partition %d", tc.name, pi)
				var gerr error
				for _, en := range ents {
					if _, _, _, gerr = r.Get([]byte(en.k)); gerr != nil {
						break
					}
				}
				require.ErrorIs(t, gerr, kv.ErrCorrupt, "%s partition %d byte %d", tc.name, pi, at)
				require.Contains(t, gerr.Error(), "bad.seg")
				require.Contains(t, gerr.Error(), tc.name+" partition")
				r, err = open(t, "bad.seg", bad)
				require.NoError(t, err)
				require.ErrorIs(t, r.Verify(), kv.ErrCorrupt)
				if tc.name == "index" {
					r, err = open(t, "bad.seg", bad)
					require.NoError(t, err)
					it := r.NewIter(nil, nil, pi%2 == 0)
					for it.Next() {
					}
					require.ErrorIs(t, it.Err(), kv.ErrCorrupt)
				}
			}
		}
	}
}

// Index and filter partitions go into the cache ahead of data blocks: a
// stream of data blocks read once (another file's, here a version 1 file
// without partitions) does not evict the partitions a lookup needs again.
func TestPartitionsStayCached(t *testing.T) {
	data, ents := buildF(formats[2], 2000)
	c := cache.New(4 << 10)
	r, err := sstable.Open("c.seg", 1, int64(len(data)), reader(data), c)
	require.NoError(t, err)
	key := []byte(ents[100].k)
	_, _, found, err := r.Get(key)
	require.NoError(t, err)
	require.True(t, found)
	require.Greater(t, c.Stats().HighBytes, int64(0))
	other, otherEnts := buildF(formats[0], 2000)
	o, err := sstable.Open("o.seg", 2, int64(len(other)), reader(other), c)
	require.NoError(t, err)
	for _, e := range otherEnts {
		_, _, _, err := o.Get([]byte(e.k))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, c.Stats().Bytes, int64(4<<10))
	before := c.Stats().Misses
	_, _, found, err = r.Get(key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, int64(1), c.Stats().Misses-before, "only the data block misses")
}

// Prime puts a new file's partitions in the cache first, then its data.
func TestPrimePartitionsFirst(t *testing.T) {
	data, ents := buildF(formats[2], 600)
	c := cache.New(1 << 20)
	r, err := sstable.Open("n.seg", 1, int64(len(data)), reader(data), c)
	require.NoError(t, err)
	added := r.Prime(data, 1<<20)
	require.Greater(t, added, int64(len(data)/2))
	st := c.Stats()
	require.Greater(t, st.HighBytes, int64(0))
	for _, e := range ents {
		_, _, found, err := r.Get([]byte(e.k))
		require.NoError(t, err)
		require.True(t, found)
	}
	require.Equal(t, st.Misses, c.Stats().Misses, "every lookup served from the primed cache")
	// A budget smaller than the partitions primes only partitions.
	c2 := cache.New(1 << 20)
	r2, err := sstable.Open("n.seg", 2, int64(len(data)), reader(data), c2)
	require.NoError(t, err)
	index, _ := r2.PartitionExtents()
	r2.Prime(data, 2*index[0][1])
	require.Equal(t, c2.Stats().Bytes, c2.Stats().HighBytes)
}

// Readers are shared: lookups and walks from several goroutines at once
// over a cache too small for the file, evicting each other's partitions.
func TestConcurrentPartitionReads(t *testing.T) {
	data, ents := buildF(formats[2], 1500)
	r, err := sstable.Open("c.seg", 1, int64(len(data)), reader(data), cache.New(2<<10))
	require.NoError(t, err)
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := g; i < len(ents); i += 4 {
				_, tomb, found, err := r.Get([]byte(ents[i].k))
				if err != nil || !found || tomb != ents[i].tomb {
					errs <- fmt.Errorf("get %q: %v %v %v", ents[i].k, found, tomb, err)
					return
				}
			}
			it := r.NewIter(nil, nil, g%2 == 1)
			n := 0
			for it.Next() {
				n++
			}
			if it.Err() != nil || n != len(ents) {
				errs <- fmt.Errorf("walk: %d entries, %v", n, it.Err())
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

// Prime given bytes other than the file the reader opened (a bug, or
// damage in memory) never puts an index partition that lookups would trust
// unchecked into the cache: lookups and walks may miss keys (Prime trusts
// what it is given), but never panic, and fail only with corruption.
func TestPrimeChecksIndexPartitions(t *testing.T) {
	data, ents := buildF(formats[2], 600)
	r0, err := open(t, "p.seg", data)
	require.NoError(t, err)
	index, _ := r0.PartitionExtents()
	for _, e := range index {
		for at := e[0]; at < e[0]+e[1]-4; at += 3 {
			bad := bytes.Clone(data)
			bad[at] ^= 0x5a
			r, err := open(t, "p.seg", data)
			require.NoError(t, err)
			r.Prime(bad, 1<<20)
			for _, en := range ents[:50] {
				if _, _, _, err := r.Get([]byte(en.k)); err != nil {
					require.ErrorIs(t, err, kv.ErrCorrupt)
				}
			}
			it := r.NewIter(nil, nil, true)
			for it.Next() {
			}
			if it.Err() != nil {
				require.ErrorIs(t, it.Err(), kv.ErrCorrupt)
			}
		}
	}
}
