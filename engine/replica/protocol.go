package replica

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"minibase/engine/replica/wire"
	"minibase/engine/value"
)

// The wire types of server/PROTOCOL.md, declared in engine/replica/wire,
// under the names the client has always used.
type (
	// Change is one row change on the wire (wire.Change).
	Change = wire.Change
	// PushRequest is the body of POST /v1/push (wire.PushRequest).
	PushRequest = wire.PushRequest
	// PushResult is the server's verdict on one pushed change (wire.PushResult).
	PushResult = wire.PushResult
	// PushResponse is the answer to a push (wire.PushResponse).
	PushResponse = wire.PushResponse
	// PullResponse is the answer to GET /v1/pull (wire.PullResponse).
	PullResponse = wire.PullResponse
	// RawJSON is a JSON text carried as it is (wire.RawJSON).
	RawJSON = wire.RawJSON
)

// Push result statuses.
const (
	Applied   = wire.Applied
	Duplicate = wire.Duplicate
	Stale     = wire.Stale
)

// Transport carries requests to a sync server. Natively it is HTTP
// (engine/replica/replicahttp); in the browser and mini-programs the JS side does
// the requests and feeds the answers to the same state machine.
type Transport interface {
	Push(ctx context.Context, req PushRequest) (PushResponse, error)
	Pull(ctx context.Context, since int64, limit int) (PullResponse, error)
}

// Error codes of the protocol the client acts on.
const (
	CodeValidation = wire.CodeValidation
	// CodeClockAhead refuses a change stamped too far past the server's
	// clock; like VALIDATION it names the op, which goes to the dead letters.
	CodeClockAhead     = wire.CodeClockAhead
	CodeResyncRequired = wire.CodeResyncRequired
	CodeUnauthorized   = wire.CodeUnauthorized
)

// ServerError is an error answer of the server: {"error": {...}} with its
// HTTP status.
type ServerError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Index   *int   `json:"index,omitempty"`
	Op      string `json:"op,omitempty"`
	Cursor  int64  `json:"cursor,omitempty"`
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("sync server: %d %s: %s", e.Status, e.Code, e.Message)
}

// Permanent reports whether retrying the same request cannot help
// (4xx other than 408/429).
func (e *ServerError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

func appendChange(b []byte, c *Change) ([]byte, error) {
	b = append(b, `{"op":`...)
	b = appendString(b, c.Op)
	b = append(b, `,"table":`...)
	b = appendString(b, c.Table)
	b = append(b, `,"key":`...)
	b = append(b, orNull(c.Key)...)
	b = append(b, `,"row":`...)
	b = append(b, orNull(c.Row)...)
	b = append(b, `,"hlc":`...)
	b = appendString(b, c.HLC)
	b = append(b, `,"origin":`...)
	b = appendString(b, c.Origin)
	if c.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = fmt.Appendf(b, "%d", c.Seq)
	}
	return append(b, '}'), nil
}

// orNull is a raw JSON text, null when empty.
func orNull(r RawJSON) []byte {
	if len(r) == 0 {
		return []byte("null")
	}
	return r
}

// EncodePushRequest is the body of a push.
func EncodePushRequest(req PushRequest) ([]byte, error) {
	b := append([]byte(`{"client":`), appendString(nil, req.Client)...)
	b = append(b, `,"changes":[`...)
	for i := range req.Changes {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendChange(b, &req.Changes[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if req.SchemaVersion != 0 {
		b = append(append(b, `,"schemaVersion":`...), strconv.FormatUint(req.SchemaVersion, 10)...)
	}
	return append(b, '}'), nil
}

// fields reads a JSON object's members by name.
type fields struct {
	v   value.Value
	err error
}

func (f *fields) get(k string) value.Value {
	v, _ := f.v.Get(k)
	return v
}

func (f *fields) str(k string) string {
	v := f.get(k)
	if v.Kind() != value.String && !v.IsNull() && f.err == nil {
		f.err = fmt.Errorf("field %q: want a string, got %s", k, v.Kind())
	}
	return v.Str()
}

func (f *fields) int(k string) int64 {
	v := f.get(k)
	if v.Kind() != value.Number && !v.IsNull() && f.err == nil {
		f.err = fmt.Errorf("field %q: want a number, got %s", k, v.Kind())
	}
	return int64(v.Number())
}

func (f *fields) raw(k string) RawJSON {
	b, err := ToJSON(f.get(k))
	if err != nil && f.err == nil {
		f.err = err
	}
	return b
}

func decodeObject(b []byte) (*fields, error) {
	v, err := fromJSON(b, false)
	if err != nil {
		return nil, err
	}
	if v.Kind() != value.Object {
		return nil, errors.New("json: want an object")
	}
	return &fields{v: v}, nil
}

func changeFrom(v value.Value) (Change, error) {
	if v.Kind() != value.Object {
		return Change{}, errors.New("a change must be an object")
	}
	f := &fields{v: v}
	c := Change{Op: f.str("op"), Table: f.str("table"), Key: f.raw("key"), Row: f.raw("row"),
		HLC: f.str("hlc"), Origin: f.str("origin"), Seq: f.int("seq")}
	return c, f.err
}

// DecodePushResponse reads the answer to a push.
func DecodePushResponse(b []byte) (PushResponse, error) {
	f, err := decodeObject(b)
	if err != nil {
		return PushResponse{}, fmt.Errorf("push answer: %w", err)
	}
	resp := PushResponse{Cursor: f.int("cursor")}
	for _, rv := range f.get("results").Items() {
		rf := &fields{v: rv}
		res := PushResult{Op: rf.str("op"), Status: rf.str("status"), Seq: rf.int("seq")}
		if cur := rf.get("current"); cur.Kind() == value.Object {
			c, err := changeFrom(cur)
			if err != nil {
				return PushResponse{}, fmt.Errorf("push answer: %w", err)
			}
			res.Current = &c
		}
		if rf.err != nil {
			return PushResponse{}, fmt.Errorf("push answer: %w", rf.err)
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, f.err
}

// DecodePullResponse reads one page of a pull.
func DecodePullResponse(b []byte) (PullResponse, error) {
	f, err := decodeObject(b)
	if err != nil {
		return PullResponse{}, fmt.Errorf("pull answer: %w", err)
	}
	more := f.get("more")
	resp := PullResponse{Cursor: f.int("cursor"), More: more.Kind() == value.Bool && more.Bool(), Changes: []Change{}}
	for _, cv := range f.get("changes").Items() {
		c, err := changeFrom(cv)
		if err != nil {
			return PullResponse{}, fmt.Errorf("pull answer: %w", err)
		}
		resp.Changes = append(resp.Changes, c)
	}
	return resp, f.err
}

// DecodeServerError reads an error answer {"error": {...}}; a body that is
// not one still gives an error carrying the status.
func DecodeServerError(status int, b []byte) *ServerError {
	e := &ServerError{Status: status, Code: "HTTP", Message: fmt.Sprintf("HTTP %d", status)}
	f, err := decodeObject(b)
	if err != nil {
		return e
	}
	ev := f.get("error")
	if ev.Kind() != value.Object {
		return e
	}
	ef := &fields{v: ev}
	if code := ef.str("code"); code != "" {
		e.Code = code
	}
	if msg := ef.str("message"); msg != "" {
		e.Message = msg
	}
	e.Op = ef.str("op")
	e.Cursor = ef.int("cursor")
	if iv := ef.get("index"); iv.Kind() == value.Number {
		i := int(iv.Number())
		e.Index = &i
	}
	return e
}
