//go:build !js

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"minibase/engine"
	"minibase/engine/replica"
	"minibase/engine/replica/replicahttp"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

// stats are the counters every device adds to.
type stats struct {
	pushes, pulls, pushErrs, pullErrs atomic.Int64
	notices                           atomic.Int64
	mu                                sync.Mutex
	applied                           map[string]int // op → times the server answered "applied"
}

func newStats() *stats { return &stats{applied: map[string]int{}} }

// transport is the device's replica.Transport: the real HTTP one, counted,
// failing while the device is offline.
type transport struct {
	inner   *replicahttp.HTTP
	st      *stats
	offline atomic.Bool
}

var errOffline = errors.New("offline")

func (t *transport) Push(ctx context.Context, req replica.PushRequest) (replica.PushResponse, error) {
	if t.offline.Load() {
		return replica.PushResponse{}, errOffline
	}
	resp, err := t.inner.Push(ctx, req)
	if err != nil {
		t.st.pushErrs.Add(1)
		return resp, err
	}
	t.record(resp)
	return resp, nil
}

// postEncoded sends a push encoded beforehand (replica.EncodePushRequest)
// and returns the answer's body, undecoded: the throughput phase keeps the
// client's JSON work outside its clock.
func (d *device) postEncoded(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url()+"/v1/push", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = replica.DecodeServerError(res.StatusCode, data)
	}
	return data, err
}

// record counts a push's answer.
func (t *transport) record(resp replica.PushResponse) {
	t.st.pushes.Add(1)
	t.st.mu.Lock()
	for _, r := range resp.Results {
		if r.Status == replica.Applied {
			t.st.applied[r.Op]++
		}
	}
	t.st.mu.Unlock()
}

func (t *transport) Pull(ctx context.Context, since int64, limit int) (replica.PullResponse, error) {
	if t.offline.Load() {
		return replica.PullResponse{}, errOffline
	}
	resp, err := t.inner.Pull(ctx, since, limit)
	if err != nil {
		t.st.pullErrs.Add(1)
	} else {
		t.st.pulls.Add(1)
	}
	return resp, err
}

// device is one simulated app install: a minibase engine on its own memory
// filesystem, the sync client state machine (engine/replica) over HTTP, and
// an event stream whose notices make it pull.
type device struct {
	name  string
	conn  *engine.Conn
	cl    *replica.Client
	tr    *transport
	url   func() string
	token string
	hc    *http.Client

	mu sync.Mutex // one sync step at a time (a Replica is not concurrent)

	wake    chan struct{} // a notice arrived: pull
	onEvent func(d *device, cursor int64)
	seen    atomic.Int64 // greatest cursor of a notice
	stream  atomic.Pointer[context.CancelFunc]
}

const tableSpec = `{"sync":true,"ifNotExists":true,"columns":[
	{"name":"id","type":"string","primaryKey":true},{"name":"title","type":"string"},
	{"name":"n","type":"number"},{"name":"by","type":"string"}]}`

func newDevice(name string, url func() string, token string, hc *http.Client, st *stats, batch int) (*device, error) {
	fs, err := memfs.New()
	if err != nil {
		return nil, err
	}
	conn, err := engine.Open(fs, engine.Options{})
	if err != nil {
		return nil, err
	}
	spec, err := replica.FromJSON([]byte(tableSpec))
	if err != nil {
		return nil, err
	}
	ts, err := engine.ParseTableSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := conn.CreateDatabase("app", true); err != nil {
		return nil, err
	}
	if err := conn.CreateTable("app", "todos", ts); err != nil {
		return nil, err
	}
	r, err := replica.New(conn, replica.Config{DB: "app"})
	if err != nil {
		return nil, err
	}
	h := replicahttp.NewHTTP(url(), token)
	h.Client = hc
	tr := &transport{inner: h, st: st}
	return &device{name: name, conn: conn, tr: tr, url: url, token: token, hc: hc,
		cl:   &replica.Client{Replica: r, Transport: tr, Batch: batch, PullLimit: 1000},
		wake: make(chan struct{}, 1)}, nil
}

func (d *device) close() { d.disconnect(); d.conn.Close() }

// write upserts or deletes one row in a local transaction (queued for push).
func (d *device) write(rng *rand.Rand, key string, n int) error {
	return d.conn.Auto(func(tx *engine.Tx) error {
		if rng.IntN(8) == 0 {
			_, err := tx.Delete("app", "todos", engine.Query{Where: engine.And{&engine.Cond{Column: "id", Op: engine.OpEq, Value: value.StringOf(key)}}, Limit: -1})
			return err
		}
		row, err := replica.FromJSON([]byte(fmt.Sprintf(`{"id":%q,"title":"%s-%d","n":%d,"by":%q}`, key, d.name, n, n, d.name)))
		if err != nil {
			return err
		}
		_, err = tx.Upsert("app", "todos", row)
		return err
	})
}

func (d *device) sync(ctx context.Context) (replica.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl.Sync(ctx)
}

func (d *device) pull(ctx context.Context) (replica.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl.Pull(ctx)
}

// pending is how many local changes wait for the server.
func (d *device) pending() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl.Replica.Pending()
}

func (d *device) setURL(u string) { d.tr.inner.SetURL(u) }

// connect opens the device's event stream and keeps it open (reconnecting
// after a drop, as EventSource does) until disconnect or ctx ends.
func (d *device) connect(ctx context.Context, st *stats, ready chan<- struct{}) {
	ctx, cancel := context.WithCancel(ctx)
	if old := d.stream.Swap(&cancel); old != nil {
		(*old)()
	}
	go func() {
		first := true
		for attempt := 0; ctx.Err() == nil && attempt < 100_000; attempt++ {
			err := d.readStream(ctx, st, func() {
				if first && ready != nil {
					ready <- struct{}{}
				}
				first = false
			})
			if ctx.Err() != nil {
				return
			}
			_ = err
			select { // EventSource's retry: 3000; shorter here so a restart is found soon
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(200+rand.IntN(300)) * time.Millisecond):
			}
		}
	}()
}

func (d *device) disconnect() {
	if c := d.stream.Swap(nil); c != nil {
		(*c)()
	}
}

func (d *device) readStream(ctx context.Context, st *stats, opened func()) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url()+"/v1/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	res, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("events: status %d", res.StatusCode)
	}
	br := bufio.NewReaderSize(res.Body, 512)
	for range 100_000_000 {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		var msg struct {
			Cursor int64 `json:"cursor"`
		}
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &msg) != nil {
			continue
		}
		if opened != nil {
			opened()
			opened = nil
		}
		st.notices.Add(1)
		for {
			old := d.seen.Load()
			if msg.Cursor <= old || d.seen.CompareAndSwap(old, msg.Cursor) {
				break
			}
		}
		if d.onEvent != nil {
			d.onEvent(d, msg.Cursor)
		}
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return errors.New("stream too long")
}

// rows is the device's table as canonical JSON by id.
func (d *device) rows() (map[string]string, error) {
	out := map[string]string{}
	err := d.conn.Auto(func(tx *engine.Tx) error {
		res, err := tx.Select("app", "todos", engine.Query{Limit: -1})
		for _, r := range res.Rows {
			o := value.ObjectFrom(res.Columns, r)
			id, _ := o.Get("id")
			out[id.Str()] = canon(o)
		}
		return err
	})
	return out, err
}

func canon(v value.Value) string {
	if v.IsNull() {
		return ""
	}
	m := []value.Member{}
	for _, c := range []string{"id", "title", "n", "by"} {
		x, ok := v.Get(c)
		if !ok {
			x = value.NullValue
		}
		m = append(m, value.Member{Key: c, Value: x})
	}
	b, _ := replica.ToJSON(value.ObjectOf(m...))
	return string(b)
}

// serverRows reads the server's live rows with a full pull.
func serverRows(ctx context.Context, tr replica.Transport) (map[string]string, int64, error) {
	out := map[string]string{}
	since := int64(0)
	for range 100_000 {
		resp, err := tr.Pull(ctx, since, 1000)
		if err != nil {
			return nil, 0, err
		}
		for _, ch := range resp.Changes {
			k, err := replica.FromJSON(ch.Key)
			if err != nil {
				return nil, 0, err
			}
			row, err := replica.FromJSON(ch.Row)
			if err != nil {
				return nil, 0, err
			}
			if row.IsNull() {
				delete(out, k.Str())
			} else {
				out[k.Str()] = canon(row)
			}
		}
		since = resp.Cursor
		if !resp.More {
			return out, since, nil
		}
	}
	return nil, 0, errors.New("full pull did not end")
}

func itoa(n int) string { return strconv.Itoa(n) }

// upsert writes one row (never a delete).
func (d *device) upsert(key string, n int) error {
	return d.conn.Auto(func(tx *engine.Tx) error {
		row, err := replica.FromJSON([]byte(fmt.Sprintf(`{"id":%q,"title":"%s-%d","n":%d,"by":%q}`, key, d.name, n, n, d.name)))
		if err != nil {
			return err
		}
		_, err = tx.Upsert("app", "todos", row)
		return err
	})
}

// pushAll sends every pending change and nothing else (no pull): the
// replica's push steps, as Client.Sync runs them before it pulls.
func (d *device) pushAll(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range 1_000_000 {
		req, err := d.cl.Replica.NextPush(d.cl.Batch)
		if err != nil {
			return err
		}
		if len(req.Changes) == 0 {
			return nil
		}
		resp, err := d.tr.Push(ctx, req)
		if err != nil {
			return err
		}
		if _, err := d.cl.Replica.AckPush(resp); err != nil {
			return err
		}
	}
	return errors.New("push did not finish")
}

// preparePushes reads every pending change as push requests of at most
// batch changes each, for the throughput phase to send with the clock
// running and acknowledge (AckPush) after it stops.
func (d *device) preparePushes(batch int) ([]replica.PushRequest, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	all, err := d.cl.Replica.NextPush(1 << 30)
	if err != nil {
		return nil, err
	}
	var out []replica.PushRequest
	for len(all.Changes) > 0 {
		n := min(batch, len(all.Changes))
		out = append(out, replica.PushRequest{Client: all.Client, Changes: all.Changes[:n]})
		all.Changes = all.Changes[n:]
	}
	return out, nil
}

func (d *device) ack(resps []replica.PushResponse) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range resps {
		if _, err := d.cl.Replica.AckPush(r); err != nil {
			return err
		}
	}
	return nil
}
