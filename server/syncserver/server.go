// Package syncserver is the minibase sync server: one http.Handler that
// implements the sync protocol (server/PROTOCOL.md) over any database/sql
// store with SQLite's dialect — embedded SQLite natively, Cloudflare D1 on
// Workers.
//
// It keeps no state outside the database except the in-process notifier
// that wakes event streams and long-polls, so on hosts that start a fresh
// instance per request (Workers) it degrades to polling the database
// (Config.PollInterval).
package syncserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"minibase/engine/replica/wire"
)

// ProtocolVersion is the protocol this server speaks (the /v1/ paths).
const ProtocolVersion = 1

// Defaults for zero Config fields.
const (
	DefaultRetention = 30 * 24 * time.Hour
	DefaultMaxBody   = 4 << 20
	DefaultMaxBatch  = 1000
	DefaultKeepAlive = 15 * time.Second
	// DefaultMaxClockAhead bounds how far past the server's clock a pushed
	// change may be stamped: more than ordinary clock drift, far less than
	// what would push clients' clocks to the end of their range.
	DefaultMaxClockAhead = 5 * time.Minute
	// DefaultMaxStreams and DefaultMaxTenantStreams cap the event streams
	// and long-polls open at once, in all and per tenant; each holds a
	// connection and a goroutine for as long as the client likes.
	DefaultMaxStreams       = 1000
	DefaultMaxTenantStreams = 32
	// streamRetryAfter is the Retry-After of a refused stream, in seconds.
	streamRetryAfter = 5
	// streamWriteGrace bounds one write to a stream: a client that has not
	// taken a notice in that long has stopped reading.
	streamWriteGrace = 10 * time.Second
	defaultPullLimit = 500
	maxPullLimit     = 1000
	maxWait          = 30 * time.Second
	maxPullTables    = 64
)

// WaitHeader carries, with Config.WaitElsewhere, "<wait ms> <tenant cursor>
// <tenant, URL path-escaped>" on a long-poll's empty answer.
const WaitHeader = "X-Minibase-Wait"

// Config configures a Server. Only DB and Secret are required.
type Config struct {
	// DB is the store; its tables (mb_sync_*) are created by New.
	DB *sql.DB
	// Dialect is "sqlite" (default) or "d1". The SQL is the same; D1's Go
	// driver has no transactions, so there a push is stored chunk by chunk,
	// one statement each (still validated as a whole first, still at most
	// once per op), and SQLite's in-process write lock is not taken.
	Dialect string
	// Secret is the HMAC key of bearer tokens (SignToken), at least
	// MinSecretLen bytes.
	Secret []byte
	// Schema lists the synced tables; nil accepts any valid table name with
	// key column "id" and any columns.
	Schema *Schema
	// Retention is how long tombstones and op ids are kept; default 30 days.
	Retention time.Duration
	// MaxBody caps a request body in bytes; default 4 MB.
	MaxBody int64
	// MaxBatch caps the changes of one push; default 1000.
	MaxBatch int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// MaxClockAhead is how far past Now a pushed change's clock may be;
	// a later one is refused (422 CLOCK_AHEAD) so that one device with a
	// wrong clock cannot drag every other replica's clock with it. Default
	// DefaultMaxClockAhead; negative: no bound.
	MaxClockAhead time.Duration
	// MaxStreams and MaxTenantStreams cap the event streams and long-polls
	// open at once, in all and per tenant (503 and 429 with Retry-After
	// beyond them). Defaults DefaultMaxStreams and DefaultMaxTenantStreams.
	MaxStreams, MaxTenantStreams int

	// KeepAlive is the interval of comment lines on event streams; default 15 s.
	KeepAlive time.Duration
	// PollInterval, when positive, makes event streams and long-polls also
	// re-read the database at this interval. Needed where pushes may land in
	// another process or instance (Workers: every request is a fresh instance);
	// zero relies on the in-process notifier alone.
	PollInterval time.Duration
	// StreamLimit, when positive, ends an event stream after this long (the
	// client reconnects on its own). Bounds streams on hosts that may not
	// notice a client leaving; zero: no limit.
	StreamLimit time.Duration
	// AllowOrigin is the Access-Control-Allow-Origin answer for browser
	// clients; default "*" (tokens travel in a header, never in cookies).
	// "-" disables CORS headers.
	AllowOrigin string
	// MinSchemaVersion, when positive, refuses pushes from clients whose
	// schema version (the push's "schemaVersion"; absent is 0) is older:
	// 422 SCHEMA_TOO_OLD, so rows of an old shape are not stored.
	MinSchemaVersion uint64
	// ErrorLog receives internal errors (5xx); nil discards them.
	ErrorLog *log.Logger
	// Notify, when set, is told once after every push that stored something,
	// with the tenant's new cursor: where event streams are held outside this
	// process (a Durable Object per tenant on Workers), it tells them.
	Notify func(ctx context.Context, tenant string, cursor int64)
	// TicketPath, when set, is a GET path answering {"tenant", "cursor"} for
	// the request's token: a host that holds event streams outside this
	// handler (the Worker's entry.mjs) asks it before opening one.
	TicketPath string
	// WaitElsewhere makes a long-poll that finds nothing answer at once,
	// empty, with a WaitHeader saying for how long it may wait, the
	// tenant's cursor and the tenant: the host waits for the tenant's next
	// notice itself (the Worker's entry.mjs, on the tenant's Durable Object)
	// and asks again, so no instance is held and no database polled while a
	// long-poll waits. The host must strip the header before answering.
	WaitElsewhere bool
	// Batch, when set with the "d1" dialect, runs a push's writes as one
	// transaction (D1's batch), so a push is all-or-nothing there as it is
	// on SQLite; without it a push spanning chunks is stored chunk by chunk.
	Batch BatchFunc
}

// Statement is one SQL statement of a Batch.
type Statement struct {
	Query string
	Args  []any
}

// BatchFunc runs statements in order as one transaction: either every one
// of them takes effect or none does. It returns, per statement, the rows it
// produced, each row's values in the statement's column order (integers may
// come back as float64, as JavaScript numbers do).
type BatchFunc func(ctx context.Context, stmts []Statement) ([][][]any, error)

// Server is the sync protocol handler. It is safe for concurrent use.
type Server struct {
	cfg     Config
	d1      bool
	writeMu sync.Mutex // serialises SQLite write transactions in this process
	// writeConn, under writeMu, is the connection SQLite writes go through
	// when the pool has more than one: SQLite drops a connection's page
	// cache whenever another connection has written since its last
	// transaction, so writes spread over the pool would each start cold
	// and read their b-tree pages from the file again.
	writeConn *sql.Conn
	full      *sql.Stmt // upsertValues(maxValuesRows), prepared once (under writeMu)
	group     groupCommitter
	hub       *hub
	mux       *http.ServeMux

	closeOnce sync.Once
	closed    chan struct{}
}

// New checks cfg, fills defaults and creates the store's tables (idempotent).
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("syncserver: Config.DB is nil")
	}
	if len(cfg.Secret) == 0 {
		return nil, errors.New("syncserver: Config.Secret is empty")
	}
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("syncserver: Config.Secret is %d bytes; use at least %d random bytes (openssl rand -hex 32)", len(cfg.Secret), MinSecretLen)
	}
	switch cfg.Dialect {
	case "":
		cfg.Dialect = "sqlite"
	case "sqlite", "d1":
	default:
		return nil, fmt.Errorf("syncserver: unknown dialect %q", cfg.Dialect)
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxClockAhead == 0 {
		cfg.MaxClockAhead = DefaultMaxClockAhead
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxTenantStreams <= 0 {
		cfg.MaxTenantStreams = DefaultMaxTenantStreams
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.AllowOrigin == "" {
		cfg.AllowOrigin = "*"
	}
	if err := migrate(context.Background(), cfg.DB); err != nil {
		return nil, err
	}
	closed := make(chan struct{})
	s := &Server{cfg: cfg, d1: cfg.Dialect == "d1", hub: newHub(cfg.MaxStreams, cfg.MaxTenantStreams, cfg.KeepAlive, closed), closed: closed}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/v1/health", s.route(http.MethodGet, false, s.handleHealth))
	s.mux.HandleFunc("/v1/push", s.route(http.MethodPost, true, s.handlePush))
	s.mux.HandleFunc("/v1/pull", s.route(http.MethodGet, true, s.handlePull))
	s.mux.HandleFunc("/v1/events", s.route(http.MethodGet, true, s.handleEvents))
	if cfg.TicketPath != "" {
		s.mux.HandleFunc(cfg.TicketPath, s.route(http.MethodGet, true, s.handleTicket))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errf(http.StatusNotFound, CodeNotFound, "no such endpoint: "+r.URL.Path))
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AllowOrigin != "-" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", s.cfg.AllowOrigin)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Max-Age", "86400")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends event streams and pending long-polls and gives back the
// connection writes held. It does not close DB.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		if s.writeConn != nil {
			s.writeConn.Close()
			s.writeConn = nil
		}
		if s.full != nil {
			s.full.Close()
			s.full = nil
		}
	})
	return nil
}

// Purge applies retention: op ids and tombstones older than Retention are
// deleted, and each affected tenant's horizon advances, so a client whose
// cursor is older gets 410 RESYNC_REQUIRED. Call it periodically.
func (s *Server) Purge(ctx context.Context) error {
	cutoff := s.cfg.Now().Add(-s.cfg.Retention).UnixMilli()
	if s.d1 {
		return purge(ctx, s.cfg.DB, cutoff)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("syncserver: purge: %w", err)
	}
	defer tx.Rollback()
	if err := purge(ctx, tx, cutoff); err != nil {
		return fmt.Errorf("syncserver: purge: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("syncserver: purge: %w", err)
	}
	return nil
}

// handleTicket answers Config.TicketPath: the token's tenant and the
// tenant's cursor, what a host that holds event streams elsewhere (the
// Worker's Durable Object) needs to open one.
func (s *Server) handleTicket(w http.ResponseWriter, r *http.Request, id identity) error {
	cursor, _, err := cursorOf(r.Context(), s.cfg.DB, id.Tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant": id.Tenant, "cursor": cursor})
	return nil
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, id identity) error

// route checks method and token before the handler runs and turns a
// returned error into the protocol's error body.
func (s *Server) route(method string, auth bool, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, errf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use "+method))
			return
		}
		var id identity
		if auth {
			var err error
			if id, err = s.authenticate(r); err != nil {
				writeError(w, err)
				return
			}
		}
		if err := h(w, r, id); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) && s.cfg.ErrorLog != nil {
				s.cfg.ErrorLog.Printf("syncserver: %s %s: %v", r.Method, r.URL.Path, err)
			}
			writeError(w, err)
		}
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ identity) error {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "protocol": ProtocolVersion})
	return nil
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := errf(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxBody))
	if r.ContentLength > s.cfg.MaxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The host's read deadline cut off a body sent too slowly.
			return nil, errf(http.StatusRequestTimeout, CodeTimeout, "the body did not arrive in time")
		}
		return nil, errf(http.StatusBadRequest, CodeBadRequest, "reading body: "+err.Error())
	}
	return body, nil
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request, id identity) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	lim := pushLimits{maxBatch: s.cfg.MaxBatch}
	if s.cfg.MaxClockAhead > 0 {
		lim.maxAhead = s.cfg.MaxClockAhead
		lim.maxHLC = maxHLC(s.cfg.Now().Add(s.cfg.MaxClockAhead))
	}
	if err := checkSchemaVersion(body, s.cfg.MinSchemaVersion); err != nil {
		return err
	}
	changes, err := decodePush(body, s.cfg.Schema, lim)
	if err != nil {
		return err
	}
	results, cursor, applied, err := s.push(r.Context(), id.Tenant, changes)
	if err != nil {
		return err
	}
	if applied {
		s.hub.notify(id.Tenant, cursor)
		if s.cfg.Notify != nil {
			s.cfg.Notify(r.Context(), id.Tenant, cursor)
		}
	}
	writeJSON(w, http.StatusOK, wire.PushResponse{Results: results, Cursor: cursor})
	return nil
}

// push stores validated changes: in one transaction on SQLite (shared with
// the pushes waiting at the same time, see commitGroup), one batch (one
// transaction) on D1 with Config.Batch, else one statement per chunk.
func (s *Server) push(ctx context.Context, tenant string, changes []change) ([]wire.PushResult, int64, bool, error) {
	if s.d1 {
		return s.pushIn(ctx, s.cfg.DB, nil, s.cfg.Batch, tenant, changes)
	}
	j := &pushJob{tenant: tenant, changes: changes, wake: make(chan struct{}, 1)}
	s.group.do(j, s.commitGroup)
	return j.results, j.cursor, j.applied, j.err
}

// pushIn stores one push's changes with q (and tx or batch, as applyChanges
// takes them) and reads the cursor after them.
func (s *Server) pushIn(ctx context.Context, q querier, tx *writeTx, batch BatchFunc, tenant string, changes []change) ([]wire.PushResult, int64, bool, error) {
	res, applied, cursor, err := applyChanges(ctx, q, tx, batch, tenant, changes, s.cfg.Now().UnixMilli())
	if err != nil {
		return nil, 0, false, fmt.Errorf("push: %w", err)
	}
	if cursor < 0 {
		if cursor, _, err = cursorOf(ctx, q, tenant); err != nil {
			return nil, 0, false, err
		}
	}
	return res, cursor, applied, nil
}

// commitGroup stores the pushes of jobs in one SQLite transaction, each
// as if alone, and answers each of them only after the commit: a commit's
// fixed cost (with synchronous=FULL, a sync of the log to disk) is paid
// once for every push that waited for the one before. If one push fails,
// the transaction is rolled back and each push runs in a transaction of
// its own, so one push's error is never another's.
func (s *Server) commitGroup(jobs []*pushJob) {
	// The pushes' own contexts are not the transaction's: a client leaving
	// must not fail the pushes of the others it was grouped with. Each
	// push is bounded (MaxBatch), so the transaction is too.
	ctx := context.Background()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	run := func(jobs []*pushJob) error {
		full := s.fullUpsert() // before the transaction: a pool of one has no second connection
		tx, err := s.beginWrite(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		w := &writeTx{Tx: tx, full: full}
		for _, j := range jobs {
			if j.results, j.cursor, j.applied, j.err = s.pushIn(ctx, tx, w, nil, j.tenant, j.changes); j.err != nil {
				return j.err
			}
		}
		return tx.Commit()
	}
	err := run(jobs)
	if err != nil && len(jobs) > 1 {
		for _, j := range jobs {
			j.err = run([]*pushJob{j})
		}
		return
	}
	for _, j := range jobs {
		j.err = err
	}
}

// beginWrite begins a write transaction on the write connection (writeMu
// held). A connection that fails to begin is given back and the next
// write takes a fresh one.
func (s *Server) beginWrite(ctx context.Context) (*sql.Tx, error) {
	if s.cfg.DB.Stats().MaxOpenConnections == 1 {
		// Holding the only connection would leave none for reads.
		return s.cfg.DB.BeginTx(ctx, nil)
	}
	if s.writeConn == nil {
		c, err := s.cfg.DB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		// The writer's cache holds the b-tree pages every push walks (the
		// default is 2 MB); readers keep the default.
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", writeCacheKB)); err != nil {
			c.Close()
			return nil, err
		}
		s.writeConn = c
	}
	tx, err := s.writeConn.BeginTx(ctx, nil)
	if err != nil {
		s.writeConn.Close()
		s.writeConn = nil
	}
	return tx, err
}

// fullUpsert is the prepared upsertValues(maxValuesRows), or nil when it
// cannot be prepared (the statement is then parsed per push).
func (s *Server) fullUpsert() *sql.Stmt {
	if s.full == nil {
		st, err := s.cfg.DB.Prepare(upsertValues(maxValuesRows))
		if err != nil {
			return nil
		}
		s.full = st
	}
	return s.full
}

// writeCacheKB is the page cache of the write connection, in KiB.
const writeCacheKB = 64 << 10

// pushJob is one push waiting for its group's commit.
type pushJob struct {
	tenant  string
	changes []change
	wake    chan struct{} // done, or this job leads the next group

	done    bool
	results []wire.PushResult
	cursor  int64
	applied bool
	err     error
}

// maxGroupChanges bounds the changes of one group commit, so that the
// pushes that arrive while a group runs wait for at most one more.
const maxGroupChanges = 4 * DefaultMaxBatch

// groupCommitter queues pushes and has one of the waiting requests at a
// time commit every push queued so far in one transaction (group commit):
// no goroutine of its own, so nothing outlives a Server.
type groupCommitter struct {
	mu      sync.Mutex
	pending []*pushJob
	busy    bool // a leader is committing; queued jobs wait for it
}

// do returns once j has been committed (or has failed). The caller that
// finds nobody committing leads: it commits groups until its own job is
// done, then hands the lead to the first job still waiting.
func (g *groupCommitter) do(j *pushJob, commit func([]*pushJob)) {
	g.mu.Lock()
	g.pending = append(g.pending, j)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !lead {
		<-j.wake
		if j.done {
			return
		}
	}
	for !j.done {
		g.mu.Lock()
		n, size := 0, 0
		for n < len(g.pending) && (n == 0 || size+len(g.pending[n].changes) <= maxGroupChanges) {
			size += len(g.pending[n].changes)
			n++
		}
		group := slices.Clone(g.pending[:n])
		g.pending = slices.Delete(g.pending, 0, n)
		g.mu.Unlock()
		commit(group)
		for _, o := range group {
			o.done = true
			if o != j {
				o.wake <- struct{}{}
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.busy = false
		return
	}
	g.pending[0].wake <- struct{}{} // not done: it leads
}

func parsePullQuery(r *http.Request) (since int64, limit int, tables []string, wait time.Duration, err error) {
	q := r.URL.Query()
	limit = defaultPullLimit
	if v := q.Get("since"); v != "" {
		since, err = strconv.ParseInt(v, 10, 64)
		if err != nil || since < 0 {
			return 0, 0, nil, 0, errf(http.StatusBadRequest, CodeBadRequest, "since must be a non-negative integer")
		}
	}
	if v := q.Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 {
			return 0, 0, nil, 0, errf(http.StatusBadRequest, CodeBadRequest, "limit must be a positive integer")
		}
		limit = min(limit, maxPullLimit)
	}
	if v := q.Get("tables"); v != "" {
		for _, t := range strings.Split(v, ",") {
			if !nameRE.MatchString(t) {
				return 0, 0, nil, 0, errf(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("bad table name %q", t))
			}
			tables = append(tables, t)
		}
		if len(tables) > maxPullTables {
			return 0, 0, nil, 0, errf(http.StatusBadRequest, CodeBadRequest, "too many tables")
		}
	}
	if v := q.Get("wait"); v != "" {
		secs, perr := strconv.ParseFloat(v, 64)
		if perr != nil || secs < 0 || secs != secs {
			return 0, 0, nil, 0, errf(http.StatusBadRequest, CodeBadRequest, "wait must be a number of seconds")
		}
		wait = min(time.Duration(secs*float64(time.Second)), maxWait)
	}
	return since, limit, tables, wait, nil
}

func (s *Server) handlePull(w http.ResponseWriter, r *http.Request, id identity) error {
	since, limit, tables, wait, err := parsePullQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if wait > 0 && s.cfg.WaitElsewhere {
		// The host waits for a notice past the tenant's cursor, so it is read
		// before the rows: a push landing after it is past it, one before it
		// is in the rows. (since would not do: rows of other tables, or
		// purged ones, leave the cursor past it with nothing to pull.)
		after, _, err := cursorOf(ctx, s.cfg.DB, id.Tenant)
		if err != nil {
			return err
		}
		resp, err := s.pullOnce(ctx, id.Tenant, since, limit, tables)
		if err != nil {
			return err
		}
		if len(resp.Changes) == 0 {
			w.Header().Set(WaitHeader, fmt.Sprintf("%d %d %s", wait.Milliseconds(), after, url.PathEscape(id.Tenant)))
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	var sub *subscription
	if wait > 0 {
		// Subscribe before the first read so a push landing in between is not missed.
		if sub, err = s.hub.subscribe(id.Tenant); err != nil {
			return err
		}
		defer s.hub.unsubscribe(sub)
		holdOpen(w, wait)
	}
	resp, err := s.pullOnce(ctx, id.Tenant, since, limit, tables)
	if err != nil {
		return err
	}
	if wait > 0 && len(resp.Changes) == 0 {
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		var poll <-chan time.Time
		if s.cfg.PollInterval > 0 {
			t := time.NewTicker(s.cfg.PollInterval)
			defer t.Stop()
			poll = t.C
		}
	waitLoop:
		for len(resp.Changes) == 0 {
			select {
			case <-sub.ch:
			case <-poll:
			case <-deadline.C:
				break waitLoop
			case <-ctx.Done():
				return nil // the client left; nobody reads an answer
			case <-s.closed:
				break waitLoop
			}
			if resp, err = s.pullOnce(ctx, id.Tenant, since, limit, tables); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// maxHLC is the greatest clock reading accepted at t: its millisecond with
// the counter spent.
func maxHLC(t time.Time) string {
	return fmt.Sprintf("%015d-%05d", max(t.UnixMilli(), 0), 99999)
}

// holdOpen prepares a request that waits on purpose (a long-poll, an event
// stream) for the host's timeouts: its answer gets a write deadline of its
// own, d past the wait, since the http.Server's WriteTimeout (there to drop
// clients that stop reading) counts from the request and would cut it
// short; zero leaves the write side to the caller. It also lifts the read
// deadline (ReadTimeout, there for trickled bodies): such a request has no
// body left to read. net/http resets both after the request, and hosts
// without deadlines (Workers) ignore them.
func holdOpen(w http.ResponseWriter, d time.Duration) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	if d > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(d + streamWriteGrace))
	}
}

// pullOnce reads the feed, then the horizon: if a purge ran in between, the
// horizon read afterwards reflects it and the client is sent to resync, so
// no transaction is needed for a consistent answer (D1 has none).
func (s *Server) pullOnce(ctx context.Context, tenant string, since int64, limit int, tables []string) (*wire.PullResponse, error) {
	rows, err := pullRows(ctx, s.cfg.DB, tenant, since, tables, limit)
	if err != nil {
		return nil, err
	}
	cursor, horizon, err := cursorOf(ctx, s.cfg.DB, tenant)
	if err != nil {
		return nil, err
	}
	if since > 0 && (since < horizon || since > cursor) {
		// Older than the horizon: tombstones it has not seen are gone. Newer
		// than the cursor: the server lost data (restored backup) or the client
		// talks to another server. Either way only a full pull is right.
		h := horizon
		return nil, &apiError{Status: http.StatusGone, Code: CodeResyncRequired,
			Message: "cursor outside the retained history; pull again from since=0", Cursor: &h}
	}
	resp := &wire.PullResponse{Changes: rows, Cursor: since}
	if len(rows) > limit {
		resp.Changes, resp.More = rows[:limit], true
	}
	if resp.Changes == nil {
		resp.Changes = []wire.Change{}
	}
	if n := len(resp.Changes); n > 0 {
		resp.Cursor = resp.Changes[n-1].Seq
	}
	return resp, nil
}
