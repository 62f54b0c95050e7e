//go:build !js

package sqlitestore_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
)

func TestFileSettingsAndPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := sqlitestore.Open(path)
	require.NoError(t, err)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
	var fk, busy int
	require.NoError(t, db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
	require.NoError(t, db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy))
	assert.Equal(t, 1, fk)
	assert.Positive(t, busy)
	var sync int
	require.NoError(t, db.QueryRow(`PRAGMA synchronous`).Scan(&sync))
	assert.Equal(t, 2, sync, "FULL: a commit is on disk before it returns")
	_, err = db.Exec(`CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db, err = sqlitestore.Open(path)
	require.NoError(t, err)
	defer db.Close()
	var x int
	require.NoError(t, db.QueryRow(`SELECT x FROM t`).Scan(&x))
	assert.Equal(t, 42, x)
}

func TestMemoryIsOneDatabasePerOpen(t *testing.T) {
	a, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer a.Close()
	b, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	defer b.Close()
	_, err = a.Exec(`CREATE TABLE t (x INTEGER)`)
	require.NoError(t, err)
	// Every use of a sees the table (one connection), b never does.
	for range 5 {
		_, err = a.Exec(`INSERT INTO t VALUES (1)`)
		require.NoError(t, err)
	}
	_, err = b.Exec(`INSERT INTO t VALUES (1)`)
	assert.Error(t, err)
}

func TestEmptyPath(t *testing.T) {
	_, err := sqlitestore.Open("")
	assert.Error(t, err)
}

// TestConnectionPoolIsBounded: however many requests arrive at once, a
// file database opens at most MaxConns connections.
func TestConnectionPoolIsBounded(t *testing.T) {
	db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "p.db"))
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, sqlitestore.MaxConns, db.Stats().MaxOpenConnections)
	// Hold more transactions than the bound: the extra ones wait, so the
	// pool never grows past it.
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range sqlitestore.MaxConns * 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := db.Query(`SELECT 1`)
			if err != nil {
				return
			}
			<-release
			rows.Close()
		}()
	}
	for i := 0; db.Stats().OpenConnections < sqlitestore.MaxConns; i++ {
		require.Less(t, i, 10_000, "the pool never filled")
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, sqlitestore.MaxConns, db.Stats().OpenConnections)
	close(release)
	wg.Wait()
	assert.LessOrEqual(t, db.Stats().OpenConnections, sqlitestore.MaxConns)
}
