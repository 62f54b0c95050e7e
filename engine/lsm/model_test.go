package lsm_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"minibase/engine/value/valuetest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
)

var seedFlag = flag.Uint64("seed", 0, "seed for TestModel (0: random; MINIBASE_SEED works too)")

// modelSeed returns the seed to replay from -seed or MINIBASE_SEED, else a
// random one. Tests log it so a failure can be replayed.
func modelSeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	return valuetest.Seed(t)
}

// TestModel drives the store with random batches, reopens, compactions,
// snapshots and out-of-space failures, and compares it with a map after
// every step. Replay a failure with -seed=N or MINIBASE_SEED=N.
func TestModel(t *testing.T) {
	seed := modelSeed(t)
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for mi, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, uint64(mi)))
			ff := faultfs.Wrap(m.wrap(newMemFS(t)))
			// Small sizes, so that flushes, multi-segment runs, compactions
			// and cache evictions all happen within the steps.
			opts := lsm.Options{
				LogFileSize:   int64(256 + r.IntN(8<<10)),
				MemtableBytes: int64(1 + r.IntN(16<<10)),
				SegmentBytes:  int64(128 + r.IntN(8<<10)),
				BlockSize:     32 + r.IntN(1<<10),
				CacheBytes:    int64(r.IntN(64<<10)) - 1,
				Pinned:        pinnedModelKeys,
			}
			if r.IntN(2) == 0 {
				opts.Durability = lsm.Strict
			}
			t.Logf("options %+v", opts)
			s := open(t, ff, opts)
			defer func() { _ = s.Close() }()
			want := state{}
			type snap struct {
				s    kv.Snapshot
				want state
			}
			var snaps []snap
			// maybe is a failed batch that may still come back whole on
			// reopen: its record landed (a sync failed after the write) and
			// the log could not be cut back, so the store refuses writes
			// (ErrLogDamaged). A later successful Apply proves it was undone.
			var maybe *kv.Batch
			for step := 0; step < steps; step++ {
				switch x := r.IntN(100); {
				case x < 70:
					b := randomBatch(r)
					err := s.Apply(b)
					if os.Getenv("MINIBASE_TRACE") != "" {
						t.Logf("step %d: apply %d ops: %v", step, b.Len(), err)
					}
					switch {
					case err == nil:
						want.apply(b)
						maybe = nil
					case errors.Is(err, lsm.ErrLogDamaged):
						require.NotNil(t, maybe, "step %d: damaged without a failed write", step)
					default:
						require.ErrorIs(t, err, fsadapter.ErrNoSpace, "step %d", step)
						maybe = b
					}
				case x < 75:
					if os.Getenv("MINIBASE_TRACE") != "" {
						t.Logf("step %d: reopen", step)
					}
					// Snapshots read segment files, which belong to the
					// store that made them: they end with it.
					for _, sn := range snaps {
						sn.s.Release()
					}
					snaps = nil
					require.NoError(t, s.Close())
					ff.Reset()
					s = open(t, ff, opts)
					got := dump(t, s)
					if maybe != nil && !equalState(got, want) {
						want.apply(maybe)
					}
					maybe = nil
					require.Equal(t, want, got, "step %d: after reopen", step)
					// The pinned keys read from the manifest (or learn
					// there) what the model holds, and every pin agrees
					// with the segments.
					for _, k := range pinnedModelKeys {
						v, err := s.Get(k)
						if w, ok := want[string(k)]; ok {
							require.NoError(t, err, "step %d: pinned %s", step, k)
							require.Equal(t, w, string(v), "step %d: pinned %s", step, k)
						} else {
							require.ErrorIs(t, err, kv.ErrNotFound, "step %d: pinned %s", step, k)
						}
					}
					require.NoError(t, s.Check(), "step %d", step)
				case x < 78:
					err := s.Compact()
					if os.Getenv("MINIBASE_TRACE") != "" {
						t.Logf("step %d: compact: %v", step, err)
					}
					if err != nil {
						require.ErrorIs(t, err, fsadapter.ErrNoSpace, "step %d", step)
					}
					require.NoError(t, s.Check(), "step %d: after compact", step)
				case x < 81:
					ff.FailAt(1+r.IntN(3), fsadapter.ErrNoSpace)
				case x < 84:
					snaps = append(snaps, snap{s.Snapshot(), want.clone()})
					if len(snaps) > 4 {
						snaps[0].s.Release()
						snaps = snaps[1:]
					}
				case x < 92:
					checkRange(t, r, s, want)
				default:
					if len(snaps) > 0 {
						sn := snaps[r.IntN(len(snaps))]
						checkRange(t, r, sn.s, sn.want)
					}
				}
			}
			checkStore(t, s, want)
			st := s.Stats()
			t.Logf("last store: %d flushes, %d compactions, %d runs, %d segments, cache hits %d misses %d",
				st.Flushes, st.Compactions, st.Runs, st.Segments, st.CacheHits, st.CacheMisses)
			require.NoError(t, s.Close())
			ff.Reset()
			s = open(t, ff, opts)
			if maybe != nil && !equalState(dump(t, s), want) {
				want.apply(maybe)
			}
			checkStore(t, s, want)
		})
	}
}

// pinnedModelKeys are two of randomBatch's keys, kept in the manifest.
var pinnedModelKeys = [][]byte{[]byte("000"), []byte("007")}

func randomBatch(r *rand.Rand) *kv.Batch {
	b := &kv.Batch{}
	n := 1 + r.IntN(8)
	if r.IntN(50) == 0 {
		n = 200 + r.IntN(200) // past sortedApplyThreshold: a bulk batch may go straight to a run
	}
	for range n {
		k := fmt.Appendf(nil, "%03d", r.IntN(500))
		if r.IntN(3) == 0 {
			b.Delete(k)
		} else {
			b.Set(k, fmt.Appendf(nil, "%d-%s", r.Uint32(), make([]byte, r.IntN(60))))
		}
	}
	return b
}

// checkRange compares a random bounded scan, forward or reverse, and a few
// point reads with the model.
func checkRange(t *testing.T, r *rand.Rand, rd kv.Reader, want state) {
	t.Helper()
	var lo, hi []byte
	if r.IntN(4) > 0 {
		lo = fmt.Appendf(nil, "%03d", r.IntN(500))
	}
	if r.IntN(4) > 0 {
		hi = fmt.Appendf(nil, "%03d", r.IntN(500))
	}
	rev := r.IntN(2) == 0
	var exp []string
	for k, v := range want {
		if (lo == nil || k >= string(lo)) && (hi == nil || k < string(hi)) {
			exp = append(exp, k+"="+v)
		}
	}
	slices.Sort(exp)
	if rev {
		slices.Reverse(exp)
	}
	var got []string
	it := rd.NewIter(kv.IterOptions{Lower: lo, Upper: hi, Reverse: rev})
	for it.Next() {
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Close())
	require.Equal(t, exp, got)
	// Walk, stopped after a random number of entries and then continued
	// with Next, reads the same entries.
	it = rd.NewIter(kv.IterOptions{Lower: lo, Upper: hi, Reverse: rev})
	if w, ok := it.(kv.Walker); ok {
		got = got[:0]
		stopAt := r.IntN(len(exp) + 2)
		w.Walk(func(k, v []byte) bool {
			got = append(got, string(k)+"="+string(v))
			return len(got) < stopAt
		})
		if len(got) > 0 && len(got) == stopAt {
			require.Equal(t, got[len(got)-1], string(it.Key())+"="+string(it.Value()), "the current entry after a stopped walk")
		}
		for it.Next() {
			got = append(got, string(it.Key())+"="+string(it.Value()))
		}
		require.Equal(t, exp, got, "walk")
	}
	require.NoError(t, it.Close())
	if !rev {
		checkSeeks(t, r, rd, lo, hi, exp)
	}
	for range 5 {
		k := fmt.Sprintf("%03d", r.IntN(500))
		v, err := rd.Get([]byte(k))
		if w, ok := want[k]; ok {
			require.NoError(t, err)
			require.Equal(t, w, string(v))
		} else {
			require.ErrorIs(t, err, kv.ErrNotFound)
		}
	}
}

// checkSeeks reads [lo, hi) forward with a random mix of Next and SeekGE
// to ascending targets (keys held or not, before the range, past it) and
// requires every position to be the model's: exp holds the range's
// entries, "key=value", in order.
func checkSeeks(t *testing.T, r *rand.Rand, rd kv.Reader, lo, hi []byte, exp []string) {
	t.Helper()
	it := rd.NewIter(kv.IterOptions{Lower: lo, Upper: hi})
	sk, ok := it.(kv.Seeker)
	require.True(t, ok, "a forward store iterator seeks")
	pos := -1 // index in exp of the current entry
	target := -1
	for pos < len(exp) {
		var valid bool
		if r.IntN(3) == 0 {
			valid = sk.Next()
			pos++
		} else {
			// A target at or after the current key (a seek never goes back).
			target = max(target, r.IntN(520)-10)
			if pos >= 0 {
				cur, _ := strconv.Atoi(strings.SplitN(exp[pos], "=", 2)[0])
				target = max(target, cur)
			}
			key := fmt.Appendf(nil, "%03d", target)
			if target < 0 {
				key = nil // before every key
			}
			valid = sk.SeekGE(key)
			pos = max(pos, 0)
			for pos < len(exp) && strings.SplitN(exp[pos], "=", 2)[0] < string(key) {
				pos++
			}
			target += r.IntN(8)
		}
		if pos >= len(exp) {
			require.False(t, valid, "past the range's last entry")
			break
		}
		require.True(t, valid, "entry %d of %d", pos, len(exp))
		require.Equal(t, exp[pos], string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Close())
}
