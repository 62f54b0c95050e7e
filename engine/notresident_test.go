package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/lsm"
	"minibase/engine/value"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

// onDemand is a backend that loads segment bytes on demand, as IndexedDB
// under wasm does: a range read of a segment not loaded yet fails with
// fsadapter.ErrNotResident and notes the range; load makes the noted ranges
// readable, as the host does before running the call again.
type onDemand struct {
	fsadapter.FS
	mu      sync.Mutex
	cold    bool                // segment bytes must be loaded first
	tail    int64               // the bytes at the end of every segment that are always loaded
	loaded  map[string]struct{} // "name@off" of the ranges loaded
	missed  map[string]struct{} // ranges missed since the last load
	records []int               // misses noted per run
}

func (o *onDemand) ReadRange(name string, off int64, n int) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := fmt.Sprintf("%s@%d", name, off)
	inTail := false
	if o.tail > 0 {
		fi, err := o.FS.Stat(name)
		inTail = err == nil && off >= fi.Size()-o.tail
	}
	if _, ok := o.loaded[key]; o.cold && !ok && !inTail && strings.HasSuffix(name, ".sst") {
		o.missed[key] = struct{}{}
		return nil, fmt.Errorf("fsadapter: read %s: %w", name, fsadapter.ErrNotResident)
	}
	return o.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

// run calls fn until it no longer misses, loading what each run missed; it
// returns how many runs it took.
func (o *onDemand) run(t *testing.T, fn func() error) int {
	for runs := 1; ; runs++ {
		err := fn()
		o.mu.Lock()
		missed := len(o.missed)
		for k := range o.missed {
			o.loaded[k] = struct{}{}
		}
		o.missed = map[string]struct{}{}
		o.records = append(o.records, missed)
		o.mu.Unlock()
		if missed == 0 {
			require.NoError(t, err)
			return runs
		}
		require.ErrorIs(t, err, fsadapter.ErrNotResident, "a run that missed fails as not resident")
		require.Less(t, runs, 1000, "runs without end")
	}
}

// A scan through an index reads on past a row the backend has not loaded, so
// one run names the blocks of many rows, and the answer once they are loaded
// is the one a fully loaded store gives.
func TestScanNamesEveryMissInOneRun(t *testing.T) {
	mem, err := memfs.New()
	require.NoError(t, err)
	od := &onDemand{FS: mem, loaded: map[string]struct{}{}, missed: map[string]struct{}{}}
	// No block cache, small blocks: every row read is a backend read.
	opts := Options{Store: lsm.Options{MemtableBytes: 16 << 10, SegmentBytes: 32 << 10, BlockSize: 512, CacheBytes: -1}}
	c, err := Open(od, opts)
	require.NoError(t, err)
	require.NoError(t, c.CreateDatabase("db", false))
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true),
		obj("name", "n", "type", "number"),
		obj("name", "pad", "type", "string")),
		"indexes", arr(obj("columns", arr("n")))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable("db", "t", spec))
	const rows = 3000
	for i := 0; i < rows; i += 100 {
		var batch []any
		for j := i; j < i+100; j++ {
			batch = append(batch, obj("id", j, "n", (j*7919)%300, "pad", strings.Repeat("p", 56)))
		}
		require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("db", "t", arr(batch...)); return err }))
	}
	require.NoError(t, c.Close())

	queries := []struct {
		name string
		q    value.Value
	}{
		{"index range", obj("where", obj("n", obj(">=", 10, "<", 14)))},
		{"index range, limit", obj("where", obj("n", obj(">=", 10, "<", 200)), "limit", 5)},
		{"points", obj("where", obj("id", obj("in", arr(5, 900, 1800, 2999, 77, 2222))))},
		{"full scan", obj()},
	}
	want := map[string][][]value.Value{}
	c, err = Open(od, opts)
	require.NoError(t, err)
	for _, tc := range queries {
		q, err := ParseQuery(tc.q)
		require.NoError(t, err)
		require.NoError(t, c.Auto(func(tx *Tx) error {
			res, err := tx.Select("db", "t", q)
			if err == nil {
				want[tc.name] = res.Rows
			}
			return err
		}))
		require.NotEmpty(t, want[tc.name])
	}
	require.NoError(t, c.Close())

	for _, tc := range queries {
		t.Run(tc.name, func(t *testing.T) {
			od.mu.Lock()
			// Segments are opened by their first read. The host loads the
			// end of every segment, where its footer, index and filter are,
			// when it opens the database (browser-idb.js): the runs are
			// the data blocks' alone.
			od.cold, od.loaded, od.records, od.tail = false, map[string]struct{}{}, nil, 4<<10
			od.mu.Unlock()
			c, err := Open(od, opts) // reads the catalog, loaded
			require.NoError(t, err)
			defer c.Close()
			od.mu.Lock()
			od.cold = true
			od.mu.Unlock()
			q, err := ParseQuery(tc.q)
			require.NoError(t, err)
			var got [][]value.Value
			runs := od.run(t, func() error {
				return c.Auto(func(tx *Tx) error {
					res, err := tx.Select("db", "t", q)
					if err == nil {
						got = res.Rows
					}
					return err
				})
			})
			assert.Equal(t, want[tc.name], got)
			assert.Greater(t, od.records[0], 1, "the first run names more than one block: %v", od.records)
			if tc.name != "full scan" {
				// The rows of the range are in blocks all over the table: one
				// run per row would take dozens.
				assert.LessOrEqual(t, runs, 4, "runs %v", od.records)
			}
		})
	}
}

// A read the backend reports as damaged is not taken for one not loaded yet.
func TestNotResidentIsNotCorrupt(t *testing.T) {
	assert.Equal(t, CodeIO, CodeOf(fmt.Errorf("x: %w", fsadapter.ErrNotResident)))
	assert.Equal(t, CodeCorrupt, CodeOf(fmt.Errorf("x: %w", fsadapter.ErrCorrupt)))
	assert.False(t, errors.Is(fsadapter.ErrCorrupt, fsadapter.ErrNotResident))
}

// A bulk transaction reads the store at commit (uniqueness): a commit that
// misses bytes not loaded fails as not resident and leaves the transaction
// open, so the call runs again once they are loaded, and one run names many
// blocks. The load then commits whole, or fails on the collision it holds.
func TestBulkCommitRunsAgainAfterNotResident(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			mem, err := memfs.New()
			require.NoError(t, err)
			od := &onDemand{FS: mem, loaded: map[string]struct{}{}, missed: map[string]struct{}{}, tail: 4 << 10}
			opts := Options{Store: lsm.Options{MemtableBytes: 16 << 10, SegmentBytes: 32 << 10, BlockSize: 512, CacheBytes: -1}}
			c, err := Open(od, opts)
			require.NoError(t, err)
			require.NoError(t, c.CreateDatabase("db", false))
			spec, err := ParseTableSpec(obj("columns", arr(
				obj("name", "id", "type", "number", "primaryKey", true),
				obj("name", "u", "type", "string", "unique", true))))
			require.NoError(t, err)
			require.NoError(t, c.CreateTable("db", "t", spec))
			// Stored: even ids, u = "u<id>". Loaded: odd ids, spread over the same range.
			for i := 0; i < 3000; i += 300 {
				var batch []any
				for j := i; j < i+300; j += 2 {
					batch = append(batch, obj("id", j, "u", fmt.Sprintf("u%05d", j)))
				}
				require.NoError(t, c.Auto(func(tx *Tx) error { _, err := tx.InsertMany("db", "t", arr(batch...)); return err }))
			}
			require.NoError(t, c.Close())
			var load []any
			for j := 1; j < 3000; j += 2 {
				u := fmt.Sprintf("u%05d", j)
				if collide && j == 2001 {
					u = "u01000" // a stored row's
				}
				load = append(load, obj("id", j, "u", u))
			}

			c, err = Open(od, opts)
			require.NoError(t, err)
			defer c.Close()
			tx, err := c.BeginBulk()
			require.NoError(t, err)
			_, err = tx.InsertMany("db", "t", arr(load...)) // reads nothing
			require.NoError(t, err)
			od.mu.Lock()
			od.cold = true
			od.mu.Unlock()
			var commitErr error
			runs := od.run(t, func() error {
				commitErr = tx.Commit()
				if errors.Is(commitErr, fsadapter.ErrNotResident) {
					return commitErr
				}
				return nil
			})
			assert.Greater(t, runs, 1, "the commit read the store")
			assert.Greater(t, od.records[0], 1, "the first run names more than one block: %v", od.records)
			od.mu.Lock()
			od.cold = false
			od.mu.Unlock()
			var n int
			require.NoError(t, c.Auto(func(tx *Tx) error {
				res, err := tx.Select("db", "t", query(t, obj()))
				if err == nil {
					n = len(res.Rows)
				}
				return err
			}))
			if collide {
				require.ErrorIs(t, commitErr, ErrUniqueViolation)
				require.Contains(t, commitErr.Error(), "(row 1000)")
				assert.Equal(t, 1500, n)
			} else {
				require.NoError(t, commitErr)
				assert.Equal(t, 3000, n)
			}
		})
	}
}
