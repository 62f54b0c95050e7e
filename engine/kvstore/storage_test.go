package kvstore

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/value"
)

func TestSetGetRoundTripsEveryKind(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	vals := map[string]value.Value{
		"null":   value.NullValue,
		"bool":   value.BoolOf(true),
		"int":    value.NumberOf(42),
		"float":  value.NumberOf(-1.5),
		"string": value.StringOf("héllo"),
		"bytes":  value.BytesOf([]byte{0, 1, 2, 255}),
		"array":  value.ArrayOf([]value.Value{value.NumberOf(1), value.StringOf("x")}),
		"object": value.ObjectOf(value.Member{Key: "a", Value: value.BytesOf([]byte("bin"))}),
	}
	for _, o := range []SetOptions{{}, {Compress: true}, {Encrypt: true}, {Encrypt: true, Compress: true}} {
		t.Run(fmt.Sprintf("encrypt=%v,compress=%v", o.Encrypt, o.Compress), func(t *testing.T) {
			for k, v := range vals {
				require.NoError(t, m.Set(k, v, o))
				got, found, err := m.Get(k)
				require.NoError(t, err)
				require.True(t, found)
				require.True(t, value.Equal(v, got), "%s: %v != %v", k, v, got)
				require.Equal(t, v.Kind(), got.Kind())
			}
		})
	}
	// Survives a restart, decrypts with the passphrase again.
	e.reopen(t)
	m = e.open(t, Options{Passphrase: "pw"})
	got, found, err := m.Get("bytes")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, value.Bytes, got.Kind())
	require.Equal(t, "\x00\x01\x02\xff", got.Str())
}

func TestMissingKey(t *testing.T) {
	m := newEnv(t).open(t, Options{})
	v, found, err := m.Get("nope")
	require.NoError(t, err)
	require.False(t, found)
	require.True(t, v.IsNull())
	has, err := m.Has("nope")
	require.NoError(t, err)
	require.False(t, has)
	removed, err := m.Remove("nope")
	require.NoError(t, err)
	require.False(t, removed)
}

func TestHasRemoveKeysClear(t *testing.T) {
	e := newEnv(t)
	a := e.open(t, Options{Prefix: "a_"})
	b := e.open(t, Options{Prefix: "b_"})
	for _, k := range []string{"z", "m", "a"} {
		require.NoError(t, a.Set(k, value.StringOf(k), SetOptions{}))
	}
	require.NoError(t, b.Set("other", value.NumberOf(1), SetOptions{}))

	keys, err := a.Keys()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "m", "z"}, keys)

	has, err := a.Has("m")
	require.NoError(t, err)
	require.True(t, has)
	removed, err := a.Remove("m")
	require.NoError(t, err)
	require.True(t, removed)
	has, err = a.Has("m")
	require.NoError(t, err)
	require.False(t, has)

	require.NoError(t, a.Clear())
	keys, err = a.Keys()
	require.NoError(t, err)
	require.Empty(t, keys)
	info, err := a.Info()
	require.NoError(t, err)
	require.Empty(t, info.Keys)
	require.Equal(t, 0, info.KeyCount)
	require.Equal(t, 0.0, info.CurrentSizeKB)

	// Clear touched only its own prefix.
	keys, err = b.Keys()
	require.NoError(t, err)
	require.Equal(t, []string{"other"}, keys)
}

func TestOverlappingPrefixesAreRefused(t *testing.T) {
	e := newEnv(t)
	e.open(t, Options{Prefix: "mp_"})
	_, err := Open(e.conn, Options{Prefix: "mp_x_"})
	requireCode(t, engine.CodeBadValue, err)
	_, err = Open(e.conn, Options{Prefix: "m"})
	requireCode(t, engine.CodeBadValue, err)
	// Reopening the same prefix is fine, and the default prefix is mp_.
	m, err := Open(e.conn, Options{})
	require.NoError(t, err)
	require.Equal(t, "mp_", m.Prefix())
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{})
	cases := []struct {
		name string
		run  func() error
		code engine.Code
	}{
		{"empty key", func() error { return m.Set("", value.NullValue, SetOptions{}) }, engine.CodeBadValue},
		{"long key", func() error { return m.Set(strings.Repeat("k", MaxKeySize+1), value.NullValue, SetOptions{}) }, engine.CodeTooLarge},
		{"invalid utf8 key", func() error { return m.Set("\xff", value.NullValue, SetOptions{}) }, engine.CodeBadValue},
		{"huge value", func() error { return m.Set("k", value.StringOf(strings.Repeat("v", MaxValueSize)), SetOptions{}) }, engine.CodeTooLarge},
		{"negative expire", func() error { return m.Set("k", value.NullValue, SetOptions{Expire: -time.Second}) }, engine.CodeBadValue},
		{"encrypt without secret", func() error { return m.Set("k", value.NullValue, SetOptions{Encrypt: true}) }, engine.CodeNoSecret},
		{"get empty key", func() error { _, _, err := m.Get(""); return err }, engine.CodeBadValue},
		{"has empty key", func() error { _, err := m.Has(""); return err }, engine.CodeBadValue},
		{"remove empty key", func() error { _, err := m.Remove(""); return err }, engine.CodeBadValue},
		{"bad raw key", func() error { _, err := Open(e.conn, Options{RawKey: []byte("short")}); return err }, engine.CodeBadValue},
		{"negative limit", func() error { _, err := Open(e.conn, Options{LimitSize: -1}); return err }, engine.CodeBadValue},
		{"negative iterations", func() error { _, err := Open(e.conn, Options{Passphrase: "p", KDFIterations: -1}); return err }, engine.CodeBadValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { requireCode(t, c.code, c.run()) })
	}
	// A key of exactly MaxKeySize bytes is fine; nothing above changed anything.
	require.NoError(t, m.Set(strings.Repeat("k", MaxKeySize), value.NullValue, SetOptions{}))
	keys, err := m.Keys()
	require.NoError(t, err)
	require.Len(t, keys, 1)
}

func TestExpiryIsExactBeforeAnySweep(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{})
	require.NoError(t, m.Set("ttl", value.StringOf("v"), SetOptions{Expire: time.Minute}))
	require.NoError(t, m.Set("at", value.StringOf("v"), SetOptions{ExpireAt: e.clock.Now().Add(2 * time.Minute)}))
	require.NoError(t, m.Set("forever", value.StringOf("v"), SetOptions{}))

	visible := func(want ...string) {
		t.Helper()
		keys, err := m.Keys()
		require.NoError(t, err)
		require.Equal(t, want, keys)
		for _, k := range []string{"at", "forever", "ttl"} {
			has, err := m.Has(k)
			require.NoError(t, err)
			_, found, err := m.Get(k)
			require.NoError(t, err)
			res, err := m.Batch([]Op{{Kind: OpGet, Key: k, Default: value.StringOf("dflt")}, {Kind: OpHas, Key: k}})
			require.NoError(t, err)
			in := false
			for _, w := range want {
				in = in || w == k
			}
			require.Equal(t, in, has, k)
			require.Equal(t, in, found, k)
			require.Equal(t, in, res[1].Bool(), k)
			if !in {
				require.Equal(t, "dflt", res[0].Str())
			}
		}
		info, err := m.Info()
		require.NoError(t, err)
		require.Equal(t, want, info.Keys, "info lists the live key names")
		require.Equal(t, len(want), info.KeyCount)
	}
	visible("at", "forever", "ttl")
	e.clock.Advance(time.Minute - time.Millisecond)
	visible("at", "forever", "ttl")
	e.clock.Advance(time.Millisecond) // exactly at expiry: gone
	visible("at", "forever")
	e.clock.Advance(time.Minute)
	visible("forever")

	// Nothing was swept yet; the sweep deletes both and frees their size.
	before, err := m.Info()
	require.NoError(t, err)
	n, err := m.CleanExpired()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	after, err := m.Info()
	require.NoError(t, err)
	require.Less(t, after.CurrentSizeKB, before.CurrentSizeKB)
	n, err = m.CleanExpired()
	require.NoError(t, err)
	require.Equal(t, 0, n)
}

func TestSweepIsBoundedAndScopedToItsPrefix(t *testing.T) {
	e := newEnv(t)
	a := e.open(t, Options{Prefix: "a_"})
	b := e.open(t, Options{Prefix: "b_"})
	for i := range 5 {
		require.NoError(t, a.Set(fmt.Sprint(i), value.NumberOf(float64(i)), SetOptions{Expire: time.Second}))
	}
	require.NoError(t, b.Set("x", value.NumberOf(1), SetOptions{Expire: time.Second}))
	e.clock.Advance(time.Second)
	n, err := a.Sweep(3)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = a.Sweep(0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = b.CleanExpired()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestOverwriteClearsExpiry(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{})
	require.NoError(t, m.Set("k", value.NumberOf(1), SetOptions{Expire: time.Second}))
	require.NoError(t, m.Set("k", value.NumberOf(2), SetOptions{}))
	e.clock.Advance(time.Hour)
	v, found, err := m.Get("k")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 2.0, v.Number())
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{LimitSize: 1000})
	require.NoError(t, m.Set("a", value.StringOf(strings.Repeat("x", 600)), SetOptions{}))
	err := m.Set("b", value.StringOf(strings.Repeat("y", 600)), SetOptions{})
	requireCode(t, engine.CodeQuotaExceeded, err)
	has, err := m.Has("b")
	require.NoError(t, err)
	require.False(t, has, "a refused set changes nothing")

	// Overwriting the key with a larger value fits once the old one is counted out.
	require.NoError(t, m.Set("a", value.StringOf(strings.Repeat("x", 900)), SetOptions{}))
	info, err := m.Info()
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, info.Keys)
	require.InDelta(t, 0.9, info.CurrentSizeKB, 0.02)
	require.InDelta(t, 1000.0/1024, info.LimitSizeKB, 1e-9)
	require.Regexp(t, `^9\d\.\d\d%$`, info.Usage)

	// Compressed values count at their stored size.
	_, err = m.Remove("a")
	require.NoError(t, err)
	require.NoError(t, m.Set("z", value.StringOf(strings.Repeat("z", 5000)), SetOptions{Compress: true}))

	// Removing frees the space.
	_, err = m.Remove("z")
	require.NoError(t, err)
	info, err = m.Info()
	require.NoError(t, err)
	require.Equal(t, "0.00%", info.Usage)
}

func TestWrongSecretFailsAtOpen(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "right"})
	require.True(t, m.Encrypted())
	require.NoError(t, m.Set("tok", value.StringOf("secret"), SetOptions{Encrypt: true}))

	_, err := Open(e.conn, withIters(Options{Passphrase: "wrong"}))
	requireCode(t, engine.CodeWrongSecret, err)
	_, err = Open(e.conn, Options{RawKey: bytes.Repeat([]byte{7}, 32)})
	requireCode(t, engine.CodeWrongSecret, err)

	// Without a secret the store opens, plain values read, encrypted ones say NO_SECRET.
	plain, err := Open(e.conn, Options{})
	require.NoError(t, err)
	require.False(t, plain.Encrypted())
	_, _, err = plain.Get("tok")
	requireCode(t, engine.CodeNoSecret, err)
	has, err := plain.Has("tok")
	require.NoError(t, err)
	require.True(t, has)

	e.reopen(t)
	_, err = Open(e.conn, withIters(Options{Passphrase: "wrong"}))
	requireCode(t, engine.CodeWrongSecret, err)
	m = e.open(t, Options{Passphrase: "right"})
	v, _, err := m.Get("tok")
	require.NoError(t, err)
	require.Equal(t, "secret", v.Str())
}

func TestRawKey(t *testing.T) {
	e := newEnv(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	m := e.open(t, Options{RawKey: key})
	require.NoError(t, m.Set("k", value.StringOf("v"), SetOptions{Encrypt: true}))
	e.reopen(t)
	m = e.open(t, Options{RawKey: key})
	v, _, err := m.Get("k")
	require.NoError(t, err)
	require.Equal(t, "v", v.Str())
	_, err = Open(e.conn, withIters(Options{Passphrase: "a passphrase"}))
	requireCode(t, engine.CodeWrongSecret, err)
}

// rawItem reads and writes the stored record of a key directly, as an
// attacker with the files would.
func rawItem(t *testing.T, m *Manager, full string) []byte {
	t.Helper()
	var rec []byte
	require.NoError(t, m.conn.Auto(func(tx *engine.Tx) error {
		r, err := tx.Get(m.db, itemsTable, value.StringOf(full))
		v, _ := r.Get("value")
		rec = []byte(v.Str())
		return err
	}))
	return rec
}

func putRawItem(t *testing.T, m *Manager, full string, rec []byte) {
	t.Helper()
	require.NoError(t, m.conn.Auto(func(tx *engine.Tx) error {
		_, err := tx.Upsert(m.db, itemsTable, value.ObjectOf(
			value.Member{Key: "key", Value: value.StringOf(full)},
			value.Member{Key: "value", Value: value.BytesOf(rec)},
			value.Member{Key: "flags", Value: value.NumberOf(float64(rec[0]))},
			value.Member{Key: "size", Value: value.NumberOf(float64(len(full) + len(rec)))},
		))
		return err
	}))
}

func TestTamperedAndMovedCiphertextFail(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	require.NoError(t, m.Set("a", value.StringOf("alpha"), SetOptions{Encrypt: true}))
	require.NoError(t, m.Set("b", value.StringOf("beta"), SetOptions{Encrypt: true, Compress: true}))
	rec := rawItem(t, m, "mp_a")

	// Moved to another key: the key name is additional data.
	putRawItem(t, m, "mp_b", rec)
	_, _, err := m.Get("b")
	requireCode(t, engine.CodeDecryptFailed, err)

	// Every flipped bit after the flags byte is caught.
	for i := 1; i < len(rec); i += 7 {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x10
		putRawItem(t, m, "mp_a", bad)
		_, _, err := m.Get("a")
		requireCode(t, engine.CodeDecryptFailed, err)
	}
	// Flags changed (encrypted → also "compressed"): bound as additional data.
	bad := bytes.Clone(rec)
	bad[0] |= flagCompressed
	putRawItem(t, m, "mp_a", bad)
	_, _, err = m.Get("a")
	requireCode(t, engine.CodeDecryptFailed, err)
	// Truncated.
	putRawItem(t, m, "mp_a", rec[:5])
	_, _, err = m.Get("a")
	requireCode(t, engine.CodeDecryptFailed, err)
	// Unknown format.
	putRawItem(t, m, "mp_a", []byte{0x80, 1})
	_, _, err = m.Get("a")
	requireCode(t, engine.CodeCorrupt, err)
	// Batch reports it too, and commits none of its writes.
	_, err = m.Batch([]Op{{Kind: OpSet, Key: "c", Value: value.NullValue}, {Kind: OpGet, Key: "a"}})
	requireCode(t, engine.CodeCorrupt, err)
	has, err := m.Has("c")
	require.NoError(t, err)
	require.False(t, has)
}

func TestNothingOfAnEncryptedValueIsOnDisk(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	secret := "TOP-SECRET-" + strings.Repeat("payload-", 20)
	require.NoError(t, m.Set("tok", value.StringOf(secret), SetOptions{Encrypt: true}))
	require.NoError(t, m.Set("tokz", value.StringOf(secret), SetOptions{Encrypt: true, Compress: true}))
	require.NoError(t, m.Set("plain", value.StringOf("PLAIN-MARKER"), SetOptions{}))
	require.NoError(t, e.conn.Compact()) // checkpoint as well as log
	files := e.files(t)
	require.NotEmpty(t, files)
	var all []byte
	for _, b := range files {
		all = append(all, b...)
	}
	// The grep works: the plain value is found.
	require.True(t, bytes.Contains(all, []byte("PLAIN-MARKER")))
	require.False(t, bytes.Contains(all, []byte("TOP-SECRET")))
	require.False(t, bytes.Contains(all, []byte("payload-")))

	// The length is padded: values of 1 and 40 bytes store the same size.
	require.NoError(t, m.Set("s1", value.StringOf("x"), SetOptions{Encrypt: true}))
	require.NoError(t, m.Set("s2", value.StringOf(strings.Repeat("x", 40)), SetOptions{Encrypt: true}))
	require.Equal(t, len(rawItem(t, m, "mp_s1")), len(rawItem(t, m, "mp_s2")))
}

func TestCompression(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw", LimitSize: 100 << 20})
	type rec struct {
		ID     int    `json:"id"`
		Name   string `json:"name"`
		Email  string `json:"email"`
		Active bool   `json:"active"`
		Tags   []string
	}
	var recs []rec
	for i := 0; ; i++ {
		recs = append(recs, rec{ID: i, Name: fmt.Sprintf("user %d", i), Email: fmt.Sprintf("user%d@example.com", i), Active: i%2 == 0, Tags: []string{"a", "b"}})
		if i%100 == 0 {
			if b, _ := json.Marshal(recs); len(b) >= 1<<20 {
				break
			}
		}
	}
	js, err := json.Marshal(recs)
	require.NoError(t, err)
	for _, o := range []SetOptions{{Compress: true}, {Compress: true, Encrypt: true}} {
		require.NoError(t, m.Set("big", value.StringOf(string(js)), o))
		stored := len(rawItem(t, m, "mp_big"))
		ratio := float64(stored) / float64(len(js))
		t.Logf("%+v: %d bytes JSON stored as %d (%.1f%%)", o, len(js), stored, ratio*100)
		require.Less(t, ratio, 0.15)
		v, _, err := m.Get("big")
		require.NoError(t, err)
		require.Equal(t, string(js), v.Str())
	}

	// On disk too, after a checkpoint: the files hold far less than the value.
	require.NoError(t, e.conn.Compact())
	total := 0
	for _, b := range e.files(t) {
		total += len(b)
	}
	t.Logf("files after compaction: %d bytes", total)
	require.Less(t, float64(total), 0.15*float64(len(js)))

	// Incompressible data is kept as it is.
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	require.NoError(t, m.Set("noise", value.BytesOf(noise), SetOptions{Compress: true}))
	r := rawItem(t, m, "mp_noise")
	require.Zero(t, r[0]&flagCompressed)
	v, _, err := m.Get("noise")
	require.NoError(t, err)
	require.Equal(t, noise, []byte(v.Str()))
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	require.NoError(t, m.Set("old", value.StringOf("o"), SetOptions{}))
	res, err := m.Batch([]Op{
		{Kind: OpSet, Key: "a", Value: value.NumberOf(1), Options: SetOptions{Encrypt: true, Compress: true}},
		{Kind: OpGet, Key: "a"},
		{Kind: OpGet, Key: "missing", Default: value.StringOf("d")},
		{Kind: OpGet, Key: "missing2"},
		{Kind: OpRemove, Key: "old"},
		{Kind: OpRemove, Key: "old"},
		{Kind: OpHas, Key: "a"},
	})
	require.NoError(t, err)
	require.Len(t, res, 7)
	require.True(t, res[0].IsNull())
	require.Equal(t, 1.0, res[1].Number(), "reads see the batch's own writes")
	require.Equal(t, "d", res[2].Str())
	require.True(t, res[3].IsNull())
	require.True(t, res[4].Bool())
	require.False(t, res[5].Bool())
	require.True(t, res[6].Bool())
}

func TestBatchIsAtomic(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{LimitSize: 2000})
	require.NoError(t, m.Set("keep", value.StringOf("k"), SetOptions{}))
	before, err := m.Info()
	require.NoError(t, err)
	cases := []struct {
		name string
		bad  Op
		code engine.Code
	}{
		{"quota", Op{Kind: OpSet, Key: "big", Value: value.StringOf(strings.Repeat("x", 3000))}, engine.CodeQuotaExceeded},
		{"bad key", Op{Kind: OpGet, Key: ""}, engine.CodeBadValue},
		{"no secret", Op{Kind: OpSet, Key: "e", Value: value.NullValue, Options: SetOptions{Encrypt: true}}, engine.CodeNoSecret},
		{"unknown op", Op{Kind: "frob", Key: "x"}, engine.CodeBadValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Batch([]Op{
				{Kind: OpSet, Key: "new", Value: value.NumberOf(1)},
				{Kind: OpRemove, Key: "keep"},
				c.bad,
			})
			requireCode(t, c.code, err)
			require.Contains(t, err.Error(), "batch op 2")
			keys, err := m.Keys()
			require.NoError(t, err)
			require.Equal(t, []string{"keep"}, keys)
			after, err := m.Info()
			require.NoError(t, err)
			require.Equal(t, before, after)
		})
	}
}

func TestSecretAddedToAnExistingStore(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{})
	require.NoError(t, m.Set("plain", value.StringOf("p"), SetOptions{}))
	m = e.open(t, Options{Passphrase: "later"})
	require.NoError(t, m.Set("enc", value.StringOf("e"), SetOptions{Encrypt: true}))
	v, _, err := m.Get("plain")
	require.NoError(t, err)
	require.Equal(t, "p", v.Str())
	_, err = Open(e.conn, withIters(Options{Passphrase: "other"}))
	requireCode(t, engine.CodeWrongSecret, err)
}

func TestDefaultIterationsAreUsedAndStored(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a key at the default cost")
	}
	e := newEnv(t)
	start := time.Now()
	_, err := Open(e.conn, Options{Passphrase: "pw"})
	require.NoError(t, err)
	t.Logf("PBKDF2-SHA256 with %d iterations: %v", DefaultKDFIterations, time.Since(start))
	var st store
	require.NoError(t, e.conn.Auto(func(tx *engine.Tx) error {
		m := &Manager{conn: e.conn, db: engine.SystemPrefix + systemName, prefix: DefaultPrefix}
		var err error
		st, err = m.storeRow(tx)
		return err
	}))
	require.Equal(t, DefaultKDFIterations, st.iterations)
	require.Len(t, st.salt, saltSize)
}

func TestClosedConnection(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{})
	require.NoError(t, e.conn.Close())
	err := m.Set("k", value.NullValue, SetOptions{})
	requireCode(t, engine.CodeClosed, err)
	_, _, err = m.Get("k")
	requireCode(t, engine.CodeClosed, err)
	e.conn = nil
}

func BenchmarkSet1KB(b *testing.B) {
	for _, o := range []SetOptions{{}, {Encrypt: true, Compress: true}} {
		b.Run(fmt.Sprintf("encrypt=%v,compress=%v", o.Encrypt, o.Compress), func(b *testing.B) {
			e := newEnv(b)
			m := e.open(b, Options{Passphrase: "pw", LimitSize: 1 << 40})
			v := value.StringOf(strings.Repeat(`{"id":1,"name":"x"}`, 54))
			for i := 0; b.Loop(); i++ {
				if err := m.Set(fmt.Sprint(i%1000), v, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet1KB(b *testing.B) {
	for _, o := range []SetOptions{{}, {Encrypt: true, Compress: true}} {
		b.Run(fmt.Sprintf("encrypt=%v,compress=%v", o.Encrypt, o.Compress), func(b *testing.B) {
			e := newEnv(b)
			m := e.open(b, Options{Passphrase: "pw", LimitSize: 1 << 40})
			v := value.StringOf(strings.Repeat(`{"id":1,"name":"x"}`, 54))
			for i := range 1000 {
				if err := m.Set(fmt.Sprint(i), v, o); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; b.Loop(); i++ {
				if _, _, err := m.Get(fmt.Sprint(i % 1000)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestGetEncodedPassesTheStoredEncoding(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	v := value.ObjectOf(
		value.Member{Key: "n", Value: value.NumberOf(-2.5)},
		value.Member{Key: "i", Value: value.NumberOf(1 << 40)},
		value.Member{Key: "a", Value: value.ArrayOf([]value.Value{value.NullValue, value.BoolOf(true), value.BoolOf(false), value.BytesOf([]byte("b"))})},
		value.Member{Key: "s", Value: value.StringOf("ü")},
	)
	require.True(t, value.WellFormed(value.Encode(v)), "the quick check accepts what Encode writes")
	for _, o := range []SetOptions{{}, {Encrypt: true, Compress: true}} {
		require.NoError(t, m.Set("k", v, o.withExpire(time.Minute)))
		enc, exp, found, err := m.GetEncoded("k")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, value.Encode(v), enc)
		require.Equal(t, e.clock.Now().Add(time.Minute).UnixMilli(), exp.UnixMilli())
	}
	_, _, found, err := m.GetEncoded("missing")
	require.NoError(t, err)
	require.False(t, found)
	// A record whose body is not one well-formed value is CORRUPT.
	rec, err := encodeSigned("mp_k", 0, []byte{value.TagArray, 5}, m.aead)
	require.NoError(t, err)
	putRawItem(t, m, "mp_k", rec)
	_, _, _, err = m.GetEncoded("k")
	requireCode(t, engine.CodeCorrupt, err)
}

func (o SetOptions) withExpire(d time.Duration) SetOptions { o.Expire = d; return o }

// Without the secret nobody may put a plaintext value where the owner keeps
// an encrypted one: not through the API (NO_SECRET), and not through the
// files (the owner refuses a record it did not write).
func TestPlaintextCannotReplaceAnEncryptedValue(t *testing.T) {
	e := newEnv(t)
	owner := e.open(t, Options{Passphrase: "pw"})
	require.NoError(t, owner.Set("tok", value.StringOf("owner's"), SetOptions{Encrypt: true}))

	intruder, err := Open(e.conn, Options{})
	require.NoError(t, err)
	requireCode(t, engine.CodeNoSecret, intruder.Set("tok", value.StringOf("ATTACKER"), SetOptions{}))
	requireCode(t, engine.CodeNoSecret, intruder.Set("new", value.StringOf("ATTACKER"), SetOptions{}))
	_, err = intruder.Batch([]Op{{Kind: OpSet, Key: "tok", Value: value.StringOf("ATTACKER")}})
	requireCode(t, engine.CodeNoSecret, err)
	v, _, err := owner.Get("tok")
	require.NoError(t, err)
	require.Equal(t, "owner's", v.Str())

	// Written into the files as a plain record (what an opener without the
	// secret wrote before it was refused).
	putRawItem(t, owner, "mp_tok", append([]byte{0}, value.Encode(value.StringOf("ATTACKER"))...))
	_, _, err = owner.Get("tok")
	requireCode(t, engine.CodeDecryptFailed, err)
	_, _, _, err = owner.GetEncoded("tok")
	requireCode(t, engine.CodeDecryptFailed, err)
	_, err = owner.Batch([]Op{{Kind: OpGet, Key: "tok"}})
	requireCode(t, engine.CodeDecryptFailed, err)
	e.reopen(t)
	owner = e.open(t, Options{Passphrase: "pw"})
	_, _, err = owner.Get("tok")
	requireCode(t, engine.CodeDecryptFailed, err)
}

// The owner's unencrypted values are signed with the key name: one cannot
// be copied under another key, nor changed, and an opener without the
// secret still reads them.
func TestSignedPlainValuesAreBoundToTheirKey(t *testing.T) {
	e := newEnv(t)
	owner := e.open(t, Options{Passphrase: "pw"})
	require.NoError(t, owner.Set("a", value.StringOf("alpha"), SetOptions{}))
	require.NoError(t, owner.Set("b", value.StringOf(strings.Repeat("beta", 50)), SetOptions{Compress: true}))
	rec := rawItem(t, owner, "mp_a")
	require.NotZero(t, rec[0]&flagSigned)

	reader, err := Open(e.conn, Options{})
	require.NoError(t, err)
	v, _, err := reader.Get("a")
	require.NoError(t, err)
	require.Equal(t, "alpha", v.Str())
	v, _, err = reader.Get("b")
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("beta", 50), v.Str())

	putRawItem(t, owner, "mp_b", rec)
	_, _, err = owner.Get("b")
	requireCode(t, engine.CodeDecryptFailed, err)
	for i := 1; i < len(rec); i += 3 {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x04
		putRawItem(t, owner, "mp_a", bad)
		_, _, err := owner.Get("a")
		requireCode(t, engine.CodeDecryptFailed, err)
	}
	bad := bytes.Clone(rec)
	bad[0] &^= flagSigned
	putRawItem(t, owner, "mp_a", bad)
	_, _, err = owner.Get("a")
	require.Error(t, err)
}

// A store whose secret predates signed records (a version 1 check) keeps
// its plain values: the first open with the secret signs them, once.
func TestStoreFromBeforeSignedRecordsKeepsItsPlainValues(t *testing.T) {
	e := newEnv(t)
	m := e.open(t, Options{Passphrase: "pw"})
	require.NoError(t, m.Set("enc", value.StringOf("e"), SetOptions{Encrypt: true}))
	// Make it what the previous version wrote: a version 1 check and an
	// unsigned plain record.
	nonce := make([]byte, nonceSize)
	checkV1 := m.aead.Seal(nonce, nonce, checkPlainV1, []byte("check\x00"+m.prefix))
	require.NoError(t, m.conn.Auto(func(tx *engine.Tx) error {
		_, err := tx.Upsert(m.db, storesTable, value.ObjectOf(
			value.Member{Key: "prefix", Value: value.StringOf(m.prefix)},
			value.Member{Key: "check", Value: value.BytesOf(checkV1)},
		))
		return err
	}))
	putRawItem(t, m, "mp_old", append([]byte{0}, value.Encode(value.StringOf("kept"))...))
	require.NoError(t, m.addSizeAuto(int64(len("mp_old")+1+len(value.Encode(value.StringOf("kept"))))))

	m = e.open(t, Options{Passphrase: "pw"})
	v, _, err := m.Get("old")
	require.NoError(t, err)
	require.Equal(t, "kept", v.Str())
	require.NotZero(t, rawItem(t, m, "mp_old")[0]&flagSigned)
	want := int64(0)
	for _, k := range []string{"mp_old", "mp_enc"} {
		want += int64(len(k) + len(rawItem(t, m, k)))
	}
	info, err := m.Info()
	require.NoError(t, err)
	require.Equal(t, float64(want)/1024, info.CurrentSizeKB, "the size total follows the signed records")
	// Now a forged plain record is refused.
	putRawItem(t, m, "mp_old", append([]byte{0}, value.Encode(value.StringOf("forged"))...))
	_, _, err = m.Get("old")
	requireCode(t, engine.CodeDecryptFailed, err)
}

func (m *Manager) addSizeAuto(delta int64) error {
	return m.conn.Auto(func(tx *engine.Tx) error { return m.addSize(tx, delta) })
}

// Info has wx.getStorageInfo's shape: the key names (without the prefix,
// only this store's, only live ones), not a count.
func TestInfoListsKeyNamesLikeGetStorageInfo(t *testing.T) {
	e := newEnv(t)
	a := e.open(t, Options{Prefix: "a_"})
	b := e.open(t, Options{Prefix: "b_"})
	require.NoError(t, a.Set("zeta", value.NumberOf(1), SetOptions{}))
	require.NoError(t, a.Set("alpha", value.NumberOf(2), SetOptions{}))
	require.NoError(t, a.Set("brief", value.NumberOf(3), SetOptions{Expire: time.Second}))
	require.NoError(t, b.Set("other", value.NumberOf(4), SetOptions{}))
	e.clock.Advance(time.Second)
	info, err := a.Info()
	require.NoError(t, err)
	require.Equal(t, []string{"alpha", "zeta"}, info.Keys)
	require.Equal(t, 2, info.KeyCount)
}

// A host that opens a store again with the same passphrase (the app's
// lifetime) derives the key once; another passphrase or another store's
// salt is derived anew, and a wrong passphrase still fails.
func TestKeyCacheDerivesAPassphraseOnce(t *testing.T) {
	e := newEnv(t)
	cache := NewKeyCache(0)
	m := e.open(t, Options{Passphrase: "pw", KeyCache: cache})
	require.NoError(t, m.Set("tok", value.StringOf("s"), SetOptions{Encrypt: true}))
	require.Equal(t, int64(1), cache.Derivations())
	e.reopen(t)
	m = e.open(t, Options{Passphrase: "pw", KeyCache: cache})
	v, _, err := m.Get("tok")
	require.NoError(t, err)
	require.Equal(t, "s", v.Str())
	require.Equal(t, int64(1), cache.Derivations(), "the second open reuses the key")

	_, err = Open(e.conn, withIters(Options{Passphrase: "wrong", KeyCache: cache}))
	requireCode(t, engine.CodeWrongSecret, err)
	e.open(t, Options{Prefix: "other_", Passphrase: "pw", KeyCache: cache})
	require.Equal(t, int64(3), cache.Derivations(), "another passphrase, another salt: derived")
}

func TestKeyCacheIsBounded(t *testing.T) {
	cache := NewKeyCache(2)
	for _, p := range []string{"a", "b", "c", "a"} {
		_, err := cache.derive(p, []byte("salt"), 1)
		require.NoError(t, err)
	}
	require.Equal(t, int64(4), cache.Derivations(), "a was evicted by c")
	require.Len(t, cache.keys, 2)
}
