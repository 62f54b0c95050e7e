//go:build js && wasm

package idbfs_test

import (
	"fmt"
	"math/rand/v2"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/idbfs"
)

// runStep is run for a compaction step: the host loads what it missed
// (the step succeeded) for the next one, and keeps its output unloaded.
func runStep(tb testing.TB, name string, fn func() error) error { return run(tb, name, fn, true) }

// TestCompactionInStepsWithinChunkBudget is the store on this backend with
// the real host (browser-idb.js), a chunk budget far smaller than the data:
// bulk loads, each followed by compaction steps as the owning tab runs them
// (each its own call, committed on its own). Merges whose inputs are many
// times what one call may load finish, the runs stay within lsm.MaxRuns,
// no call holds more than its bound, and every key reads back.
//
// Run inside the loads' calls (the store's behaviour before steps), those
// merges failed at chunks not loaded every time, and the runs piled up past
// the limit.
func TestCompactionInStepsWithinChunkBudget(t *testing.T) {
	const name = "compaction"
	const resident, callBytes = 512 << 10, 2 << 20
	a := api(t)
	require.NoError(t, await(a.Call("open", name, resident, callBytes)))
	fsys, err := idbfs.New(a.Get("host"), name)
	require.NoError(t, err)
	require.NoError(t, fsys.MkdirAll("db"))
	opts := lsm.Options{Dir: "db", MemtableBytes: 64 << 10, SegmentBytes: 128 << 10, CacheBytes: 64 << 10, CompactInSteps: true}
	var s *lsm.Store
	require.NoError(t, run(t, name, func() (err error) { s, err = lsm.Open(fsys, opts); return err }))
	flush(t, name)

	rng := rand.New(rand.NewPCG(9, 9))
	want := map[string]string{}
	steps, mostRuns := 0, 0
	for i := range 40 {
		b := &kv.Batch{}
		for j := range 1500 {
			k := fmt.Sprintf("k%07d", rng.IntN(400_000))
			if j%17 == 0 {
				b.Delete([]byte(k))
				delete(want, k)
				continue
			}
			v := fmt.Sprintf("load%d-%d-%0100d", i, j, j)
			b.Set([]byte(k), []byte(v))
			want[k] = v
		}
		require.NoError(t, run(t, name, func() error { return s.Apply(b) }), "load %d", i)
		flush(t, name)
		for more := true; more; steps++ {
			require.Less(t, steps, 20_000, "compaction never done")
			require.NoError(t, runStep(t, name, func() (err error) {
				more, err = s.CompactStep()
				return err
			}))
			flush(t, name)
		}
		runs := s.Stats().Runs
		mostRuns = max(mostRuns, runs)
		require.LessOrEqual(t, runs, lsm.MaxRuns, "after load %d", i)
	}
	st := s.Stats()
	t.Logf("%.1f MB on disk, %d runs (at most %d), %d compactions in %d steps; host: %v",
		float64(st.DiskBytes)/(1<<20), st.Runs, mostRuns, st.Compactions, steps, js.Global().Get("JSON").Call("stringify", a.Call("stats", name)))
	require.Greater(t, st.DiskBytes, int64(2*callBytes), "the data is several times what one call may load")
	require.GreaterOrEqual(t, st.Compactions, int64(6))
	require.LessOrEqual(t, stat(t, name, "peakCallBytes"), callBytes)
	require.LessOrEqual(t, stat(t, name, "residentBytes"), resident)

	// Keys read right within the budget (a sample: a read is a call; all
	// of them are read below).
	n := 0
	for k, v := range want {
		if n++; n > 300 {
			break
		}
		var got []byte
		require.NoError(t, run(t, name, func() (err error) { got, err = s.Get([]byte(k)); return err }))
		require.Equal(t, v, string(got), k)
	}
	require.NoError(t, s.Close())
	flush(t, name)

	// Reloaded with room for it all: the whole store checks out and holds
	// exactly what was written.
	require.NoError(t, await(a.Call("open", name, 64<<20, 64<<20)))
	fsys, err = idbfs.New(a.Get("host"), name)
	require.NoError(t, err)
	require.NoError(t, run(t, name, func() (err error) { s, err = lsm.Open(fsys, opts); return err }))
	// Every segment's chunks asked for at once: one run again, not one per file.
	names, err := fsys.ReadDir("db")
	require.NoError(t, err)
	var paths []string
	for _, n := range names {
		paths = append(paths, "db/"+n)
	}
	require.NoError(t, run(t, name, func() error { return fsys.(fsadapter.Prefetcher).Prefetch(paths) }))
	require.NoError(t, run(t, name, s.Check))
	got := 0
	require.NoError(t, run(t, name, func() error {
		got = 0
		it := s.NewIter(kv.IterOptions{})
		for it.Next() {
			if want[string(it.Key())] != string(it.Value()) {
				_ = it.Close()
				return fmt.Errorf("key %s: %q", it.Key(), it.Value())
			}
			got++
		}
		return it.Close()
	}))
	require.Equal(t, len(want), got)
	require.NoError(t, s.Close())
}
