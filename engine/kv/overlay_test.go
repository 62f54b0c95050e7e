package kv_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"minibase/engine/value/valuetest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/memtable"
)

// tableReader is a kv.Reader over a memtable, standing in for a snapshot.
type tableReader struct {
	t       *memtable.Table
	iterErr error
}

func (r tableReader) Get(key []byte) ([]byte, error) {
	if v, ok := r.t.Get(key); ok {
		return v, nil
	}
	return nil, kv.ErrNotFound
}

func (r tableReader) NewIter(o kv.IterOptions) kv.Iterator {
	it := r.t.NewIter(o.Lower, o.Upper, o.Reverse)
	if r.iterErr != nil {
		return failingIter{it, r.iterErr}
	}
	return it
}

type failingIter struct {
	*memtable.Iter
	err error
}

func (f failingIter) Close() error { _ = f.Iter.Close(); return f.err }

func scan(t *testing.T, r kv.Reader, o kv.IterOptions) []string {
	t.Helper()
	var out []string
	it := r.NewIter(o)
	for it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	require.NoError(t, it.Close())
	return out
}

func TestOverlayBasics(t *testing.T) {
	base := memtable.New()
	for _, k := range []string{"a", "b", "c", "d"} {
		base.Set([]byte(k), []byte("base"))
	}
	o := kv.NewOverlay(tableReader{t: base})
	o.Set([]byte("b"), []byte("mine"))
	o.Delete([]byte("c"))
	o.Set([]byte("e"), nil)
	o.Delete([]byte("zz")) // deleting an absent key is harmless

	v, err := o.Get([]byte("b"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(v))
	_, err = o.Get([]byte("c"))
	require.ErrorIs(t, err, kv.ErrNotFound)
	v, err = o.Get([]byte("e"))
	require.NoError(t, err)
	require.Empty(t, v)
	v, err = o.Get([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, "base", string(v))

	require.Equal(t, []string{"a=base", "b=mine", "d=base", "e="}, scan(t, o, kv.IterOptions{}))
	require.Equal(t, []string{"e=", "d=base", "b=mine", "a=base"}, scan(t, o, kv.IterOptions{Reverse: true}))
	require.Equal(t, []string{"b=mine", "d=base"}, scan(t, o, kv.IterOptions{Lower: []byte("b"), Upper: []byte("e")}))

	b := o.Batch()
	require.Equal(t, 4, o.Len())
	require.Equal(t, []kv.Op{
		{Key: []byte("b"), Value: []byte("mine")},
		{Key: []byte("c"), Delete: true},
		{Key: []byte("e"), Value: []byte{}},
		{Key: []byte("zz"), Delete: true},
	}, b.Ops())

	o.Reset()
	require.Equal(t, 0, o.Len())
	require.Equal(t, []string{"a=base", "b=base", "c=base", "d=base"}, scan(t, o, kv.IterOptions{}))
}

func TestOverlayBatchHasOneOpPerKey(t *testing.T) {
	o := kv.NewOverlay(nil)
	o.Set([]byte("b"), []byte("1"))
	o.Set([]byte("a"), []byte("2"))
	o.Delete([]byte("b"))
	o.Set([]byte("a"), []byte("3"))
	b := o.Batch()
	require.Len(t, b.Ops(), 2)
	require.Equal(t, "b", string(b.Ops()[0].Key))
	require.True(t, b.Ops()[0].Delete)
	require.Equal(t, "3", string(b.Ops()[1].Value))
	require.Equal(t, 3, b.Size())
}

func TestOverlayWriteDuringIteration(t *testing.T) {
	o := kv.NewOverlay(nil)
	for i := 0; i < 500; i++ {
		o.Set(fmt.Appendf(nil, "%04d", i), []byte("v"))
	}
	it := o.NewIter(kv.IterOptions{})
	n := 0
	for it.Next() {
		// Updating the row being visited is what an UPDATE scan does.
		o.Set(it.Key(), []byte("updated"))
		o.Set(append(slices.Clone(it.Key()), 'x'), []byte("new"))
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, 500, n)
	require.Equal(t, 1000, o.Len())
}

func TestOverlayIterCloseError(t *testing.T) {
	boom := errors.New("boom")
	o := kv.NewOverlay(tableReader{t: memtable.New(), iterErr: boom})
	it := o.NewIter(kv.IterOptions{})
	require.False(t, it.Next())
	require.ErrorIs(t, it.Close(), boom)
	require.ErrorIs(t, it.Close(), boom)
	require.False(t, it.Next())
}

// TestOverlayModel compares merged reads against a map for random writes to
// both layers and random bounds.
func TestOverlayModel(t *testing.T) {
	r := rand.New(rand.NewPCG(valuetest.Seed(t), 1))
	for round := 0; round < 20; round++ {
		base := memtable.New()
		want := map[string]string{}
		for i := 0; i < 300; i++ {
			k := fmt.Sprintf("%03d", r.IntN(400))
			base.Set([]byte(k), []byte("b"+k))
			want[k] = "b" + k
		}
		o := kv.NewOverlay(tableReader{t: base})
		for i := 0; i < 300; i++ {
			k := fmt.Sprintf("%03d", r.IntN(400))
			if r.IntN(2) == 0 {
				o.Delete([]byte(k))
				delete(want, k)
			} else {
				o.Set([]byte(k), []byte("o"+k))
				want[k] = "o" + k
			}
		}
		for q := 0; q < 20; q++ {
			lo, hi := fmt.Sprintf("%03d", r.IntN(400)), fmt.Sprintf("%03d", r.IntN(400))
			var exp []string
			for k, v := range want {
				if k >= lo && k < hi {
					exp = append(exp, k+"="+v)
				}
			}
			slices.Sort(exp)
			require.Equal(t, exp, scan(t, o, kv.IterOptions{Lower: []byte(lo), Upper: []byte(hi)}))
			slices.Reverse(exp)
			require.Equal(t, exp, scan(t, o, kv.IterOptions{Lower: []byte(lo), Upper: []byte(hi), Reverse: true}))
		}
		for i := 0; i < 400; i++ {
			k := fmt.Sprintf("%03d", i)
			v, err := o.Get([]byte(k))
			if w, ok := want[k]; ok {
				require.NoError(t, err)
				require.Equal(t, w, string(v))
			} else {
				require.ErrorIs(t, err, kv.ErrNotFound)
			}
		}
	}
}

// An overlay of more writes than one page of its write list holds (and
// past several index regrowths) keeps one write per key, the last one, in
// first-written order, and reads them all back.
func TestOverlayManyWrites(t *testing.T) {
	const keys = 50_000
	o := kv.NewOverlay(nil)
	for round := range 2 {
		for i := range keys {
			k := []byte(fmt.Sprintf("k%06d", i))
			switch {
			case round == 1 && i%3 == 0:
				o.Delete(k)
			default:
				o.Set(k, []byte(fmt.Sprintf("v%d-%d", round, i)))
			}
		}
	}
	b := o.Batch()
	require.Equal(t, keys, b.Len())
	require.Equal(t, keys, o.Len())
	for _, i := range []int{0, 1, 16383, 16384, 16385, 32768, keys - 1} {
		op := b.Op(i)
		require.Equal(t, fmt.Sprintf("k%06d", i), string(op.Key))
		require.Equal(t, i%3 == 0, op.Delete, "write %d", i)
		v, err := o.Get(op.Key)
		if i%3 == 0 {
			require.ErrorIs(t, err, kv.ErrNotFound)
		} else {
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("v1-%d", i), string(v))
		}
	}
	n := 0
	it := o.NewIter(kv.IterOptions{})
	for it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, keys-keys/3-1, n)
}

// Savepoints: rolling back to one restores exactly what the overlay held
// when it was taken (rewritten keys get their earlier writes back, new keys
// vanish, reads and the batch agree), across pages of the write list and
// index regrowths; releasing keeps the writes.
func TestOverlaySavepoints(t *testing.T) {
	r := rand.New(rand.NewPCG(valuetest.Seed(t), 2))
	base := memtable.New()
	for i := range 200 {
		base.Set([]byte(fmt.Sprintf("%05d", i)), []byte("base"))
	}
	o := kv.NewOverlay(tableReader{t: base})
	model := map[string]string{} // "" for a delete
	read := func() map[string]string {
		got := map[string]string{}
		b := o.Batch()
		for i := range b.Len() {
			op := b.Op(i)
			got[string(op.Key)] = string(op.Value)
			if op.Delete {
				got[string(op.Key)] = ""
			}
		}
		return got
	}
	for round := range 40 {
		before := maps.Clone(model)
		sp := o.Mark()
		n := 1 + r.IntN(3000)
		if round%10 == 9 {
			n = 20000 // past a page of the write list
		}
		var last []string
		for j := range n {
			k := fmt.Sprintf("%05d", r.IntN(30000))
			if j >= n-20 {
				last = append(last, k)
			}
			if _, written := model[k]; !written && r.IntN(3) == 0 {
				// A key new to the overlay may be appended unindexed; the
				// writes, reads and rollbacks after it still see it.
				del := r.IntN(2) == 0
				v := fmt.Sprintf("n%d", round)
				o.AppendNew([]byte(k), []byte(v), del)
				model[k] = v
				if del {
					model[k] = ""
				}
			} else if r.IntN(4) == 0 {
				o.Delete([]byte(k))
				model[k] = ""
			} else {
				v := fmt.Sprintf("r%d-%d", round, r.IntN(100))
				o.Set([]byte(k), []byte(v))
				model[k] = v
			}
		}
		if r.IntN(2) == 0 {
			o.Rollback(sp)
			model = before
		} else {
			o.Release(sp)
		}
		require.Equal(t, model, read(), "round %d: the batch", round)
		require.Equal(t, len(model), o.Len())
		for j := range 50 {
			k := fmt.Sprintf("%05d", r.IntN(30000))
			if j < len(last) {
				k = last[j] // this round's last writes, appended ones among them
			}
			v, err := o.Get([]byte(k))
			switch w, ok := model[k]; {
			case ok && w != "":
				require.NoError(t, err)
				require.Equal(t, w, string(v))
			case ok || k >= "00200":
				require.ErrorIs(t, err, kv.ErrNotFound, "key %s", k)
			default:
				require.NoError(t, err)
				require.Equal(t, "base", string(v))
			}
		}
	}
}
