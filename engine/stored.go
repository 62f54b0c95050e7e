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
