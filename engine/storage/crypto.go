package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"

	"minibase/engine"
)

// DefaultKDFIterations is the PBKDF2-SHA256 iteration count for a store
// created with a passphrase: OWASP's 2023 recommendation for PBKDF2-SHA256.
// It costs roughly 0.2 s natively and a few times that in wasm, once per
// Open. The count a store was created with is stored beside its salt, so
// changing the default later never locks out existing stores.
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
	k, err := pbkdf2.Key(sha256.New, o.Passphrase, salt, iterations, keySize)
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
