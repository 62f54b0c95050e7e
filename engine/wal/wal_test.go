package wal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/wal"
)

func sampleOps(i int) []kv.Op {
	return []kv.Op{
		{Key: fmt.Appendf(nil, "key-%d", i), Value: bytes.Repeat([]byte{byte(i)}, i%300)},
		{Key: fmt.Appendf(nil, "gone-%d", i), Delete: true},
		{Key: []byte{}, Value: []byte{}},
	}
}

// logOf encodes n records with seq 1..n and returns the file and the offset
// where each record starts.
func logOf(n int) ([]byte, []int) {
	var data []byte
	var starts []int
	for i := 1; i <= n; i++ {
		starts = append(starts, len(data))
		data = wal.Encode(data, uint64(i), sampleOps(i))
	}
	return data, starts
}

func readAll(name string, data []byte) (payloads [][]byte, r *wal.Reader, err error) {
	r = wal.NewReader(name, data)
	for {
		p, err := r.Next()
		if err != nil {
			return payloads, r, err
		}
		payloads = append(payloads, p)
	}
}

func TestRoundTrip(t *testing.T) {
	data, _ := logOf(50)
	payloads, r, err := readAll("a.log", data)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, int64(len(data)), r.Offset())
	require.Len(t, payloads, 50)
	for i, p := range payloads {
		seq, ops, err := wal.DecodeBatch(p)
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), seq)
		want := sampleOps(i + 1)
		require.Len(t, ops, len(want))
		for j := range want {
			require.Equal(t, want[j].Key, ops[j].Key)
			require.Equal(t, want[j].Delete, ops[j].Delete)
			if !want[j].Delete {
				require.Equal(t, want[j].Value, ops[j].Value)
			}
		}
	}
}

func TestEncodeReusesBuffer(t *testing.T) {
	ops := sampleOps(7)
	buf := wal.Encode(nil, 1, ops)
	require.Equal(t, wal.EncodedSize(1, ops), len(buf))
	again := wal.Encode(buf[:0], 1, ops)
	require.Equal(t, &buf[0], &again[0])
	allocs := testing.AllocsPerRun(100, func() { buf = wal.Encode(buf[:0], 9, ops) })
	require.Zero(t, allocs)
	// Appending keeps what is already in dst.
	two := wal.Encode(bytes.Clone(buf), 10, ops)
	require.Equal(t, buf, two[:len(buf)])
}

func TestTornAtEveryOffset(t *testing.T) {
	data, starts := logOf(5)
	last := starts[len(starts)-1]
	for cut := last; cut < len(data); cut++ {
		payloads, r, err := readAll("x.log", data[:cut])
		if cut == last {
			require.ErrorIs(t, err, io.EOF)
		} else {
			require.ErrorIs(t, err, wal.ErrTorn, "cut %d", cut)
			require.NotErrorIs(t, err, kv.ErrCorrupt)
		}
		require.Len(t, payloads, 4)
		require.Equal(t, int64(last), r.Offset())
	}
}

func TestDamage(t *testing.T) {
	data, starts := logOf(5)
	mid := starts[2]
	lastStart := starts[4]
	flip := func(off int) []byte {
		d := bytes.Clone(data)
		d[off] ^= 0x40
		return d
	}
	withZeros := append(bytes.Clone(data[:len(data)-3]), make([]byte, 100)...)
	tests := []struct {
		name    string
		data    []byte
		good    int
		wantErr error
	}{
		{"payload flip in middle record", flip(mid + wal.HeaderSize + 2), 2, kv.ErrCorrupt},
		{"checksum flip in middle record", flip(mid + 5), 2, kv.ErrCorrupt},
		{"length shrunk in middle record", flip(mid), 2, kv.ErrCorrupt},
		{"length grown past end in middle record", flip(mid + 3), 2, kv.ErrCorrupt},
		{"length grown past end in second-last record", flip(starts[3] + 2), 3, kv.ErrCorrupt},
		{"payload flip in last record", flip(len(data) - 1), 4, wal.ErrTorn},
		{"torn last record then zeros", withZeros, 4, wal.ErrTorn},
		{"zeros after last record", append(bytes.Clone(data), make([]byte, 64)...), 5, wal.ErrTorn},
		{"long garbage after last record", append(bytes.Clone(data), 1, 2, 3, 4, 5, 6, 7, 8, 9), 5, wal.ErrTorn},
		{"bad short record then more", append(bytes.Clone(data), 2, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3), 5, kv.ErrCorrupt},
		{"huge length at end", binary.LittleEndian.AppendUint32(bytes.Clone(data[:lastStart]), 0xFFFFFFFF), 4, wal.ErrTorn},
		{"empty record in middle", append(append(bytes.Clone(data[:mid]), make([]byte, 8)...), data[mid:]...), 2, kv.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payloads, _, err := readAll("00000000000000000001.log", tc.data)
			require.ErrorIs(t, err, tc.wantErr)
			require.Contains(t, err.Error(), "00000000000000000001.log")
			require.Len(t, payloads, tc.good)
			if errors.Is(tc.wantErr, kv.ErrCorrupt) {
				require.NotErrorIs(t, err, wal.ErrTorn)
				at := len(data)
				if tc.good < len(starts) {
					at = starts[tc.good]
				}
				require.Contains(t, err.Error(), fmt.Sprintf("offset %d", at))
			}
		})
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good := wal.Encode(nil, 3, sampleOps(3))[wal.HeaderSize:]
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"only seq", []byte{1}},
		{"huge count", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"unknown kind", []byte{1, 1, 9, 0}},
		{"key past end", []byte{1, 1, 1, 5, 'a'}},
		{"missing value", []byte{1, 1, 1, 1, 'a'}},
		{"trailing bytes", append(bytes.Clone(good), 0)},
		{"truncated", good[:len(good)-1]},
		{"bad varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := wal.DecodeBatch(tc.payload)
			require.ErrorIs(t, err, kv.ErrCorrupt)
		})
	}
}

func FuzzReader(f *testing.F) {
	data, _ := logOf(3)
	f.Add(data)
	f.Add(data[:len(data)-2])
	f.Add([]byte{})
	f.Add(make([]byte, 8))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		payloads, r, err := readAll("f.log", data)
		off := r.Offset()
		if off < 0 || off > int64(len(data)) {
			t.Fatalf("offset %d outside file of %d bytes", off, len(data))
		}
		switch {
		case errors.Is(err, io.EOF):
			if off != int64(len(data)) {
				t.Fatalf("clean end at %d of %d", off, len(data))
			}
		case errors.Is(err, wal.ErrTorn), errors.Is(err, kv.ErrCorrupt):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		// The valid prefix reads back to the same records.
		again, _, err := readAll("f.log", data[:off])
		if !errors.Is(err, io.EOF) || len(again) != len(payloads) {
			t.Fatalf("prefix of %d bytes: %d records, %v; want %d", off, len(again), err, len(payloads))
		}
		for _, p := range payloads {
			_, _, _ = wal.DecodeBatch(p)
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(wal.Encode(nil, 1, sampleOps(1))[wal.HeaderSize:])
	f.Add(wal.Encode(nil, 1<<40, nil)[wal.HeaderSize:])
	f.Add([]byte{1, 1, 2, 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		seq, ops, err := wal.DecodeBatch(payload)
		if err != nil {
			if !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("error %v does not wrap kv.ErrCorrupt", err)
			}
			return
		}
		// What decodes re-encodes to something that decodes the same.
		rec := wal.Encode(nil, seq, ops)
		seq2, ops2, err := wal.DecodeBatch(rec[wal.HeaderSize:])
		if err != nil || seq2 != seq || len(ops2) != len(ops) {
			t.Fatalf("re-decode: seq %d/%d ops %d/%d err %v", seq, seq2, len(ops), len(ops2), err)
		}
		for i := range ops {
			if !bytes.Equal(ops[i].Key, ops2[i].Key) || ops[i].Delete != ops2[i].Delete ||
				(!ops[i].Delete && !bytes.Equal(ops[i].Value, ops2[i].Value)) {
				t.Fatalf("op %d differs after re-encoding", i)
			}
		}
	})
}

func BenchmarkEncode1000(b *testing.B) {
	ops := make([]kv.Op, 1000)
	for i := range ops {
		ops[i] = kv.Op{Key: fmt.Appendf(nil, "user/%015d", i), Value: make([]byte, 20)}
	}
	var buf []byte
	b.SetBytes(int64(wal.EncodedSize(1, ops)))
	for b.Loop() {
		buf = wal.Encode(buf[:0], 1, ops)
	}
}

// AppendBatch writes what Encode writes, after what dst holds.
func TestAppendBatchMatchesEncode(t *testing.T) {
	ops := []kv.Op{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("bb"), Delete: true}, {Key: []byte("c"), Value: []byte{}}}
	b := &kv.Batch{}
	for _, op := range ops {
		if op.Delete {
			b.Delete(op.Key)
		} else {
			b.Set(op.Key, op.Value)
		}
	}
	require.Equal(t, wal.Encode(nil, 9, ops), wal.AppendBatch(nil, 9, b), "same bytes as Encode")
	require.Equal(t, append([]byte("xy"), wal.Encode(nil, 9, ops)...), wal.AppendBatch([]byte("xy"), 9, b), "after dst")
	require.Equal(t, wal.BatchSize(9, b), len(wal.AppendBatch(nil, 9, b)))
}

// WriteBatch streams exactly the record AppendBatch builds, whatever the
// batch's size relative to its pieces.
func TestWriteBatchMatchesAppendBatch(t *testing.T) {
	for _, n := range []int{0, 1, 7, 3000, 20000} {
		b := &kv.Batch{}
		for i := range n {
			k := fmt.Appendf(nil, "key-%06d", i)
			if i%5 == 0 {
				b.Delete(k)
			} else {
				b.Set(k, bytes.Repeat([]byte{byte(i)}, i%97))
			}
		}
		want := wal.AppendBatch(nil, 42, b)
		var got []byte
		pieces := 0
		require.NoError(t, wal.WriteBatch(42, b, func(p []byte) error { got = append(got, p...); pieces++; return nil }))
		require.Equal(t, want, got, "%d ops in %d pieces", n, pieces)
		require.Equal(t, wal.BatchSize(42, b), len(want))
		if n == 20000 {
			require.Greater(t, pieces, 2, "a large record goes in pieces")
		}
	}
}
