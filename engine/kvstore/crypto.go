package kvstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"

	"minibase/engine"
)

// DefaultKDFIterations is the PBKDF2-SHA256 iteration count for a store
// created with a passphrase: OWASP's 2023 recommendation for PBKDF2-SHA256.
// It costs roughly 0.2 s natively and 1.2 to 1.6 s in wasm under Node (a
// 2.8 GHz Xeon), once per Open unless Options.KeyCache has the key. The
// count a store was created with is stored beside its salt, so changing the
// default later never locks out existing stores.
const DefaultKDFIterations = 600_000

const (
	keySize  = 32 // AES-256
	saltSize = 16
)

// checkPlain is sealed with the store's key to make the key check value: a
// wrong secret fails to open it, so Open reports WRONG_SECRET at once
// instead of every later read failing. Version 2 also says that every record
// of the store is sealed or signed (record.go); a store with a version 1
// check may hold unsigned plaintext records, which Open signs once.
var (
	checkPlainV1 = []byte("minibase storage key check v1")
	checkPlain   = []byte("minibase storage key check v2")
)

// deriveKey returns the 32-byte key: the raw key as given, or PBKDF2-SHA256
// of the passphrase with the store's salt.
func deriveKey(o Options, salt []byte, iterations int) ([]byte, error) {
	if o.RawKey != nil {
		if len(o.RawKey) != keySize {
			return nil, &engine.Error{Code: engine.CodeBadValue, Msg: "open storage: a raw key must be 32 bytes"}
		}
		return o.RawKey, nil
	}
	var k []byte
	var err error
	if o.KeyCache != nil {
		k, err = o.KeyCache.derive(o.Passphrase, salt, iterations)
	} else {
		k, err = pbkdf2.Key(sha256.New, o.Passphrase, salt, iterations, keySize)
	}
	if err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "open storage: derive key", Err: err}
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "open storage: cipher", Err: err}
	}
	return cipher.NewGCM(block)
}

// sealCheck makes the key check value. Its nonce is random like any other.
func sealCheck(aead cipher.AEAD, prefix string) ([]byte, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "open storage: no randomness", Err: err}
	}
	return aead.Seal(nonce, nonce, checkPlain, []byte("check\x00"+prefix)), nil
}

// verifyCheck returns the version of the stored check value aead opens, or
// 0 when it does not open it (another secret).
func verifyCheck(aead cipher.AEAD, prefix string, check []byte) int {
	if len(check) < nonceSize+aead.Overhead() {
		return 0
	}
	plain, err := aead.Open(nil, check[:nonceSize], check[nonceSize:], []byte("check\x00"+prefix))
	switch {
	case err != nil:
		return 0
	case subtle.ConstantTimeCompare(plain, checkPlain) == 1:
		return 2
	case subtle.ConstantTimeCompare(plain, checkPlainV1) == 1:
		return 1
	}
	return 0
}

func newSalt() ([]byte, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "open storage: no randomness", Err: err}
	}
	return salt, nil
}

// KeyCache keeps keys derived from passphrases, so that opening a store
// again with the same passphrase skips PBKDF2, which costs around a second
// in wasm. A host keeps one for its lifetime (the bridge does); the keys
// then stay in memory as long as it does, as the open stores' keys would.
// It is safe for concurrent use.
type KeyCache struct {
	mu    sync.Mutex
	mac   []byte            // random key naming entries, so no map key is a fast hash of a passphrase
	keys  map[string][]byte // entry name → derived key
	order []string          // entry names, oldest first
	max   int
	runs  int64
}

// NewKeyCache returns a cache of at most max derived keys (8 when max <= 0).
func NewKeyCache(max int) *KeyCache {
	if max <= 0 {
		max = 8
	}
	mac := make([]byte, 32)
	_, _ = rand.Read(mac) // never fails (crypto/rand crashes the program instead)
	return &KeyCache{mac: mac, keys: map[string][]byte{}, max: max}
}

// Derivations reports how many keys the cache has derived (not found).
func (c *KeyCache) Derivations() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

// derive returns PBKDF2-SHA256 of passphrase and salt, from the cache when
// it has derived it before.
func (c *KeyCache) derive(passphrase string, salt []byte, iterations int) ([]byte, error) {
	h := hmac.New(sha256.New, c.mac)
	fmt.Fprintf(h, "%d\x00%d\x00", iterations, len(salt))
	h.Write(salt)
	h.Write([]byte(passphrase))
	name := string(h.Sum(nil))
	c.mu.Lock()
	k, ok := c.keys[name]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	// Derived outside the lock: a second passphrase need not wait.
	k, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, keySize)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs++
	if _, ok := c.keys[name]; !ok {
		if len(c.order) >= c.max {
			delete(c.keys, c.order[0])
			c.order = c.order[1:]
		}
		c.keys[name] = k
		c.order = append(c.order, name)
	}
	return k, nil
}
