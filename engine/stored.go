package engine

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
