package lsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
)

var (
	pinA = []byte("\x00catalog")
	pinB = []byte("\x00restoring")
)

// segmentsRead reports whether the store has read any segment since it
// opened: a Get that reads one loads its index and filter.
func segmentsRead(s *lsm.Store) bool {
	st := s.Stats()
	return st.IndexBytes > 0 || st.CacheHits+st.CacheMisses > 0
}

func getOr(t *testing.T, s *lsm.Store, key []byte) string {
	v, err := s.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return "<none>"
	}
	require.NoError(t, err)
	return string(v)
}

// A pinned key reads at open from the manifest and the logs, never from a
// segment, through flushes, merges, deletes and rewrites.
func TestPinnedKeysReadNoSegment(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.wrap(newMemFS(t))
			opts := lsm.Options{Pinned: [][]byte{pinA, pinB}, MemtableBytes: 4 << 10}
			s := open(t, f, opts)
			reopen := func() {
				require.NoError(t, s.Close())
				s = open(t, f, opts)
			}
			fill := func(from int) {
				for i := from; i < from+200; i++ {
					require.NoError(t, s.Apply(batchOf(fmt.Sprintf("row%05d", i), string(bytes.Repeat([]byte{'v'}, 100)))))
				}
			}
			steps := []struct {
				name  string
				write func()
				want  string // pinA's value
			}{
				{"fresh store", func() {}, "<none>"},
				{"set, then rows flushed after it", func() { require.NoError(t, s.Apply(batchOf(string(pinA), "cat1"))); fill(0) }, "cat1"},
				{"rewritten, still in the log", func() { require.NoError(t, s.Apply(batchOf(string(pinA), "cat2"))) }, "cat2"},
				{"rewritten and flushed", func() { require.NoError(t, s.Apply(batchOf(string(pinA), "cat3"))); fill(600) }, "cat3"},
				{"merged with everything", func() { fill(200); require.NoError(t, s.Compact()) }, "cat3"},
				{"deleted and flushed", func() {
					b := &kv.Batch{}
					b.Delete(pinA)
					require.NoError(t, s.Apply(b))
					fill(400)
				}, "<none>"},
				{"set again in a bulk batch", func() {
					b := &kv.Batch{}
					b.Set(pinA, []byte("cat4"))
					for i := range 3000 {
						b.Set([]byte(fmt.Sprintf("bulk%05d", i)), []byte("x"))
					}
					require.NoError(t, s.Apply(b))
				}, "cat4"},
			}
			for _, st := range steps {
				st.write()
				reopen()
				require.Equal(t, st.want, getOr(t, s, pinA), st.name)
				require.Equal(t, "<none>", getOr(t, s, pinB), st.name)
				require.False(t, segmentsRead(s), "%s: a pinned key read a segment", st.name)
			}
			// The measure above can fail: a row reads a segment.
			require.NotEqual(t, "<none>", getOr(t, s, []byte("row00001")))
			require.True(t, segmentsRead(s))
		})
	}
}

// A store written without pins (or an older manifest) learns them: the
// first open reads the segments, the next flush writes the pins.
func TestPinnedKeysLearned(t *testing.T) {
	f := newMemFS(t)
	s := open(t, f, lsm.Options{MemtableBytes: 4 << 10})
	require.NoError(t, s.Apply(batchOf(string(pinA), "cat")))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())

	opts := lsm.Options{Pinned: [][]byte{pinA, pinB}}
	s = open(t, f, opts)
	require.Equal(t, "cat", getOr(t, s, pinA))
	require.Equal(t, "<none>", getOr(t, s, pinB))
	require.True(t, segmentsRead(s), "unknown pins are read from the segments")
	require.NoError(t, s.Apply(batchOf("other", "x")))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())

	s = open(t, f, opts)
	require.Equal(t, "cat", getOr(t, s, pinA))
	require.Equal(t, "<none>", getOr(t, s, pinB))
	require.False(t, segmentsRead(s), "the learned pins were written")
}

// A value too large to keep in the manifest is read from the segments.
func TestPinnedKeyTooLarge(t *testing.T) {
	f := newMemFS(t)
	opts := lsm.Options{Pinned: [][]byte{pinA}}
	s := open(t, f, opts)
	big := string(bytes.Repeat([]byte{'c'}, 100<<10))
	require.NoError(t, s.Apply(batchOf(string(pinA), big)))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())
	s = open(t, f, opts)
	require.Equal(t, big, getOr(t, s, pinA))
	require.True(t, segmentsRead(s))
	files := storeFiles(t, f, ".manifest")
	require.Len(t, files, 1)
	data, err := f.ReadFile(files[0])
	require.NoError(t, err)
	require.Less(t, len(data), 64<<10, "the manifest does not hold the value")
}
