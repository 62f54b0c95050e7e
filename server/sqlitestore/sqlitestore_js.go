//go:build js

package sqlitestore

import (
	"database/sql"
	"errors"
)

// ErrUnsupported is returned by Open under GOOS=js: modernc.org/sqlite does
// not build for wasm, and the Workers build stores its data in D1 instead.
var ErrUnsupported = errors.New("sqlitestore: embedded SQLite is not available under GOOS=js (use D1 on Workers)")

// Open always fails under GOOS=js; it exists so packages that import
// sqlitestore (tests, tools) still compile there.
func Open(path string) (*sql.DB, error) {
	return nil, ErrUnsupported
}
