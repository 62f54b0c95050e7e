package backupfile

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"minibase/engine/checksum"
)

type pair struct{ k, v string }

func encode(t testing.TB, pairs []pair) []byte {
	t.Helper()
	var w Writer
	var out []byte
	for _, p := range pairs {
		if err := w.Add([]byte(p.k), []byte(p.v)); err != nil {
			t.Fatal(err)
		}
		out = append(out, w.Take()...)
	}
	w.Finish()
	return append(out, w.Take()...)
}

// decode feeds data in pieces of step bytes.
func decode(data []byte, step int) ([]pair, error) {
	var r Reader
	var got []pair
	fn := func(k, v []byte) error {
		got = append(got, pair{string(k), string(v)})
		return nil
	}
	for i := 0; i < len(data); i += step {
		if err := r.Write(data[i:min(i+step, len(data))], fn); err != nil {
			return got, err
		}
	}
	return got, r.Close()
}

func manyPairs(n, size int) []pair {
	out := make([]pair, n)
	for i := range out {
		out[i] = pair{fmt.Sprintf("key%08d", i), string(bytes.Repeat([]byte{byte(i)}, size))}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pairs []pair
	}{
		{"empty", nil},
		{"one", []pair{{"a", "1"}}},
		{"empty value", []pair{{"a", ""}, {"b", "x"}}},
		{"many blocks", manyPairs(3000, 300)},
		{"large values", manyPairs(5, MaxBlock/2)},
	} {
		data := encode(t, tc.pairs)
		for _, step := range []int{1, 7, 4096, len(data) + 1} {
			if step == 1 && len(data) > 100000 {
				continue
			}
			got, err := decode(data, step)
			if err != nil {
				t.Fatalf("%s step %d: %v", tc.name, step, err)
			}
			if len(got) != len(tc.pairs) {
				t.Fatalf("%s: %d pairs, want %d", tc.name, len(got), len(tc.pairs))
			}
			for i := range got {
				if got[i] != tc.pairs[i] {
					t.Fatalf("%s: pair %d differs", tc.name, i)
				}
			}
		}
	}
}

func TestWriterRefuses(t *testing.T) {
	var w Writer
	if err := w.Add([]byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("a"), nil); err == nil {
		t.Fatal("out-of-order key accepted")
	}
	if err := w.Add([]byte("b"), nil); err == nil {
		t.Fatal("repeated key accepted")
	}
	if err := w.Add([]byte("c"), make([]byte, MaxBlock)); err == nil {
		t.Fatal("oversized pair accepted")
	}
}

func TestDamage(t *testing.T) {
	good := encode(t, manyPairs(2000, 200))
	tooNew := append([]byte(nil), good...)
	tooNew[8] = Version + 1
	copy(tooNew[12:16], Header()[12:16])
	h := tooNew[:12]
	c := checksum.Of(h)
	tooNew[12], tooNew[13], tooNew[14], tooNew[15] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"other format", []byte(`{"format":"minibase-export"}` + "\n"), ErrCorrupt},
		{"header only", Header(), ErrCorrupt},
		{"truncated mid block", good[:len(good)/2], ErrCorrupt},
		{"truncated trailer", good[:len(good)-3], ErrCorrupt},
		{"trailing bytes", append(append([]byte(nil), good...), 0), ErrCorrupt},
		{"newer version", tooNew, ErrTooNew},
	}
	// A flipped bit anywhere is caught.
	for _, at := range []int{0, 9, 13, 16, 17, 21, 30, len(good) / 3, len(good) - 30, len(good) - 10, len(good) - 1} {
		d := append([]byte(nil), good...)
		d[at] ^= 0x10
		cases = append(cases, struct {
			name string
			data []byte
			want error
		}{fmt.Sprintf("bit flip at %d", at), d, ErrCorrupt})
	}
	// A block moved or repeated is caught by key order even though its
	// checksum is right.
	blockLen := blockHead + int(uint32(good[17])|uint32(good[18])<<8|uint32(good[19])<<16|uint32(good[20])<<24)
	first := good[headerSize : headerSize+blockLen]
	dup := append(append(append([]byte(nil), good[:headerSize+blockLen]...), first...), good[headerSize+blockLen:]...)
	cases = append(cases, struct {
		name string
		data []byte
		want error
	}{"repeated block", dup, ErrCorrupt})

	for _, tc := range cases {
		_, err := decode(tc.data, 1000)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(encode(f, []pair{{"a", "1"}, {"b", "2"}}))
	f.Add(encode(f, nil))
	f.Add(Header())
	f.Add([]byte("MBBACKUPxxxxxxxxB\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var whole []pair
		for _, step := range []int{3, len(data) + 1} {
			got, err := decode(data, step)
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooNew) {
				t.Fatalf("uncoded error: %v", err)
			}
			for i := 1; i < len(got); i++ {
				if got[i].k <= got[i-1].k {
					t.Fatal("keys out of order passed the reader")
				}
			}
			if err != nil {
				if whole != nil {
					t.Fatal("accepted whole, refused in pieces")
				}
				return
			}
			if step == 3 {
				whole = got
				continue
			}
			if len(got) != len(whole) {
				t.Fatal("pieces and whole disagree")
			}
			// What is accepted re-encodes to a file with the same content.
			again, err := decode(encode(t, got), 4096)
			if err != nil || len(again) != len(got) {
				t.Fatalf("re-encoded file: %v", err)
			}
		}
	})
}
