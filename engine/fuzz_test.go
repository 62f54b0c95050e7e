package engine

import (
	"strings"
	"testing"

	"minibase/engine/value"
)

// Decoders of untrusted or stored bytes must return errors, never panic.

func FuzzParseQuery(f *testing.F) {
	for _, q := range []value.Value{
		obj("where", obj("age", obj(">=", 18)), "orderBy", arr(obj("name", "age", "type", "desc")), "limit", obj("start", 0, "count", 20)),
		obj("where", arr(obj("name", "a", "type", "like", "value", "%x_"))),
		obj("where", obj("$or", arr(obj("a", 1), obj("b", obj("in", arr(1, 2)))))),
		arr(obj("name", "a", "value", nil)),
	} {
		f.Add(value.Encode(q))
	}
	c := usersConn(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := value.Decode(b)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if CodeOf(err) != CodeBadQuery {
				t.Fatalf("parse error with code %s: %v", CodeOf(err), err)
			}
			return
		}
		_ = c.Auto(func(tx *Tx) error {
			if _, err := tx.Select("shop", "users", q); err != nil && CodeOf(err) == CodeInternal {
				t.Fatal(err)
			}
			_, _ = tx.Explain("shop", "users", q)
			return nil
		})
	})
}

func FuzzDecodeRow(f *testing.F) {
	c := usersConn(f)
	tbl, _ := c.lookupTable("shop", "users")
	r, _, _ := tbl.rowFromObject(obj("id", 1, "username", "ann", "age", 3, "profile", obj("a", arr(1, "x"))))
	f.Add(encodeRow(nil, tbl, r))
	writePlainRows = true
	plain := encodeRow(nil, tbl, r)
	f.Add(plain)
	writePlainRows = false
	for _, o := range []value.Value{obj("id", 300000, "username", "bo", "age", -70), obj("id", 4, "username", "cy", "age", 12.5)} {
		other, _, err := tbl.rowFromObject(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(encodeRow(nil, tbl, other)) // multi-byte and negative integers, a float
	}
	for _, b := range []bool{true, false} {
		// booleans where the schema says number: the bytes decide equalities
		flagged := append(row(nil), r...)
		flagged[2] = value.BoolOf(b)
		f.Add(encodeRow(nil, tbl, flagged))
	}
	long, _, _ := tbl.rowFromObject(obj("id", 2, "username", strings.Repeat("n", 300), "age", nil))
	f.Add(encodeRow(nil, tbl, long)) // two-byte offsets
	f.Add([]byte{0})
	f.Add([]byte{6, 1, value.TagInt, 0x80, 0x01, 2, value.TagString, 1, 'a', 3, value.TagTrue, 4, value.TagNull, 5, value.TagFloat, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 6, value.TagNull})
	f.Fuzz(func(t *testing.T, b []byte) {
		// A filter reads one column of a row nothing checked whole: any
		// bytes, damaged offsets included, and no panic.
		if fv := newRowView(tbl); fv.load(b) == nil {
			for p := range tbl.Columns {
				lt := numberCond("", p, OpLt, 5)
				matchView(&lt, fv)
				matchView(&Cond{Op: OpEq, Value: val("ann"), pos: p}, fv)
			}
		}
		// loadMatch, the scan's shortcut, decides as load and matchView
		// do, and leaves the view as load does, also over a view that held
		// a row without offsets before.
		for p := range tbl.Columns {
			for _, nc := range []Cond{
				numberCond("", p, OpLt, 5),
				numberCond("", p, OpGe, -300),
				numberCond("", p, OpEq, 300000),
			} {
				c := &nc
				want, wok, werr := loadAndMatch(tbl, b, c)
				got := newRowView(tbl)
				if got.load(plain) != nil || got.all() != nil {
					t.Fatal("the plain row does not load")
				}
				rc := rawCondsOf(And{c})
				gok, gerr := got.loadMatch(&rc, nil, c, b)
				if (werr != nil) != (gerr != nil) || werr == nil && wok != gok {
					t.Fatalf("column %d %s %s: loadMatch %v (%v), load and matchView %v (%v)", p, c.Op, c.Value, gok, gerr, wok, werr)
				}
				if werr == nil && gok {
					// A row let through is loaded as load leaves it (one
					// turned away is never read).
					for q := range tbl.Columns {
						if g, w := got.value(q), want.value(q); !value.Equal(g, w) {
							t.Fatalf("column %d after loadMatch: %s, after load: %s", q, g, w)
						}
					}
				}
				// With top-k's bound on another column: a row let through
				// is one c lets through, and one c lets through is turned
				// away only where it fails the bound.
				bp := 0 // id, or age when c is on id
				if p == 0 {
					bp = 2
				}
				bound := numberCond("", bp, OpGt, 1)
				rcb := rawCondsOf(c)
				bok, berr := newRowView(tbl).loadMatch(&rcb, &bound, c, b)
				if werr == nil && berr == nil && (bok && !wok || !bok && wok && matchView(&bound, want)) {
					t.Fatalf("column %d %s %s with bound: loadMatch %v, load and matchView %v", p, c.Op, c.Value, bok, wok)
				}
				// With a second condition, on this column or another (a
				// range, or two columns), the two together decide as
				// load and matchView do; so do equalities with a string
				// or a boolean, alone or with c.
				for q := range tbl.Columns {
					c2 := numberCond("", q, OpLe, 70000)
					str := Cond{Op: OpEq, Value: val("ann"), pos: q}
					yes := Cond{Op: OpEq, Value: val(true), pos: q}
					no := Cond{Op: OpEq, Value: val(false), pos: q}
					for _, filter := range []Expr{And{c, &c2}, And{c, &str}, &str, And{&str}, &yes, And{c, &no}} {
						_, wok2, w2err := loadAndMatch(tbl, b, filter)
						rc2 := rawCondsOf(filter)
						gok2, gerr2 := newRowView(tbl).loadMatch(&rc2, nil, filter, b)
						if w2err == nil && gerr2 == nil && gok2 != wok2 {
							t.Fatalf("columns %d and %d, %v: loadMatch %v, load and matchView %v", p, q, filter, gok2, wok2)
						}
					}
				}
			}
		}
		r, err := decodeRow(tbl, b)
		// The row view (what scans filter with) and decodeRowView (what
		// updates and deletes read) agree with decodeRow on every column.
		v := newRowView(tbl)
		verr := v.load(b)
		if verr == nil {
			verr = v.all()
		}
		rv, rverr := decodeRowView(tbl, b, nil)
		if err != nil {
			if verr == nil && rverr == nil {
				t.Fatalf("decodeRow fails (%v) where the views accept % x", err, b)
			}
			return
		}
		if verr != nil || rverr != nil {
			return // the views may be stricter (a rowset is not a stored value)
		}
		for p := range tbl.Columns {
			if got := v.value(p); !value.Equal(got, r[p]) {
				t.Fatalf("column %d: view %s, decodeRow %s", p, got, r[p])
			}
			// A composite decodeRowView keeps as its stored encoding must
			// decode to the same value (its bytes may be a non-canonical
			// spelling of it).
			if got, err := value.Decode(value.Append(nil, rv[p])); err != nil || !value.Equal(got, r[p]) {
				t.Fatalf("column %d: decodeRowView holds %s (%v), decodeRow %s", p, got, err, r[p])
			}
		}
	})
}

// loadAndMatch is the general path a scan's shortcut (loadMatch) must
// agree with: load b into a new view, then matchView.
func loadAndMatch(tbl *Table, b []byte, filter Expr) (*rowView, bool, error) {
	v := newRowView(tbl)
	err := v.load(b)
	ok := err == nil && matchView(filter, v)
	if err == nil {
		err = v.err
	}
	return v, ok, err
}

func FuzzDecodeCatalog(f *testing.F) {
	c := usersConn(f)
	f.Add(c.cat.encode())
	versioned := c.cat.clone()
	versioned.Version = 7
	f.Add(versioned.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		cat, err := decodeCatalog(b)
		if err != nil {
			return
		}
		for _, tables := range cat.DBs {
			for _, tb := range tables {
				tb.prepare()
			}
		}
	})
}

func FuzzLike(f *testing.F) {
	f.Add("a%b_c", "aXXbYc")
	f.Add("%%%", "")
	f.Add(strings.Repeat("_%a", 30), strings.Repeat("ba", 40))
	f.Add("%ÄB_ç%", "xxäbXç")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		m, err := compileLike(pattern)
		if err != nil {
			return
		}
		got := m.match(s)
		if want := likeReference([]rune(pattern), []rune(s)); got != want {
			t.Fatalf("like %q on %q: got %v, want %v", pattern, s, got, want)
		}
	})
}

// likeReference is LIKE by dynamic programming over pattern × text: slow,
// plainly right, the yardstick for the automaton.
func likeReference(p, s []rune) bool {
	// ok[j] after i characters: p[:j] matches s[:i]
	ok := make([]bool, len(p)+1)
	ok[0] = true
	for j := 1; j <= len(p) && p[j-1] == '%'; j++ {
		ok[j] = true
	}
	for _, c := range s {
		next := make([]bool, len(p)+1)
		for j := 1; j <= len(p); j++ {
			switch p[j-1] {
			case '%':
				next[j] = next[j-1] || ok[j]
			case '_':
				next[j] = ok[j-1]
			default:
				next[j] = ok[j-1] && foldASCII(p[j-1]) == foldASCII(c)
			}
		}
		ok = next
	}
	return ok[len(p)]
}
