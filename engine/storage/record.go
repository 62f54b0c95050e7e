package storage

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
const (
	flagCompressed = 1 << 0
	flagEncrypted  = 1 << 1
	knownFlags     = flagCompressed | flagEncrypted

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
	if !encrypt {
		return append([]byte{flags}, body...), nil
	}
	if aead == nil {
		return nil, &engine.Error{Code: engine.CodeNoSecret, Msg: "set " + quote(fullKey) + ": encrypt needs a store opened with a secret"}
	}
	flags |= flagEncrypted
	plain := pad(body)
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plain)+aead.Overhead())
	out[0] = flags
	// A fresh random nonce per value: with 96-bit random nonces GCM stays
	// safe far beyond the number of writes one device makes.
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		return nil, &engine.Error{Code: engine.CodeInternal, Msg: "set: no randomness for a nonce", Err: err}
	}
	return aead.Seal(out, out[1:1+nonceSize], plain, additionalData(fullKey, flags)), nil
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
