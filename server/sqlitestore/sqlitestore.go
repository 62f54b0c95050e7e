//go:build !js

package sqlitestore

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var memSeq atomic.Int64

// MaxConns bounds the connections (and so file descriptors) of a file
// database: SQLite runs one writer at a time and a few readers are all a
// sync server's queries need; without a bound, a burst of requests opens
// one connection each. Requests beyond it wait for a free connection.
const MaxConns = 8

// Open opens (creating if needed) the database at path in WAL mode with a
// busy timeout and foreign keys on. Commits are synchronous=FULL: the log
// is synced to disk before a commit returns, so what a server acknowledges
// after its commit survives a power loss, not only a crash of the process
// (NORMAL's promise in WAL mode). The sync server pays that sync once per
// group of concurrent pushes (group commit), not once per push. Write
// transactions begin IMMEDIATE so two writers queue on the lock instead of
// failing to upgrade a read lock.
//
// ":memory:" gives a fresh private in-memory database; it is held on a
// single connection, because every new connection to :memory: would be
// another, empty database.
func Open(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlitestore: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	mem := path == ":memory:" || strings.Contains(path, "mode=memory")
	var dsn string
	if mem {
		dsn = fmt.Sprintf("file:minibase-mem-%d?mode=memory&%s", memSeq.Add(1), q.Encode())
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		dsn = "file:" + path + sep + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if mem {
		db.SetMaxOpenConns(1)
		// The database lives as long as a connection does.
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
	} else {
		db.SetMaxOpenConns(MaxConns)
		db.SetMaxIdleConns(MaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return db, nil
}
