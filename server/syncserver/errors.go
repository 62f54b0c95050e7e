package syncserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"minibase/engine/replica/wire"
)

// Error codes carried in the JSON error body (PROTOCOL.md), declared with
// the other wire types in engine/replica/wire.
const (
	CodeUnauthorized     = wire.CodeUnauthorized
	CodeBadRequest       = wire.CodeBadRequest
	CodeValidation       = wire.CodeValidation
	CodeClockAhead       = wire.CodeClockAhead
	CodeTooLarge         = wire.CodeTooLarge
	CodeResyncRequired   = wire.CodeResyncRequired
	CodeNotFound         = wire.CodeNotFound
	CodeMethodNotAllowed = wire.CodeMethodNotAllowed
	CodeInternal         = wire.CodeInternal
	CodeUnavailable      = wire.CodeUnavailable
	CodeTooManyStreams   = wire.CodeTooManyStreams
	CodeTimeout          = wire.CodeTimeout
	CodeSchemaTooOld     = wire.CodeSchemaTooOld
)

// apiError is an error that knows its HTTP status and wire shape. Handlers
// return it instead of writing responses themselves so that every failure
// path produces the same body.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Index and Op name the offending change of a push (VALIDATION only).
	Index *int
	Op    string
	// Cursor is the horizon a client must resync from (RESYNC_REQUIRED only).
	Cursor *int64
	// MaxAheadMs is the bound a refused clock broke (CLOCK_AHEAD only).
	MaxAheadMs *int64
	// MinSchemaVersion is the oldest client schema accepted (SCHEMA_TOO_OLD only).
	MinSchemaVersion *uint64
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// validationErr names the first bad change of a push.
func validationErr(index int, op, msg string) *apiError {
	i := index
	return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeValidation, Message: msg, Index: &i, Op: op}
}

// clockAheadErr refuses a change stamped too far past the server's clock:
// accepting it would drag every client that pulls it towards the end of
// the clock's range (see Config.MaxClockAhead).
func clockAheadErr(index int, op, hlc string, bound time.Duration) *apiError {
	i, ms := index, bound.Milliseconds()
	return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeClockAhead, Index: &i, Op: op, MaxAheadMs: &ms,
		Message: fmt.Sprintf("hlc %s is more than %s ahead of the server's clock; check the device clock, then retry", hlc, bound)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; failing to encode them is a bug,
		// but the client still deserves a well-formed error body.
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"INTERNAL","message":"response encoding failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errf(http.StatusInternalServerError, CodeInternal, "internal error")
	}
	body := map[string]any{"code": ae.Code, "message": ae.Message}
	if ae.Index != nil {
		body["index"] = *ae.Index
		if ae.Op != "" {
			body["op"] = ae.Op
		}
	}
	if ae.Cursor != nil {
		body["cursor"] = *ae.Cursor
	}
	if ae.MaxAheadMs != nil {
		body["maxAheadMs"] = *ae.MaxAheadMs
	}
	if ae.MinSchemaVersion != nil {
		body["minSchemaVersion"] = *ae.MinSchemaVersion
	}
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="minibase-sync"`)
	}
	writeJSON(w, ae.Status, map[string]any{"error": body})
}
