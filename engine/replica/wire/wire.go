// Package wire declares the sync protocol's messages (server/PROTOCOL.md,
// version 1) once, for both ends: the client (engine/replica) and the
// server (server/syncserver). It holds types and constants only, so the
// wasm build that carries the client pays nothing for sharing them.
package wire

// Change is one row change on the wire. Row is JSON null for a delete; Seq
// is the server's sequence number of a stored version (absent in a push).
type Change struct {
	Op     string  `json:"op"`
	Table  string  `json:"table"`
	Key    RawJSON `json:"key"`
	Row    RawJSON `json:"row"`
	HLC    string  `json:"hlc"`
	Origin string  `json:"origin"`
	Seq    int64   `json:"seq,omitempty"`
}

// PushRequest is the body of POST /v1/push.
type PushRequest struct {
	Client  string   `json:"client"`
	Changes []Change `json:"changes"`
	// SchemaVersion is the client's schema version (0: none declared), so a
	// server can refuse changes in shapes older than it accepts.
	SchemaVersion uint64 `json:"schemaVersion,omitempty"`
}

// Push result statuses.
const (
	Applied   = "applied"
	Duplicate = "duplicate"
	Stale     = "stale"
)

// PushResult is the server's verdict on one pushed change: Seq for an
// applied or duplicate one, Current (the version that won) for a stale one.
type PushResult struct {
	Op      string  `json:"op"`
	Status  string  `json:"status"`
	Seq     int64   `json:"seq,omitempty"`
	Current *Change `json:"current,omitempty"`
}

// PushResponse is the answer to a push.
type PushResponse struct {
	Results []PushResult `json:"results"`
	Cursor  int64        `json:"cursor"`
}

// PullResponse is the answer to GET /v1/pull.
type PullResponse struct {
	Changes []Change `json:"changes"`
	Cursor  int64    `json:"cursor"`
	More    bool     `json:"more"`
}

// Error codes carried in the JSON error body {"error": {"code", ...}}.
// Clients branch on them, so they never change.
const (
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeBadRequest       = "BAD_REQUEST"
	CodeValidation       = "VALIDATION"
	CodeClockAhead       = "CLOCK_AHEAD"
	CodeTooLarge         = "TOO_LARGE"
	CodeResyncRequired   = "RESYNC_REQUIRED"
	CodeNotFound         = "NOT_FOUND"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodeInternal         = "INTERNAL"
	CodeUnavailable      = "UNAVAILABLE"
	CodeTooManyStreams   = "TOO_MANY_STREAMS"
	CodeTimeout          = "TIMEOUT"
	CodeSchemaTooOld     = "SCHEMA_TOO_OLD"
)

// RawJSON is a JSON text carried as it is: a change's key or row. Empty
// stands for null. It implements the encoding/json interfaces for callers
// that use them (the server); the client encodes and decodes by hand.
type RawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
