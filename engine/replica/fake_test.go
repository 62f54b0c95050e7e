package replica

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// fakeServer is an in-memory server following PROTOCOL.md closely enough to
// test the state machine without HTTP: last writer wins per row on (hlc,
// origin), at-most-once ops, per-tenant sequence numbers. A change whose row
// has "bad": true is rejected with 422; pulls older than horizon get 410.
type fakeServer struct {
	mu      sync.Mutex
	seq     int64
	rows    map[string]Change // table\x00key → current version (with Seq)
	ops     map[string]int64
	horizon int64
	pushes  int
}

func newFakeServer() *fakeServer {
	return &fakeServer{rows: map[string]Change{}, ops: map[string]int64{}}
}

func (s *fakeServer) Push(_ context.Context, req PushRequest) (PushResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes++
	for i, ch := range req.Changes {
		var row map[string]any
		_ = json.Unmarshal(ch.Row, &row)
		if row["bad"] == true {
			idx := i
			return PushResponse{}, &ServerError{Status: 422, Code: CodeValidation, Message: "bad row", Index: &idx, Op: ch.Op}
		}
	}
	var resp PushResponse
	for _, ch := range req.Changes {
		if seq, ok := s.ops[ch.Op]; ok {
			resp.Results = append(resp.Results, PushResult{Op: ch.Op, Status: Duplicate, Seq: seq})
			continue
		}
		k := ch.Table + "\x00" + string(ch.Key)
		if cur, ok := s.rows[k]; ok && !after(ch.HLC, ch.Origin, cur.HLC, cur.Origin) {
			c := cur
			resp.Results = append(resp.Results, PushResult{Op: ch.Op, Status: Stale, Current: &c})
			continue
		}
		s.seq++
		ch.Seq = s.seq
		s.rows[k] = ch
		s.ops[ch.Op] = s.seq
		resp.Results = append(resp.Results, PushResult{Op: ch.Op, Status: Applied, Seq: s.seq})
	}
	resp.Cursor = s.seq
	return resp, nil
}

func (s *fakeServer) Pull(_ context.Context, since int64, limit int) (PullResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if since < s.horizon && since != 0 {
		return PullResponse{}, &ServerError{Status: 410, Code: CodeResyncRequired, Cursor: s.horizon}
	}
	var all []Change
	for _, ch := range s.rows {
		if ch.Seq > since && (since > 0 || string(ch.Row) != "null") {
			all = append(all, ch)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	resp := PullResponse{Cursor: since, Changes: []Change{}}
	if len(all) > limit {
		all, resp.More = all[:limit], true
	}
	resp.Changes = all
	if len(all) > 0 {
		resp.Cursor = all[len(all)-1].Seq
	}
	return resp, nil
}

// live is the server's data as table → key → row JSON.
func (s *fakeServer) live() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, ch := range s.rows {
		if string(ch.Row) != "null" {
			out[k] = canon(ch.Row)
		}
	}
	return out
}

// canon re-encodes JSON with sorted keys so that equal rows compare equal.
func canon(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("invalid %q", b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
