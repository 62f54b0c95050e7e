package kvstore

import (
	"bytes"
	"compress/flate"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"io"
	"sync"

	"minibase/engine"
	"minibase/engine/value"
)

// A stored record is what the items table's value column holds:
//
//	flags byte | body
//
// where body is the value's wire encoding (value.Encode), deflated when
// flagCompressed is set. With flagEncrypted the body is sealed instead:
//
//	flags byte | nonce (12 bytes) | AES-256-GCM(pad(body))
//
// with the full key name and the flags byte as additional data, so a
// ciphertext copied under another key, or with its flags changed, fails to
// open. pad prefixes the body's length and fills with zeros to a multiple of
// padBlock bytes: the file on disk then tells a value's size only to within
// padBlock bytes, never to the byte.
//
// A store with a secret writes its unencrypted values signed (flagSigned):
//
//	flags byte | nonce (12 bytes) | body | AES-256-GCM tag (16 bytes)
//
// the tag sealing nothing, with the flags, the full key name and the body as
// additional data. With the secret, a record that is neither sealed nor
// signed was not written by its owner (an opener without the secret, or
// someone with the files) and is refused: otherwise a plaintext record could
// stand in for an encrypted one.
const (
	flagCompressed = 1 << 0
	flagEncrypted  = 1 << 1
	flagSigned     = 1 << 2
	knownFlags     = flagCompressed | flagEncrypted | flagSigned

	padBlock  = 64
	nonceSize = 12
)

// encodeRecord turns a value's wire encoding into a stored record.
func encodeRecord(fullKey string, enc []byte, compress, encrypt bool, aead cipher.AEAD) ([]byte, error) {
	var flags byte
	body := enc
	if compress {
		// Only keep the compressed form when it is smaller: random or
		// already-compressed bytes would grow.
		if z := deflate(enc); len(z) < len(enc) {
			body, flags = z, flags|flagCompressed
		}
	}
	if !encrypt && aead == nil {
		return append([]byte{flags}, body...), nil
	}
	if aead == nil {
		return nil, &engine.Error{Code: engine.CodeNoSecret, Msg: "set " + quote(fullKey) + ": encrypt needs a store opened with a secret"}
	}
	// A fresh random nonce per value: with 96-bit random nonces GCM stays
	// safe far beyond the number of writes one device makes.
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "set: no randomness for a nonce", Err: err}
	}
	if !encrypt {
		return sign(fullKey, flags, body, nonce, aead), nil
	}
	flags |= flagEncrypted
	plain := pad(body)
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plain)+aead.Overhead())
	out[0] = flags
	copy(out[1:], nonce[:])
	return aead.Seal(out, nonce[:], plain, additionalData(fullKey, flags)), nil
}

// encodeSigned signs an unsigned plaintext record's body (flags without
// flagEncrypted), keeping its other flags.
func encodeSigned(fullKey string, flags byte, body []byte, aead cipher.AEAD) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "sign: no randomness for a nonce", Err: err}
	}
	return sign(fullKey, flags, body, nonce, aead), nil
}

func sign(fullKey string, flags byte, body []byte, nonce [nonceSize]byte, aead cipher.AEAD) []byte {
	flags |= flagSigned
	out := make([]byte, 0, 1+nonceSize+len(body)+aead.Overhead())
	out = append(append(append(out, flags), nonce[:]...), body...)
	return aead.Seal(out, nonce[:], nil, signedData(fullKey, flags, body))
}

// decodeRecord is encodeRecord's inverse. It never panics on corrupt input:
// every failure is an error with a code (CORRUPT, DECRYPT_FAILED, NO_SECRET).
func decodeRecord(fullKey string, rec []byte, aead cipher.AEAD) (value.Value, error) {
	body, err := openRecord(fullKey, rec, aead)
	if err != nil {
		return value.Value{}, err
	}
	v, err := value.Decode(body)
	if err != nil {
		return value.Value{}, corrupt(fullKey, err.Error())
	}
	return v, nil
}

// openRecord returns the value's wire encoding from a record: decrypted and
// inflated as its flags say, but not decoded.
func openRecord(fullKey string, rec []byte, aead cipher.AEAD) ([]byte, error) {
	if len(rec) == 0 || rec[0]&^knownFlags != 0 {
		return nil, corrupt(fullKey, "unknown record format")
	}
	flags, body := rec[0], rec[1:]
	switch {
	case flags&flagEncrypted != 0 && flags&flagSigned != 0:
		return nil, corrupt(fullKey, "unknown record format")
	case flags&flagSigned != 0:
		const tagSize = 16 // GCM's, whether or not a key is at hand
		if len(body) < nonceSize+tagSize {
			return nil, decryptFailed(fullKey)
		}
		nonce, signed, tag := body[:nonceSize], body[nonceSize:len(body)-tagSize], body[len(body)-tagSize:]
		if aead != nil {
			if _, err := aead.Open(nil, nonce, tag, signedData(fullKey, flags, signed)); err != nil {
				return nil, decryptFailed(fullKey)
			}
		}
		body = signed
	case flags&flagEncrypted == 0 && aead != nil:
		return nil, &engine.Error{Code: engine.CodeDecryptFailed, Msg: "get " + quote(fullKey) +
			": the value was not written with the store's secret (by an opener without it, or into the files); refused, since it could stand in for an encrypted one"}
	}
	if flags&flagEncrypted != 0 {
		if aead == nil {
			return nil, &engine.Error{Code: engine.CodeNoSecret, Msg: "get " + quote(fullKey) + ": the value is encrypted; open the store with its secret"}
		}
		if len(body) < nonceSize+aead.Overhead() {
			return nil, decryptFailed(fullKey)
		}
		plain, err := aead.Open(nil, body[:nonceSize], body[nonceSize:], additionalData(fullKey, flags))
		if err != nil {
			return nil, decryptFailed(fullKey)
		}
		if body, err = unpad(plain); err != nil {
			return nil, corrupt(fullKey, err.Error())
		}
	}
	if flags&flagCompressed != 0 {
		var err error
		if body, err = inflate(body); err != nil {
			return nil, corrupt(fullKey, err.Error())
		}
	}
	return body, nil
}

// encodedValue is openRecord checked to be one well-formed value, re-encoded
// through a decode when the quick check cannot vouch for it.
func encodedValue(fullKey string, rec []byte, aead cipher.AEAD) ([]byte, error) {
	body, err := openRecord(fullKey, rec, aead)
	if err != nil || value.WellFormed(body) {
		return body, err
	}
	v, err := value.Decode(body)
	if err != nil {
		return nil, corrupt(fullKey, err.Error())
	}
	return value.Encode(v), nil
}

func additionalData(fullKey string, flags byte) []byte {
	return append([]byte{flags}, fullKey...)
}

// signedData is what a signed record's tag covers: the key's length keeps
// the boundary between key and body from moving.
func signedData(fullKey string, flags byte, body []byte) []byte {
	ad := binary.AppendUvarint([]byte{flags}, uint64(len(fullKey)))
	return append(append(ad, fullKey...), body...)
}

// writers reuses deflate writers: each holds ~1 MB of state whose
// allocation, not the compressing, dominated the cost of a small set.
var writers = sync.Pool{New: func() any {
	// BestSpeed compresses repetitive JSON nearly as well as the default
	// level at a fraction of the time, which matters on a phone.
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	w.Reset(nil)
	writers.Put(w)
	return buf.Bytes()
}

// readers reuses inflaters: a new one allocates ~40 KB of tables, several
// times the work of inflating a small value.
var readers sync.Pool

// inflate stops at MaxValueSize: a crafted record must not expand into
// gigabytes.
func inflate(b []byte) ([]byte, error) {
	src := bytes.NewReader(b)
	r, _ := readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer readers.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, MaxValueSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxValueSize {
		return nil, errInflated
	}
	return out, nil
}

type recordError string

func (e recordError) Error() string { return string(e) }

const (
	errInflated = recordError("compressed value expands beyond the value limit")
	errPadding  = recordError("bad padding")
)

func pad(body []byte) []byte {
	n := binary.MaxVarintLen64 + len(body)
	n += (padBlock - n%padBlock) % padBlock
	out := make([]byte, 0, n)
	out = binary.AppendUvarint(out, uint64(len(body)))
	out = append(out, body...)
	return out[:n] // make zeroed the tail
}

func unpad(plain []byte) ([]byte, error) {
	n, k := binary.Uvarint(plain)
	if k <= 0 || n > uint64(len(plain)-k) {
		return nil, errPadding
	}
	return plain[k : k+int(n)], nil
}

func corrupt(fullKey, why string) error {
	return &engine.Error{Code: engine.CodeCorrupt, Msg: "get " + quote(fullKey) + ": stored value is corrupt: " + why}
}

func decryptFailed(fullKey string) error {
	return &engine.Error{Code: engine.CodeDecryptFailed, Msg: "get " + quote(fullKey) + ": the value does not decrypt (tampered with, moved from another key, or another secret)"}
}
