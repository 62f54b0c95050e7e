package lsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/engine/wal"
	"minibase/fsadapter"
)

var _ kv.Store = (*lsm.Store)(nil)

func TestRoundTrip(t *testing.T) {
	for _, m := range modes {
		for _, d := range []lsm.Durability{lsm.Normal, lsm.Strict} {
			t.Run(fmt.Sprintf("%s/durability=%d", m.name, d), func(t *testing.T) {
				f := m.wrap(newMemFS(t))
				opts := lsm.Options{Durability: d}
				s := open(t, f, opts)
				_, err := s.Get([]byte("a"))
				require.ErrorIs(t, err, kv.ErrNotFound)

				require.NoError(t, s.Apply(batchOf("a", "1", "b", "2", "c", "3")))
				require.NoError(t, s.Apply(batchOf("b", "<del>", "c", "33", "", "empty key")))
				require.NoError(t, s.Apply(batchOf("d", "", "d", "last wins")))
				require.NoError(t, s.Apply(&kv.Batch{}))
				require.NoError(t, s.Apply(nil))
				want := state{"a": "1", "c": "33", "": "empty key", "d": "last wins"}
				checkStore(t, s, want)
				require.Equal(t, int64(3), s.Stats().Commits)
				checkFiles(t, f, s)
				require.NoError(t, s.Close())

				s = open(t, f, opts)
				checkStore(t, s, want)
				checkFiles(t, f, s)
				require.NoError(t, s.Apply(batchOf("e", "5")))
				want["e"] = "5"
				require.NoError(t, s.Close())
				s = open(t, f, opts)
				checkStore(t, s, want)
				require.NoError(t, s.Close())
			})
		}
	}
}

func TestBatchIsCopied(t *testing.T) {
	// The store keeps its own copy (in the log record it wrote), so a caller
	// reusing its buffers after Apply changes nothing stored.
	s := open(t, newMemFS(t), lsm.Options{})
	k, v := []byte("key"), []byte("value")
	b := &kv.Batch{}
	b.Set(k, v)
	require.NoError(t, s.Apply(b))
	k[0], v[0] = 'X', 'X'
	got, err := s.Get([]byte("key"))
	require.NoError(t, err)
	require.Equal(t, "value", string(got))
}

func TestDir(t *testing.T) {
	f := newMemFS(t)
	opts := lsm.Options{Dir: "data/db"}
	s := open(t, f, opts)
	require.NoError(t, s.Apply(batchOf("a", "1")))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Apply(batchOf("b", "2")))
	require.NoError(t, s.Close())
	names, err := f.ReadDir("data/db")
	require.NoError(t, err)
	require.Len(t, names, 3, "segment, manifest, log")
	root, err := f.ReadDir(".")
	require.NoError(t, err)
	require.Equal(t, []string{"data"}, root)
	s = open(t, f, opts)
	checkStore(t, s, state{"a": "1", "b": "2"})
}

func TestReopenManyCommits(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.wrap(newMemFS(t))
			opts := lsm.Options{LogFileSize: 4 << 10, MemtableBytes: 1 << 30, MaxLogFiles: 1 << 20}
			s := open(t, f, opts)
			const n = 1500
			for i := 1; i <= n; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
				if i%500 == 0 {
					require.NoError(t, s.Close())
					s = open(t, f, opts)
				}
			}
			want := numberedState(n)
			checkStore(t, s, want)
			checkFiles(t, f, s)
			logs := storeFiles(t, f, ".log")
			if m.name == "append" {
				require.Greater(t, len(logs), 10, "rotation by LogFileSize")
				require.Less(t, len(logs), 200)
			} else {
				require.Len(t, logs, n, "one file per commit")
			}
			require.Empty(t, storeFiles(t, f, ".sst"))
			require.NoError(t, s.Close())
			s = open(t, f, opts)
			checkStore(t, s, want)
			require.Equal(t, s.Stats().LogBytes, logBytes(t, f))
		})
	}
}

func logBytes(t *testing.T, f fsadapter.FS) int64 {
	var n int64
	for _, name := range storeFiles(t, f, ".log") {
		data, err := f.ReadFile(name)
		require.NoError(t, err)
		n += int64(len(data))
	}
	return n
}

func TestFlushAndCompaction(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.wrap(newMemFS(t))
			opts := lsm.Options{LogFileSize: 2 << 10, MemtableBytes: 8 << 10, SegmentBytes: 16 << 10, BlockSize: 512}
			s := open(t, f, opts)
			const n = 4000
			maxRuns := 0
			for i := 1; i <= n; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
				st := s.Stats()
				// The log never outgrows the bound by more than one commit.
				require.LessOrEqual(t, st.LogBytes, opts.MemtableBytes+200)
				maxRuns = max(maxRuns, st.Runs)
			}
			want := numberedState(n)
			checkStore(t, s, want)
			checkFiles(t, f, s)
			require.Len(t, storeFiles(t, f, ".manifest"), 1, "old manifests are deleted")
			st := s.Stats()
			require.Greater(t, st.Flushes, int64(10))
			require.Greater(t, st.Compactions, int64(1))
			require.Greater(t, st.Segments, 1)
			require.LessOrEqual(t, maxRuns, 12, "compaction bounds the runs a read consults")
			// Write amplification stays bounded: tiered compaction rewrites
			// each byte about log4(data/memtable) times.
			require.Less(t, st.BytesWritten, 8*logBytesOf(n))
			require.NoError(t, s.Close())

			s = open(t, f, opts)
			checkStore(t, s, want)
			require.NoError(t, s.Compact())
			require.Equal(t, 1, s.Stats().Runs)
			checkStore(t, s, want)
			require.Len(t, storeFiles(t, f, ".manifest"), 1)
			require.LessOrEqual(t, len(storeFiles(t, f, ".log")), 1, "at most the empty log the manifest promises")
			require.Equal(t, int64(0), logBytes(t, f))
			require.Equal(t, int64(0), s.Stats().LogBytes)
			checkFiles(t, f, s)
			require.NoError(t, s.Compact(), "compact twice is a no-op")
			require.NoError(t, s.Apply(batchOf("after", "compact")))
			want["after"] = "compact"
			require.NoError(t, s.Close())
			s = open(t, f, opts)
			checkStore(t, s, want)
			require.NoError(t, s.Close())
		})
	}
}

func TestCompactEmptyStore(t *testing.T) {
	f := newMemFS(t)
	s := open(t, f, lsm.Options{})
	require.NoError(t, s.Compact())
	require.NoError(t, s.Apply(batchOf("a", "1", "a", "<del>")))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())
	s = open(t, f, lsm.Options{})
	checkStore(t, s, state{})
	checkFiles(t, f, s)
	require.Equal(t, 2, s.Stats().Files, "the manifest and the empty log it promises")
}

func TestClosed(t *testing.T) {
	s := open(t, newMemFS(t), lsm.Options{})
	require.NoError(t, s.Apply(batchOf("a", "1")))
	snap := s.Snapshot()
	require.NoError(t, s.Close())
	_, err := s.Get([]byte("a"))
	require.ErrorIs(t, err, kv.ErrClosed)
	require.ErrorIs(t, s.Apply(batchOf("b", "2")), kv.ErrClosed)
	require.ErrorIs(t, s.Compact(), kv.ErrClosed)
	require.ErrorIs(t, s.Close(), kv.ErrClosed)
	it := s.NewIter(kv.IterOptions{})
	require.False(t, it.Next())
	require.ErrorIs(t, it.Close(), kv.ErrClosed)
	_, err = s.Snapshot().Get([]byte("a"))
	require.ErrorIs(t, err, kv.ErrClosed)
	// A snapshot taken before Close still reads.
	v, err := snap.Get([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, "1", string(v))
	snap.Release()
	_, err = snap.Get([]byte("a"))
	require.ErrorIs(t, err, kv.ErrClosed)
}

func TestSnapshotIsolation(t *testing.T) {
	s := open(t, newMemFS(t), lsm.Options{})
	for i := 0; i < 1000; i++ {
		require.NoError(t, s.Apply(batchOf(fmt.Sprintf("k%04d", i), "v1")))
	}
	snap := s.Snapshot()
	before := dump(t, snap)
	it := s.NewIter(kv.IterOptions{Lower: []byte("k0100"), Upper: []byte("k0200")})
	n := 0
	for it.Next() {
		// Writing while iterating the live store: the iterator reads the
		// state from when it was created.
		require.Equal(t, "v1", string(it.Value()))
		require.NoError(t, s.Apply(batchOf(string(it.Key()), "v2", "k0150x", "new", "k0199", "<del>")))
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, 100, n)
	for i := 0; i < 1000; i += 3 {
		require.NoError(t, s.Apply(batchOf(fmt.Sprintf("k%04d", i), "<del>")))
	}
	require.NoError(t, s.Compact())
	require.Equal(t, before, dump(t, snap))
	v, err := snap.Get([]byte("k0150"))
	require.NoError(t, err)
	require.Equal(t, "v1", string(v))
	_, err = snap.Get([]byte("k0150x"))
	require.ErrorIs(t, err, kv.ErrNotFound)
	snap.Release()
	v, err = s.Get([]byte("k0151"))
	require.NoError(t, err)
	require.Equal(t, "v2", string(v))

	// An overlay over a snapshot is how transactions read their own writes.
	snap = s.Snapshot()
	o := kv.NewOverlay(snap)
	o.Set([]byte("k0001"), []byte("tx"))
	o.Delete([]byte("k0002"))
	v, err = o.Get([]byte("k0001"))
	require.NoError(t, err)
	require.Equal(t, "tx", string(v))
	require.NoError(t, s.Apply(o.Batch()))
	snap.Release()
	v, err = s.Get([]byte("k0001"))
	require.NoError(t, err)
	require.Equal(t, "tx", string(v))
	_, err = s.Get([]byte("k0002"))
	require.ErrorIs(t, err, kv.ErrNotFound)
}

func TestStrayFilesIgnored(t *testing.T) {
	f := newMemFS(t)
	for _, name := range []string{"README", "1.log", "abc.ckpt", "0000000000000000000x.log", "000000000000000000001.log", "00000000000000000001.logx"} {
		require.NoError(t, f.WriteFile(name, []byte("not mine"), false))
	}
	_, err := lsm.Open(f, lsm.Options{})
	require.ErrorIs(t, err, lsm.ErrNotStore, "not a store's directory until adopted")
	s := open(t, f, lsm.Options{AdoptDir: true})
	require.NoError(t, s.Apply(batchOf("a", "1")))
	require.NoError(t, s.Compact())
	require.NoError(t, s.Close())
	s = open(t, f, lsm.Options{})
	checkStore(t, s, state{"a": "1"})
	names, err := f.ReadDir(".")
	require.NoError(t, err)
	require.Len(t, names, 9, "the six stray files, a segment, a manifest and the empty log it promises")
	for _, n := range names {
		if n == "1.log" || n == "000000000000000000001.log" {
			data, err := f.ReadFile(n)
			require.NoError(t, err)
			require.Equal(t, "not mine", string(data))
		}
	}
}

func TestTooLarge(t *testing.T) {
	s := open(t, newMemFS(t), lsm.Options{})
	chunk := make([]byte, 1<<20)
	b := &kv.Batch{}
	for i := 0; i <= 1024; i++ {
		b.Set(fmt.Appendf(nil, "%d", i), chunk)
	}
	require.ErrorIs(t, s.Apply(b), lsm.ErrTooLarge)
	require.NoError(t, s.Apply(batchOf("a", "1")))
	checkStore(t, s, state{"a": "1"})
}

// lastRecordLen is the encoded size of the n-th numbered batch.
func lastRecordLen(n int) int {
	return wal.EncodedSize(uint64(n), numberedBatch(n).Ops())
}

// TestTornTailEveryOffset cuts the last record at every byte offset: reopen
// has exactly the earlier commits, accepts new ones and reopens cleanly.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 20
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			base := newMemFS(t)
			s := open(t, m.wrap(base), lsm.Options{})
			for i := 1; i <= n; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
			}
			require.NoError(t, s.Close())
			logs := storeFiles(t, base, ".log")
			lastName := logs[len(logs)-1]
			full, err := base.ReadFile(lastName)
			require.NoError(t, err)
			recLen := lastRecordLen(n)
			start := len(full) - recLen
			for cut := start; cut < len(full); cut++ {
				f := copyFS(t, base)
				require.NoError(t, f.WriteFile(lastName, full[:cut], false))
				mf := m.wrap(f)
				s, err := lsm.Open(mf, lsm.Options{})
				require.NoError(t, err, "cut at %d", cut)
				want := numberedState(n - 1)
				checkStore(t, s, want)
				checkFiles(t, f, s)
				if cut > start {
					data, err := f.ReadFile(lastName)
					if m.name == "append" {
						require.NoError(t, err)
						require.Len(t, data, start, "torn tail cut off")
					} else {
						require.Error(t, err, "torn write-once file removed")
					}
				}
				require.NoError(t, s.Apply(batchOf("after", "crash")))
				want["after"] = "crash"
				require.NoError(t, s.Close())
				s, err = lsm.Open(mf, lsm.Options{})
				require.NoError(t, err)
				checkStore(t, s, want)
				require.NoError(t, s.Close())
			}
		})
	}
}

func TestCorruptLog(t *testing.T) {
	const n = 10
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			base := newMemFS(t)
			s := open(t, m.wrap(base), lsm.Options{})
			for i := 1; i <= n; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
			}
			require.NoError(t, s.Close())
			logs := storeFiles(t, base, ".log")
			// The file holding record 5 and that record's offset in it.
			victim, off := logs[0], 0
			for i := 1; i < 5; i++ {
				off += lastRecordLen(i)
			}
			if m.name == "write-once" {
				victim, off = logs[4], 0
			}
			for _, at := range []int{0, 3, 5, wal.HeaderSize + 1, lastRecordLen(5) - 1} {
				f := copyFS(t, base)
				data, err := f.ReadFile(victim)
				require.NoError(t, err)
				data = bytes.Clone(data)
				data[off+at] ^= 0x10
				require.NoError(t, f.WriteFile(victim, data, false))
				_, err = lsm.Open(m.wrap(f), lsm.Options{})
				require.ErrorIs(t, err, kv.ErrCorrupt, "flip at %d", at)
				require.Contains(t, err.Error(), victim)
			}
		})
	}
}

func TestMissingLog(t *testing.T) {
	base := newMemFS(t)
	s := open(t, writeOnceFS{base}, lsm.Options{})
	for i := 1; i <= 5; i++ {
		require.NoError(t, s.Apply(numberedBatch(i)))
	}
	require.NoError(t, s.Close())
	require.NoError(t, base.Remove("00000000000000000003.log"))
	_, err := lsm.Open(writeOnceFS{base}, lsm.Options{})
	require.ErrorIs(t, err, kv.ErrCorrupt)
	require.Contains(t, err.Error(), "00000000000000000004.log")
}

// logBytesOf is the log size of the first n numbered batches.
func logBytesOf(n int) int64 {
	var total int64
	for i := 1; i <= n; i++ {
		total += int64(lastRecordLen(i))
	}
	return total
}

func TestErrorsNameFiles(t *testing.T) {
	f := newMemFS(t)
	require.NoError(t, f.WriteFile("00000000000000000001.log", []byte("\x05\x00\x00\x00junkjunkjunk"), false))
	require.NoError(t, f.WriteFile("00000000000000000002.log", []byte{}, false))
	_, err := lsm.Open(f, lsm.Options{})
	require.ErrorIs(t, err, kv.ErrCorrupt)
	require.True(t, strings.Contains(err.Error(), "00000000000000000001.log"), err.Error())
	require.False(t, errors.Is(err, kv.ErrNotFound))
}

func TestLargeBatchMergesWithTable(t *testing.T) {
	// Batches large relative to the table take the sort-and-merge path; the
	// result must equal applying the ops one by one, duplicates and deletes
	// included, before and after a reopen.
	f := newMemFS(t)
	s := open(t, f, lsm.Options{})
	want := state{}
	rng := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 6; round++ {
		b := &kv.Batch{}
		n := 300 + rng.IntN(2000)
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%05d", rng.IntN(3000))
			if rng.IntN(4) == 0 {
				b.Delete([]byte(k))
				delete(want, k)
			} else {
				v := fmt.Sprintf("v%d-%d", round, i)
				b.Set([]byte(k), []byte(v))
				want[k] = v
			}
		}
		require.NoError(t, s.Apply(b))
		require.Equal(t, want, dump(t, s), "round %d", round)
	}
	require.NoError(t, s.Close())
	s = open(t, f, lsm.Options{})
	require.Equal(t, want, dump(t, s))
}

func TestSnapshotSurvivesMergeAndRepack(t *testing.T) {
	// A snapshot taken before a batch that takes the merge path (and before
	// the checkpoint that repacks memory) keeps seeing the old data.
	s := open(t, newMemFS(t), lsm.Options{CheckpointBytes: 1024})
	first := &kv.Batch{}
	for i := 0; i < 300; i++ {
		first.Set([]byte(fmt.Sprintf("k%04d", i)), []byte("old"))
	}
	require.NoError(t, s.Apply(first))
	before := dump(t, s)
	snap := s.Snapshot()
	defer snap.Release()
	second := &kv.Batch{}
	for i := 0; i < 600; i++ {
		if i%3 == 0 {
			second.Delete([]byte(fmt.Sprintf("k%04d", i)))
		} else {
			second.Set([]byte(fmt.Sprintf("k%04d", i)), []byte("new"))
		}
	}
	require.NoError(t, s.Apply(second))
	require.NoError(t, s.Compact())
	require.Equal(t, before, dump(t, snap))
	after := dump(t, s)
	require.Equal(t, "new", after["k0001"])
	require.NotContains(t, after, "k0003")
}

// A directory that holds files but none of a store's is not opened: a root
// mistyped as a home directory must not be written into, nor a file there
// that looks like a log cut short or deleted by recovery.
func TestOpenRefusesADirectoryThatIsNotAStore(t *testing.T) {
	f := newMemFS(t)
	require.NoError(t, f.WriteFile("notes.txt", []byte("mine"), false))
	require.NoError(t, f.MkdirAll("photos"))
	_, err := lsm.Open(f, lsm.Options{})
	require.ErrorIs(t, err, lsm.ErrNotStore)
	require.Contains(t, err.Error(), "notes.txt")
	names, err := f.ReadDir(".")
	require.NoError(t, err)
	require.Equal(t, []string{"notes.txt", "photos"}, names, "nothing written")

	// An empty directory, one with only hidden files, and a store are fine.
	for _, dir := range []string{"empty", "hidden"} {
		require.NoError(t, f.MkdirAll(dir))
	}
	require.NoError(t, f.WriteFile("hidden/.DS_Store", []byte("x"), false))
	for _, dir := range []string{"empty", "hidden", "new/sub"} {
		s := open(t, f, lsm.Options{Dir: dir})
		require.NoError(t, s.Apply(batchOf("a", "1")))
		require.NoError(t, s.Close())
		s = open(t, f, lsm.Options{Dir: dir})
		checkStore(t, s, state{"a": "1"})
		require.NoError(t, s.Close())
	}
}

// Acknowledged commits in a log that another log follows are never rolled
// back silently: deleting that log, or cutting it at any record boundary,
// fails Open with CORRUPT naming the file that is gone or short — in both
// log layouts, with and without flushes between.
func TestMissingOrShortNonFinalLogIsCorruptNamingIt(t *testing.T) {
	for _, m := range modes {
		for _, opts := range []lsm.Options{
			{LogFileSize: 300, MemtableBytes: 1 << 20},
			{LogFileSize: 200, MemtableBytes: 900},
		} {
			src := m.wrap(newMemFS(t))
			s := open(t, src, opts)
			for i := 1; i <= 38; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
			}
			require.NoError(t, s.Close())
			logs := storeFiles(t, src, ".log")
			require.GreaterOrEqual(t, len(logs), 3, "%s %+v", m.name, opts)
			for _, victim := range logs[:len(logs)-1] {
				f := m.wrap(copyFS(t, src))
				require.NoError(t, f.Remove(victim))
				_, err := lsm.Open(f, opts)
				require.ErrorIs(t, err, kv.ErrCorrupt, "%s: %s deleted", m.name, victim)
				require.Contains(t, err.Error(), victim, "%s: the error names the missing log", m.name)

				data, err := src.ReadFile(victim)
				require.NoError(t, err)
				r := wal.NewReader(victim, data)
				for {
					_, err := r.Next()
					if err != nil || r.Offset() == int64(len(data)) || isEndMark(data[r.Offset():]) {
						break
					}
					f := m.wrap(copyFS(t, src))
					require.NoError(t, f.Truncate(victim, r.Offset()))
					_, err = lsm.Open(f, opts)
					require.ErrorIs(t, err, kv.ErrCorrupt, "%s: %s cut at %d", m.name, victim, r.Offset())
					require.Contains(t, err.Error(), victim, "%s: the error names the short log", m.name)
				}
			}
		}
	}
}

// isEndMark says whether rest is only the mark a full log ends with (no
// commit), whose loss loses nothing.
func isEndMark(rest []byte) bool {
	r := wal.NewReader("", rest)
	payload, err := r.Next()
	if err != nil || r.Offset() != int64(len(rest)) {
		return false
	}
	seq, ops, err := wal.DecodeBatch(payload)
	return err == nil && seq == 0 && len(ops) == 0
}

// Where logs are appended to, deleting the last log — the only one before
// the first flush, the one a manifest promises after a flush, or the newest
// after rotations — fails Open with CORRUPT naming it, instead of opening
// without the commits it held. (Cutting the last log at a record boundary
// stays undetectable: nothing written after it tells.)
func TestDeletedLastLogIsCorruptNamingIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    lsm.Options
		commits int
	}{
		{"only log, never flushed", lsm.Options{}, 22},
		{"the log after a flush", lsm.Options{MemtableBytes: 600}, 22},
		{"the newest of rotated logs", lsm.Options{LogFileSize: 200}, 22},
		{"the newest of rotated logs after a flush", lsm.Options{LogFileSize: 200, MemtableBytes: 600}, 22},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newMemFS(t)
			s := open(t, src, tc.opts)
			for i := 1; i <= tc.commits; i++ {
				require.NoError(t, s.Apply(numberedBatch(i)))
			}
			require.NoError(t, s.Close())
			// The newest log with commits (an empty one may follow it).
			var victim string
			for _, name := range storeFiles(t, src, ".log") {
				if data, err := src.ReadFile(name); err == nil && len(data) > 0 {
					victim = name
				}
			}
			require.NotEmpty(t, victim)
			f := copyFS(t, src)
			require.NoError(t, f.Remove(victim))
			_, err := lsm.Open(f, tc.opts)
			require.ErrorIs(t, err, kv.ErrCorrupt)
			require.Contains(t, err.Error(), victim)
		})
	}
}

// Check reads every segment byte past the cache: a flipped byte in a block
// the cache holds, or a block nobody has read yet, is found.
func TestCheckFindsDamage(t *testing.T) {
	f := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 8 << 10, SegmentBytes: 16 << 10, BlockSize: 512}
	s, err := lsm.Open(f, opts)
	require.NoError(t, err)
	defer s.Close()
	for i := 1; i <= 1000; i++ {
		require.NoError(t, s.Apply(numberedBatch(i)))
	}
	require.NoError(t, s.Compact())
	require.NoError(t, s.Check())
	checkStore(t, s, numberedState(1000)) // every block now in the cache
	segs := storeFiles(t, f, ".sst")
	require.NotEmpty(t, segs)
	data, err := f.ReadFile(segs[0])
	require.NoError(t, err)
	data[len(data)/3] ^= 0x40 // inside a data block
	require.NoError(t, f.WriteFile(segs[0], data, false))
	err = s.Check()
	require.ErrorIs(t, err, kv.ErrCorrupt)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Check(), kv.ErrClosed)
}

// A batch larger than the memtable is written as a run merged with what the
// memtable holds (smallMerge for a few entries, the general merge for
// more): newer writes win, deletes hide older values, before and after a
// reopen.
func TestRunBatchMergesWithMemtable(t *testing.T) {
	f := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 16 << 10}
	s := open(t, f, opts)
	want := state{}
	rng := rand.New(rand.NewPCG(11, 11))
	put := func(b *kv.Batch, round, i int) {
		k := fmt.Sprintf("k%05d", rng.IntN(3000))
		if rng.IntN(5) == 0 {
			b.Delete([]byte(k))
			delete(want, k)
			return
		}
		v := fmt.Sprintf("v%d-%d", round, i)
		b.Set([]byte(k), []byte(v))
		want[k] = v
	}
	for round := 0; round < 12; round++ {
		// A few writes (below or above smallMergeMax) for the memtable...
		small := &kv.Batch{}
		for i := range []int{3, 40, 200, 255, 256, 257, 400}[round%7] {
			put(small, round, i)
		}
		require.NoError(t, s.Apply(small))
		// ...then a batch written as a run.
		big := &kv.Batch{}
		for i := 0; big.Size() < 20<<10; i++ {
			put(big, round, 1000+i)
		}
		flushes := s.Stats().Flushes
		require.NoError(t, s.Apply(big))
		require.Greater(t, s.Stats().Flushes, flushes, "round %d: the batch went through the memtable", round)
		require.Equal(t, want, dump(t, s), "round %d", round)
	}
	require.NoError(t, s.Close())
	s = open(t, f, opts)
	require.Equal(t, want, dump(t, s))
	require.NoError(t, s.Close())
}
