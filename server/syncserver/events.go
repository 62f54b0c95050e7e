package syncserver

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub wakes waiters of a tenant after a push commits. It is in-process only:
// across processes or Worker instances, waiters poll (Config.PollInterval).
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{}
}

type subscription struct {
	tenant string
	// ch holds at most one pending wake-up: notices coalesce, and the waiter
	// reads the current cursor itself, so none is lost by dropping extras.
	ch chan struct{}
}

func newHub() *hub { return &hub{subs: make(map[string]map[*subscription]struct{})} }

func (h *hub) subscribe(tenant string) *subscription {
	sub := &subscription{tenant: tenant, ch: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[tenant]
	if m == nil {
		m = make(map[*subscription]struct{})
		h.subs[tenant] = m
	}
	m[sub] = struct{}{}
	return sub
}

func (h *hub) unsubscribe(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[sub.tenant]; m != nil {
		delete(m, sub)
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
	sub := s.hub.subscribe(id.Tenant)
	defer s.hub.unsubscribe(sub)
	cursor, _, err := cursorOf(ctx, s.cfg.DB, id.Tenant)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold notices back
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: 3000\nevent: change\ndata: {\"cursor\": %d}\n\n", cursor); err != nil {
		return nil
	}
	flusher.Flush()

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
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			flusher.Flush()
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
		if _, err := fmt.Fprintf(w, "event: change\ndata: {\"cursor\": %d}\n\n", cursor); err != nil {
			return nil
		}
		flusher.Flush()
	}
}
