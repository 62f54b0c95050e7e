// Package kvstore is minibase's key-value storage manager: the
// wx.setStorage habits (a key prefix, expiry, encrypt and compress flags, a
// quota) with real guarantees, kept in a system database of an engine.Conn
// so every write is transactional and crash-safe.
//
// # Basics
//
// Open a Manager on a connection; Set, Get, Has, Remove, Keys, Clear, Info
// and Batch work on the keys under its prefix.
//
//	m, _ := kvstore.Open(conn, kvstore.Options{Prefix: "mp_", Passphrase: secret})
//	_ = m.Set("token", value.StringOf(tok), kvstore.SetOptions{Expire: time.Hour, Encrypt: true})
//	v, found, _ := m.Get("token")
//
// Entries live in the table items of the system database "__storage", one
// row per key: the prefixed key (primary key), the stored record, its flags,
// its expiry (indexed, for the sweep) and its size. The table stores holds
// one row per prefix: salt, key check value and the running size total.
//
// # Expiry
//
// Expiry is exact: an entry whose time has come is never returned, by any
// method, whether or not a sweep has deleted it yet. Sweep and CleanExpired
// delete expired entries; the Manager starts no goroutine, the host calls
// Sweep from its timer. Time comes from Options.Clock.
//
// # Encryption and compression
//
// Values are stored in their wire encoding (value.Encode), so bytes stay
// bytes. Compress deflates a value when that makes it smaller. Encrypt then
// seals it with AES-256-GCM, a fresh random nonce per value and the full key
// name as additional data (a ciphertext moved to another key fails with
// DECRYPT_FAILED), padded so the stored size reveals the value's length
// only to within 64 bytes. The key is a raw 32-byte key or is derived from a
// passphrase with PBKDF2-SHA256 (DefaultKDFIterations, tuneable) and a random
// per-store salt, stored with a key check value: a wrong secret fails at Open
// with WRONG_SECRET.
//
// Once a store has a secret, its owner signs the values it does not encrypt
// (an AES-GCM tag over the key name and the value), and refuses with
// DECRYPT_FAILED any record it did not write: a plaintext record put in the
// files cannot stand in for an encrypted value, and no value can be copied
// under another key. An opener without the secret reads the plain values but
// may not set any (NO_SECRET); it may still remove keys and sweep expired
// ones, which forges nothing. Plain values stored before the store had a
// secret are signed by the first Open with it.
//
// # Caveats
//
//   - Quota (Options.LimitSize) counts keys plus stored records, so a
//     compressed value counts at its compressed size. Expired entries count
//     until swept.
//   - Has does not decrypt: it answers for encrypted values without a secret.
//   - Signing proves who wrote a value, not that it is the latest: someone
//     with the files can delete a key or restore an older copy of the files.
//   - Keys are non-empty UTF-8 strings up to MaxKeySize bytes; values up to
//     MaxValueSize bytes encoded.
//   - Prefixes of two stores on one connection may not overlap ("mp_" and
//     "mp_x_"): Open refuses with BAD_VALUE.
package kvstore
