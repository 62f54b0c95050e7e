// Package sqlitestore opens the embedded SQLite database the native sync
// server stores its data in (modernc.org/sqlite: pure Go, no cgo).
package sqlitestore
