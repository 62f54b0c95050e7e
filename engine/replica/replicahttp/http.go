// Package replicahttp is the HTTP transport of the Go sync client
// (engine/replica), speaking server/PROTOCOL.md over net/http. It is a
// package of its own so that the wasm build, whose sync client's HTTP is
// made by JS (js/src/sync.js), does not link net/http.
package replicahttp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"minibase/engine/replica"
)

// HTTP is a replica.Transport over net/http, speaking server/PROTOCOL.md.
type HTTP struct {
	Client *http.Client // http.DefaultClient when nil
	Token  string       // bearer token
	Tables []string     // restricts pulls to these tables when set

	mu  sync.Mutex
	url string
}

// NewHTTP returns a transport to the server at base (e.g. http://127.0.0.1:8787).
func NewHTTP(base, token string) *HTTP {
	return &HTTP{url: strings.TrimRight(base, "/"), Token: token}
}

// SetURL points the transport at another address (a restarted server).
func (h *HTTP) SetURL(base string) {
	h.mu.Lock()
	h.url = strings.TrimRight(base, "/")
	h.mu.Unlock()
}

func (h *HTTP) base() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url
}

// do makes one request and returns the body of a 200 answer; any other
// status is a *replica.ServerError.
func (h *HTTP) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base()+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	cl := h.Client
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, replica.DecodeServerError(resp.StatusCode, data)
	}
	return data, nil
}

// Push implements replica.Transport.
func (h *HTTP) Push(ctx context.Context, req replica.PushRequest) (replica.PushResponse, error) {
	body, err := replica.EncodePushRequest(req)
	if err != nil {
		return replica.PushResponse{}, err
	}
	data, err := h.do(ctx, http.MethodPost, "/v1/push", body)
	if err != nil {
		return replica.PushResponse{}, err
	}
	return replica.DecodePushResponse(data)
}

// Pull implements replica.Transport.
func (h *HTTP) Pull(ctx context.Context, since int64, limit int) (replica.PullResponse, error) {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}, "limit": {strconv.Itoa(limit)}}
	if len(h.Tables) > 0 {
		q.Set("tables", strings.Join(h.Tables, ","))
	}
	data, err := h.do(ctx, http.MethodGet, "/v1/pull?"+q.Encode(), nil)
	if err != nil {
		return replica.PullResponse{}, err
	}
	return replica.DecodePullResponse(data)
}
