//go:build !js

package syncserver_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

const benchChanges = 10000

// benchServer is a server on a real SQLite file behind a loopback listener.
func benchServer(b *testing.B) (*httptest.Server, func()) {
	b.Helper()
	db, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := syncserver.New(syncserver.Config{DB: db, Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	return ts, func() { srv.Close(); ts.Close(); db.Close() }
}

// pushBodies encodes n changes as pushes of at most 1000, like a client's outbox.
func pushBodies(n int, prefix string) [][]byte { return pushBodiesFrom(0, n, 1000, prefix) }

// pushBodiesFrom is pushBodies for keys from base on, per changes a push.
func pushBodiesFrom(base, n, per int, prefix string) [][]byte {
	var bodies [][]byte
	for start := base; start < base+n; start += per {
		var changes []map[string]any
		for i := start; i < min(start+per, base+n); i++ {
			changes = append(changes, map[string]any{
				"op": fmt.Sprintf("%s-%d", prefix, i), "table": "todos", "key": i,
				"row":    map[string]any{"id": i, "title": fmt.Sprintf("todo number %d", i), "done": i%2 == 0},
				"hlc":    fmt.Sprintf("%015d-%05d", 1732370000000+int64(i), 0),
				"origin": "bench",
			})
		}
		raw, _ := json.Marshal(map[string]any{"client": "bench", "changes": changes})
		bodies = append(bodies, raw)
	}
	return bodies
}

func post(b *testing.B, url, token string, body []byte) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("push: %d", res.StatusCode)
	}
}

// BenchmarkPush10k: 10,000 new changes in pushes of 1000 (one transaction each).
func BenchmarkPush10k(b *testing.B) {
	ts, stop := benchServer(b)
	defer stop()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		bodies := pushBodies(benchChanges, fmt.Sprintf("r%d", i))
		token := tok(fmt.Sprintf("tenant-%d", i)) // a fresh tenant: every change applies
		b.StartTimer()
		for _, body := range bodies {
			post(b, ts.URL+"/v1/push", token, body)
		}
	}
	b.ReportMetric(float64(benchChanges*b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkPull10k: a client catching up on 10,000 changes, pages of 1000.
func BenchmarkPull10k(b *testing.B) {
	ts, stop := benchServer(b)
	defer stop()
	token := tok("pull")
	for _, body := range pushBodies(benchChanges, "p") {
		post(b, ts.URL+"/v1/push", token, body)
	}
	for b.Loop() {
		since, got := int64(0), 0
		for range 100 {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/pull?since=%d&limit=1000", ts.URL, since), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Changes []json.RawMessage `json:"changes"`
				Cursor  int64             `json:"cursor"`
				More    bool              `json:"more"`
			}
			err = json.NewDecoder(res.Body).Decode(&page)
			res.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			got += len(page.Changes)
			since = page.Cursor
			if !page.More {
				break
			}
		}
		if got != benchChanges {
			b.Fatalf("pulled %d changes", got)
		}
	}
	b.ReportMetric(float64(benchChanges*b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkNoticeLatency: from sending a one-change push to the SSE notice
// arriving on another connection of the same tenant (server side only; the
// client's pull and apply come on top).
func BenchmarkNoticeLatency(b *testing.B) {
	ts, stop := benchServer(b)
	defer stop()
	token := tok("notice")
	req, _ := http.NewRequest("GET", ts.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	next := func() {
		for range 1000 {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(line, "data: ") {
				return
			}
		}
		b.Fatal("no event")
	}
	next() // the initial cursor
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		body := pushBodies(1, fmt.Sprintf("n%d", i))[0]
		body = bytes.Replace(body, []byte(`"key":0`), []byte(fmt.Sprintf(`"key":%d`, i)), 1)
		body = bytes.Replace(body, []byte(`"id":0`), []byte(fmt.Sprintf(`"id":%d`, i)), 1)
		t0 := time.Now()
		post(b, ts.URL+"/v1/push", token, body)
		next()
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPushConcurrent: 50 devices of one tenant each push 2,000 new
// changes (two pushes of 1000) at once, the load test's throughput phase
// without the devices' engines.
func BenchmarkPushConcurrent(b *testing.B) { benchPushConcurrent(b, 50, 2000, 1000) }

// BenchmarkPushConcurrentSmall: 50 devices each push 200 changes in pushes
// of 5, where a commit's fixed cost weighs most.
func BenchmarkPushConcurrentSmall(b *testing.B) { benchPushConcurrent(b, 50, 200, 5) }

func benchPushConcurrent(b *testing.B, devices, perDevice, perPush int) {
	ts, stop := benchServer(b)
	defer stop()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		token := tok(fmt.Sprintf("tenant-%d", i))
		bodies := make([][][]byte, devices)
		for d := range bodies {
			bodies[d] = pushBodiesFrom(d*perDevice, perDevice, perPush, fmt.Sprintf("r%d", i))
		}
		b.StartTimer()
		var wg sync.WaitGroup
		errs := make(chan error, devices)
		for d := range devices {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, body := range bodies[d] {
					if err := tryPost(ts.URL+"/v1/push", token, body); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(devices*perDevice*b.N)/b.Elapsed().Seconds(), "changes/s")
}

func tryPost(url, token string, body []byte) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("push: %d %s", res.StatusCode, msg)
	}
	return nil
}
