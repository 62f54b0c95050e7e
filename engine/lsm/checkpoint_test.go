package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/memtable"
	"minibase/engine/wal"
)

func tableOf(n, valueSize int) *memtable.Table {
	t := memtable.New()
	for i := 0; i < n; i++ {
		t.Set(fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{byte(i)}, valueSize))
	}
	return t
}

func TestCheckpointRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		n, vsize  int
		seq       uint64
		minBlocks int
	}{
		{"empty", 0, 0, 1, 0},
		{"one", 1, 5, 7, 1},
		{"many blocks", 20000, 20, 1 << 40, 5},
		{"huge value", 3, 200 << 10, 9, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tableOf(tc.n, tc.vsize)
			src.Set([]byte{}, []byte{}) // the empty key is a key too
			data := encodeCheckpoint(tc.seq, src)
			got, seq, err := decodeCheckpoint("x.ckpt", data)
			require.NoError(t, err)
			require.Equal(t, tc.seq, seq)
			require.Equal(t, src.Len(), got.Len())
			require.Equal(t, src.Size(), got.Size())
			a, b := src.NewIter(nil, nil, false), got.NewIter(nil, nil, false)
			for a.Next() {
				require.True(t, b.Next())
				require.Equal(t, a.Key(), b.Key())
				require.Equal(t, a.Value(), b.Value())
			}
			require.False(t, b.Next())
		})
	}
}

func TestCheckpointDamage(t *testing.T) {
	data := encodeCheckpoint(42, tableOf(5000, 10))
	for _, cut := range []int{0, 1, ckptHeaderSize, len(data) / 2, len(data) - 1} {
		_, _, err := decodeCheckpoint("c.ckpt", data[:cut])
		require.ErrorIs(t, err, kv.ErrCorrupt, "cut %d", cut)
		require.Contains(t, err.Error(), "c.ckpt")
	}
	for i := 0; i < len(data); i += 97 {
		d := bytes.Clone(data)
		d[i] ^= 0x01
		_, _, err := decodeCheckpoint("c.ckpt", d)
		require.ErrorIs(t, err, kv.ErrCorrupt, "flip at %d", i)
	}
	// Damage that keeps the checksum valid is still caught by the parse.
	fixed := func(edit func(d []byte) []byte) error {
		d := edit(bytes.Clone(data))
		crcAt := len(d) - 8
		sum := checksumLE(d[:crcAt])
		copy(d[crcAt:], sum)
		_, _, err := decodeCheckpoint("c.ckpt", d)
		return err
	}
	edits := map[string]func(d []byte) []byte{
		"count":     func(d []byte) []byte { d[len(d)-16]++; return d },
		"version":   func(d []byte) []byte { d[8] = 9; return d },
		"magic":     func(d []byte) []byte { d[0] = 'X'; return d },
		"block len": func(d []byte) []byte { d[ckptHeaderSize+3] = 0x7f; return d },
		"order": func(d []byte) []byte {
			// Swap the first two keys' last digits: "key000000" <-> "key000001".
			i := bytes.Index(d, []byte("key000000"))
			j := bytes.Index(d, []byte("key000001"))
			d[i+8], d[j+8] = '1', '0'
			return d
		},
		"short block header": func(d []byte) []byte {
			// Move the footer so two stray bytes follow the last block.
			footer := bytes.Clone(d[len(d)-ckptFooterSize:])
			d = append(d[:len(d)-ckptFooterSize], 0, 0)
			return append(d, footer...)
		},
	}
	for name, edit := range edits {
		err := fixed(edit)
		require.ErrorIs(t, err, kv.ErrCorrupt, name)
	}
}

func checksumLE(b []byte) []byte {
	var out [4]byte
	sum := wal.Checksum(b)
	out[0], out[1], out[2], out[3] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
	return out[:]
}

func FuzzCheckpoint(f *testing.F) {
	f.Add(encodeCheckpoint(3, tableOf(10, 3)))
	f.Add(encodeCheckpoint(0, memtable.New()))
	f.Add([]byte("MBCKPT\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, seq, err := decodeCheckpoint("f.ckpt", data)
		if err != nil {
			if !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("error %v does not wrap kv.ErrCorrupt", err)
			}
			return
		}
		// Whatever verifies re-encodes to the same bytes.
		if again := encodeCheckpoint(seq, tab); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %d vs %d bytes", len(again), len(data))
		}
	})
}

// FuzzCheckpointValid mutates checkpoint content and repairs the checksum,
// so the fuzzer explores the parser behind it.
func FuzzCheckpointValid(f *testing.F) {
	f.Add(encodeCheckpoint(3, tableOf(10, 3)))
	f.Add(encodeCheckpoint(0, memtable.New()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= ckptFooterSize {
			copy(data[len(data)-4:], ckptFooterMagic)
			crcAt := len(data) - 8
			copy(data[crcAt:], checksumLE(data[:crcAt]))
		}
		tab, seq, err := decodeCheckpoint("f.ckpt", data)
		if err != nil {
			if !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("error %v does not wrap kv.ErrCorrupt", err)
			}
			return
		}
		_ = encodeCheckpoint(seq, tab)
	})
}
