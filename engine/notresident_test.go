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

// onDemandTable is an on-demand backend holding table db.t (3,000 rows,
// an index on n) in small blocks, closed, and the options to open it with.
func onDemandTable(t *testing.T) (*onDemand, Options) {
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
	return od, opts
}

// openCold opens od's database with only the ends of its segments loaded,
// as the browser host does, and every other segment read missing.
func (o *onDemand) openCold(t *testing.T, opts Options) *Conn {
	o.mu.Lock()
	// Segments are opened by their first read. The host loads the end of
	// every segment, where its footer, index and filter are, when it opens
	// the database (browser-idb.js): the runs are the data blocks' alone.
	o.cold, o.loaded, o.records, o.tail = false, map[string]struct{}{}, nil, 4<<10
	o.mu.Unlock()
	c, err := Open(o, opts) // reads the catalog, loaded
	require.NoError(t, err)
	o.mu.Lock()
	o.cold = true
	o.mu.Unlock()
	return c
}

// A scan through an index reads on past a row the backend has not loaded, so
// one run names the blocks of many rows, and the answer once they are loaded
// is the one a fully loaded store gives.
func TestScanNamesEveryMissInOneRun(t *testing.T) {
	od, opts := onDemandTable(t)
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
	c, err := Open(od, opts)
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
			c := od.openCold(t, opts)
			defer c.Close()
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

// An update or a delete changes rows as its scan reaches them; on a backend
// that loads on demand its first runs miss part way, after changing some
// rows, and fail. What they changed goes with them: once everything it
// reads is loaded, the statement's count and the rows it leaves are those
// of a fully loaded store, in an autocommit statement and in a transaction
// (whose statement fails alone and runs again).
func TestWritesRunAgainAfterNotResident(t *testing.T) {
	statements := []struct {
		name string
		run  func(tx *Tx) (int, error)
	}{
		{"update by index range", func(tx *Tx) (int, error) {
			return tx.Update("db", "t", obj("pad", "x"), query(t, obj("where", obj("n", obj(">=", 10, "<", 60)))))
		}},
		{"update by points", func(tx *Tx) (int, error) {
			return tx.Update("db", "t", obj("pad", "y"), query(t, obj("where", obj("id", obj("in", arr(5, 900, 1800, 2999, 77, 2222, 300, 1200, 2600))))))
		}},
		{"update of every row", func(tx *Tx) (int, error) {
			return tx.Update("db", "t", obj("pad", nil), Query{Limit: -1})
		}},
		{"delete by index range", func(tx *Tx) (int, error) {
			return tx.Delete("db", "t", query(t, obj("where", obj("n", obj(">=", 100, "<", 140)))))
		}},
		{"delete by a filter", func(tx *Tx) (int, error) {
			return tx.Delete("db", "t", query(t, obj("where", obj("id", obj(">=", 2000)))))
		}},
	}
	for _, st := range statements {
		for _, explicit := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, explicit %v", st.name, explicit), func(t *testing.T) {
				loaded, opts := onDemandTable(t)
				c, err := Open(loaded, opts)
				require.NoError(t, err)
				var want int
				require.NoError(t, c.Auto(func(tx *Tx) (err error) { want, err = st.run(tx); return err }))
				require.NotZero(t, want)
				wantRows := selectBoth(t, c, "db", "t", obj("orderBy", "id"))
				require.NoError(t, c.Close())

				od, _ := onDemandTable(t)
				c = od.openCold(t, opts)
				defer c.Close()
				var got int
				var tx *Tx
				if explicit {
					tx, err = c.Begin()
					require.NoError(t, err)
				}
				// Not od.run: a commit's merges may miss too, and stop
				// without failing the statement (a merge runs in steps).
				failed := 0
				for {
					if explicit {
						got, err = st.run(tx)
					} else {
						err = c.Auto(func(tx *Tx) (err error) { got, err = st.run(tx); return err })
					}
					od.mu.Lock()
					for k := range od.missed {
						od.loaded[k] = struct{}{}
					}
					od.missed = map[string]struct{}{}
					od.mu.Unlock()
					if !errors.Is(err, fsadapter.ErrNotResident) {
						break
					}
					failed++
					require.Less(t, failed, 1000, "runs without end")
				}
				require.NoError(t, err)
				if explicit {
					require.NoError(t, tx.Commit())
				}
				require.NotZero(t, failed, "the store was cold: the statement missed")
				// Each run names many blocks, not one: a run per block
				// missed would take over a hundred here.
				require.LessOrEqual(t, failed, 40)
				require.Equal(t, want, got)
				od.mu.Lock()
				od.cold = false
				od.mu.Unlock()
				gotRows := selectBoth(t, c, "db", "t", obj("orderBy", "id"))
				require.Equal(t, len(wantRows.Rows), len(gotRows.Rows))
				for i := range wantRows.Rows {
					require.True(t, value.Equal(value.ArrayOf(wantRows.Rows[i]), value.ArrayOf(gotRows.Rows[i])), "row %d", i)
				}
				require.NoError(t, c.CheckIntegrity())
			})
		}
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
