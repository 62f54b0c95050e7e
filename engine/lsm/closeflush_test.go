package lsm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter/faultfs"
)

// Close flushes a log large enough to cost the next open a noticeable
// replay, and leaves a small one; a flush that fails at close loses
// nothing: the next open replays the log. Every case for both log modes.
func TestCloseFlushesALargeLog(t *testing.T) {
	value := make([]byte, 100)
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
				inner := newMemFS(t)
				ff := faultfs.Wrap(m.wrap(inner))
				opts := lsm.Options{MaxLogFiles: 1 << 20} // no flush before Close on a write-once backend either
				s, err := lsm.Open(ff, opts)
				require.NoError(t, err)
				for i := range tc.commits {
					b := &kv.Batch{}
					b.Set(fmt.Appendf(nil, "k%06d", i), value)
					require.NoError(t, s.Apply(b))
				}
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
				for i := range tc.commits {
					got, err := again.Get(fmt.Appendf(nil, "k%06d", i))
					require.NoError(t, err)
					require.Len(t, got, len(value))
				}
			})
		}
	}
}
