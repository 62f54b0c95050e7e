package engine

import (
	"bytes"
	"errors"

	"minibase/engine/kv"
	"minibase/fsadapter"
)

// storedRows holds the keys and stored bytes of the rows an update or a
// delete is about to change, copied into one buffer: the statement reads
// every matching row before it writes any (a write must not move an
// iterator it is reading), and keeping them as bytes instead of decoded
// rows is one object for the garbage collector instead of dozens per row.
type storedRows struct {
	buf   []byte
	spans []storedSpan
}

// storedSpan is one row: its key is buf[k0:k1] and its bytes buf[k1:end].
type storedSpan struct{ k0, k1, end int }

func (s *storedRows) len() int { return len(s.spans) }

// at returns row i's key and stored bytes; they stay valid while s lives.
func (s *storedRows) at(i int) (key, raw []byte) {
	sp := s.spans[i]
	return s.buf[sp.k0:sp.k1:sp.k1], s.buf[sp.k1:sp.end:sp.end]
}

// eachStored calls fn with the key and stored bytes of every row pr
// matches, for a statement that changes them. With stream set, fn runs as
// the scan reaches each row, reading the store beneath the transaction's
// overlay: the caller guarantees the overlay held no writes when the
// statement began (so the store is what the statement must read) and that
// what fn writes moves no key the scan has still to meet (a row keeps its
// key and index entries, or is deleted). Otherwise every row is collected
// before fn sees any, so fn's writes cannot move a scan under way. A plan
// with an offset, a limit or an order of its own is always collected.
func (tx *Tx) eachStored(pr *prepared, stream bool, fn func(key, raw []byte) error) error {
	if stream && pr.p.ordered && pr.q.Offset == 0 && pr.q.Limit < 0 {
		if joinRows && pr.p.index >= 0 && pr.p.kind != "point" {
			return tx.eachJoined(pr.p, fn)
		}
		var ferr error
		err := tx.scanFrom(tx.base, pr.p, func(key []byte, v *rowView) bool {
			ferr = fn(key, v.raw)
			return ferr == nil
		})
		if err == nil {
			err = ferr
		}
		return err
	}
	rows, err := tx.collectStored(pr)
	if err != nil {
		return err
	}
	for i := range rows.len() {
		if i%yieldRows == yieldRows-1 {
			yield()
		}
		if err := fn(rows.at(i)); err != nil {
			return err
		}
	}
	return nil
}

// joinRows turns eachJoined on; tests turn it off to compare it with the
// scan that reads a row per index entry.
var joinRows = true

// joinMin is the fewest rows for which eachJoined reads them through one
// seeking iterator rather than a Get each: an iterator over every level of
// the store costs a few Gets to set up.
const joinMin = 32

// eachJoined is eachStored's stream for a plan that reads rows through an
// index range, in an order the statement does not need: it collects the
// primary keys the index entries hold, sorts them, and reads the rows in
// key order through one iterator that seeks ahead (kv.Seeker), instead of
// a Get per entry that searches every level of the store from the top. An
// index entry's rows are spread over the table (an update of a tenth of
// the rows by age read them in a different block each time); in key order
// the rows of a block are read together, and a seek near the last one
// costs about a Next.
//
// A row the backend has not loaded (fsadapter.ErrNotResident) fails the
// statement after naming, by a Get each, the blocks of up to
// maxPendingReads more rows, so that one run loads many (see scanView).
func (tx *Tx) eachJoined(p *plan, fn func(key, raw []byte) error) error {
	j := &joiner{rd: tx.base, t: p.t, index: p.index, filter: p.filter, conds: rawCondsOf(p.filter), v: newRowView(p.t), fn: fn}
	j.key = append(j.key, j.t.primaryPrefix...)
	for _, rg := range p.ranges {
		it := j.rd.NewIter(kv.IterOptions{Lower: rg.lo, Upper: rg.hi})
		err := j.chunks(it)
		if cerr := it.Close(); err == nil && cerr != nil {
			err = storageErr("scan", cerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// joinChunk bounds the primary keys eachJoined holds at once (tests make
// it small): a statement over a million rows reads them a chunk at a time,
// each sorted and read on its own, in about 3 MB. Each chunk's keys may
// span the table, so each pass may read its blocks again: chunks of 16,384
// made a delete of 300,000 rows through an index 10-40% slower.
var joinChunk = 1 << 16

// chunks reads the rows the entries of index iterator it name, a chunk
// at a time.
func (j *joiner) chunks(it kv.Iterator) error {
	for {
		j.pks, j.ends, j.full = j.pks[:0], j.ends[:0], false
		walk(it, j.collect)
		if len(j.ends) > 0 {
			if err := j.join(); err != nil {
				return err
			}
		}
		if !j.full {
			return nil
		}
	}
}

// join reads the rows of the primary keys collected, in key order.
func (j *joiner) join() error {
	j.order = kv.SortedOrder(len(j.ends), j.pk, false)
	j.sk, j.started, j.valid = nil, false, false
	if len(j.order) >= joinMin {
		lower := bytes.Clone(j.keyOf(0))
		upper := append(bytes.Clone(j.keyOf(len(j.order)-1)), 0) // just past the last key
		it := j.rd.NewIter(kv.IterOptions{Lower: lower, Upper: upper})
		defer it.Close()
		j.sk, _ = it.(kv.Seeker)
	}
	// Every key comes once: a row has one entry in an index, and a plan's
	// ranges do not overlap. The work per row is a call of its own, which
	// V8 optimizes after a few hundred calls; a loop body runs as first
	// compiled for as long as its one call lasts.
	for i := range j.order {
		if i%yieldRows == yieldRows-1 {
			yield()
		}
		if err := j.row(i); err != nil {
			return err
		}
	}
	if j.sk != nil {
		if err := j.sk.Close(); err != nil {
			return storageErr("scan", err)
		}
	}
	return nil
}

// joiner is eachJoined's state.
type joiner struct {
	rd      kv.Reader
	t       *Table
	index   int // the index the plan reads
	filter  Expr
	conds   rawConds // what of the filter a row's bytes decide (rawVerdict)
	v       *rowView
	fn      func(key, raw []byte) error
	pks     []byte // the chunk's primary keys, without the table's prefix, end to end
	ends    []int  // where each ends in pks
	full    bool   // the chunk stopped the index's walk: more may follow
	order   []int32
	key     []byte    // scratch: the table's prefix, then a primary key
	sk      kv.Seeker // nil: a Get per row
	started bool      // sk has been positioned
	valid   bool      // sk stands on an entry
}

// collect keeps the primary key an index entry holds, until the chunk is
// full.
func (j *joiner) collect(_, pk []byte) bool {
	if len(j.ends)%yieldRows == yieldRows-1 {
		yield()
	}
	j.pks = append(j.pks, pk...)
	j.ends = append(j.ends, len(j.pks))
	j.full = len(j.ends) >= joinChunk
	return !j.full
}

// pk is the i-th primary key collected.
func (j *joiner) pk(i int) []byte {
	lo := 0
	if i > 0 {
		lo = j.ends[i-1]
	}
	return j.pks[lo:j.ends[i]:j.ends[i]]
}

// keyOf is the row key of the i-th primary key in order, in j.key.
func (j *joiner) keyOf(i int) []byte {
	j.key = append(j.key[:len(j.t.primaryPrefix)], j.pk(int(j.order[i]))...)
	return j.key
}

// row reads the i-th row in key order and hands it to fn if it matches.
func (j *joiner) row(i int) error {
	key := j.keyOf(i)
	raw, err := j.read(key)
	if errors.Is(err, fsadapter.ErrNotResident) {
		pending := 0
		for k := i + 1; k < len(j.order) && pending < maxPendingReads; k++ {
			if _, err := j.rd.Get(j.keyOf(k)); errors.Is(err, fsadapter.ErrNotResident) {
				pending++
			}
		}
		return storageErr("read row", err)
	} else if errors.Is(err, kv.ErrNotFound) {
		return missingRow(j.t, j.index)
	} else if err != nil {
		return storageErr("read row", err)
	}
	ok, err := j.v.loadMatch(&j.conds, nil, j.filter, raw)
	if err != nil || !ok {
		return err
	}
	return j.fn(key, raw)
}

// read returns the row under key: from the seeking iterator, a Next or
// two ahead or a seek away, or by a Get.
func (j *joiner) read(key []byte) ([]byte, error) {
	sk := j.sk
	if sk == nil {
		return j.rd.Get(key)
	}
	if !j.started {
		j.valid, j.started = sk.SeekGE(key), true
	} else {
		// Rows in the same few blocks are a Next or two apart.
		for steps := 0; j.valid && steps < 4 && bytes.Compare(sk.Key(), key) < 0; steps++ {
			j.valid = sk.Next()
		}
		if j.valid && bytes.Compare(sk.Key(), key) < 0 {
			j.valid = sk.SeekGE(key)
		}
	}
	switch {
	case j.valid && bytes.Equal(sk.Key(), key):
		return sk.Value(), nil
	case j.valid:
		return nil, kv.ErrNotFound
	}
	j.sk = nil
	if err := sk.Close(); err != nil {
		return nil, err // the rows after it are named by Gets
	}
	return nil, kv.ErrNotFound
}

// collectStored is collect keeping each row's key and stored bytes.
func (tx *Tx) collectStored(pr *prepared) (*storedRows, error) {
	out := &storedRows{}
	spans, err := collectWith(tx, pr, func(key []byte, v *rowView) (storedSpan, error) {
		k0 := len(out.buf)
		out.buf = append(append(out.buf, key...), v.raw...)
		return storedSpan{k0, k0 + len(key), len(out.buf)}, nil
	})
	out.spans = spans
	return out, err
}
