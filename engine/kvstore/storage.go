package kvstore

import (
	"crypto/cipher"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"minibase/engine"
	"minibase/engine/value"
)

// Limits and defaults.
const (
	// DefaultPrefix is the key prefix of a store opened without one.
	DefaultPrefix = "mp_"
	// DefaultLimitSize is the quota of a store opened without one: 10 MB,
	// like wx.setStorage.
	DefaultLimitSize = 10 << 20
	// MaxKeySize is the longest key, in UTF-8 bytes, without the prefix.
	MaxKeySize = 1 << 10
	// MaxValueSize is the largest value, measured as its wire encoding before
	// compression (a string's UTF-8 bytes plus a few bytes of framing).
	MaxValueSize = 4 << 20
)

// The system database and its tables. items holds every store's entries
// under their full (prefixed) key; stores holds one row per prefix: its
// encryption salt and key check value, and the running total of its entries'
// sizes, so quota checks and Info never scan the entries.
const (
	systemName  = "storage"
	itemsTable  = "items"
	storesTable = "stores"
)

// Options configure Open.
type Options struct {
	// Prefix scopes the store: its keys are stored as Prefix+key, Clear
	// removes only them. Empty means DefaultPrefix. Two stores on one
	// connection may not have prefixes where one starts the other.
	Prefix string
	// Passphrase, when set, enables encryption with a key derived through
	// PBKDF2-SHA256 from it and the store's random salt.
	Passphrase string
	// RawKey, when set (32 bytes), is the AES-256 key itself; it takes
	// precedence over Passphrase.
	RawKey []byte
	// KeyCache, when set, keeps the key derived from Passphrase, so the next
	// Open of this store with the same passphrase does not derive it again.
	KeyCache *KeyCache
	// KDFIterations is the PBKDF2 iteration count used when the store's
	// salt is first created; 0 means DefaultKDFIterations. Later opens use
	// the count stored with the salt.
	KDFIterations int
	// LimitSize is the quota in bytes (keys plus stored values); 0 means
	// DefaultLimitSize.
	LimitSize int64
	// Clock tells the time for expiry; nil means time.Now. Tests inject one.
	Clock func() time.Time
}

// SetOptions configure one Set.
type SetOptions struct {
	// Expire is the time to live; 0 means no expiry (unless ExpireAt).
	Expire time.Duration
	// ExpireAt is an absolute expiry and wins over Expire when non-zero.
	ExpireAt time.Time
	// Encrypt seals the value with AES-256-GCM; the store needs a secret.
	Encrypt bool
	// Compress deflates the value when that makes it smaller.
	Compress bool
}

// Info describes a store's use of its quota, in wx.getStorageInfo's shape
// and units.
type Info struct {
	Keys          []string // live (not expired) keys, without the prefix, sorted
	KeyCount      int      // len(Keys)
	CurrentSizeKB float64  // bytes used / 1024
	LimitSizeKB   float64  // quota / 1024
	Usage         string   // CurrentSize / LimitSize as "12.34%"
}

// Manager is one open store: a key prefix on a connection, with its
// encryption key and clock. Its methods are safe for concurrent use; the
// connection serialises them.
type Manager struct {
	conn   *engine.Conn
	db     string
	prefix string
	aead   cipher.AEAD // nil without a secret
	limit  int64
	clock  func() time.Time
}

// Open opens (creating on first use) the store with opts.Prefix on conn.
// With a secret it checks it against the store's key check value and fails
// with WRONG_SECRET when it does not match.
func Open(conn *engine.Conn, opts Options) (*Manager, error) {
	m := &Manager{conn: conn, prefix: opts.Prefix, limit: opts.LimitSize, clock: opts.Clock}
	if m.prefix == "" {
		m.prefix = DefaultPrefix
	}
	if m.limit == 0 {
		m.limit = DefaultLimitSize
	}
	if m.limit < 0 {
		return nil, badValue("open storage: limitSize must be positive")
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if len(m.prefix) > MaxKeySize || !utf8.ValidString(m.prefix) {
		return nil, badValue("open storage: the prefix must be valid UTF-8 of at most 1 KB")
	}
	iterations := opts.KDFIterations
	if iterations == 0 {
		iterations = DefaultKDFIterations
	}
	if iterations < 1 {
		return nil, badValue("open storage: kdfIterations must be positive")
	}
	db, err := conn.EnsureSystemDatabase(systemName)
	if err != nil {
		return nil, err
	}
	m.db = db
	if err := createTables(conn, db); err != nil {
		return nil, err
	}
	st, err := m.register()
	if err != nil {
		return nil, err
	}
	if opts.RawKey == nil && opts.Passphrase == "" {
		return m, nil
	}
	// The slow key derivation runs outside any transaction so it does not
	// hold the connection.
	salt, check := st.salt, st.check
	if check == nil {
		if salt, err = newSalt(); err != nil {
			return nil, err
		}
	} else {
		iterations = st.iterations
	}
	key, err := deriveKey(opts, salt, iterations)
	if err != nil {
		return nil, err
	}
	if m.aead, err = newAEAD(key); err != nil {
		return nil, err
	}
	if check != nil {
		switch verifyCheck(m.aead, m.prefix, check) {
		case 0:
			return nil, &engine.Error{Code: engine.CodeWrongSecret, Msg: "open storage " + quote(m.prefix) + ": wrong secret"}
		case 1:
			if err := m.signPlainRecords(); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	if check, err = sealCheck(m.aead, m.prefix); err != nil {
		return nil, err
	}
	err = conn.Auto(func(tx *engine.Tx) error {
		// Another Open may have set the secret meanwhile: the first wins.
		cur, err := m.storeRow(tx)
		if err != nil || cur.check != nil {
			if err == nil && verifyCheck(m.aead, m.prefix, cur.check) == 0 {
				err = &engine.Error{Code: engine.CodeWrongSecret, Msg: "open storage " + quote(m.prefix) + ": wrong secret"}
			}
			return err
		}
		if err := m.signRecords(tx); err != nil {
			return err
		}
		_, err = tx.Upsert(db, storesTable, value.ObjectOf(
			value.Member{Key: "prefix", Value: value.StringOf(m.prefix)},
			value.Member{Key: "salt", Value: value.BytesOf(salt)},
			value.Member{Key: "check", Value: value.BytesOf(check)},
			value.Member{Key: "iterations", Value: value.NumberOf(float64(iterations))},
		))
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// signPlainRecords brings a store whose check value predates signed records
// up to date: it signs the unencrypted records (which a store with a secret
// now refuses unsigned) and then marks the store with a version 2 check, in
// one transaction.
func (m *Manager) signPlainRecords() error {
	check, err := sealCheck(m.aead, m.prefix)
	if err != nil {
		return err
	}
	return m.conn.Auto(func(tx *engine.Tx) error {
		st, err := m.storeRow(tx)
		if err != nil || verifyCheck(m.aead, m.prefix, st.check) != 1 {
			return err // another Open did it meanwhile
		}
		if err := m.signRecords(tx); err != nil {
			return err
		}
		_, err = tx.Upsert(m.db, storesTable, value.ObjectOf(
			value.Member{Key: "prefix", Value: value.StringOf(m.prefix)},
			value.Member{Key: "check", Value: value.BytesOf(check)},
		))
		return err
	})
}

// signRecords signs the store's unsigned plaintext records, when a secret
// comes to a store that had none or whose records predate signing: they are
// trusted as they are at this one moment, and from then on a record the
// owner did not write is refused.
func (m *Manager) signRecords(tx *engine.Tx) error {
	res, err := tx.Select(m.db, itemsTable, engine.Query{Where: m.prefixCond(), Limit: -1,
		Columns: []string{"key", "value", "expireAt", "size"}})
	if err != nil {
		return err
	}
	var grown int64
	for _, r := range res.Rows {
		full, rec := r[0].Str(), []byte(r[1].Str())
		if len(rec) == 0 || rec[0]&(flagEncrypted|flagSigned) != 0 {
			continue
		}
		signed, err := encodeSigned(full, rec[0], rec[1:], m.aead)
		if err != nil {
			return err
		}
		size := int64(len(full) + len(signed))
		grown += size - int64(r[3].Number())
		_, err = tx.Upsert(m.db, itemsTable, value.ObjectOf(
			value.Member{Key: "key", Value: r[0]},
			value.Member{Key: "value", Value: value.BytesOf(signed)},
			value.Member{Key: "flags", Value: value.NumberOf(float64(signed[0]))},
			value.Member{Key: "expireAt", Value: r[2]},
			value.Member{Key: "size", Value: value.NumberOf(float64(size))},
		))
		if err != nil {
			return err
		}
	}
	return m.addSize(tx, grown)
}

func createTables(conn *engine.Conn, db string) error {
	err := conn.CreateTable(db, itemsTable, engine.TableSpec{IfNotExists: true,
		Columns: []engine.Column{
			{Name: "key", Type: engine.TypeString, PrimaryKey: true, NotNull: true},
			{Name: "value", Type: engine.TypeBytes, NotNull: true},
			{Name: "flags", Type: engine.TypeNumber, NotNull: true},
			{Name: "expireAt", Type: engine.TypeNumber}, // ms since the epoch; null: never
			{Name: "size", Type: engine.TypeNumber, NotNull: true},
		},
		// The sweep finds expired entries through this index, not a scan.
		Indexes: []engine.IndexSpec{{Columns: []string{"expireAt"}}},
	})
	if err != nil {
		return err
	}
	return conn.CreateTable(db, storesTable, engine.TableSpec{IfNotExists: true,
		Columns: []engine.Column{
			{Name: "prefix", Type: engine.TypeString, PrimaryKey: true, NotNull: true},
			{Name: "salt", Type: engine.TypeBytes},
			{Name: "check", Type: engine.TypeBytes},
			{Name: "iterations", Type: engine.TypeNumber},
			{Name: "size", Type: engine.TypeNumber, NotNull: true, HasDefault: true, Default: value.NumberOf(0)},
		},
	})
}

// store is a row of the stores table.
type store struct {
	salt, check []byte
	iterations  int
	size        int64
}

// register creates the store's row on first use and refuses a prefix that
// overlaps another store's: Clear and Keys of one would reach into the other.
func (m *Manager) register() (store, error) {
	var st store
	err := m.conn.Auto(func(tx *engine.Tx) error {
		res, err := tx.Select(m.db, storesTable, engine.Query{Limit: -1, Columns: []string{"prefix"}})
		if err != nil {
			return err
		}
		found := false
		for _, r := range res.Rows {
			p := r[0].Str()
			switch {
			case p == m.prefix:
				found = true
			case strings.HasPrefix(p, m.prefix) || strings.HasPrefix(m.prefix, p):
				return badValue(fmt.Sprintf("open storage: prefix %s overlaps the prefix %s of another store", quote(m.prefix), quote(p)))
			}
		}
		if !found {
			_, err := tx.Insert(m.db, storesTable, value.ObjectOf(
				value.Member{Key: "prefix", Value: value.StringOf(m.prefix)},
				value.Member{Key: "size", Value: value.NumberOf(0)},
			))
			return err
		}
		st, err = m.storeRow(tx)
		return err
	})
	return st, err
}

func (m *Manager) storeRow(tx *engine.Tx) (store, error) {
	r, err := tx.Get(m.db, storesTable, value.StringOf(m.prefix))
	if err != nil {
		return store{}, err
	}
	if r.IsNull() {
		return store{}, &engine.Error{Code: engine.CodeCorrupt, Msg: "storage " + quote(m.prefix) + ": its store record is missing"}
	}
	var st store
	if v, _ := r.Get("salt"); v.Kind() == value.Bytes {
		st.salt = []byte(v.Str())
	}
	if v, _ := r.Get("check"); v.Kind() == value.Bytes {
		st.check = []byte(v.Str())
	}
	v, _ := r.Get("iterations")
	st.iterations = int(v.Number())
	v, _ = r.Get("size")
	st.size = int64(v.Number())
	return st, nil
}

// addSize moves the store's running size total by delta.
func (m *Manager) addSize(tx *engine.Tx, delta int64) error {
	if delta == 0 {
		return nil
	}
	st, err := m.storeRow(tx)
	if err != nil {
		return err
	}
	_, err = tx.Upsert(m.db, storesTable, value.ObjectOf(
		value.Member{Key: "prefix", Value: value.StringOf(m.prefix)},
		value.Member{Key: "size", Value: value.NumberOf(float64(max(st.size+delta, 0)))},
	))
	return err
}

// Prefix returns the store's key prefix.
func (m *Manager) Prefix() string { return m.prefix }

// Encrypted reports whether the store was opened with a secret.
func (m *Manager) Encrypted() bool { return m.aead != nil }

func (m *Manager) nowMs() float64 { return float64(m.clock().UnixMilli()) }

// fullKey checks a key and prefixes it.
func (m *Manager) fullKey(key string) (string, error) {
	switch {
	case key == "":
		return "", badValue("storage: a key must be a non-empty string")
	case len(key) > MaxKeySize:
		return "", &engine.Error{Code: engine.CodeTooLarge, Msg: fmt.Sprintf("storage: a key is at most %d bytes; got %d", MaxKeySize, len(key))}
	case !utf8.ValidString(key):
		return "", badValue("storage: a key must be valid UTF-8")
	}
	return m.prefix + key, nil
}

// item is a live entry read from the items table.
type item struct {
	rec      []byte
	size     int64
	expireAt float64 // ms since the epoch; 0: never
}

// lookup reads an entry; found is false when it is missing or expired (an
// expired entry is invisible from the moment it expires, swept or not).
// size is the stored size even when expired, for quota accounting.
func (m *Manager) lookup(tx *engine.Tx, full string, now float64) (it item, found bool, size int64, err error) {
	r, err := tx.Get(m.db, itemsTable, value.StringOf(full))
	if err != nil || r.IsNull() {
		return item{}, false, 0, err
	}
	sv, _ := r.Get("size")
	size = int64(sv.Number())
	exp, _ := r.Get("expireAt")
	if exp.Kind() == value.Number && exp.Number() <= now {
		return item{}, false, size, nil
	}
	v, _ := r.Get("value")
	return item{rec: []byte(v.Str()), size: size, expireAt: exp.Number()}, true, size, nil
}

// prepared is a set whose record is already built, so the transaction does
// no compression or encryption while it holds the connection.
type prepared struct {
	full     string
	rec      []byte
	expireAt value.Value
}

func (m *Manager) prepareSet(key string, v value.Value, o SetOptions) (prepared, error) {
	full, err := m.fullKey(key)
	if err != nil {
		return prepared{}, err
	}
	enc := value.Encode(v)
	if len(enc) > MaxValueSize {
		return prepared{}, &engine.Error{Code: engine.CodeTooLarge, Msg: fmt.Sprintf("set %s: the value is %d bytes encoded; the limit is %d", quote(key), len(enc), MaxValueSize)}
	}
	p := prepared{full: full, expireAt: value.NullValue}
	switch {
	case !o.ExpireAt.IsZero():
		p.expireAt = value.NumberOf(float64(o.ExpireAt.UnixMilli()))
	case o.Expire < 0:
		return prepared{}, badValue("set " + quote(key) + ": expire must not be negative")
	case o.Expire > 0:
		p.expireAt = value.NumberOf(float64(m.clock().Add(o.Expire).UnixMilli()))
	}
	if p.rec, err = encodeRecord(full, enc, o.Compress, o.Encrypt, m.aead); err != nil {
		return prepared{}, err
	}
	return p, nil
}

func (m *Manager) applySet(tx *engine.Tx, p prepared) error {
	_, _, oldSize, err := m.lookup(tx, p.full, 0)
	if err != nil {
		return err
	}
	size := int64(len(p.full) + len(p.rec))
	st, err := m.storeRow(tx)
	if err != nil {
		return err
	}
	if st.check != nil && m.aead == nil {
		// The owner refuses unsigned records; writing one would destroy
		// the key's value (and could stand in for an encrypted one).
		return &engine.Error{Code: engine.CodeNoSecret, Msg: "set " + quote(strings.TrimPrefix(p.full, m.prefix)) +
			": the store is protected by a secret; open it with the secret to write"}
	}
	// A write that does not grow the store is allowed even over quota, so a
	// full store can still be shrunk by overwriting.
	if total := st.size - oldSize + size; size > oldSize && total > m.limit {
		return &engine.Error{Code: engine.CodeQuotaExceeded, Msg: fmt.Sprintf("set %s: the store would hold %d bytes; its limit is %d", quote(strings.TrimPrefix(p.full, m.prefix)), total, m.limit)}
	}
	flags := 0
	if len(p.rec) > 0 {
		flags = int(p.rec[0])
	}
	_, err = tx.Upsert(m.db, itemsTable, value.ObjectOf(
		value.Member{Key: "key", Value: value.StringOf(p.full)},
		value.Member{Key: "value", Value: value.BytesOf(p.rec)},
		value.Member{Key: "flags", Value: value.NumberOf(float64(flags))},
		value.Member{Key: "expireAt", Value: p.expireAt},
		value.Member{Key: "size", Value: value.NumberOf(float64(size))},
	))
	if err != nil {
		return err
	}
	return m.addSize(tx, size-oldSize)
}

// Set stores v under key, replacing what was there.
func (m *Manager) Set(key string, v value.Value, o SetOptions) error {
	p, err := m.prepareSet(key, v, o)
	if err != nil {
		return err
	}
	return m.conn.Auto(func(tx *engine.Tx) error { return m.applySet(tx, p) })
}

// Get returns the value under key; found is false when there is none or it
// has expired.
func (m *Manager) Get(key string) (v value.Value, found bool, err error) {
	v, _, found, err = m.GetWithExpiry(key)
	return v, found, err
}

// GetEncoded is GetWithExpiry that returns the value in its wire encoding
// (value.Encode), checked to be well formed, without decoding it: a bridge
// can pass it on as it is.
func (m *Manager) GetEncoded(key string) (enc []byte, expireAt time.Time, found bool, err error) {
	full, err := m.fullKey(key)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	var it item
	err = m.conn.Auto(func(tx *engine.Tx) error {
		var err error
		it, found, _, err = m.lookup(tx, full, m.nowMs())
		return err
	})
	if err != nil || !found {
		return nil, time.Time{}, false, err
	}
	if enc, err = encodedValue(full, it.rec, m.aead); err != nil {
		return nil, time.Time{}, false, err
	}
	if it.expireAt != 0 {
		expireAt = time.UnixMilli(int64(it.expireAt))
	}
	return enc, expireAt, true, nil
}

// GetWithExpiry is Get that also tells when the value expires (the zero
// Time when it never does), so a cache in front can expire with it.
func (m *Manager) GetWithExpiry(key string) (v value.Value, expireAt time.Time, found bool, err error) {
	full, err := m.fullKey(key)
	if err != nil {
		return value.Value{}, time.Time{}, false, err
	}
	var it item
	err = m.conn.Auto(func(tx *engine.Tx) error {
		var err error
		it, found, _, err = m.lookup(tx, full, m.nowMs())
		return err
	})
	if err != nil || !found {
		return value.NullValue, time.Time{}, false, err
	}
	v, err = decodeRecord(full, it.rec, m.aead)
	if err != nil {
		return value.Value{}, time.Time{}, false, err
	}
	if it.expireAt != 0 {
		expireAt = time.UnixMilli(int64(it.expireAt))
	}
	return v, expireAt, true, nil
}

// Has reports whether key holds a live value. It does not decrypt.
func (m *Manager) Has(key string) (bool, error) {
	full, err := m.fullKey(key)
	if err != nil {
		return false, err
	}
	var found bool
	err = m.conn.Auto(func(tx *engine.Tx) error {
		var err error
		_, found, _, err = m.lookup(tx, full, m.nowMs())
		return err
	})
	return found, err
}

func (m *Manager) applyRemove(tx *engine.Tx, full string, now float64) (bool, error) {
	_, found, size, err := m.lookup(tx, full, now)
	if err != nil || size == 0 {
		return false, err
	}
	q, err := engine.EqualityQuery("key", value.StringOf(full))
	if err != nil {
		return false, err
	}
	if _, err := tx.Delete(m.db, itemsTable, q); err != nil {
		return false, err
	}
	return found, m.addSize(tx, -size)
}

// Remove deletes key and reports whether it held a live value.
func (m *Manager) Remove(key string) (bool, error) {
	full, err := m.fullKey(key)
	if err != nil {
		return false, err
	}
	var found bool
	err = m.conn.Auto(func(tx *engine.Tx) error {
		var err error
		found, err = m.applyRemove(tx, full, m.nowMs())
		return err
	})
	return found, err
}

func (m *Manager) prefixCond() *engine.Cond {
	return &engine.Cond{Column: "key", Op: engine.OpStartsWith, Value: value.StringOf(m.prefix)}
}

// Keys lists the live keys, without the prefix, sorted.
func (m *Manager) Keys() ([]string, error) {
	var out []string
	now := m.nowMs()
	err := m.conn.Auto(func(tx *engine.Tx) error {
		res, err := tx.Select(m.db, itemsTable, engine.Query{Where: m.prefixCond(), Limit: -1, Columns: []string{"key", "expireAt"}})
		if err != nil {
			return err
		}
		out = make([]string, 0, len(res.Rows))
		for _, r := range res.Rows {
			if r[1].Kind() == value.Number && r[1].Number() <= now {
				continue
			}
			out = append(out, strings.TrimPrefix(r[0].Str(), m.prefix))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Clear removes every key of this store (and only of this store).
func (m *Manager) Clear() error {
	return m.conn.Auto(func(tx *engine.Tx) error {
		if _, err := tx.Delete(m.db, itemsTable, engine.Query{Where: m.prefixCond(), Limit: -1}); err != nil {
			return err
		}
		st, err := m.storeRow(tx)
		if err != nil {
			return err
		}
		return m.addSize(tx, -st.size)
	})
}

// Info reports the live keys and the size used against the quota.
func (m *Manager) Info() (Info, error) {
	var info Info
	now := value.NumberOf(m.nowMs())
	err := m.conn.Auto(func(tx *engine.Tx) error {
		live := engine.And{m.prefixCond(), engine.Or{
			&engine.Cond{Column: "expireAt", Op: engine.OpIsNull},
			&engine.Cond{Column: "expireAt", Op: engine.OpGt, Value: now},
		}}
		res, err := tx.Select(m.db, itemsTable, engine.Query{Where: live, Limit: -1, Columns: []string{"key"}})
		if err != nil {
			return err
		}
		keys := make([]string, len(res.Rows))
		for i, r := range res.Rows {
			keys[i] = strings.TrimPrefix(r[0].Str(), m.prefix)
		}
		sort.Strings(keys)
		st, err := m.storeRow(tx)
		if err != nil {
			return err
		}
		info = Info{
			Keys:          keys,
			KeyCount:      len(keys),
			CurrentSizeKB: float64(st.size) / 1024,
			LimitSizeKB:   float64(m.limit) / 1024,
			Usage:         strconv.FormatFloat(float64(st.size)*100/float64(m.limit), 'f', 2, 64) + "%",
		}
		return nil
	})
	return info, err
}

// CleanExpired deletes every expired key of this store now and returns how
// many it deleted.
func (m *Manager) CleanExpired() (int, error) { return m.Sweep(0) }

// Sweep deletes up to max expired keys (all when max <= 0) and returns how
// many it deleted. The store starts no goroutine of its own — under wasm a
// goroutine runs only when JS re-enters Go — so the host calls Sweep from
// its own timer; reads never depend on it, since expired keys are invisible
// anyway.
func (m *Manager) Sweep(max int) (int, error) {
	now := value.NumberOf(m.nowMs())
	n := 0
	err := m.conn.Auto(func(tx *engine.Tx) error {
		q := engine.Query{
			Where:   engine.And{&engine.Cond{Column: "expireAt", Op: engine.OpLe, Value: now}, m.prefixCond()},
			Limit:   -1,
			Columns: []string{"key", "size"},
		}
		if max > 0 {
			q.Limit = max
		}
		res, err := tx.Select(m.db, itemsTable, q)
		if err != nil {
			return err
		}
		var freed int64
		for _, r := range res.Rows {
			eq, err := engine.EqualityQuery("key", r[0])
			if err != nil {
				return err
			}
			if _, err := tx.Delete(m.db, itemsTable, eq); err != nil {
				return err
			}
			freed += int64(r[1].Number())
		}
		n = len(res.Rows)
		return m.addSize(tx, -freed)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func badValue(msg string) error { return &engine.Error{Code: engine.CodeBadValue, Msg: msg} }

// quote renders a caller's key for a message, cut short so a 1 KB key does
// not become a 1 KB message.
func quote(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
