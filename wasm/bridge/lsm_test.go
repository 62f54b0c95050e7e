package bridge

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

// TestBridgeStoreOptionsAndStats opens a root with a tiny memtable and
// cache, writes enough to flush, and reads the storage engine's stats back;
// compact merges the segments into one run.
func TestBridgeStoreOptionsAndStats(t *testing.T) {
	b := newBridge(t)
	require.Equal(t, "BAD_QUERY", code(t, b, "open", o("adapter", s("memory"), "root", s("r"), "memtableBytes", s("big"))))
	c := ok(t, b, "open", o("adapter", s("memory"), "root", s("r"), "memtableBytes", n(2048), "cacheBytes", n(4096)))
	ok(t, b, "createDatabase", c, s("d"), o())
	ok(t, b, "createTable", c, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	for i := 0; i < 200; i++ {
		ok(t, b, "insert", c, n(0), s("d"), s("t"), o("id", n(float64(i))))
	}
	st := ok(t, b, "stats", c)
	num := func(k string) float64 {
		v, found := st.Get(k)
		require.True(t, found, k)
		return v.Number()
	}
	require.Greater(t, num("flushes"), 0.0)
	require.Greater(t, num("segments"), 0.0)
	require.Equal(t, 4096.0, num("cacheLimit"))
	require.LessOrEqual(t, num("cacheBytes"), 4096.0)
	rate := num("cacheHitRate")
	require.True(t, rate >= 0 && rate <= 1, "hit rate %v", rate)
	ok(t, b, "compact", c)
	st = ok(t, b, "stats", c)
	require.Equal(t, 1.0, num("runs"))
	require.Equal(t, 200.0+1, num("keys"), "rows plus the catalog, exact after compaction")
}

// The memory budget (the wasm build's soft memory limit) is the open
// stores' memtables (twice: one flushing) and caches, plus half that for
// everything else, at least BaseMemoryBytes; closing a store gives its
// share back.
func TestMemoryBudget(t *testing.T) {
	// Files that are not counted as held (TestMemoryBudgetCountsHeldFiles).
	b := notHeldBridge()
	var heard []int64
	b.OnBudget = func(n int64) { heard = append(heard, n) }
	require.Equal(t, int64(BaseMemoryBytes), b.MemoryBudget(), "no store open")
	const mb = 1 << 20
	small := ok(t, b, "open", o("adapter", s("memory"), "root", s("small"), "memtableBytes", n(4*mb), "cacheBytes", n(8*mb)))
	require.Equal(t, int64(16*mb+8*mb), b.MemoryBudget(), "a small-device store: 16 MB + the 8 MB floor")
	big := ok(t, b, "open", o("adapter", s("memory"), "root", s("big"), "memtableBytes", n(8*mb), "cacheBytes", n(16*mb)))
	require.Equal(t, int64(48*mb+24*mb), b.MemoryBudget(), "both stores: 48 MB + half of it")
	ok(t, b, "close", big)
	require.Equal(t, int64(24*mb), b.MemoryBudget())
	ok(t, b, "close", small)
	require.Equal(t, int64(BaseMemoryBytes), b.MemoryBudget())
	require.Equal(t, []int64{24 * mb, 72 * mb, 24 * mb, BaseMemoryBytes}, heard,
		"every change is heard; an opening store counts from before its open")
}

// LendIdleMemory lends the block caches half of what the runtime holds
// past the budget and its headroom again, in proportion to their sizes, in
// whole ring chunks and at most MaxCacheLoan times each, and raises the
// limit heard by what they took; bulk work (TakeBack), and a store opening
// or closing, takes it back.
func TestLendIdleMemory(t *testing.T) {
	b := notHeldBridge()
	var heard []int64
	b.OnBudget = func(n int64) { heard = append(heard, n) }
	last := func() int64 { return heard[len(heard)-1] }
	b.LendIdleMemory()
	require.Empty(t, heard, "no HostBytes: nothing to lend from")
	var host int64
	b.HostBytes = func() int64 { return host }
	const mb = 1 << 20
	stat := func(c value.Value, k string) int64 {
		v, found := ok(t, b, "stats", c).Get(k)
		require.True(t, found, k)
		return int64(v.Number())
	}
	small := ok(t, b, "open", o("adapter", s("memory"), "root", s("small"), "memtableBytes", n(mb/4), "cacheBytes", n(mb)))
	budget := b.MemoryBudget()
	require.Equal(t, int64(3*mb/2+BaseMemoryBytes), budget)

	host = budget + BaseMemoryBytes + mb // half a chunk idle past the headroom
	b.LendIdleMemory()
	require.Equal(t, budget, last())
	require.Equal(t, int64(mb), stat(small, "cacheLimit"))

	host = budget + BaseMemoryBytes + 5*mb // 2.5 MB: two chunks
	b.LendIdleMemory()
	require.Equal(t, budget+2*mb, last())
	require.Equal(t, int64(3*mb), stat(small, "cacheLimit"))

	host = budget + 100*mb // far more than the cap
	b.LendIdleMemory()
	require.Equal(t, budget+MaxCacheLoan*mb, last())
	require.Equal(t, int64((1+MaxCacheLoan)*mb), stat(small, "cacheLimit"))

	// Reads keep the blocks the cache evicts in the loan: rows in
	// segments, each read back.
	ok(t, b, "createDatabase", small, s("d"), o())
	ok(t, b, "createTable", small, s("d"), s("t"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("pad"), "type", s("string")))))
	rows := make([]value.Value, 2500)
	for i := range rows {
		rows[i] = o("id", n(float64(i)), "pad", s(strings.Repeat("x", 1000)))
	}
	ok(t, b, "insertMany", small, n(0), s("d"), s("t"), a(rows...))
	require.Greater(t, stat(small, "segments"), int64(0))
	get := func() {
		for i := range rows {
			ok(t, b, "get", small, n(0), s("d"), s("t"), n(float64(i)))
		}
	}
	get()
	require.Greater(t, stat(small, "cacheBytes"), int64(mb), "the loan is used")
	misses := stat(small, "cacheMisses")
	get()
	require.Equal(t, misses, stat(small, "cacheMisses"), "every block read again is in the cache or its loan")
	// Lent as much again (the next lend point), the loan keeps its blocks.
	held := stat(small, "cacheBytes")
	b.LendIdleMemory()
	require.Equal(t, held, stat(small, "cacheBytes"))
	get()
	require.Equal(t, misses, stat(small, "cacheMisses"))

	// Bulk work takes the loan back: the limit heard, the cache's limit and
	// what it holds come back to its own.
	n0 := len(heard)
	ok(t, b, "begin", small, o("bulk", value.BoolOf(true)))
	require.Equal(t, budget, last())
	require.Len(t, heard, n0+1)
	require.Equal(t, int64(mb), stat(small, "cacheLimit"))
	require.LessOrEqual(t, stat(small, "cacheBytes"), int64(mb))
	require.False(t, b.TakeBack(), "nothing lent any more")
	ok(t, b, "begin", small, o("bulk", value.BoolOf(true)))
	require.Len(t, heard, n0+1, "nothing lent: nothing heard")
	b.LendIdleMemory()
	require.True(t, b.TakeBack())

	// Two stores share in proportion to their caches. A store opening takes
	// every loan back first.
	b.LendIdleMemory()
	big := ok(t, b, "open", o("adapter", s("memory"), "root", s("big"), "memtableBytes", n(mb/4), "cacheBytes", n(2*mb)))
	require.Equal(t, int64(mb), stat(small, "cacheLimit"), "taken back when a store opened")
	budget = b.MemoryBudget()
	require.Equal(t, budget, last())
	host = budget + BaseMemoryBytes + 6*mb
	b.LendIdleMemory()
	require.Equal(t, int64(mb+mb), stat(small, "cacheLimit"))
	require.Equal(t, int64(2*mb+2*mb), stat(big, "cacheLimit"))
	require.Equal(t, budget+3*mb, last())
	ok(t, b, "close", big)
	require.Equal(t, int64(mb), stat(small, "cacheLimit"), "taken back when a store closed")
	require.Equal(t, b.MemoryBudget(), last())
}

// notHeld hides a memory filesystem's HeldBytes.
type notHeld struct{ fsadapter.FS }

// notHeldBridge is a bridge whose roots are memory filesystems that count
// no held bytes: the budget is the stores' alone.
func notHeldBridge() *Bridge {
	return New(func(adapter, root string) (fsadapter.FS, error) {
		m, err := memfs.New()
		return notHeld{m}, err
	})
}

// A store on an in-memory backend counts its files' bytes in the budget
// too, followed as they grow and shrink (by more than an eighth), and
// gives them back on close.
func TestMemoryBudgetCountsHeldFiles(t *testing.T) {
	const mb = 1 << 20
	var fsys fsadapter.FS
	b := New(func(adapter, root string) (fsadapter.FS, error) {
		var err error
		fsys, err = memfs.New()
		return fsys, err
	})
	var heard []int64
	b.OnBudget = func(n int64) { heard = append(heard, n) }
	c := ok(t, b, "open", o("adapter", s("memory"), "root", s("m"), "memtableBytes", n(mb), "cacheBytes", n(mb)))
	held := func() int64 { return fsys.(fsadapter.Holder).HeldBytes() }
	stores := int64(3*mb + BaseMemoryBytes)
	require.Equal(t, stores+held(), b.MemoryBudget())
	ok(t, b, "createDatabase", c, s("d"), o())
	ok(t, b, "createTable", c, s("d"), s("t"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("pad"), "type", s("string")))))
	rows := make([]value.Value, 2000)
	for round := 0; round < 10; round++ {
		for i := range rows {
			rows[i] = o("id", n(float64(round*len(rows)+i)), "pad", s(strings.Repeat("x", 1000)))
		}
		ok(t, b, "insertMany", c, n(0), s("d"), s("t"), a(rows...))
	}
	require.Greater(t, held(), int64(15*mb), "the rows are in memory")
	last := heard[len(heard)-1]
	require.Equal(t, stores+held(), b.MemoryBudget())
	require.InEpsilon(t, b.MemoryBudget(), last, 0.125, "the budget heard follows the files")
	ok(t, b, "delete", c, n(0), s("d"), s("t"), o("where", o("id", o(">=", n(0)))))
	ok(t, b, "compact", c)
	require.Less(t, held(), int64(mb))
	require.InEpsilon(t, b.MemoryBudget(), heard[len(heard)-1], 0.125, "and hears them shrink")
	require.Less(t, heard[len(heard)-1], last)
	ok(t, b, "close", c)
	require.Equal(t, int64(BaseMemoryBytes), heard[len(heard)-1], "a closed store's files count no more")
	require.Empty(t, b.holders)
}

// A store opens inside Burst (the host holds its collector back), under the
// budget it will have once open; a failed open gives that budget back.
func TestOpenRunsAsABurst(t *testing.T) {
	b := newBridge(t)
	const mb = 1 << 20
	var during []int64
	b.Burst = func(open func()) {
		during = append(during, b.MemoryBudget())
		open()
	}
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("a"), "memtableBytes", n(4*mb), "cacheBytes", n(8*mb)))
	require.Equal(t, []int64{24 * mb}, during, "the open ran in a burst under its own budget")
	ok(t, b, "open", o("adapter", s("memory"), "root", s("a"), "memtableBytes", n(4*mb), "cacheBytes", n(8*mb)))
	require.Len(t, during, 1, "a second handle to an open store opens nothing")
	failing := New(func(adapter, root string) (fsadapter.FS, error) {
		m, err := memfs.New()
		return unlistable{m}, err
	})
	failing.Burst = b.Burst
	code(t, failing, "open", o("adapter", s("memory"), "root", s("b")))
	require.Len(t, during, 2, "the failing open ran in a burst too")
	require.Equal(t, int64(BaseMemoryBytes), failing.MemoryBudget(), "nothing is held for a store that did not open")
	ok(t, b, "close", conn)
}

// unlistable is a filesystem whose directories cannot be listed: a store
// on it fails to open.
type unlistable struct{ fsadapter.FS }

func (unlistable) ReadDir(string) ([]string, error) { return nil, errors.New("unreadable directory") }

// Committing a transaction of BulkWrites keys or more is bulk work the host
// collects after (TookBulk, once); a small one is not.
func TestTookBulk(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("bulk")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	insertIDs(t, b, conn, 0, 10)
	require.False(t, b.TookBulk(), "a small transaction")
	ok(t, b, "dropTable", conn, s("d"), s("t"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	insertIDs(t, b, conn, 0, BulkWrites)
	require.True(t, b.TookBulk(), "a transaction of BulkWrites rows")
	require.False(t, b.TookBulk(), "heard once")
	// A checkpoint that flushes counts; one with too little log does not.
	small := ok(t, b, "open", o("adapter", s("memory"), "root", s("quiet"), "memtableBytes", n(8<<20)))
	ok(t, b, "createDatabase", small, s("d"), o())
	ok(t, b, "createTable", small, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)), o("name", s("pad"), "type", s("string")))))
	require.False(t, b.TookBulk())
	v, _ := ok(t, b, "checkpoint", small).Get("flushed")
	require.False(t, v.Bool())
	require.False(t, b.TookBulk(), "nothing flushed")
	for i := range 400 {
		ok(t, b, "insert", small, n(0), s("d"), s("t"), o("id", n(float64(i)), "pad", s(strings.Repeat("x", 1000))))
	}
	require.False(t, b.TookBulk(), "small transactions")
	v, _ = ok(t, b, "checkpoint", small).Get("flushed")
	require.True(t, v.Bool())
	require.True(t, b.TookBulk(), "a checkpoint that flushed")
}

// An OPFS store writes segments of opfsSegmentBytes (each file is an
// access handle its worker opens before the first call), where the other
// small-memtable adapters write half their memtable's.
func TestOPFSSegmentSize(t *testing.T) {
	segments := func(adapter string) float64 {
		b := newBridge(t)
		conn := ok(t, b, "open", o("adapter", s(adapter), "root", s("seg")))
		ok(t, b, "createDatabase", conn, s("d"), o())
		ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)), o("name", s("pad"), "type", s("string")))))
		tx := ok(t, b, "begin", conn, o("bulk", value.BoolOf(true)))
		pad := s(strings.Repeat("x", 1000))
		for from := 0; from < 12_000; from += 1000 { // ~12 MB
			rows := make([]value.Value, 0, 1000)
			for i := from; i < from+1000; i++ {
				rows = append(rows, o("id", n(float64(i)), "pad", pad))
			}
			ok(t, b, "insertMany", conn, tx, s("d"), s("t"), a(rows...))
		}
		ok(t, b, "commit", conn, tx)
		v, found := ok(t, b, "stats", conn).Get("segments")
		require.True(t, found)
		return v.Number()
	}
	opfs, wx := segments("opfs"), segments("wx")
	require.LessOrEqual(t, opfs, 3.0, "12 MB in 4 MB segments")
	require.GreaterOrEqual(t, wx, 5.0, "12 MB in 2 MB segments")
}

// insertIDs inserts rows {id} from..from+rows-1 into d.t in one
// transaction, 4096 a call.
func insertIDs(t *testing.T, b *Bridge, conn value.Value, from, rows int) {
	t.Helper()
	tx := ok(t, b, "begin", conn)
	batch := make([]value.Value, 0, 4096)
	for i := from; i < from+rows; i++ {
		batch = append(batch, o("id", n(float64(i))))
		if len(batch) == cap(batch) || i == from+rows-1 {
			ok(t, b, "insertMany", conn, tx, s("d"), s("t"), a(batch...))
			batch = batch[:0]
		}
	}
	ok(t, b, "commit", conn, tx)
}

// coldFS fails segment range reads as not loaded until warm, as IndexedDB's
// chunks do before the host loads them, and counts manifest reads (one
// per recovery).
type coldFS struct {
	fsadapter.FS
	warm      bool
	manifests int
}

func (c *coldFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	if !c.warm && strings.HasSuffix(name, ".sst") {
		return nil, fmt.Errorf("read %s: %w", name, fsadapter.ErrNotResident)
	}
	return c.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

func (c *coldFS) ReadFile(name string) ([]byte, error) {
	if strings.HasSuffix(name, ".manifest") {
		c.manifests++
	}
	return c.FS.ReadFile(name)
}

// coldRoot writes root "r" with database d and its table t (spec), one row
// in it, merged into segments, and returns its filesystem.
func coldRoot(t *testing.T, spec value.Value) *coldFS {
	mem, err := memfs.New()
	require.NoError(t, err)
	cold := &coldFS{FS: mem, warm: true}
	b := New(func(adapter, root string) (fsadapter.FS, error) { return cold, nil })
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("r")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), spec)
	ok(t, b, "insert", conn, n(0), s("d"), s("t"), o("id", n(1)))
	ok(t, b, "compact", conn)
	ok(t, b, "close", conn)
	return cold
}

// An open reads the catalog from the store's manifest and logs: no segment
// (on IndexedDB, no chunk to load and no second run of the open).
func TestOpenReadsNoSegment(t *testing.T) {
	cold := coldRoot(t, o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	b := New(func(adapter, root string) (fsadapter.FS, error) { return cold, nil })
	cold.warm = false
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("r")))
	require.Equal(t, `["d"]`, ok(t, b, "showDatabases", conn).String())
	require.Equal(t, "IO", code(t, b, "get", conn, n(0), s("d"), s("t"), n(1)), "a row is in a segment")
	ok(t, b, "close", conn)
}

// An open that needs bytes the backend has not loaded (here a catalog too
// large for the manifest) fails as not resident and keeps the recovered
// store: run again once they are loaded, it does not recover the store a
// second time.
func TestOpenAgainAfterNotResident(t *testing.T) {
	cold := coldRoot(t, o("comment", s(strings.Repeat("c", 80<<10)),
		"columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	b := New(func(adapter, root string) (fsadapter.FS, error) { return cold, nil })
	cold.warm, cold.manifests = false, 0
	budget := b.MemoryBudget()
	for range 2 {
		require.Equal(t, "IO", code(t, b, "open", o("adapter", s("memory"), "root", s("r"))), "not loaded yet")
	}
	require.Equal(t, 1, cold.manifests, "recovered once across the runs")
	require.Greater(t, b.MemoryBudget(), budget, "the store kept open counts")
	cold.warm = true
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("r")))
	require.Equal(t, 1, cold.manifests, "and not again once loaded")
	require.Equal(t, `["d"]`, ok(t, b, "showDatabases", conn).String())
	ok(t, b, "close", conn)
	require.Equal(t, budget, b.MemoryBudget())
}

// onStorage presents an in-memory filesystem as storage outside the
// process, where the block cache holds copies of what is read.
type onStorage struct{ fsadapter.FS }

func (f onStorage) Caps() fsadapter.Caps {
	c := f.FS.Caps()
	c.InMemory = false
	return c
}

func (f onStorage) ReadRange(name string, off int64, n int) ([]byte, error) {
	return f.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

// A bulk commit whose flush ran under memory pressure (so copied nothing
// into the cache) is followed by WarmCaches, once, which fills the cache of
// the store that took it; a closed connection is forgotten.
func TestWarmCachesAfterABulkCommit(t *testing.T) {
	b := New(func(adapter, root string) (fsadapter.FS, error) {
		m, err := memfs.New()
		return onStorage{m}, err
	})
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("w"), "memtableBytes", n(1<<20), "cacheBytes", n(4<<20)))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	cacheBytes := func() float64 {
		v, found := ok(t, b, "stats", conn).Get("cacheBytes")
		require.True(t, found)
		return v.Number()
	}
	old := debug.SetMemoryLimit(1)
	insertIDs(t, b, conn, 0, BulkWrites)
	debug.SetMemoryLimit(old)
	require.Zero(t, cacheBytes(), "the flush under memory pressure primed nothing")
	require.True(t, b.TookBulk())
	b.WarmCaches()
	warm := cacheBytes()
	require.Positive(t, warm, "the load's blocks are in the cache")
	require.LessOrEqual(t, warm, float64(4<<20))
	require.Empty(t, b.warm, "warmed once")

	insertIDs(t, b, conn, BulkWrites, BulkWrites)
	require.Len(t, b.warm, 1)
	ok(t, b, "close", conn)
	require.Empty(t, b.warm, "a closed connection is not warmed")
}

// A connection closed after its bulk commit was warmed is not kept alive
// by the bridge: on the memory adapter its store holds the files, a heap
// the memory limit stops counting at the close.
func TestWarmCachesKeepsNoClosedConnection(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("gone")))
	ok(t, b, "createDatabase", conn, s("d"), o())
	ok(t, b, "createTable", conn, s("d"), s("t"), o("columns", a(o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)))))
	insertIDs(t, b, conn, 0, BulkWrites)
	require.True(t, b.TookBulk())
	b.WarmCaches()
	require.Len(t, b.byRoot, 1)
	var gone weak.Pointer[engine.Conn]
	for _, sh := range b.byRoot {
		gone = weak.Make(sh.conn)
	}
	ok(t, b, "close", conn)
	for range 3 {
		runtime.GC()
	}
	require.Nil(t, gone.Value(), "the closed connection is still reachable")
	runtime.KeepAlive(b) // the bridge lives on, as in the wasm host
}

// Each adapter opens a root with its own block cache size unless the
// connection names one.
func TestAdapterDefaults(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		adapter string
		cache   float64
	}{
		{"memory", 16 * mb},
		{"node", 16 * mb},
		{"opfs", 16 * mb},
		{"wx", 8 * mb},
		{"indexeddb", 8 * mb},
	} {
		t.Run(tc.adapter, func(t *testing.T) {
			b := newBridge(t)
			st := ok(t, b, "stats", ok(t, b, "open", o("adapter", s(tc.adapter), "root", s("r"))))
			got := func(k string) float64 {
				v, found := st.Get(k)
				require.True(t, found, k)
				return v.Number()
			}
			require.Equal(t, tc.cache, got("cacheLimit"))
			c := ok(t, b, "open", o("adapter", s(tc.adapter), "root", s("named"), "memtableBytes", n(mb), "cacheBytes", n(2*mb)))
			st = ok(t, b, "stats", c)
			require.Equal(t, 2.0*mb, got("cacheLimit"), "named sizes win")
		})
	}
}
