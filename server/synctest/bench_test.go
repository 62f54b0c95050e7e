//go:build !js

package synctest

import (
	"context"
	"fmt"
	"minibase/engine/replica/replicahttp"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/replica"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

// The sync benchmark: push and pull of 10,000 changes between one
// client and the native server (SQLite file, HTTP on 127.0.0.1).
//
//	go test -run '^$' -bench . -benchtime 3x ./server/synctest/

const benchChanges = 10_000

func benchClient(b *testing.B, url, tenant string) *client {
	fs, err := memfs.New()
	require.NoError(b, err)
	c := &client{t: b, name: "bench", fs: fs, wall: time.Now().UnixMilli(), policy: replica.LWW,
		tr: &flaky{inner: replicahttp.NewHTTP(url, token(tenant, "bench")), applied: map[string]int{}, mu: new(syncMutex)}}
	c.open()
	c.cl.Batch, c.cl.PullLimit = replica.DefaultBatch, 1000
	return c
}

func fill(b *testing.B, c *client, n int) {
	rows := make([]value.Value, n)
	for i := range rows {
		rows[i] = mustJSON(b, fmt.Sprintf(`{"id":"r%05d","title":"title %d","n":%d}`, i, i, i))
	}
	require.NoError(b, c.c.Auto(func(tx *engine.Tx) error {
		_, err := tx.InsertMany("app", "todos", value.ArrayOf(rows))
		return err
	}))
}

func BenchmarkPush10k(b *testing.B) {
	srv := startServer(b, filepath.Join(b.TempDir(), "sync.db"))
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := benchClient(b, srv.http.URL, fmt.Sprint("push", i))
		fill(b, c, benchChanges)
		b.StartTimer()
		start := time.Now()
		rep, err := c.cl.Sync(context.Background())
		el := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, benchChanges, rep.Applied)
		b.ReportMetric(float64(benchChanges)/el.Seconds(), "changes/s")
		b.StopTimer()
		c.c.Close()
		b.StartTimer()
	}
}

func BenchmarkPull10k(b *testing.B) {
	srv := startServer(b, filepath.Join(b.TempDir(), "sync.db"))
	src := benchClient(b, srv.http.URL, "pull")
	fill(b, src, benchChanges)
	_, err := src.cl.Sync(context.Background())
	require.NoError(b, err)
	src.c.Close()
	for b.Loop() {
		b.StopTimer()
		c := benchClient(b, srv.http.URL, "pull")
		b.StartTimer()
		start := time.Now()
		rep, err := c.cl.Sync(context.Background())
		el := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, benchChanges, rep.Pulled)
		b.ReportMetric(float64(benchChanges)/el.Seconds(), "changes/s")
		b.StopTimer()
		c.c.Close()
		b.StartTimer()
	}
}
