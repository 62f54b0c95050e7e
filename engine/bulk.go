package engine

import (
	"bytes"
	"errors"
	"slices"

	"minibase/engine/kv"
	"minibase/fsadapter"
)

// bulkRows is the size from which an autocommit insertMany is loaded the
// bulk way (bulkLoad) rather than row by row through the overlay.
const bulkRows = 256

// bulkLoad collects the rows of a bulk insert into one table as runs, one
// per index, sorted apart at the end, instead of writing each row and index
// entry through the transaction's overlay: there, every write is hashed and
// every uniqueness check is a lookup, and the commit then sorts the whole
// mixed batch again. Here a row is encoded once and appended; uniqueness,
// within the load and against the store, is checked on the sorted runs
// (neighbours within a run; one probe of the store's key range per run,
// and point reads only where the store holds keys in that range); and the
// commit is the runs concatenated, already in key order.
//
// Every row yields exactly one entry in each run, so entry i of every run
// belongs to row i (the row number errors report).
type bulkLoad struct {
	t     *Table
	runs  []kv.Batch // 0: row key → encoded row; 1+i: index i's entry → primary key
	n     int        // rows loaded
	fresh bool       // every primary key was generated: none can collide
	out   *kv.Batch  // the checked, sorted commit (seal); the runs are then empty

	scratch [][]byte // per run, the entry being built
}

func newBulkLoad(t *Table) *bulkLoad {
	return &bulkLoad{t: t, runs: make([]kv.Batch, 1+len(t.Indexes)), fresh: true, scratch: make([][]byte, 1+len(t.Indexes))}
}

// rows is the number of rows loaded.
func (l *bulkLoad) rows() int { return l.n }

// writes is the number of keys the load will write.
func (l *bulkLoad) writes() int { return l.rows() * len(l.runs) }

// add encodes row r and its index entries, with the checks mutate makes of
// an insert but uniqueness (seal's). Nothing is added when it fails.
func (l *bulkLoad) add(tx *Tx, r row, rowid float64, fresh bool) error {
	t := l.t
	if err := t.checkRow(r); err != nil {
		return err
	}
	key, err := t.pkKey(l.scratch[0][:0], r, rowid)
	if err != nil {
		return errorf(CodeTypeMismatch, "primary key of %s: %v", t.Name, err)
	}
	l.scratch[0] = reusable(key)
	if len(key) > maxKeySize {
		return sizeErr(t, "primary key", len(key))
	}
	pk := key[len(t.primaryPrefix):]
	for i := range t.Indexes {
		e, err := t.appendIndexEntry(l.scratch[1+i][:0], i, r, pk)
		if err != nil {
			return err
		}
		l.scratch[1+i] = reusable(e)
	}
	enc := encodeRow(tx.scratch.row[:0], t, r)
	tx.scratch.row = reusable(enc)
	if len(enc) > maxRowSize {
		return sizeErr(t, "row", len(enc))
	}
	l.runs[0].Set(key, enc)
	for i := range t.Indexes {
		l.runs[1+i].Set(l.scratch[1+i], pk)
	}
	l.n++
	l.fresh = l.fresh && fresh
	if tx.c.feed != nil { // changes.go
		tx.noteExisted(key, false)
	}
	return nil
}

// marks and truncate undo the rows of a failed statement.
func (l *bulkLoad) marks() []kv.Mark {
	m := make([]kv.Mark, len(l.runs))
	for i := range l.runs {
		m[i] = l.runs[i].Mark()
	}
	return m
}

func (l *bulkLoad) truncate(m []kv.Mark) {
	for i := range l.runs {
		l.runs[i].Truncate(m[i])
	}
	l.n = l.runs[0].Len()
}

// seal checks uniqueness and returns the load as one batch in key order;
// the runs are consumed.
func (l *bulkLoad) seal(tx *Tx) (*kv.Batch, error) {
	if l.out != nil {
		return l.out, nil
	}
	orders, err := l.check(tx)
	if err != nil {
		return nil, err
	}
	// Runs by their smallest key: each holds one prefix of its own, so the
	// concatenation is in key order (were it not, the store sorts it).
	byFirst := make([]int, 0, len(l.runs))
	for j := range l.runs {
		if len(orders[j]) > 0 {
			byFirst = append(byFirst, j)
		}
	}
	first := func(j int) []byte { return l.runs[j].Key(int(orders[j][0])) }
	slices.SortFunc(byFirst, func(a, b int) int { return bytes.Compare(first(a), first(b)) })
	out := &kv.Batch{}
	for _, j := range byFirst {
		out.AppendSorted(&l.runs[j], orders[j])
	}
	l.out = out
	return out, nil
}

// check sorts each run and checks uniqueness. The error, if any, is the one
// inserting the rows one by one would have met first: the lowest row that
// collides, with its primary key checked before its indexes in order.
func (l *bulkLoad) check(tx *Tx) ([][]int32, error) {
	t := l.t
	n := l.rows()
	orders := make([][]int32, len(l.runs))
	bad, badRun := n, -1
	for j := range l.runs {
		run := &l.runs[j]
		orders[j] = run.SortedOrder(false)
		if j == 0 && l.fresh || j > 0 && !t.Indexes[j-1].Unique {
			continue
		}
		row, err := l.collision(tx, run, orders[j])
		if err != nil {
			return nil, err
		}
		if row < bad {
			bad, badRun = row, j
		}
	}
	if badRun < 0 {
		return orders, nil
	}
	r, err := decodeRow(t, l.runs[0].Op(bad).Value)
	if err != nil {
		return nil, err
	}
	if badRun == 0 {
		err = errorf(CodeUniqueViolation, "unique violation on %s primary key: %s", t.Name, t.pkValue(r, 0))
	} else {
		err = t.uniqueErr(badRun-1, r)
	}
	return nil, wrapRowErr(err, bad)
}

// collision returns the lowest row whose key in run (sorted as order) is
// held by an earlier row of the load or by the store, or the row count.
func (l *bulkLoad) collision(tx *Tx, run *kv.Batch, order []int32) (int, error) {
	bad := len(order)
	for k := 1; k < len(order); k++ {
		// Equal keys sort by row: each but the first of a run collides.
		if int(order[k]) < bad && bytes.Equal(run.Key(int(order[k-1])), run.Key(int(order[k]))) {
			bad = int(order[k])
		}
	}
	if len(order) == 0 {
		return bad, nil
	}
	// One probe of the key range the run covers; a load into an empty table,
	// or of keys past the table's, reads nothing more.
	store := tx.c.store
	lo, hi := run.Key(int(order[0])), run.Key(int(order[len(order)-1]))
	it := store.NewIter(kv.IterOptions{Lower: lo, Upper: append(append([]byte(nil), hi...), 0)})
	held := it.Next()
	if err := it.Close(); err != nil {
		return 0, storageErr("read index", err)
	}
	if !held {
		return bad, nil
	}
	// A backend that loads bytes on demand has the call run again once it
	// loaded what the call missed: read on past a miss (a bounded number),
	// so that one run names many blocks, not one.
	var later error
	pending := 0
	for _, i := range order {
		if int(i) >= bad {
			continue
		}
		_, err := store.Get(run.Key(int(i)))
		switch {
		case err == nil:
			bad = int(i)
		case errors.Is(err, fsadapter.ErrNotResident):
			if later == nil {
				later = storageErr("read index", err)
			}
			if pending++; pending >= maxPendingReads {
				return 0, later
			}
		case !errors.Is(err, kv.ErrNotFound):
			return 0, storageErr("read index", err)
		}
	}
	if later != nil {
		return 0, later
	}
	return bad, nil
}
