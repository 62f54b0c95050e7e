package syncserver

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub wakes waiters of a tenant after a push commits. It is in-process only:
// across processes or Worker instances, waiters poll (Config.PollInterval).
// It also caps how many waiters there are, in all and per tenant, since
// each one holds a connection for as long as its client likes.
type hub struct {
	mu                  sync.Mutex
	subs                map[string]map[*subscription]struct{}
	total               int
	maxTotal, maxTenant int
}

type subscription struct {
	tenant string
	// ch holds at most one pending wake-up: notices coalesce, and the waiter
	// reads the current cursor itself, so none is lost by dropping extras.
	ch chan struct{}
}

func newHub(maxTotal, maxTenant int) *hub {
	return &hub{subs: make(map[string]map[*subscription]struct{}), maxTotal: maxTotal, maxTenant: maxTenant}
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
		}
	}
}

func (h *hub) notify(tenant string, _ int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[tenant] {
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
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
