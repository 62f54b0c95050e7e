package syncserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodePush feeds arbitrary bodies to the push decoder/validator. It
// must never panic, must fail only with a protocol error of the right
// status, and whatever it accepts must be self-consistent: canonical keys
// are fixed points, rows are JSON objects, and every field is within the
// limits the store relies on.
// fuzzMaxHLC is the clock bound FuzzDecodePush decodes under.
const fuzzMaxHLC = "001800000000000-99999"

func FuzzDecodePush(f *testing.F) {
	seeds := []string{
		`{"client":"a","changes":[{"op":"o1","table":"todos","key":1,"row":{"id":1,"title":"x"},"hlc":"001732370000000-00000","origin":"dev-a"}]}`,
		`{"changes":[{"op":"o2","table":"todos","key":1.0,"row":null,"hlc":"001732370000000-00001","origin":"b"}]}`,
		`{"changes":[{"op":"o3","table":"members","key":["red",7],"row":{"team":"red","user":7},"hlc":"000000000000001-00000","origin":"c"}]}`,
		`{"changes":[{"op":"o4","table":"todos","key":"k","row":{"id":"k","meta":{"a":[1,2]}},"hlc":"000000000000001-00000","origin":"c"}]}`,
		`{"changes":[]}`,
		`{"changes":null}`,
		`{"changes":[5]}`,
		`{"changes":[{"op":5}]}`,
		`{"changes":[{"op":"x","table":"todos","key":1e400,"row":null,"hlc":"000000000000001-00000","origin":"c"}]}`,
		`{"changes":[{"op":"x","table":"todos","key":[[1]],"row":null,"hlc":"000000000000001-00000","origin":"c"}]}`,
		`[`, ``, `null`, `{"changes":"x"}`,
		`{"changes":[{"op":"f","table":"todos","key":1,"row":null,"hlc":"999999999999999-99999","origin":"c"}]}`,
		"{\"changes\":[{\"op\":\"u\",\"table\":\"todos\",\"key\":\"a\xff\",\"row\":null,\"hlc\":\"000000000000001-00000\",\"origin\":\"c\"}]}",
		`{"changes":[{"op":"s","table":"todos","key":"\udc00","row":null,"hlc":"000000000000001-00000","origin":"c"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	schema, err := ParseSchema([]byte(`{"tables": {"todos": {"key": "id", "columns": {"id": "any", "title": "string", "meta": "object"}},
		"members": {"key": ["team", "user"], "columns": {"team": "string", "user": "number"}}}}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, withSchema bool) {
		s := schema
		if !withSchema {
			s = nil
		}
		changes, err := decodePush(body, s, pushLimits{maxBatch: 10, maxHLC: fuzzMaxHLC, maxAhead: time.Minute})
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("non-protocol error %T: %v", err, err)
			}
			switch ae.Status {
			case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("unexpected status %d", ae.Status)
			}
			if ae.Status == http.StatusUnprocessableEntity && ae.Index == nil {
				t.Fatal("422 without index")
			}
			return
		}
		if len(changes) > 10 {
			t.Fatalf("batch cap not enforced: %d", len(changes))
		}
		for i, c := range changes {
			if !opOracle.MatchString(c.Op) || !hlcOracle.MatchString(c.HLC) || !originOracle.MatchString(c.Origin) {
				t.Fatalf("change %d: accepted bad field: %+v", i, c)
			}
			if c.HLC > fuzzMaxHLC {
				t.Fatalf("change %d: accepted a clock past the bound: %s", i, c.HLC)
			}
			if !utf8.ValidString(c.Key) || !utf8.Valid(c.Row) {
				t.Fatalf("change %d: accepted invalid UTF-8: %q %q", i, c.Key, c.Row)
			}
			if _, ok := s.table(c.Table); !ok {
				t.Fatalf("change %d: accepted unknown table %q", i, c.Table)
			}
			again, err := canonicalKey(json.RawMessage(c.Key))
			if err != nil || again != c.Key {
				t.Fatalf("change %d: key %q not canonical (%q, %v)", i, c.Key, again, err)
			}
			if c.Row != nil {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(c.Row, &m); err != nil {
					t.Fatalf("change %d: stored row is not an object: %v", i, err)
				}
			}
		}
	})
}

func FuzzCanonicalKey(f *testing.F) {
	for _, s := range []string{`1`, `1.0`, `1e0`, `-0`, `0.5`, `1e21`, `123456789012345678901234567890`, `"a"`, `["a",1]`, `"\u00e9"`, `[]`, `null`, `{}`,
		"\"\xff\"", `"\ud800"`, `"\ud83d\ude00"`, `"\\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := canonicalKey(raw)
		if err != nil {
			return
		}
		if !utf8.ValidString(k) || strings.ContainsRune(k, utf8.RuneError) && !bytes.ContainsRune(raw, utf8.RuneError) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
			t.Fatalf("key %q became %q: a character was replaced", raw, k)
		}
		if !json.Valid([]byte(k)) {
			t.Fatalf("canonical key %q is not JSON", k)
		}
		again, err := canonicalKey(json.RawMessage(k))
		if err != nil || again != k {
			t.Fatalf("not idempotent: %q -> %q (%v)", k, again, err)
		}
	})
}

func TestCanonicalKeyTable(t *testing.T) {
	cases := []struct{ in, want string }{
		{`1`, `1`}, {`1.0`, `1`}, {`1e0`, `1`}, {`10E-1`, `1`}, {`-0`, `0`}, {`-0.0`, `0`},
		{`0.5`, `0.5`}, {`1e21`, `1e+21`}, {`100`, `100`}, {`1.5e2`, `150`},
		{`123456789012345678901234567890`, `123456789012345678901234567890`},
		{`"a"`, `"a"`}, {` "<&>" `, `"<&>"`}, {`[ "a" , 1.0 ]`, `["a",1]`},
	}
	for _, c := range cases {
		got, err := canonicalKey(json.RawMessage(c.in))
		if err != nil || got != c.want {
			t.Errorf("canonicalKey(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`null`, `true`, `{}`, `[]`, `[[1]]`, `[null]`, `1e400`, `1 2`, ``,
		"\"\xff\"", `"\ud800"`, `"\udfff"`, `["\udc00\ud800"]`, `"\ud800\ud800"`,
		strings.Repeat("1", 1025), "1." + strings.Repeat("0", 1100), `"` + strings.Repeat("a", 1100) + `"`} {
		if got, err := canonicalKey(json.RawMessage(bad)); err == nil {
			t.Errorf("canonicalKey(%s) = %q, want error", bad, got)
		}
	}
}

// TestCanonicalKeyChecksSizeFirst: a key far over the limit is refused
// before it is parsed. Reading ten million digits exactly takes minutes; a
// length check does not. The wait is bounded, not measured.
func TestCanonicalKeyChecksSizeFirst(t *testing.T) {
	for _, raw := range []string{strings.Repeat("9", 10_000_000), "[" + strings.Repeat("9", 10_000_000) + "]"} {
		done := make(chan error, 1)
		go func() {
			_, err := canonicalKey(json.RawMessage(raw))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a ten-million-digit key was accepted")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the key was parsed before its size was checked")
		}
	}
}

// FuzzDecodePushFast: whatever the one-pass decoder accepts, the decoder
// that reads a change at a time accepts alike, with the same changes.
func FuzzDecodePushFast(f *testing.F) {
	seeds := []string{
		`{"client":"a","changes":[{"op":"o1","table":"todos","key":1,"row":{"id":1,"title":"x"},"hlc":"001732370000000-00000","origin":"dev-a"}]}`,
		`{"changes":[{"op":"o1","table":"todos","key":1,"row":{"id":1},"hlc":"001732370000000-00000","origin":"a"}],"changes":[{"op":"o2","table":"todos","key":1,"hlc":"001732370000000-00000","origin":"a"}]}`,
		`{"changes":[{"op":"o1","table":"todos","key":1,"row":{"id":1},"hlc":"001732370000000-00000","origin":"a"}],"Changes":[{"op":"o2","table":"todos","key":2,"row":null,"hlc":"001732370000000-00000","origin":"a"}]}`,
		`{"changes":[null]}`, `{"changes":[[]]}`, `{"changes":[{"op":"o","op":"p","table":"todos","key":"k","row":{"id":"k"},"hlc":"001732370000000-00000","origin":"a"}]}`,
		"{\"client\":\"\xff\",\"changes\":[]}",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	schema, err := ParseSchema([]byte(`{"tables": {"todos": {"key": "id", "columns": {"id": "any", "title": "string"}}}}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, withSchema bool) {
		s := schema
		if !withSchema {
			s = nil
		}
		lim := pushLimits{maxBatch: 10, maxHLC: fuzzMaxHLC, maxAhead: time.Minute}
		fast, ok := decodePushFast(body, s, lim)
		if !ok {
			return
		}
		slow, err := decodePushSlow(body, s, lim)
		if err != nil {
			t.Fatalf("fast accepted what slow refuses: %v", err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("fast %d changes, slow %d", len(fast), len(slow))
		}
		for i := range fast {
			a, b := fast[i], slow[i]
			if a.Op != b.Op || a.Table != b.Table || a.Key != b.Key || a.HLC != b.HLC || a.Origin != b.Origin ||
				!bytes.Equal(a.Row, b.Row) || (a.Row == nil) != (b.Row == nil) {
				t.Fatalf("change %d: fast %+v, slow %+v", i, a, b)
			}
		}
	})
}

// FuzzCanonicalKeyFast: a key plainKey takes has the canonical text the
// general path gives it.
func FuzzCanonicalKeyFast(f *testing.F) {
	for _, s := range []string{`1`, `-1`, `0`, `-0`, `007`, `"a b"`, `"\u0041"`, `"a\"b"`, `"é"`, "\"\x7f\"", `"<>&"`, `12345678901234567890123`, `""`, `"`, `-`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := plainKey(raw)
		if !ok {
			return
		}
		slow, err := canonicalKeySlow(raw)
		if err != nil || slow != fast {
			t.Fatalf("%q: plain %q, general %q (%v)", raw, fast, slow, err)
		}
	})
}
