package lsm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
)

// blockReads counts the range reads a store makes of its segments. It
// stands for storage outside the process unless inMemory says otherwise.
type blockReads struct {
	fsadapter.FS
	reads         int
	inMemory      bool
	loadsOnDemand bool
}

func (b *blockReads) Caps() fsadapter.Caps {
	c := b.FS.Caps()
	c.InMemory = b.inMemory
	c.LoadsOnDemand = b.loadsOnDemand
	return c
}

func (b *blockReads) ReadRange(name string, off int64, n int) ([]byte, error) {
	if strings.HasSuffix(name, ".sst") {
		b.reads++
	}
	return b.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

// A run a flush or compaction has just written is read from the block cache:
// its blocks went there as they were written, up to the cache's limit.
func TestWrittenRunStartsInTheCache(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cacheBytes int64
		inMemory   bool
		allCached  bool
	}{
		{"cache holds the run", 1 << 20, false, true},
		{"cache smaller than the run", 8 << 10, false, false},
		{"no cache", -1, false, false},
		{"files in memory: read from there", 1 << 20, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &blockReads{FS: newMemFS(t), inMemory: tc.inMemory}
			s := open(t, fs, lsm.Options{CacheBytes: tc.cacheBytes, BlockSize: 1 << 10})
			b := &kv.Batch{}
			for i := range 2000 {
				b.Set([]byte(fmt.Sprintf("key%05d", i)), []byte(fmt.Sprintf("value-%d", i)))
			}
			require.NoError(t, s.Apply(b))
			require.NoError(t, s.Compact())
			st := s.Stats()
			require.Positive(t, st.Segments)
			if tc.cacheBytes > 0 {
				assert.LessOrEqual(t, st.CacheBytes, tc.cacheBytes, "priming stays within the limit")
			}
			checkReadsFromCache(t, s, fs, tc.allCached)
		})
	}
}

// checkReadsFromCache reads every seventh of keys 0..1999 (as written by
// the tests here) and checks that no block came from storage when
// allCached, and some did otherwise.
func checkReadsFromCache(t *testing.T, s *lsm.Store, fs *blockReads, allCached bool) {
	t.Helper()
	before := fs.reads
	for i := 0; i < 2000; i += 7 {
		v, err := s.Get([]byte(fmt.Sprintf("key%05d", i)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("value-%d", i), string(v))
	}
	if allCached {
		assert.Zero(t, fs.reads-before, "blocks read from storage")
	} else {
		assert.Positive(t, fs.reads-before, "blocks past the cache are read")
	}
}

// Priming fills only free room: a later flush leaves what the cache holds
// in place, and a compaction's output is not primed.
func TestPrimingEvictsNothing(t *testing.T) {
	for _, cacheBytes := range []int64{8 << 10, 1 << 20} {
		fs := &blockReads{FS: newMemFS(t)}
		s := open(t, fs, lsm.Options{CacheBytes: cacheBytes, BlockSize: 1 << 10, MemtableBytes: 4 << 10})
		write := func(from int) {
			b := &kv.Batch{}
			for i := from; i < from+500; i++ {
				b.Set([]byte(fmt.Sprintf("key%05d", i)), []byte(fmt.Sprintf("value-%d", i)))
			}
			require.NoError(t, s.Apply(b)) // larger than the memtable: flushed
		}
		readFirst := func() int {
			before := fs.reads
			for i := 0; i < 20; i++ {
				_, err := s.Get([]byte(fmt.Sprintf("key%05d", i)))
				require.NoError(t, err)
			}
			return fs.reads - before
		}
		write(0)
		require.Zero(t, readFirst(), "the first run's first blocks were primed")
		write(10000)
		require.Zero(t, readFirst(), "the second flush evicted none of them")
		require.NoError(t, s.Compact())
		require.Positive(t, readFirst(), "the compaction's output (new files) was not primed, with room (cache %d) or not", cacheBytes)
	}
}
