package lsm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
)

// Close flushes a log large enough to cost the next open a noticeable
// replay, and leaves a small one; a flush that fails at close loses
// nothing: the next open replays the log. Every case for both log modes.
func TestCloseFlushesALargeLog(t *testing.T) {
	for _, m := range modes {
		for _, tc := range []struct {
			name     string
			commits  int
			failing  bool // every write from Close on fails
			replayed bool // the reopened store has a log to replay
		}{
			{"large log", 3000, false, false},
			{"small log", 50, false, true},
			{"large log, flush fails", 3000, true, true},
		} {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				opts := lsm.Options{MaxLogFiles: 1 << 20} // no flush before Close on a write-once backend either
				inner, ff, s := logged(t, m, opts, tc.commits)
				st := s.Stats()
				require.Zero(t, st.Flushes)
				require.Equal(t, tc.replayed && !tc.failing, st.LogBytes < 256<<10, "log of %d bytes", st.LogBytes)
				if tc.failing {
					ff.FailFrom(1, nil)
				}
				_ = s.Close() // a failed flush is not the close's error; closing the log may be
				again := open(t, m.wrap(inner), opts)
				st = again.Stats()
				if tc.replayed {
					require.Positive(t, st.LogBytes)
				} else {
					require.Zero(t, st.LogBytes)
					require.Positive(t, st.Segments)
				}
				requireLogged(t, again, tc.commits)
			})
		}
	}
}

// Checkpoint flushes a log large enough to cost the next open a replay,
// leaves a small one, refuses on a closed store, and on a failed flush
// returns the error with the store as it was: every commit readable, later
// commits accepted, and the next open replaying the log. Both log modes, and
// with merges in steps.
func TestCheckpoint(t *testing.T) {
	for _, m := range modes {
		for _, tc := range []struct {
			name    string
			commits int
			failing bool
			steps   bool
			flushed bool
		}{
			{"large log", 3000, false, false, true},
			{"large log, merges in steps", 3000, false, true, true},
			{"small log", 50, false, false, false},
			{"large log, flush fails", 3000, true, false, false},
		} {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				opts := lsm.Options{MaxLogFiles: 1 << 20, CompactInSteps: tc.steps}
				inner, ff, s := logged(t, m, opts, tc.commits)
				if tc.failing {
					ff.FailFrom(1, nil)
				}
				flushed, err := s.Checkpoint()
				require.Equal(t, tc.flushed, flushed)
				st := s.Stats()
				if tc.failing {
					require.Error(t, err)
					require.Positive(t, st.LogBytes)
					ff.Reset()
					b := &kv.Batch{}
					b.Set([]byte("after"), []byte("v"))
					require.NoError(t, s.Apply(b), "commits go on after a failed checkpoint")
				} else {
					require.NoError(t, err)
					require.Equal(t, tc.flushed, st.LogBytes == 0, "log of %d bytes", st.LogBytes)
					require.Equal(t, tc.flushed, st.Flushes == 1)
				}
				// The process ends here without Close (s is dropped): the
				// reopen replays only what the checkpoint left.
				again := open(t, m.wrap(inner), opts)
				require.Equal(t, tc.flushed, again.Stats().LogBytes == 0)
				requireLogged(t, again, tc.commits)
				require.NoError(t, again.Close())
				_, err = again.Checkpoint()
				require.ErrorIs(t, err, kv.ErrClosed)
			})
		}
	}
}

// logged opens a store in mode m on a fresh in-memory backend (wrapped for
// fault injection) and commits n keys of 100-byte values, one per commit.
func logged(t *testing.T, m mode, opts lsm.Options, n int) (fsadapter.FS, *faultfs.FS, *lsm.Store) {
	t.Helper()
	inner := newMemFS(t)
	ff := faultfs.Wrap(m.wrap(inner))
	s, err := lsm.Open(ff, opts)
	require.NoError(t, err)
	for i := range n {
		b := &kv.Batch{}
		b.Set(fmt.Appendf(nil, "k%06d", i), make([]byte, 100))
		require.NoError(t, s.Apply(b))
	}
	return inner, ff, s
}

// requireLogged checks that s holds the n keys logged wrote.
func requireLogged(t *testing.T, s *lsm.Store, n int) {
	t.Helper()
	for i := range n {
		got, err := s.Get(fmt.Appendf(nil, "k%06d", i))
		require.NoError(t, err)
		require.Len(t, got, 100)
	}
}
