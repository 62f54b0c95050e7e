package engine

import (
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
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeRow(tbl, b)
	})
}

func FuzzDecodeCatalog(f *testing.F) {
	c := usersConn(f)
	f.Add(c.cat.encode())
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
	f.Fuzz(func(t *testing.T, pattern, s string) {
		m := compileLike(pattern)
		got := m.match(s)
		if pattern == s && !containsWildcard(pattern) && !got {
			t.Fatalf("%q should match itself", pattern)
		}
	})
}

func containsWildcard(s string) bool {
	for _, r := range s {
		if r == '%' || r == '_' {
			return true
		}
	}
	return false
}
