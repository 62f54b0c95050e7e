package bridge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"minibase/engine/value"
)

func openStore(t *testing.T, b *Bridge, conn value.Value, opts value.Value) value.Value {
	t.Helper()
	return ok(t, b, "storageOpen", conn, opts)
}

func TestStorageOps(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("st")))
	h := openStore(t, b, conn, o("prefix", s("app_"), "secret", s("pw"), "kdfIterations", n(1000)))

	ok(t, b, "storageSet", h, s("user"), o("name", s("ann"), "avatar", value.BytesOf([]byte{1, 2})), o("encrypt", value.BoolOf(true), "compress", value.BoolOf(true)))
	ok(t, b, "storageSet", h, s("n"), value.NullValue, value.NullValue)
	assert.Equal(t, `{"value":{"name":"ann","avatar":bytes(2)},"expireAt":null}`, ok(t, b, "storageGet", h, s("user")).String())
	assert.Equal(t, `{"value":null,"expireAt":null}`, ok(t, b, "storageGet", h, s("n")).String())
	assert.True(t, ok(t, b, "storageGet", h, s("missing")).IsNull())
	assert.True(t, ok(t, b, "storageHas", h, s("n")).Bool())
	assert.Equal(t, `["n","user"]`, ok(t, b, "storageKeys", h).String())
	assert.True(t, ok(t, b, "storageRemove", h, s("n")).Bool())
	assert.False(t, ok(t, b, "storageRemove", h, s("n")).Bool())

	info := ok(t, b, "storageInfo", h)
	keys, _ := info.Get("keys")
	count, _ := info.Get("keyCount")
	usage, _ := info.Get("usage")
	limit, _ := info.Get("limitSize")
	assert.Equal(t, `["user"]`, keys.String(), "the key names, like wx.getStorageInfo")
	assert.Equal(t, 1.0, count.Number())
	assert.Equal(t, 10240.0, limit.Number())
	assert.Regexp(t, `^\d+\.\d\d%$`, usage.Str())

	res := ok(t, b, "storageBatch", h, a(
		o("type", s("set"), "key", s("a"), "data", n(1), "options", o("expire", n(60))),
		o("type", s("get"), "key", s("a")),
		o("type", s("get"), "key", s("zz"), "defaultValue", s("d")),
		o("type", s("remove"), "key", s("user")),
	))
	assert.Equal(t, `[null,1,"d",true]`, res.String())

	// Expiry with a pinned clock: no sleeping.
	ok(t, b, "storageSetClock", h, n(1e12))
	ok(t, b, "storageSet", h, s("ttl"), n(1), o("expire", n(10)))
	ok(t, b, "storageSet", h, s("at"), n(1), o("expireAt", n(1e12+5000)))
	assert.Equal(t, `{"value":1,"expireAt":1.00000001e+12}`, ok(t, b, "storageGet", h, s("ttl")).String())
	ok(t, b, "storageSetClock", h, n(1e12+5000))
	assert.Equal(t, `["a","ttl"]`, ok(t, b, "storageKeys", h).String())
	ok(t, b, "storageSetClock", h, n(1e12+10000))
	assert.False(t, ok(t, b, "storageHas", h, s("ttl")).Bool())
	assert.Equal(t, 2.0, ok(t, b, "storageCleanExpired", h).Number())
	ok(t, b, "storageSetClock", h, value.NullValue)

	ok(t, b, "storageClear", h)
	assert.Equal(t, `[]`, ok(t, b, "storageKeys", h).String())

	// The system database stays out of the user's reach.
	assert.NotContains(t, ok(t, b, "showDatabases", conn).String(), "storage")
	assert.Equal(t, "BAD_QUERY", code(t, b, "useDatabase", conn, s("__storage")))
}

func TestStorageErrors(t *testing.T) {
	b := newBridge(t)
	conn := ok(t, b, "open", o("adapter", s("memory"), "root", s("err")))
	h := openStore(t, b, conn, o("secret", s("pw"), "kdfIterations", n(1000), "limitSize", n(2000)))
	plain := openStore(t, b, conn, o("prefix", s("plain_")))
	cases := []struct {
		name, want string
		op         string
		args       []value.Value
	}{
		{"wrong secret", "WRONG_SECRET", "storageOpen", []value.Value{conn, o("secret", s("nope"), "kdfIterations", n(1000))}},
		{"short raw key", "BAD_VALUE", "storageOpen", []value.Value{conn, o("prefix", s("raw_"), "secret", value.BytesOf([]byte{1}))}},
		{"unknown option", "BAD_QUERY", "storageOpen", []value.Value{conn, o("prefx", s("x"))}},
		{"bad limit", "BAD_QUERY", "storageOpen", []value.Value{conn, o("limitSize", n(-1))}},
		{"no conn", "CLOSED", "storageOpen", []value.Value{n(999), o()}},
		{"no secret", "NO_SECRET", "storageSet", []value.Value{plain, s("k"), n(1), o("encrypt", value.BoolOf(true))}},
		{"quota", "QUOTA_EXCEEDED", "storageSet", []value.Value{h, s("k"), s(strings.Repeat("x", 3000))}},
		{"empty key", "BAD_VALUE", "storageSet", []value.Value{h, s(""), n(1)}},
		{"key not a string", "BAD_VALUE", "storageGet", []value.Value{h, n(1)}},
		{"long key", "TOO_LARGE", "storageHas", []value.Value{h, s(strings.Repeat("k", 1025))}},
		{"bad expire", "BAD_VALUE", "storageSet", []value.Value{h, s("k"), n(1), o("expire", n(-1))}},
		{"unknown set option", "BAD_QUERY", "storageSet", []value.Value{h, s("k"), n(1), o("ttl", n(1))}},
		{"unknown batch type", "BAD_VALUE", "storageBatch", []value.Value{h, a(o("type", s("frob"), "key", s("k")))}},
		{"batch not array", "BAD_QUERY", "storageBatch", []value.Value{h, o()}},
		{"bad handle", "CLOSED", "storageKeys", []value.Value{n(12345)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, code(t, b, c.op, c.args...)) })
	}

	// Batch atomicity through the bridge: nothing of a failing batch stays.
	assert.Equal(t, "QUOTA_EXCEEDED", code(t, b, "storageBatch", h, a(
		o("type", s("set"), "key", s("a"), "data", n(1)),
		o("type", s("set"), "key", s("big"), "data", s(strings.Repeat("x", 3000))),
	)))
	assert.Equal(t, `[]`, ok(t, b, "storageKeys", h).String())

	// Closing the connection closes its stores.
	ok(t, b, "close", conn)
	assert.Equal(t, "CLOSED", code(t, b, "storageKeys", h))
	ok(t, b, "storageClose", plain) // closing a closed store is fine
}
