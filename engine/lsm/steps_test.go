package lsm_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/faultfs"
)

// residentFS plays the IndexedDB adapter (fsadapter/idbfs with the chunk
// cache of js/src/browser-idb.js): files of at least chunk bytes are read a
// chunk at a time from a cache of at most budget bytes; a read of a chunk not
// loaded fails with fsadapter.ErrNotResident and notes it, and run (the
// host's FileStore.run) loads what a call noted and runs it again when it
// failed. One call's own chunks may go past the budget up to callBudget; a
// call that needs more fails. A call that succeeded and still missed (a
// compaction step that stopped there) lets its own chunks go and has what it
// missed loaded for the next call.
type residentFS struct {
	fsadapter.FS
	chunk, budget, callBudget int64
	loaded                    map[chunkKey]int64 // chunk → last use (a tick)
	tick                      int64
	inCall                    map[chunkKey]bool // chunks the call under way read or loaded
	misses                    map[chunkKey]bool
	loads                     int
	peakCall                  int64 // the most one call's own chunks took
}

type chunkKey struct {
	name string
	n    int64
}

var errTooLarge = errors.New("the call needs more chunks than one call may hold")

func newResidentFS(inner fsadapter.FS, chunk, budget, callBudget int64) *residentFS {
	return &residentFS{FS: inner, chunk: chunk, budget: budget, callBudget: callBudget, loaded: map[chunkKey]int64{}}
}

// chunked reports the size of name when it is kept in chunks.
func (r *residentFS) chunked(name string) (int64, bool) {
	fi, err := r.FS.Stat(name)
	if err != nil || fi.Size() < r.chunk {
		return 0, false
	}
	return fi.Size(), true
}

// use marks chunks [first, last] of name read by the call, or notes those
// not loaded; it reports whether all were loaded.
func (r *residentFS) use(name string, first, last int64) bool {
	ok := true
	for n := first; n <= last; n++ {
		k := chunkKey{name, n}
		if _, in := r.loaded[k]; in {
			r.tick++
			r.loaded[k] = r.tick
			if r.inCall != nil {
				r.inCall[k] = true
			}
			continue
		}
		ok = false
		if r.misses != nil {
			r.misses[k] = true
		}
	}
	return ok
}

func (r *residentFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	if _, ok := r.chunked(name); ok && n > 0 && !r.use(name, off/r.chunk, (off+int64(n)-1)/r.chunk) {
		return nil, fmt.Errorf("read %s: %w", name, fsadapter.ErrNotResident)
	}
	return r.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

func (r *residentFS) ReadFile(name string) ([]byte, error) {
	if size, ok := r.chunked(name); ok && !r.use(name, 0, (size-1)/r.chunk) {
		return nil, fmt.Errorf("read %s: %w", name, fsadapter.ErrNotResident)
	}
	return r.FS.ReadFile(name)
}

// WriteFile keeps a file just written loaded (the host keeps it until its
// commit, then as far as the budget allows).
func (r *residentFS) WriteFile(name string, data []byte, sync bool) error {
	r.forget(name)
	if err := r.FS.WriteFile(name, data, sync); err != nil {
		return err
	}
	if int64(len(data)) >= r.chunk {
		for n := int64(0); n*r.chunk < int64(len(data)); n++ {
			r.tick++
			r.loaded[chunkKey{name, n}] = r.tick
		}
	}
	return nil
}

func (r *residentFS) Remove(name string) error {
	r.forget(name)
	return r.FS.Remove(name)
}

func (r *residentFS) forget(name string) {
	for k := range r.loaded {
		if k.name == name {
			delete(r.loaded, k)
		}
	}
}

// trim lets go of the least recently used chunks the call under way does
// not hold until at most bound bytes are loaded.
func (r *residentFS) trim(bound int64) {
	for int64(len(r.loaded))*r.chunk > bound {
		var oldest chunkKey
		at := int64(-1)
		for k, t := range r.loaded {
			if !r.inCall[k] && (at < 0 || t < at) {
				oldest, at = k, t
			}
		}
		if at < 0 {
			return
		}
		delete(r.loaded, oldest)
	}
}

// run runs one engine call the way FileStore.run does.
func (r *residentFS) run(fn func() error) error {
	r.inCall = map[chunkKey]bool{}
	defer func() {
		r.inCall, r.misses = nil, nil
		r.trim(r.budget)
	}()
	for range 64 {
		r.misses = map[chunkKey]bool{}
		err := fn()
		if len(r.misses) == 0 {
			return err
		}
		if err == nil {
			r.inCall = map[chunkKey]bool{} // the call is over
		}
		held := int64(len(r.inCall)) * r.chunk
		want := int64(len(r.misses)) * r.chunk
		if held+want > r.callBudget {
			if err != nil {
				return fmt.Errorf("%w: %v", errTooLarge, err)
			}
			want = r.callBudget - held // as many as fit, for the next call
		}
		r.trim(r.budget - want)
		for k := range r.misses {
			if want < r.chunk {
				break
			}
			r.tick++
			r.loaded[k] = r.tick
			r.inCall[k] = true
			r.loads++
			want -= r.chunk
		}
		r.peakCall = max(r.peakCall, int64(len(r.inCall))*r.chunk)
		if err == nil {
			return nil
		}
	}
	return errors.New("still missing chunks after 64 runs")
}

// compactSteps runs CompactStep calls until no merge is due, each as its own
// call: one that merged nothing fails for chunks not loaded and runs again
// once they are; one that stopped at such chunks after merging some
// succeeded, and the host loads them for the next.
func compactSteps(t testing.TB, r *residentFS, s *lsm.Store) (steps int) {
	t.Helper()
	for ; steps < 100_000; steps++ {
		var more bool
		require.NoError(t, r.run(func() error {
			var err error
			more, err = s.CompactStep()
			return err
		}))
		if !more {
			return steps + 1
		}
	}
	t.Fatalf("compaction still due after %d steps", steps)
	return steps
}

// bulkBatch is a bulk load (more than the memtable, so it is written as a
// run of its own) of keys spread over the whole key space, as a secondary
// index's are, overwriting and deleting some keys of earlier loads: every
// merge reads all of its inputs side by side.
func bulkBatch(r *rand.Rand, i, n int) *kv.Batch {
	b := &kv.Batch{}
	for j := range n {
		k := fmt.Appendf(nil, "k%07d", r.IntN(400_000))
		if j%17 == 0 {
			b.Delete(k)
			continue
		}
		b.Set(k, fmt.Appendf(nil, "load%d-%d-%0100d", i, j, j))
	}
	return b
}

// TestCompactStepsKeepRunsBoundedWithinChunkBudget loads a store in bulk,
// many times more data than the chunk budget of its backend, on a backend
// that loads chunks on demand within a budget (as IndexedDB does): merges
// whose inputs are larger than one call may load never finished inside the
// write that called for them, and runs piled up past maxRuns. Done in steps
// between writes, every merge finishes, the runs stay bounded, the data is
// whole, and no call ever held more chunks than its bound.
func TestCompactStepsKeepRunsBoundedWithinChunkBudget(t *testing.T) {
	const chunk = 16 << 10
	for _, tc := range []struct {
		name               string
		budget, callBudget int64
	}{
		{"budget 16 chunks", 256 << 10, 1 << 20},
		// Fewer chunks than a merge has inputs: a step needs one chunk of
		// each at once, within the call's bound, not the budget.
		{"budget 2 chunks", 2 * chunk, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) { compactStepsWithinBudget(t, chunk, tc.budget, tc.callBudget) })
	}
}

func compactStepsWithinBudget(t *testing.T, chunk, budget, callBudget int64) {
	r := newResidentFS(newMemFS(t), chunk, budget, callBudget)
	opts := lsm.Options{MemtableBytes: 64 << 10, SegmentBytes: 128 << 10, CacheBytes: 64 << 10, CompactInSteps: true}
	// Not through open: its check at the end reads past the budget.
	s, err := lsm.Open(r, opts)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 3))
	want := state{}
	const loads = 40
	var steps, mostRuns int
	for i := range loads {
		b := bulkBatch(rng, i, 1500)
		require.NoError(t, r.run(func() error { return s.Apply(b) }))
		want.apply(b)
		// A write runs no merge: its commit is acknowledged without one.
		steps += compactSteps(t, r, s)
		st := s.Stats()
		mostRuns = max(mostRuns, st.Runs)
		require.LessOrEqual(t, st.Runs, 12, "after load %d: %d runs", i, st.Runs)
	}
	st := s.Stats()
	t.Logf("%d loads, %.1f MB on disk, %d runs, %d compactions in %d steps, %d chunk loads, the most one call held %d KB",
		loads, float64(st.DiskBytes)/(1<<20), st.Runs, st.Compactions, steps, r.loads, r.peakCall>>10)
	require.Greater(t, st.DiskBytes, int64(4*r.callBudget), "the data is many times what one call may load")
	require.GreaterOrEqual(t, st.Compactions, int64(loads/4), "merges ran")
	require.LessOrEqual(t, r.peakCall, r.callBudget)

	// Keys read right through the budget (a sample: a read is a call; all of
	// them are read below).
	n := 0
	for k, v := range want {
		if n++; n > 500 {
			break
		}
		var got []byte
		require.NoError(t, r.run(func() error {
			var err error
			got, err = s.Get([]byte(k))
			return err
		}))
		require.Equal(t, v, string(got), k)
	}
	require.NoError(t, s.Close())
	// Reopened where everything is loaded: the whole content, checked.
	s2 := open(t, r.FS, opts)
	require.Equal(t, want, dump(t, s2))
	require.NoError(t, s2.Check())
	require.NoError(t, s2.Close())
}

// TestCompactStepWritesBetweenSteps interleaves commits, flushes and reads
// with the steps of a merge: a flush during a merge puts its run in front of
// the merge's inputs, and the merge, installed later, keeps it there.
func TestCompactStepWritesBetweenSteps(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.wrap(newMemFS(t))
			opts := lsm.Options{MemtableBytes: 1 << 10, SegmentBytes: 2 << 10, BlockSize: 256, CompactInSteps: true}
			s := open(t, f, opts)
			rng := rand.New(rand.NewPCG(5, 5))
			want := state{}
			for i := range 400 {
				b := &kv.Batch{}
				for range 1 + rng.IntN(8) {
					k := fmt.Appendf(nil, "k%04d", rng.IntN(2000))
					if rng.IntN(5) == 0 {
						b.Delete(k)
					} else {
						b.Set(k, fmt.Appendf(nil, "v%d-%0*d", i, rng.IntN(60), 0))
					}
				}
				require.NoError(t, s.Apply(b))
				want.apply(b)
				if i%3 == 0 {
					// One step at a time: merges span several commits.
					_, err := s.CompactStep()
					require.NoError(t, err)
				}
				if i%50 == 49 {
					require.Equal(t, want, dump(t, s), "after commit %d", i)
				}
			}
			st := s.Stats()
			require.Greater(t, st.Compactions, int64(3))
			for more := true; more; {
				var err error
				more, err = s.CompactStep()
				require.NoError(t, err)
			}
			require.LessOrEqual(t, s.Stats().Runs, 12)
			require.Equal(t, want, dump(t, s))
			require.NoError(t, s.Close())
			s = open(t, f, opts)
			require.Equal(t, want, dump(t, s))
			checkFiles(t, f, s)
		})
	}
}

// TestCrashEveryPointCompactSteps is TestCrashEveryPoint for a store whose
// merges run in steps between commits: a crash in the middle of a merge
// (between its steps, or inside one) loses no acknowledged commit, and the
// merge's partial output is deleted by the next Open.
func TestCrashEveryPointCompactSteps(t *testing.T) {
	w := newCrashWorkloadBulk(50, 6)
	opts := crashOptions
	opts.CompactInSteps = true
	run := func(f fsadapter.FS) (acked int, inFlight bool) {
		s, err := lsm.Open(f, opts)
		if err != nil {
			return 0, false
		}
		defer s.Close()
		defer func() { lastStats = s.Stats() }()
		for i, b := range w.batches {
			if err := s.Apply(b); err != nil {
				return i, true
			}
			// One step per commit: merges are under way across commits.
			if _, err := s.CompactStep(); err != nil {
				return i + 1, false
			}
		}
		return len(w.batches), false
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ff := faultfs.Wrap(m.wrap(newMemFS(t)))
			acked, _ := run(ff)
			require.Equal(t, len(w.batches), acked)
			total := ff.Ops()
			require.GreaterOrEqual(t, lastStats.Compactions, int64(2), "the workload merges")
			for n := 1; n <= total; n++ {
				for _, keep := range []int{-1, 9} {
					inner := newMemFS(t)
					ff := faultfs.Wrap(m.wrap(inner))
					if keep < 0 {
						ff.CrashAt(n)
					} else {
						ff.TearAt(n, keep)
					}
					acked, inFlight := run(ff)
					require.True(t, ff.Crashed(), "fault at op %d did not crash", n)
					what := fmt.Sprintf("crash at op %d (keep %d)", n, keep)
					checkRecovered(t, m.wrap(inner), opts, w, acked, inFlight, what)
					// No orphan of a merge cut short stays past Open.
					s, err := lsm.Open(m.wrap(inner), opts)
					require.NoError(t, err, what)
					checkFiles(t, m.wrap(inner), s)
					require.NoError(t, s.Close())
				}
			}
		})
	}
}

// TestCompactStepFailureKeepsInputs fails the writes of a merge's steps: the
// merge is dropped with its output, the store reads as before, and a later
// step merges again.
func TestCompactStepFailureKeepsInputs(t *testing.T) {
	inner := newMemFS(t)
	ff := faultfs.Wrap(inner)
	opts := lsm.Options{MemtableBytes: 1 << 10, SegmentBytes: 1 << 10, BlockSize: 256, CompactInSteps: true}
	s := open(t, ff, opts)
	want := state{}
	for i := range 200 {
		b := numberedBatch(i + 1)
		require.NoError(t, s.Apply(b))
		want.apply(b)
	}
	require.True(t, s.CompactionDue())
	runs := s.Stats().Runs
	ff.FailFrom(2, fs.ErrPermission) // the step's second write on fails
	_, err := s.CompactStep()
	for err == nil {
		_, err = s.CompactStep()
	}
	require.ErrorIs(t, err, fs.ErrPermission)
	ff.Reset()
	require.Equal(t, runs, s.Stats().Runs)
	require.Equal(t, want, dump(t, s))
	checkFiles(t, ff, s)
	for more := true; more; {
		more, err = s.CompactStep()
		require.NoError(t, err)
	}
	require.Less(t, s.Stats().Runs, runs)
	require.Equal(t, want, dump(t, s))
}
