package bridge

import (
	"math"
	"time"

	"minibase/engine"
	"minibase/engine/kvstore"
	"minibase/engine/value"
)

// This file serves the storage manager's operations (PROTOCOL.md, "Storage"):
// storageOpen returns a store handle, every other op takes it first.

// storeHandle is an open kvstore.Manager and the connection handle it was
// opened on: when that handle closes, the store answers CLOSED.
type storeHandle struct {
	m     *kvstore.Manager
	conn  uint32
	clock *time.Time // pinned by storageSetClock (tests); nil: real time
}

func (h *storeHandle) now() time.Time {
	if h.clock != nil {
		return *h.clock
	}
	return time.Now()
}

// store resolves argument 0 to an open store.
func (c *call) store() (*kvstore.Manager, *storeHandle, error) {
	id, err := c.handle(0)
	if err != nil {
		return nil, nil, err
	}
	h, ok := c.b.stores[uint32(id)]
	if ok {
		if _, live := c.b.conns[h.conn]; !live {
			delete(c.b.stores, uint32(id))
			ok = false
		}
	}
	if !ok {
		return nil, nil, &engine.Error{Code: engine.CodeClosed, Msg: c.op + ": the storage is closed"}
	}
	return h.m, h, nil
}

// key reads the key argument at i.
func (c *call) key(i int) (string, error) {
	v := c.arg(i)
	if v.Kind() != value.String {
		return "", &engine.Error{Code: engine.CodeBadValue, Msg: c.op + ": a key must be a string, got " + v.Kind().String()}
	}
	return v.Str(), nil
}

// opStorageOpen reads { prefix, secret, limitSize, kdfIterations, cacheKey };
// secret is a passphrase (string) or a raw 32-byte key (bytes); cacheKey
// false keeps a passphrase's key out of the instance's key cache.
func opStorageOpen(c *call, conn *engine.Conn) error {
	connID, _ := c.handle(0)
	opts := c.arg(1)
	if !opts.IsNull() && opts.Kind() != value.Object {
		return c.bad("options must be an object")
	}
	h := &storeHandle{conn: uint32(connID)}
	so := kvstore.Options{Clock: h.now, KeyCache: c.b.keys}
	for i := 0; i < opts.Len() && opts.Kind() == value.Object; i++ {
		f := opts.Index(i)
		if f.IsNull() {
			continue
		}
		switch opts.KeyAt(i) {
		default:
			return c.bad("unknown option %q (prefix, secret, limitSize, kdfIterations, cacheKey)", opts.KeyAt(i))
		case "cacheKey":
			if f.Kind() != value.Bool {
				return c.bad("cacheKey must be a boolean")
			}
			if !f.Bool() {
				so.KeyCache = nil
			}
		case "prefix":
			if f.Kind() != value.String {
				return c.bad("prefix must be a string")
			}
			so.Prefix = f.Str()
		case "secret":
			switch f.Kind() {
			case value.String:
				if f.Str() == "" {
					return c.bad("secret must not be empty")
				}
				so.Passphrase = f.Str()
			case value.Bytes:
				so.RawKey = []byte(f.Str())
			default:
				return c.bad("secret must be a passphrase string or a 32-byte Uint8Array")
			}
		case "limitSize":
			if !f.IsInteger() || f.Number() <= 0 {
				return c.bad("limitSize must be a positive integer (bytes)")
			}
			so.LimitSize = int64(f.Number())
		case "kdfIterations":
			if !f.IsInteger() || f.Number() < 1 || f.Number() > math.MaxInt32 {
				return c.bad("kdfIterations must be a positive integer")
			}
			so.KDFIterations = int(f.Number())
		}
	}
	m, err := kvstore.Open(conn, so)
	if err != nil {
		return err
	}
	h.m = m
	if c.b.stores == nil {
		c.b.stores = map[uint32]*storeHandle{}
	}
	c.b.next++
	c.b.stores[c.b.next] = h
	return c.result(value.NumberOf(float64(c.b.next)))
}

// setOptions reads { expire (seconds), expireAt (ms since the epoch),
// encrypt, compress }.
func (c *call) setOptions(v value.Value) (kvstore.SetOptions, error) {
	var o kvstore.SetOptions
	if v.IsNull() {
		return o, nil
	}
	if v.Kind() != value.Object {
		return o, c.bad("set options must be an object")
	}
	for i := 0; i < v.Len(); i++ {
		f := v.Index(i)
		if f.IsNull() {
			continue
		}
		switch v.KeyAt(i) {
		default:
			return o, c.bad("unknown set option %q (expire, expireAt, encrypt, compress)", v.KeyAt(i))
		case "expire":
			// Seconds, fractions allowed; bounded so the duration cannot overflow.
			if f.Kind() != value.Number || f.Number() < 0 || f.Number() > 1e11 {
				return o, &engine.Error{Code: engine.CodeBadValue, Msg: c.op + ": expire must be a number of seconds ≥ 0"}
			}
			o.Expire = time.Duration(f.Number() * float64(time.Second))
		case "expireAt":
			if f.Kind() != value.Number || math.Abs(f.Number()) > 8.64e15 {
				return o, &engine.Error{Code: engine.CodeBadValue, Msg: c.op + ": expireAt must be a Date or a time in ms"}
			}
			o.ExpireAt = time.UnixMilli(int64(f.Number()))
		case "encrypt", "compress":
			if f.Kind() != value.Bool {
				return o, c.bad("%s must be a boolean", v.KeyAt(i))
			}
			if v.KeyAt(i) == "encrypt" {
				o.Encrypt = f.Bool()
			} else {
				o.Compress = f.Bool()
			}
		}
	}
	return o, nil
}

// batchOps reads [{ type, key, data, options, defaultValue }].
func (c *call) batchOps(v value.Value) ([]kvstore.Op, error) {
	if v.Kind() != value.Array {
		return nil, c.bad("batch takes an array of operations")
	}
	ops := make([]kvstore.Op, v.Len())
	for i := range ops {
		e := v.Index(i)
		if e.Kind() != value.Object {
			return nil, c.bad("operation %d must be an object", i)
		}
		t, _ := e.Get("type")
		k, _ := e.Get("key")
		if t.Kind() != value.String {
			return nil, c.bad("operation %d: type must be 'set', 'get', 'has' or 'remove'", i)
		}
		if k.Kind() != value.String {
			return nil, &engine.Error{Code: engine.CodeBadValue, Msg: c.op + ": operation " + itoa(i) + ": a key must be a string"}
		}
		ops[i] = kvstore.Op{Kind: kvstore.OpKind(t.Str()), Key: k.Str()}
		ops[i].Value, _ = e.Get("data")
		ops[i].Default, _ = e.Get("defaultValue")
		opts, _ := e.Get("options")
		var err error
		if ops[i].Options, err = c.setOptions(opts); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

func itoa(i int) string { return value.NumberOf(float64(i)).String() }

func opStorageSet(c *call, m *kvstore.Manager, _ *storeHandle) error {
	key, err := c.key(1)
	if err != nil {
		return err
	}
	o, err := c.setOptions(c.arg(3))
	if err != nil {
		return err
	}
	return c.done(m.Set(key, c.arg(2), o))
}

// storageGet answers { value, expireAt } (expireAt in ms, or null) when
// the key is live, null when not, so JS can tell a stored null from a
// missing key and its memory cache can expire with the stored value.
func opStorageGet(c *call, m *kvstore.Manager, _ *storeHandle) error {
	key, err := c.key(1)
	if err != nil {
		return err
	}
	enc, exp, found, err := m.GetEncoded(key)
	if err != nil {
		return err
	}
	if !found {
		return c.result(value.NullValue)
	}
	expireAt := value.NullValue
	if !exp.IsZero() {
		expireAt = value.NumberOf(float64(exp.UnixMilli()))
	}
	// The object is written by hand so the stored encoding goes out as it
	// is, never decoded and encoded again: tag, member count, then
	// (key length, key, value) per member.
	c.out = append(c.out, value.TagObject, 2)
	c.out = append(append(c.out, 5), "value"...)
	c.out = append(c.out, enc...)
	c.out = append(append(c.out, 8), "expireAt"...)
	return c.result(expireAt)
}
func opStorageHas(c *call, m *kvstore.Manager, _ *storeHandle) error {
	key, err := c.key(1)
	if err != nil {
		return err
	}
	found, err := m.Has(key)
	if err != nil {
		return err
	}
	return c.result(value.BoolOf(found))
}
func opStorageRemove(c *call, m *kvstore.Manager, _ *storeHandle) error {
	key, err := c.key(1)
	if err != nil {
		return err
	}
	found, err := m.Remove(key)
	if err != nil {
		return err
	}
	return c.result(value.BoolOf(found))
}
func opStorageKeys(c *call, m *kvstore.Manager, _ *storeHandle) error {
	return c.strings(m.Keys())
}
func opStorageClear(c *call, m *kvstore.Manager, _ *storeHandle) error {
	return c.done(m.Clear())
}
func opStorageInfo(c *call, m *kvstore.Manager, _ *storeHandle) error {
	info, err := m.Info()
	if err != nil {
		return err
	}
	return c.result(value.ObjectOf(
		value.Member{Key: "keys", Value: stringArray(info.Keys)},
		value.Member{Key: "keyCount", Value: value.NumberOf(float64(info.KeyCount))},
		value.Member{Key: "currentSize", Value: value.NumberOf(info.CurrentSizeKB)},
		value.Member{Key: "limitSize", Value: value.NumberOf(info.LimitSizeKB)},
		value.Member{Key: "usage", Value: value.StringOf(info.Usage)},
	))
}

// storageCleanExpired [h, max?] deletes up to max expired keys (all when
// max is absent or 0): cleanExpired() and the host's periodic sweep.
func opStorageCleanExpired(c *call, m *kvstore.Manager, _ *storeHandle) error {
	limit := 0
	if v := c.arg(1); !v.IsNull() {
		if !v.IsInteger() || v.Number() < 0 {
			return c.bad("max must be a non-negative integer")
		}
		limit = int(min(v.Number(), math.MaxInt32))
	}
	return c.number(m.Sweep(limit))
}
func opStorageBatch(c *call, m *kvstore.Manager, _ *storeHandle) error {
	ops, err := c.batchOps(c.arg(1))
	if err != nil {
		return err
	}
	res, err := m.Batch(ops)
	if err != nil {
		return err
	}
	return c.result(value.ArrayOf(res))
}

// storageSetClock [h, ms | null] pins the store's clock (null: real
// time again), so JS tests of expiry never sleep.
func opStorageSetClock(c *call, _ *kvstore.Manager, h *storeHandle) error {
	v := c.arg(1)
	switch {
	case v.IsNull():
		h.clock = nil
	case v.Kind() == value.Number && math.Abs(v.Number()) <= 8.64e15:
		t := time.UnixMilli(int64(v.Number()))
		h.clock = &t
	default:
		return c.bad("the clock must be a time in ms or null")
	}
	return c.result(value.NullValue)
}

// opStorageClose forgets the store; closing a closed store is not an error:
// close() may run twice.
func opStorageClose(c *call) error {
	id, err := c.handle(0)
	if err != nil {
		return err
	}
	delete(c.b.stores, uint32(id))
	return c.result(value.NullValue)
}
