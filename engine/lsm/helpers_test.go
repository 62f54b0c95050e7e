package lsm_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

// writeOnceFS presents a backend as one where appending is expensive (like
// IndexedDB), and refuses OpenAppend to prove the store never appends there.
type writeOnceFS struct{ fsadapter.FS }

func (w writeOnceFS) Caps() fsadapter.Caps {
	c := w.FS.Caps()
	c.AppendCheap = false
	c.Name += "-write-once"
	return c
}

func (w writeOnceFS) OpenAppend(name string) (fsadapter.AppendFile, error) {
	return nil, fmt.Errorf("open append %s: not on a write-once backend", name)
}

// mode is a backend layout the store must handle.
type mode struct {
	name string
	wrap func(fsadapter.FS) fsadapter.FS
}

var modes = []mode{
	{"append", func(f fsadapter.FS) fsadapter.FS { return f }},
	{"write-once", func(f fsadapter.FS) fsadapter.FS { return writeOnceFS{f} }},
}

func newMemFS(t testing.TB) fsadapter.FS {
	t.Helper()
	f, err := memfs.New()
	require.NoError(t, err)
	return f
}

// open opens a store and, when the test ends, checks it whole
// (Store.Check): the store as the test left it or, when the test closed it,
// as a reopen finds it.
func open(t testing.TB, f fsadapter.FS, opts lsm.Options) *lsm.Store {
	t.Helper()
	s, err := lsm.Open(f, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		err := s.Check()
		if errors.Is(err, kv.ErrClosed) {
			again, openErr := lsm.Open(f, opts)
			if openErr != nil {
				return // the test took the files away or damaged them on purpose
			}
			err = again.Check()
			_ = again.Close()
		}
		if err != nil {
			t.Errorf("the store fails its check at the end of the test: %v", err)
		}
	})
	return s
}

// state is the whole content of a store or model.
type state map[string]string

func (s state) clone() state { return maps.Clone(s) }

func (s state) apply(b *kv.Batch) {
	for _, op := range b.Ops() {
		if op.Delete {
			delete(s, string(op.Key))
		} else {
			s[string(op.Key)] = string(op.Value)
		}
	}
}

// dump reads a store through its iterator, checking order on the way, and
// cross-checks every key with Get and the reverse iterator.
func dump(t testing.TB, r kv.Reader) state {
	t.Helper()
	out := state{}
	var keys []string
	it := r.NewIter(kv.IterOptions{})
	for it.Next() {
		k := string(it.Key())
		if len(keys) > 0 {
			require.Less(t, keys[len(keys)-1], k)
		}
		keys = append(keys, k)
		out[k] = string(it.Value())
	}
	require.NoError(t, it.Close())
	var rev []string
	it = r.NewIter(kv.IterOptions{Reverse: true})
	for it.Next() {
		rev = append(rev, string(it.Key()))
	}
	require.NoError(t, it.Close())
	slices.Reverse(rev)
	require.Equal(t, keys, rev)
	for k, v := range out {
		got, err := r.Get([]byte(k))
		require.NoError(t, err)
		require.Equal(t, v, string(got))
	}
	return out
}

// checkStore asserts the store holds exactly want and, when Stats are exact
// (no segments, or right after a compaction), that they agree.
func checkStore(t testing.TB, s *lsm.Store, want state) {
	t.Helper()
	require.Equal(t, want, dump(t, s))
	st := s.Stats()
	if st.Segments > 0 && (st.Runs > 1 || st.MemtableBytes > 0) {
		return
	}
	require.Equal(t, int64(len(want)), st.Keys)
	var live int64
	for k, v := range want {
		live += int64(len(k) + len(v))
	}
	require.Equal(t, live, st.LiveBytes)
}

// checkFiles asserts the Stats file count matches the directory.
func checkFiles(t testing.TB, f fsadapter.FS, s *lsm.Store) {
	t.Helper()
	names, err := f.ReadDir(".")
	require.NoError(t, err)
	n := 0
	var size int64
	for _, name := range names {
		if isStoreFile(name) {
			n++
			fi, err := f.Stat(name)
			require.NoError(t, err)
			size += fi.Size()
		}
	}
	st := s.Stats()
	require.Equal(t, n, st.Files, "files %v", names)
	require.Equal(t, size, st.DiskBytes)
}

func isStoreFile(name string) bool {
	return len(name) > 20 && (name[20:] == ".log" || name[20:] == ".sst" || name[20:] == ".manifest")
}

func storeFiles(t testing.TB, f fsadapter.FS, suffix string) []string {
	t.Helper()
	names, err := f.ReadDir(".")
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if isStoreFile(n) && n[20:] == suffix {
			out = append(out, n)
		}
	}
	return out
}

// copyFS copies the root files of src into a fresh memory filesystem, so
// one recorded state can be damaged in many ways.
func copyFS(t testing.TB, src fsadapter.FS) fsadapter.FS {
	t.Helper()
	dst := newMemFS(t)
	names, err := src.ReadDir(".")
	require.NoError(t, err)
	for _, n := range names {
		data, err := src.ReadFile(n)
		require.NoError(t, err)
		require.NoError(t, dst.WriteFile(n, data, false))
	}
	return dst
}

func batchOf(kvs ...string) *kv.Batch {
	b := &kv.Batch{}
	for i := 0; i+1 < len(kvs); i += 2 {
		if kvs[i+1] == "<del>" {
			b.Delete([]byte(kvs[i]))
		} else {
			b.Set([]byte(kvs[i]), []byte(kvs[i+1]))
		}
	}
	return b
}

// numberedBatch is commit i of a simple workload: it sets one key of its own
// and overwrites a shared one, so the state names the last commit.
func numberedBatch(i int) *kv.Batch {
	return batchOf(fmt.Sprintf("key%05d", i), fmt.Sprintf("value-%d", i), "last", fmt.Sprint(i))
}

func numberedState(n int) state {
	s := state{}
	for i := 1; i <= n; i++ {
		s.apply(numberedBatch(i))
	}
	return s
}
