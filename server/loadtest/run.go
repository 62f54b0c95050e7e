//go:build !js

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"minibase/engine/replica"
	"minibase/engine/replica/replicahttp"
	"minibase/server/internal/fdlimit"
	"minibase/server/syncserver"
)

// config is one load run; zero counts skip a phase.
type config struct {
	serverBin string
	dir       string
	seed      uint64

	devices    int           // mixed phase: devices writing, syncing, going offline
	duration   time.Duration // mixed phase length
	sharedKeys int           // rows every device writes
	kill       bool          // SIGKILL the server halfway through the mixed phase, then restart it

	fanout     int // fan-out phase: idle connected devices
	probes     int // commits whose notice must reach every one of them (devices not pulling)
	pullProbes int // the same while every device pulls on each notice

	pushers   int // throughput phase: devices pushing at once
	perPusher int // changes each of them pushes

	quiet time.Duration // fan-out phase: how long to let connections and catch-up pulls settle

	worker string // when set, the repository root: load the Worker under wrangler dev instead
}

// mixedResult is the mixed phase's outcome.
type mixedResult struct {
	Devices            int
	Seconds            float64
	Pushes, Pulls      int64
	PushErrs, PullErrs int64
	Notices            int64
	Writes             int64
	Killed             bool
	SettleRounds       int
	ServerRows         int
	Converged          int // devices equal to the server
	AppliedTwice       int // ops the server answered "applied" more than once
	DeadLetters        int
	OpsApplied         int
}

type fanoutResult struct {
	Devices              int
	RSSBefore, RSSAfter  int64
	BytesPerIdleDevice   float64
	ConnectSeconds       float64
	Probes, PullProbes   int
	QuietP50, QuietP99   time.Duration // notices while no device pulls
	QuietMax             time.Duration
	NoticeP50, NoticeP99 time.Duration // notices while every device pulls on them
	NoticeMax            time.Duration
	PulledP50, PulledP99 time.Duration
	Missed               int // (device, probe) pairs with no notice within the wait
	Converged            int

	Worker            bool
	IdleQueriesPerSec float64 // D1 statements per second while the streams sat idle
	QueriesPerNotice  float64 // D1 statements per commit (its push included), devices not pulling
}

type throughputResult struct {
	Pushers, Changes int
	Seconds          float64
	ChangesPerSec    float64
	Pushes           int64
	ServerRows       int
	ServerCPU        float64 // seconds of server CPU the pushes took

	// The same with the devices' own push steps (outbox reads, answers
	// applied) inside the clock, on the same cores.
	E2ESeconds, E2EServerCPU, E2EChangesPerSec float64
}

type results struct {
	Mixed      *mixedResult
	Fanout     *fanoutResult
	Throughput *throughputResult
	FileLimit  uint64
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// httpClient is shared by every simulated device: one pool, many
// connections to the one host (each event stream holds one).
func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}}
}

func run(ctx context.Context, cfg config, logf func(string, ...any)) (*results, error) {
	res := &results{}
	lim, err := fdlimit.Raise()
	if err != nil {
		return nil, err
	}
	res.FileLimit = lim
	if cfg.devices > 0 {
		logf("mixed: %d devices for %s", cfg.devices, cfg.duration)
		if res.Mixed, err = runMixed(ctx, cfg, logf); err != nil {
			return res, fmt.Errorf("mixed: %w", err)
		}
	}
	if cfg.fanout > 0 {
		logf("fan-out: %d idle connected devices, %d commits", cfg.fanout, cfg.probes)
		if res.Fanout, err = runFanout(ctx, cfg, logf); err != nil {
			return res, fmt.Errorf("fan-out: %w", err)
		}
	}
	if cfg.pushers > 0 {
		logf("throughput: %d devices push %d changes each", cfg.pushers, cfg.perPusher)
		if res.Throughput, err = runThroughput(ctx, cfg, logf); err != nil {
			return res, fmt.Errorf("throughput: %w", err)
		}
	}
	return res, nil
}

type fleet struct {
	srv     target
	secret  string
	hc      *http.Client
	st      *stats
	devices []*device
	urlMu   sync.Mutex
}

func (f *fleet) url() string {
	f.urlMu.Lock()
	defer f.urlMu.Unlock()
	return f.srv.url()
}

func newFleet(cfg config, phase string) (*fleet, error) {
	dir := filepath.Join(cfg.dir, phase)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secret := newSecret()
	var srv target
	var err error
	if cfg.worker != "" {
		srv, err = startWorker(cfg.worker, dir, secret)
	} else {
		srv, err = startNative(cfg.serverBin, dir, secret)
	}
	if err != nil {
		return nil, err
	}
	return &fleet{srv: srv, secret: secret, hc: httpClient(), st: newStats()}, nil
}

func (f *fleet) addDevices(n, batch int) error {
	for i := range n {
		name := fmt.Sprintf("d%d", len(f.devices))
		d, err := newDevice(name, f.url, f.token(name), f.hc, f.st, batch)
		if err != nil {
			return err
		}
		f.devices = append(f.devices, d)
		_ = i
	}
	return nil
}

func (f *fleet) token(sub string) string {
	return syncserver.SignToken([]byte(f.secret), "tenant-1", sub, time.Time{})
}

func (f *fleet) close() {
	for _, d := range f.devices {
		d.close()
	}
	f.srv.stop()
	f.hc.CloseIdleConnections()
}

// checker is a transport outside every device, for the server's view.
func (f *fleet) checker() replica.Transport {
	h := replicahttp.NewHTTP(f.url(), f.token("checker"))
	h.Client = f.hc
	return h
}

// settle brings every device online and syncs them all until nothing is
// pending and a round changes nothing, then checks each against the server.
func (f *fleet) settle(ctx context.Context) (rounds, converged, dead, nRows int, err error) {
	for _, d := range f.devices {
		d.tr.offline.Store(false)
	}
	settled := false
	for rounds = 1; rounds <= 30 && !settled; rounds++ {
		var changed atomic.Bool
		var firstErr error
		var mu sync.Mutex
		parallel(len(f.devices), 16, func(i int) {
			d := f.devices[i]
			rep, err := d.sync(ctx)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", d.name, err)
				}
				mu.Unlock()
				changed.Store(true)
				return
			}
			p, err := d.pending()
			if err != nil || p > 0 || rep.Applied > 0 || len(rep.Changes) > 0 || rep.Pulled > 0 {
				changed.Store(true)
			}
		})
		if firstErr != nil && rounds == 30 {
			return rounds, 0, 0, 0, firstErr
		}
		settled = !changed.Load()
	}
	if !settled {
		return rounds, 0, 0, 0, errors.New("devices did not settle in 30 rounds")
	}
	want, _, err := serverRows(ctx, f.checker())
	if err != nil {
		return rounds, 0, 0, 0, err
	}
	for _, d := range f.devices {
		got, err := d.rows()
		if err != nil {
			return rounds, 0, 0, 0, err
		}
		if mapsEqual(got, want) {
			converged++
		}
		dl, err := d.cl.Replica.DeadLetters()
		if err != nil {
			return rounds, 0, 0, 0, err
		}
		dead += len(dl)
	}
	return rounds, converged, dead, len(want), nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// parallel runs fn(0..n-1) on at most workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func runMixed(ctx context.Context, cfg config, logf func(string, ...any)) (*mixedResult, error) {
	f, err := newFleet(cfg, "mixed")
	if err != nil {
		return nil, err
	}
	defer f.close()
	if err := f.addDevices(cfg.devices, 100); err != nil {
		return nil, err
	}
	runCtx, stopDevices := context.WithCancel(ctx)
	defer stopDevices()
	for _, d := range f.devices {
		d.connect(runCtx, f.st, nil)
	}
	var writes atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(cfg.duration)
	for i, d := range f.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(cfg.seed, uint64(i)))
			for n := 0; time.Now().Before(deadline) && runCtx.Err() == nil; n++ {
				pause := time.Duration(20+rng.IntN(180)) * time.Millisecond
				select {
				case <-runCtx.Done():
					return
				case <-d.wake: // a notice: pull what it announced
					_, _ = d.pull(runCtx)
					continue
				case <-time.After(pause):
				}
				switch r := rng.IntN(100); {
				case r < 60:
					key := fmt.Sprintf("p-%s-%d", d.name, rng.IntN(20))
					if rng.IntN(2) == 0 {
						key = fmt.Sprintf("s%d", rng.IntN(cfg.sharedKeys))
					}
					if d.write(rng, key, n) == nil {
						writes.Add(1)
					}
					_, _ = d.sync(runCtx) // offline or a killed server: the outbox keeps it
				case r < 65:
					// Offline for a while: no stream, every request fails; local writes go on.
					d.tr.offline.Store(true)
					d.disconnect()
					off := time.Now().Add(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
					for time.Now().Before(off) && runCtx.Err() == nil {
						key := fmt.Sprintf("p-%s-%d", d.name, rng.IntN(20))
						if d.write(rng, key, n) == nil {
							writes.Add(1)
						}
						time.Sleep(time.Duration(50+rng.IntN(200)) * time.Millisecond)
					}
					d.tr.offline.Store(false)
					d.connect(runCtx, f.st, nil)
					_, _ = d.sync(runCtx)
				default:
					_, _ = d.sync(runCtx)
				}
			}
		}()
	}
	killed := false
	if cfg.kill {
		select {
		case <-time.After(cfg.duration / 2):
		case <-ctx.Done():
		}
		logf("mixed: SIGKILL the server, restart it on the same database")
		f.srv.kill()
		time.Sleep(300 * time.Millisecond)
		if err := f.srv.start(); err != nil {
			return nil, err
		}
		killed = true
	}
	wg.Wait()
	secs := cfg.duration.Seconds()
	r := &mixedResult{Devices: cfg.devices, Seconds: secs, Killed: killed,
		Pushes: f.st.pushes.Load(), Pulls: f.st.pulls.Load(), PushErrs: f.st.pushErrs.Load(), PullErrs: f.st.pullErrs.Load(),
		Notices: f.st.notices.Load(), Writes: writes.Load()}
	stopDevices()
	for _, d := range f.devices {
		d.disconnect()
	}
	logf("mixed: settling")
	r.SettleRounds, r.Converged, r.DeadLetters, r.ServerRows, err = f.settle(ctx)
	if err != nil {
		return r, err
	}
	f.st.mu.Lock()
	for _, n := range f.st.applied {
		if n > 1 {
			r.AppliedTwice++
		}
	}
	r.OpsApplied = len(f.st.applied)
	f.st.mu.Unlock()
	return r, nil
}

// probe is the commit whose notice the fan-out phase is timing.
type probe struct {
	mu        sync.Mutex
	id        int
	base      int64 // the cursor before it: a notice past it announces the probe
	t0        time.Time
	quiet     []time.Duration // notices while devices do not pull
	noticed   []time.Duration // notices while devices pull on them
	pulled    []time.Duration
	gotNotice map[*device]int // device → last probe id it noticed
	gotPull   map[*device]int
	done      chan struct{}
	want      int
	pulling   bool // devices pull on notices; else a notice completes the device
}

func (p *probe) notice(d *device, cursor int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == 0 || cursor <= p.base || p.gotNotice[d] == p.id {
		return
	}
	p.gotNotice[d] = p.id
	if p.pulling {
		p.noticed = append(p.noticed, time.Since(p.t0))
		return
	}
	p.quiet = append(p.quiet, time.Since(p.t0))
	p.want--
	if p.want == 0 {
		close(p.done)
	}
}

func (p *probe) pulledTo(d *device, cursor int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == 0 || !p.pulling || cursor <= p.base || p.gotPull[d] == p.id {
		return
	}
	p.gotPull[d] = p.id
	p.pulled = append(p.pulled, time.Since(p.t0))
	p.want--
	if p.want == 0 {
		close(p.done)
	}
}

func runFanout(ctx context.Context, cfg config, logf func(string, ...any)) (*fanoutResult, error) {
	f, err := newFleet(cfg, "fanout")
	if err != nil {
		return nil, err
	}
	defer f.close()
	writer, err := newDevice("writer", f.url, f.token("writer"), f.hc, f.st, 100)
	if err != nil {
		return nil, err
	}
	defer writer.close()
	rng := mrand.New(mrand.NewPCG(cfg.seed, 1))
	// Warm the server (tables, pool, first requests) before measuring it.
	for i := range 20 {
		if err := writer.write(rng, fmt.Sprintf("warm%d", i), i); err != nil {
			return nil, err
		}
		if _, err := writer.sync(ctx); err != nil {
			return nil, err
		}
	}
	time.Sleep(500 * time.Millisecond)
	native := cfg.worker == ""
	var rssBefore int64
	if native {
		if rssBefore, err = f.srv.rss(); err != nil {
			return nil, err
		}
	}
	if err := f.addDevices(cfg.fanout, 100); err != nil {
		return nil, err
	}
	p := &probe{gotNotice: map[*device]int{}, gotPull: map[*device]int{}}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan struct{}, len(f.devices))
	t0 := time.Now()
	for i, d := range f.devices {
		d.onEvent = p.notice
		d.connect(runCtx, f.st, ready)
		if i%100 == 99 {
			time.Sleep(20 * time.Millisecond) // a burst of 2,000 dials would only test the accept backlog
		}
	}
	// Opening a stream on the Worker starts a Go instance to check its token.
	openWait := 60*time.Second + time.Duration(len(f.devices))*300*time.Millisecond
	for i := range f.devices {
		select {
		case <-ready:
		case <-time.After(openWait):
			return nil, fmt.Errorf("only %d of %d event streams opened within %s", i, len(f.devices), openWait)
		}
	}
	connectSecs := time.Since(t0).Seconds()
	// Idle: every stream has had its first notice and nobody pulls.
	time.Sleep(min(cfg.quiet, time.Second))
	r := &fanoutResult{Devices: cfg.fanout, ConnectSeconds: connectSecs, Worker: !native}
	var q0 int64
	if !native {
		if q0, err = f.srv.queries(); err != nil {
			return nil, err
		}
	}
	time.Sleep(cfg.quiet)
	if native {
		rssAfter, err := f.srv.rss()
		if err != nil {
			return nil, err
		}
		r.RSSBefore, r.RSSAfter, r.BytesPerIdleDevice = rssBefore, rssAfter, float64(rssAfter-rssBefore)/float64(cfg.fanout)
		logf("fan-out: %d streams open in %.1f s; server RSS %d → %d MB", cfg.fanout, connectSecs, rssBefore>>20, rssAfter>>20)
	} else {
		q1, err := f.srv.queries()
		if err != nil {
			return nil, err
		}
		r.IdleQueriesPerSec = float64(q1-q0) / cfg.quiet.Seconds()
		logf("fan-out: %d streams open in %.1f s; %d D1 statements while idle", cfg.fanout, connectSecs, q1-q0)
	}
	cursor, err := writer.cl.Replica.Cursor()
	if err != nil {
		return nil, err
	}
	probeNo := 0
	// commit pushes one new row from the writer and waits until every device
	// has the notice (devices not pulling) or the change (pulling).
	commit := func(pulling bool) error {
		probeNo++
		if err := writer.upsert(fmt.Sprintf("probe%d", probeNo), probeNo); err != nil {
			return err
		}
		p.mu.Lock()
		p.id, p.base, p.t0, p.want, p.done, p.pulling = probeNo, cursor, time.Now(), len(f.devices), make(chan struct{}), pulling
		p.mu.Unlock()
		// The push is the commit: the clock starts before it is sent, so the
		// push's own time counts against the notice.
		if err := writer.pushAll(ctx); err != nil {
			return err
		}
		cursor++ // the writer's one change; nobody else writes in this phase
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
		p.mu.Lock()
		r.Missed += len(f.devices) - countID(p.gotNotice, probeNo)
		p.id = 0
		p.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
		return nil
	}
	qStart, _ := f.srv.queries()
	for range cfg.probes {
		if err := commit(false); err != nil {
			return nil, err
		}
	}
	if !native {
		qEnd, err := f.srv.queries()
		if err != nil {
			return nil, err
		}
		r.QueriesPerNotice = float64(qEnd-qStart) / float64(max(cfg.probes, 1))
	}
	// Now every device pulls when notified, as the client does: first the
	// backlog of the commits above, then each commit as it comes.
	var wg sync.WaitGroup
	for _, d := range f.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-d.wake:
				}
				if _, err := d.pull(runCtx); err == nil {
					if c, err := d.cl.Replica.Cursor(); err == nil {
						p.pulledTo(d, c)
					}
				}
			}
		}()
	}
	for _, d := range f.devices {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	time.Sleep(cfg.quiet)
	for range cfg.pullProbes {
		if err := commit(true); err != nil {
			return nil, err
		}
	}
	stop()
	wg.Wait()
	r.Probes, r.PullProbes = cfg.probes, cfg.pullProbes
	r.QuietP50, r.QuietP99, r.QuietMax = pct(p.quiet, 50), pct(p.quiet, 99), pct(p.quiet, 100)
	r.NoticeP50, r.NoticeP99, r.NoticeMax = pct(p.noticed, 50), pct(p.noticed, 99), pct(p.noticed, 100)
	r.PulledP50, r.PulledP99 = pct(p.pulled, 50), pct(p.pulled, 99)
	for _, d := range f.devices {
		d.disconnect()
	}
	_, r.Converged, _, _, err = f.settle(ctx)
	return r, err
}

func countID(m map[*device]int, id int) int {
	n := 0
	for _, v := range m {
		if v == id {
			n++
		}
	}
	return n
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func runThroughput(ctx context.Context, cfg config, logf func(string, ...any)) (*throughputResult, error) {
	f, err := newFleet(cfg, "throughput")
	if err != nil {
		return nil, err
	}
	defer f.close()
	if err := f.addDevices(cfg.pushers, 1000); err != nil {
		return nil, err
	}
	queue := func(round string) error {
		for _, d := range f.devices {
			for i := range cfg.perPusher {
				if err := d.upsert(fmt.Sprintf("t-%s-%s-%d", round, d.name, i), i); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// timed runs send on every device at once and returns the wall and
	// server CPU seconds it took.
	timed := func(send func(d *device) error) (float64, float64, error) {
		var firstErr error
		var mu sync.Mutex
		cpu0, err := f.srv.cpu()
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		parallel(len(f.devices), len(f.devices), func(i int) {
			if err := send(f.devices[i]); err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
			}
		})
		secs := time.Since(t0).Seconds()
		cpu1, err := f.srv.cpu()
		return secs, (cpu1 - cpu0).Seconds(), errors.Join(firstErr, err)
	}
	n := cfg.pushers * cfg.perPusher
	res := &throughputResult{Pushers: cfg.pushers, Changes: n}

	// The server's throughput: the devices read their outboxes into push
	// requests and encode them before the clock starts, and decode and
	// acknowledge the answers after it stops, so their engines' and JSON
	// CPU is not counted against the server's.
	if err := queue("a"); err != nil {
		return nil, err
	}
	// Encoded too: what the clock measures is the server taking pushes.
	bodies := make(map[*device][][]byte)
	for _, d := range f.devices {
		reqs, err := d.preparePushes(1000)
		if err != nil {
			return nil, err
		}
		for _, rq := range reqs {
			body, err := replica.EncodePushRequest(rq)
			if err != nil {
				return nil, err
			}
			bodies[d] = append(bodies[d], body)
		}
	}
	logf("throughput: %d changes queued; pushing", n)
	answers := make(map[*device][][]byte)
	var ansMu sync.Mutex
	res.Seconds, res.ServerCPU, err = timed(func(d *device) error {
		var got [][]byte
		for _, body := range bodies[d] {
			data, err := d.postEncoded(ctx, body)
			if err != nil {
				return err
			}
			got = append(got, data)
		}
		ansMu.Lock()
		answers[d] = got
		ansMu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range f.devices {
		var resps []replica.PushResponse
		for _, data := range answers[d] {
			r, err := replica.DecodePushResponse(data)
			if err != nil {
				return nil, err
			}
			d.tr.record(r)
			resps = append(resps, r)
		}
		if err := d.ack(resps); err != nil {
			return nil, err
		}
		if p, err := d.pending(); err != nil || p != 0 {
			return nil, fmt.Errorf("%s: %d changes still pending after the push (%v)", d.name, p, err)
		}
	}
	res.ChangesPerSec = float64(n) / res.Seconds
	res.Pushes = f.st.pushes.Load()

	// End to end: the same again with every step of the client inside the clock.
	if err := queue("b"); err != nil {
		return nil, err
	}
	logf("throughput: %d changes queued; pushing end to end", n)
	res.E2ESeconds, res.E2EServerCPU, err = timed(func(d *device) error { return d.pushAll(ctx) })
	if err != nil {
		return nil, err
	}
	res.E2EChangesPerSec = float64(n) / res.E2ESeconds
	rows, _, err := serverRows(ctx, f.checker())
	if err != nil {
		return nil, err
	}
	res.ServerRows = len(rows)
	res.Changes = 2 * n
	return res, nil
}
