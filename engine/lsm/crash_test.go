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

// crashWorkload is a deterministic mix of sets, overwrites and deletes over
// a small key space, so later batches depend on earlier ones, with forced
// compactions sprinkled in.
type crashWorkload struct {
	batches []*kv.Batch
	compact map[int]bool // compact after batch i (0-based)
	states  []state      // states[k]: content after the first k batches
}

func newCrashWorkload(n int) crashWorkload { return newCrashWorkloadBulk(n, 0) }

// newCrashWorkloadBulk is newCrashWorkload with every bulkEvery-th batch
// (none when 0) a bulk load: hundreds of ops, more than crashOptions'
// memtable, which the store writes as a run of its own instead of logging.
func newCrashWorkloadBulk(n, bulkEvery int) crashWorkload {
	r := rand.New(rand.NewPCG(7, 7))
	w := crashWorkload{compact: map[int]bool{}, states: []state{{}}}
	cur := state{}
	for i := 0; i < n; i++ {
		b := &kv.Batch{}
		ops := 1 + r.IntN(6)
		if bulkEvery > 0 && i%bulkEvery == bulkEvery-1 {
			ops = 300
		}
		for j := 0; j < ops; j++ {
			k := fmt.Appendf(nil, "k%03d", r.IntN(60))
			if r.IntN(4) == 0 {
				b.Delete(k)
			} else {
				b.Set(k, fmt.Appendf(nil, "b%d-op%d-%s", i, j, make([]byte, r.IntN(40))))
			}
		}
		w.batches = append(w.batches, b)
		cur.apply(b)
		w.states = append(w.states, cur.clone())
		if i%37 == 36 {
			w.compact[i] = true
		}
	}
	return w
}

// run applies the workload until the first error. It returns how many
// batches were acknowledged and whether the failure hit a batch (rather
// than a compaction), in which case that batch may or may not have landed.
func (w crashWorkload) run(f fsadapter.FS, opts lsm.Options) (acked int, batchInFlight bool) {
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
		if w.compact[i] {
			if err := s.Compact(); err != nil {
				return i + 1, false
			}
		}
	}
	return len(w.batches), false
}

// lastStats is the Stats of the last store run finished with.
var lastStats kv.Stats

// nCompact is how many forced compactions the workload holds.
func (w crashWorkload) nCompact() int { return len(w.compact) }

// crashOptions make rotation, flushes and compactions happen often in a
// short workload.
var crashOptions = lsm.Options{LogFileSize: 1 << 10, MemtableBytes: 1 << 10, SegmentBytes: 1 << 10, BlockSize: 256}

// TestCrashEveryPoint kills the simulated process at every mutating
// filesystem operation of a workload (before it, or in the middle of a write
// keeping a few bytes or all of them), reopens on what survived, and checks
// that every acknowledged batch is there and the batch in flight is there
// entirely or not at all.
func TestCrashEveryPoint(t *testing.T) {
	crashEveryPoint(t, newCrashWorkload(crashBatches))
}

// TestCrashEveryPointBulk is TestCrashEveryPoint with bulk loads among the
// batches: a bulk load commits by the manifest that names its run.
func TestCrashEveryPointBulk(t *testing.T) {
	crashEveryPoint(t, newCrashWorkloadBulk(50, 6)) // the same under wasm: enough flushes either way
}

func crashEveryPoint(t *testing.T, w crashWorkload) {
	for _, m := range modes {
		for _, d := range []lsm.Durability{lsm.Normal, lsm.Strict} {
			t.Run(fmt.Sprintf("%s/durability=%d", m.name, d), func(t *testing.T) {
				opts := crashOptions
				opts.Durability = d
				ff := faultfs.Wrap(m.wrap(newMemFS(t)))
				acked, _ := w.run(ff, opts)
				require.Equal(t, len(w.batches), acked)
				total := ff.Ops()
				st := lastStats
				t.Logf("%d batches, %d mutating operations, %d flushes, %d compactions", len(w.batches), total, st.Flushes, st.Compactions)
				// The workload must exercise what it is meant to test.
				require.Greater(t, st.Flushes, int64(5))
				require.Greater(t, st.Compactions, int64(w.nCompact()))

				faults := []struct {
					name   string
					inject func(ff *faultfs.FS, n int)
				}{
					{"crash", func(ff *faultfs.FS, n int) { ff.CrashAt(n) }},
					{"tear1", func(ff *faultfs.FS, n int) { ff.TearAt(n, 1) }},
					{"tear9", func(ff *faultfs.FS, n int) { ff.TearAt(n, 9) }},
					{"tearall", func(ff *faultfs.FS, n int) { ff.TearAt(n, 1<<30) }},
				}
				for n := 1; n <= total; n++ {
					for _, fault := range faults {
						inner := newMemFS(t)
						ff := faultfs.Wrap(m.wrap(inner))
						fault.inject(ff, n)
						acked, inFlight := w.run(ff, opts)
						require.True(t, ff.Crashed(), "%s at op %d did not crash", fault.name, n)
						checkRecovered(t, m.wrap(inner), opts, w, acked, inFlight, fmt.Sprintf("%s at op %d", fault.name, n))
					}
				}
			})
		}
	}
}

// checkRecovered reopens after a crash, checks the content, then checks the
// store takes new writes and reopens cleanly again.
func checkRecovered(t *testing.T, f fsadapter.FS, opts lsm.Options, w crashWorkload, acked int, inFlight bool, what string) {
	t.Helper()
	s, err := lsm.Open(f, opts)
	require.NoError(t, err, what)
	got := dump(t, s)
	ok := equalState(got, w.states[acked]) || (inFlight && equalState(got, w.states[acked+1]))
	if !ok {
		require.Equal(t, w.states[acked], got, "%s: %d batches acknowledged (in flight: %v)", what, acked, inFlight)
	}
	got["after"] = "crash"
	require.NoError(t, s.Apply(batchOf("after", "crash")), what)
	require.NoError(t, s.Close())
	s, err = lsm.Open(f, opts)
	require.NoError(t, err, what)
	require.Equal(t, got, dump(t, s), what)
	require.NoError(t, s.Close())
}

func equalState(a, b state) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestFailedWritesKeepStoreUsable makes each operation of a workload fail
// once with ErrNoSpace, without a crash: the failing Apply reports it, the
// store goes on, and a reopen holds exactly the acknowledged batches.
func TestFailedWritesKeepStoreUsable(t *testing.T) {
	failedWritesKeepStoreUsable(t, newCrashWorkload(crashBatches/2))
}

// TestFailedWritesKeepStoreUsableBulk: a bulk load whose run cannot be
// written or installed is logged instead, and still commits.
func TestFailedWritesKeepStoreUsableBulk(t *testing.T) {
	failedWritesKeepStoreUsable(t, newCrashWorkloadBulk(50, 6))
}

func failedWritesKeepStoreUsable(t *testing.T, w crashWorkload) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ff := faultfs.Wrap(m.wrap(newMemFS(t)))
			acked, _ := w.run(ff, crashOptions)
			require.Equal(t, len(w.batches), acked)
			total := ff.Ops()
			for n := 1; n <= total; n++ {
				inner := newMemFS(t)
				ff := faultfs.Wrap(m.wrap(inner))
				ff.FailAt(n, fsadapter.ErrNoSpace)
				s, err := lsm.Open(ff, crashOptions)
				require.NoError(t, err)
				want := state{}
				failures := 0
				for i, b := range w.batches {
					err := s.Apply(b)
					if err != nil {
						require.ErrorIs(t, err, fsadapter.ErrNoSpace, "op %d", n)
						failures++
						continue
					}
					want.apply(b)
					if w.compact[i] {
						if err := s.Compact(); err != nil {
							require.ErrorIs(t, err, fsadapter.ErrNoSpace)
							failures++
						}
					}
				}
				require.LessOrEqual(t, failures, 1, "op %d", n)
				checkStore(t, s, want)
				require.NoError(t, s.Close())
				s, err = lsm.Open(m.wrap(inner), crashOptions)
				require.NoError(t, err, "op %d", n)
				checkStore(t, s, want)
				require.NoError(t, s.Close())
			}
		})
	}
}

// partialFS makes chosen appends write part of their bytes and fail, and
// can make Truncate and Remove fail, to reach the fallbacks that undo a
// failed append.
type partialFS struct {
	fsadapter.FS
	failAppend     map[int]int // append number → bytes that land before the error
	appends        int
	failTruncate   bool
	failRemove     bool
	failSyncOnce   bool
	syncFailedOnce bool
}

var errPartial = errors.New("partial write")

func (p *partialFS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	f, err := p.FS.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return &partialFile{AppendFile: f, fs: p}, nil
}

func (p *partialFS) Truncate(name string, size int64) error {
	if p.failTruncate {
		return fmt.Errorf("truncate %s: %w", name, fs.ErrPermission)
	}
	return p.FS.Truncate(name, size)
}

func (p *partialFS) Remove(name string) error {
	if p.failRemove {
		return fmt.Errorf("remove %s: %w", name, fs.ErrPermission)
	}
	return p.FS.Remove(name)
}

type partialFile struct {
	fsadapter.AppendFile
	fs *partialFS
}

func (f *partialFile) Write(b []byte) (int, error) {
	f.fs.appends++
	keep, ok := f.fs.failAppend[f.fs.appends]
	if !ok {
		return f.AppendFile.Write(b)
	}
	n, _ := f.AppendFile.Write(b[:min(keep, len(b))])
	return n, fmt.Errorf("append: %w", errPartial)
}

func (f *partialFile) Sync() error {
	if f.fs.failSyncOnce && !f.fs.syncFailedOnce {
		f.fs.syncFailedOnce = true
		return fmt.Errorf("sync: %w", errPartial)
	}
	return f.AppendFile.Sync()
}

func TestFailedAppendFallbacks(t *testing.T) {
	tests := []struct {
		name       string
		fs         partialFS
		strict     bool
		wantBroken bool
	}{
		{name: "partial append, truncate works", fs: partialFS{failAppend: map[int]int{3: 5}}},
		{name: "partial append, truncate fails: rotate", fs: partialFS{failAppend: map[int]int{3: 5}, failTruncate: true}},
		{name: "partial first append, truncate fails: remove", fs: partialFS{failAppend: map[int]int{1: 5}, failTruncate: true}},
		{name: "complete append, truncate fails: damaged", fs: partialFS{failAppend: map[int]int{3: 1 << 20}, failTruncate: true}, wantBroken: true},
		{name: "partial first append, truncate and remove fail: damaged", fs: partialFS{failAppend: map[int]int{1: 5}, failTruncate: true, failRemove: true}, wantBroken: true},
		{name: "sync fails, truncate works", fs: partialFS{failSyncOnce: true}, strict: true},
		{name: "sync fails, truncate fails: damaged", fs: partialFS{failSyncOnce: true, failTruncate: true}, strict: true, wantBroken: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner := newMemFS(t)
			pfs := tc.fs
			pfs.FS = inner
			opts := lsm.Options{}
			if tc.strict {
				opts.Durability = lsm.Strict
			}
			s := open(t, &pfs, opts)
			want := state{}
			var failedBatch *kv.Batch
			for i := 1; i <= 6; i++ {
				b := numberedBatch(i)
				err := s.Apply(b)
				switch {
				case err == nil:
					want.apply(b)
				case errors.Is(err, lsm.ErrLogDamaged):
					require.True(t, tc.wantBroken, "batch %d: %v", i, err)
				default:
					require.ErrorIs(t, err, errPartial, "batch %d", i)
					require.Nil(t, failedBatch, "one failure injected")
					failedBatch = b
				}
			}
			require.NotNil(t, failedBatch)
			checkStore(t, s, want)
			require.NoError(t, s.Close())

			pfs.failAppend, pfs.failTruncate, pfs.failRemove = nil, false, false
			s = open(t, &pfs, opts)
			got := dump(t, s)
			// A write that failed after landing whole may reappear, whole.
			landed := want.clone()
			landed.apply(failedBatch)
			if !equalState(got, want) {
				require.True(t, tc.wantBroken, "only a damaged log may hold the failed batch")
				require.Equal(t, landed, got)
			}
			require.NoError(t, s.Apply(batchOf("more", "writes")))
			got["more"] = "writes"
			require.NoError(t, s.Close())
			s = open(t, &pfs, opts)
			require.Equal(t, got, dump(t, s))
			require.NoError(t, s.Close())
		})
	}
}

// TestCrashMidRotationIsNotAMissingLog kills the simulated process at every
// operation of a workload whose logs rotate many times between flushes, so
// that it dies between creating a log and promising it (the mark at the end
// of the full log, the manifest): recovery must never take that for a
// deleted log, and every acknowledged batch must be there.
func TestCrashMidRotationIsNotAMissingLog(t *testing.T) {
	w := newCrashWorkload(60)
	for _, d := range []lsm.Durability{lsm.Normal, lsm.Strict} {
		t.Run(fmt.Sprintf("durability=%d", d), func(t *testing.T) {
			opts := lsm.Options{LogFileSize: 256, MemtableBytes: 2 << 10, SegmentBytes: 1 << 10, BlockSize: 256, Durability: d}
			ff := faultfs.Wrap(newMemFS(t))
			acked, _ := w.run(ff, opts)
			require.Equal(t, len(w.batches), acked)
			total := ff.Ops()
			require.Greater(t, lastStats.Flushes, int64(1))
			for n := 1; n <= total; n++ {
				for _, keep := range []int{-1, 1, 1 << 30} {
					inner := newMemFS(t)
					ff := faultfs.Wrap(inner)
					if keep < 0 {
						ff.CrashAt(n)
					} else {
						ff.TearAt(n, keep)
					}
					acked, inFlight := w.run(ff, opts)
					require.True(t, ff.Crashed())
					checkRecovered(t, inner, opts, w, acked, inFlight, fmt.Sprintf("crash at op %d keeping %d", n, keep))
				}
			}
		})
	}
}
