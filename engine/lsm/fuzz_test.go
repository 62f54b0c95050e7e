package lsm_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/engine/wal"
)

// FuzzOpen opens a store whose last log (and, when man is not empty, a
// manifest) holds arbitrary bytes: Open must succeed or report corruption,
// never panic, and a store it opens must take writes and reopen.
func FuzzOpen(f *testing.F) {
	f.Add(wal.Encode(nil, 1, numberedBatch(1).Ops()), []byte{})
	f.Add(wal.Encode(wal.Encode(nil, 1, numberedBatch(1).Ops()), 2, numberedBatch(2).Ops()), []byte{})
	f.Add(wal.Encode(nil, 2, numberedBatch(2).Ops()), []byte("MBMANI01"))
	f.Add([]byte{1, 0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, log, man []byte) {
		fs := newMemFS(t)
		require.NoError(t, fs.WriteFile("00000000000000000001.log", log, false))
		if len(man) > 0 {
			require.NoError(t, fs.WriteFile("00000000000000000001.manifest", man, false))
		}
		s, err := lsm.Open(fs, lsm.Options{})
		if err != nil {
			if !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("open: %v does not wrap kv.ErrCorrupt", err)
			}
			return
		}
		before := dump(t, s)
		require.NoError(t, s.Apply(batchOf("fuzz", "ok")))
		require.NoError(t, s.Close())
		s, err = lsm.Open(fs, lsm.Options{})
		require.NoError(t, err)
		before["fuzz"] = "ok"
		require.Equal(t, before, dump(t, s))
		require.NoError(t, s.Close())
	})
}

// TestConcurrentUse runs writers, readers, snapshots and compactions at once;
// it is meant for -race. Goroutines use assert, since require may only stop
// the test from its own goroutine.
func TestConcurrentUse(t *testing.T) {
	s := open(t, newMemFS(t), lsm.Options{CheckpointBytes: 4 << 10})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range 200 {
				assert.NoError(t, s.Apply(batchOf(string(rune('a'+w))+string(rune(i)), "v")))
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			snap := s.Snapshot()
			it := snap.NewIter(kv.IterOptions{})
			n := 0
			for it.Next() {
				n++
			}
			assert.NoError(t, it.Close())
			_, _ = s.Get([]byte("a"))
			_ = s.Stats()
			snap.Release()
		}
	})
	wg.Go(func() {
		for range 10 {
			assert.NoError(t, s.Compact())
		}
	})
	wg.Wait()
	require.Equal(t, int64(600), s.Stats().Keys)
	require.NoError(t, s.Close())
}
