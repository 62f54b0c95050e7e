package syncserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// hub wakes waiters of a tenant after a push commits. It is in-process only:
// across processes or Worker instances, waiters poll (Config.PollInterval).
// It also caps how many waiters there are, in all and per tenant, since
// each one holds a connection for as long as its client likes.
//
// Event streams on HTTP/1 connections are taken over from net/http
// (hijacked) and written by the hub's one fan-out goroutine: an idle stream
// then costs a socket and one small goroutine blocked reading it (to see the
// client leave), not a handler goroutine with net/http's buffers and a
// database query per notice. Thousands of devices of a tenant stay connected
// cheaply, and a commit reaches them all in one pass.
type hub struct {
	mu                  sync.Mutex
	subs                map[string]map[*subscription]struct{}
	total               int
	maxTotal, maxTenant int

	cursors   map[string]int64    // latest cursor notified per tenant
	dirty     map[string]struct{} // tenants whose attached streams are behind
	kick      chan struct{}       // wakes the fan-out loop
	keepAlive time.Duration
	closed    <-chan struct{}
	loopOnce  sync.Once
}

type subscription struct {
	tenant string
	// ch holds at most one pending wake-up: notices coalesce, and the waiter
	// reads the current cursor itself, so none is lost by dropping extras.
	ch chan struct{}
	// conn is set for a stream attached to the fan-out loop, which alone
	// writes to it after attach; sent is the cursor it last announced.
	conn net.Conn
	sent int64
}

func newHub(maxTotal, maxTenant int, keepAlive time.Duration, closed <-chan struct{}) *hub {
	return &hub{subs: make(map[string]map[*subscription]struct{}), maxTotal: maxTotal, maxTenant: maxTenant,
		cursors: make(map[string]int64), dirty: make(map[string]struct{}), kick: make(chan struct{}, 1),
		keepAlive: keepAlive, closed: closed}
}

// subscribe registers a waiter, or refuses it when a cap is reached: 429
// when the tenant holds its share (its own clients can close some), 503
// when the server is full.
func (h *hub) subscribe(tenant string) (*subscription, error) {
	sub := &subscription{tenant: tenant, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[tenant]
	if len(m) >= h.maxTenant {
		return nil, &apiError{Status: http.StatusTooManyRequests, Code: CodeTooManyStreams, RetryAfter: streamRetryAfter,
			Message: fmt.Sprintf("this tenant already holds %d event streams and long-polls", h.maxTenant)}
	}
	if h.total >= h.maxTotal {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: streamRetryAfter,
			Message: "the server holds as many event streams and long-polls as it may"}
	}
	if m == nil {
		m = make(map[*subscription]struct{})
		h.subs[tenant] = m
	}
	m[sub] = struct{}{}
	h.total++
	return sub, nil
}

func (h *hub) unsubscribe(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[sub.tenant]; m != nil {
		if _, ok := m[sub]; ok {
			delete(m, sub)
			h.total--
		}
		if len(m) == 0 {
			delete(h.subs, sub.tenant)
			delete(h.cursors, sub.tenant)
			delete(h.dirty, sub.tenant)
		}
	}
}

func (h *hub) notify(tenant string, cursor int64) {
	h.mu.Lock()
	m := h.subs[tenant]
	if len(m) == 0 {
		h.mu.Unlock()
		return
	}
	if cursor > h.cursors[tenant] {
		h.cursors[tenant] = cursor
	}
	streams := false
	for sub := range m {
		if sub.conn != nil {
			streams = true
			continue
		}
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
	if streams {
		h.dirty[tenant] = struct{}{}
	}
	h.mu.Unlock()
	if streams {
		h.wake()
	}
}

func (h *hub) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// attach hands a stream that has announced cursor on conn to the fan-out
// loop. A push that committed after that cursor was read has already
// raised the tenant's cursor, so it is sent at once.
func (h *hub) attach(sub *subscription, conn net.Conn, cursor int64) {
	h.loopOnce.Do(func() { go h.fanout() })
	h.mu.Lock()
	sub.conn, sub.sent = conn, cursor
	behind := h.cursors[sub.tenant] > cursor
	if behind {
		h.dirty[sub.tenant] = struct{}{}
	}
	h.mu.Unlock()
	if behind {
		h.wake()
	}
	select {
	case <-h.closed: // closed meanwhile: the loop may be gone; end the stream
		conn.Close()
	default:
	}
}

// fanoutWriteGrace bounds one write of the fan-out loop. A write only
// waits when the client has left a socket buffer's worth of notices
// unread; such a client has stopped reading and is dropped.
const fanoutWriteGrace = time.Second

// fanout writes notices and keep-alives to attached streams until the
// server closes; a stream whose write fails is closed (its reader
// goroutine then unsubscribes it).
func (h *hub) fanout() {
	keep := time.NewTicker(h.keepAlive)
	defer keep.Stop()
	type out struct {
		conn net.Conn
		msg  []byte
	}
	var batch []out
	msgs := map[int64][]byte{}
	for {
		batch = batch[:0]
		forget := true // notices' texts are kept only while they are reused
		select {
		case <-h.closed:
			h.mu.Lock()
			for _, m := range h.subs {
				for sub := range m {
					if sub.conn != nil {
						sub.conn.Close()
					}
				}
			}
			h.mu.Unlock()
			return
		case <-h.kick:
			h.mu.Lock()
			for tenant := range h.dirty {
				cursor := h.cursors[tenant]
				msg, ok := msgs[cursor]
				if !ok {
					msg = []byte(fmt.Sprintf("event: change\ndata: {\"cursor\": %d}\n\n", cursor))
					msgs[cursor] = msg
				}
				for sub := range h.subs[tenant] {
					if sub.conn != nil && sub.sent < cursor {
						sub.sent = cursor
						batch = append(batch, out{sub.conn, msg})
					}
				}
				delete(h.dirty, tenant)
			}
			h.mu.Unlock()
		case <-keep.C:
			h.mu.Lock()
			for _, m := range h.subs {
				for sub := range m {
					if sub.conn != nil {
						batch = append(batch, out{sub.conn, keepAliveMsg})
					}
				}
			}
			h.mu.Unlock()
			forget = false
		}
		for _, o := range batch {
			_ = o.conn.SetWriteDeadline(time.Now().Add(fanoutWriteGrace))
			if _, err := o.conn.Write(o.msg); err != nil {
				o.conn.Close()
			}
		}
		if forget && len(msgs) > 64 {
			clear(msgs)
		}
	}
}

var keepAliveMsg = []byte(": keep-alive\n\n")

// hijackStream takes an event stream's connection over from net/http and
// attaches it to the fan-out loop; it reports false when the host cannot
// (HTTP/2, a wrapped writer), and the stream is then served in place.
func (s *Server) hijackStream(w http.ResponseWriter, r *http.Request, sub *subscription, cursor int64) bool {
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 || r.Method != http.MethodGet {
		return false
	}
	var head strings.Builder
	head.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n")
	for k, vs := range w.Header() {
		for _, v := range vs {
			head.WriteString(k + ": " + v + "\r\n")
		}
	}
	fmt.Fprintf(&head, "\r\nretry: 3000\nevent: change\ndata: {\"cursor\": %d}\n\n", cursor)
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	// The body is delimited by the connection's end (Connection: close), so
	// nothing else may use this connection; net/http's buffers are dropped.
	_ = conn.SetReadDeadline(time.Time{})
	_ = conn.SetWriteDeadline(time.Now().Add(streamWriteGrace))
	if _, err := io.WriteString(conn, head.String()); err != nil {
		conn.Close()
		s.hub.unsubscribe(sub)
		return true
	}
	s.hub.attach(sub, conn, cursor)
	go func() {
		// The client sends nothing on a stream; a read returns when it leaves
		// (or the fan-out loop closes the connection).
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				break
			}
		}
		conn.Close()
		s.hub.unsubscribe(sub)
	}()
	return true
}

// handleEvents streams "change" notices. The first event carries the
// current cursor so a client that connects after its last pull catches up
// without a race; after that one event follows every advance.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, id identity) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errf(http.StatusNotImplemented, CodeUnavailable, "this host cannot stream; long-poll /v1/pull?wait=")
	}
	ctx := r.Context()
	sub, err := s.hub.subscribe(id.Tenant)
	if err != nil {
		return err
	}
	select {
	case <-s.closed: // the fan-out loop has ended: nobody would write to this stream
		s.hub.unsubscribe(sub)
		return errf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down")
	default:
	}
	if s.cfg.PollInterval <= 0 && s.cfg.StreamLimit <= 0 {
		cursor, err := s.initialCursor(ctx, id.Tenant)
		if err != nil {
			s.hub.unsubscribe(sub)
			return err
		}
		if s.hijackStream(w, r, sub, cursor) {
			return nil
		}
	}
	defer s.hub.unsubscribe(sub)
	holdOpen(w, 0)
	rc := http.NewResponseController(w)
	// send writes one message under its own write deadline, so a stream
	// lives as long as its client reads, and no longer.
	send := func(msg string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteGrace))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	cursor, _, err := cursorOf(ctx, s.cfg.DB, id.Tenant)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold notices back
	w.WriteHeader(http.StatusOK)
	if !send(fmt.Sprintf("retry: 3000\nevent: change\ndata: {\"cursor\": %d}\n\n", cursor)) {
		return nil
	}

	keep := time.NewTicker(s.cfg.KeepAlive)
	defer keep.Stop()
	var poll <-chan time.Time
	if s.cfg.PollInterval > 0 {
		t := time.NewTicker(s.cfg.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	var limit <-chan time.Time
	if s.cfg.StreamLimit > 0 {
		t := time.NewTimer(s.cfg.StreamLimit)
		defer t.Stop()
		limit = t.C
	}
	for {
		select {
		case <-limit:
			return nil
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return nil
		case <-keep.C:
			if !send(": keep-alive\n\n") {
				return nil
			}
			continue
		case <-sub.ch:
		case <-poll:
		}
		now, _, err := cursorOf(ctx, s.cfg.DB, id.Tenant)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Headers are gone; end the stream and let the client reconnect.
			if s.cfg.ErrorLog != nil {
				s.cfg.ErrorLog.Printf("syncserver: events: %v", err)
			}
			return nil
		}
		if now <= cursor {
			continue
		}
		cursor = now
		if !send(fmt.Sprintf("event: change\ndata: {\"cursor\": %d}\n\n", cursor)) {
			return nil
		}
	}
}

// initialCursor reads the tenant's cursor for a stream's first event on a
// goroutine of its own: the database driver's deep stack then does not stay
// with the handler's goroutine (which, for a stream served in place, lives
// as long as the stream).
func (s *Server) initialCursor(ctx context.Context, tenant string) (int64, error) {
	type answer struct {
		cursor int64
		err    error
	}
	ch := make(chan answer, 1)
	go func() {
		c, _, err := cursorOf(ctx, s.cfg.DB, tenant)
		ch <- answer{c, err}
	}()
	a := <-ch
	return a.cursor, a.err
}
