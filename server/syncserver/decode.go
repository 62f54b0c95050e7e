package syncserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// change is one validated change of a push, ready to store.
type change struct {
	Op     string
	Table  string
	Key    string // canonical JSON
	Row    []byte // compact JSON object, nil for a delete
	HLC    string
	Origin string
}

// wireChange is a change as it arrives. Pointers and raw messages let the
// validator tell a missing field from an empty or null one.
type wireChange struct {
	Op     *string         `json:"op"`
	Table  *string         `json:"table"`
	Key    json.RawMessage `json:"key"`
	Row    json.RawMessage `json:"row"`
	HLC    *string         `json:"hlc"`
	Origin *string         `json:"origin"`
}

// The field checks are byte loops rather than regular expressions: they run
// three times per change, and a push carries up to a thousand.

// validOp: 1-64 characters of [A-Za-z0-9_-].
func validOp(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validHLC: 15 digits, "-", 5 digits.
func validHLC(s string) bool {
	if len(s) != 21 || s[15] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 15 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// validOrigin: 1-128 printable ASCII characters without spaces.
func validOrigin(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// pushLimits are the bounds a push is checked against besides the schema.
type pushLimits struct {
	maxBatch int
	// maxHLC is the greatest clock reading accepted (fixed width, so string
	// order is time order); "" accepts any. It is the server's clock plus
	// Config.MaxClockAhead, named by maxAhead in the refusal.
	maxHLC   string
	maxAhead time.Duration
}

// decodePush parses and validates a whole push body. Structural problems
// (not JSON, no "changes" array) are 400; a batch over maxBatch is 413; the
// first bad change is a 422 naming its index and op (VALIDATION, or
// CLOCK_AHEAD for a clock past lim.maxHLC). Nothing is stored before all of
// it has passed, which is how a failed push changes nothing.
func decodePush(body []byte, schema *Schema, lim pushLimits) ([]change, error) {
	if out, ok := decodePushFast(body, schema, lim); ok {
		return out, nil
	}
	return decodePushSlow(body, schema, lim)
}

// decodePushFast decodes a well-formed push in one pass over the body, the
// changes straight into their fields. It reports !ok for anything it does
// not accept, and decodePushSlow, which reads the push a change at a time,
// then says what is wrong: what one accepts the other accepts alike
// (FuzzDecodePushFast), so the error path stays precise and the common path
// stays cheap.
func decodePushFast(body []byte, schema *Schema, lim pushLimits) ([]change, bool) {
	// Invalid UTF-8 anywhere sends the push the slow way, which refuses it
	// only inside a change; encoding/json would read it as U+FFFD.
	if !utf8.Valid(body) {
		return nil, false
	}
	var req struct {
		Changes freshChanges `json:"changes"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Changes == nil || len(req.Changes) > lim.maxBatch {
		return nil, false
	}
	out := make([]change, len(req.Changes))
	for i := range req.Changes {
		if validateChange(&req.Changes[i], schema, &out[i]) != nil || lim.maxHLC != "" && out[i].HLC > lim.maxHLC {
			return nil, false
		}
	}
	return out, true
}

// freshChanges decodes every occurrence of "changes" into a new slice:
// encoding/json would decode a repeated key's array over the elements of
// the first, keeping fields the second lacks, where the last occurrence
// alone is the push.
type freshChanges []wireChange

func (l *freshChanges) UnmarshalJSON(b []byte) error {
	var fresh []wireChange
	if err := json.Unmarshal(b, &fresh); err != nil {
		return err
	}
	*l = fresh
	return nil
}

// decodePushSlow is decodePush a change at a time, naming the first bad one.
func decodePushSlow(body []byte, schema *Schema, lim pushLimits) ([]change, error) {
	maxBatch := lim.maxBatch
	var req struct {
		Client  json.RawMessage `json:"client"`
		Changes json.RawMessage `json:"changes"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, errf(http.StatusBadRequest, CodeBadRequest, "body is not a JSON object: "+err.Error())
	}
	if len(req.Changes) == 0 || jsonKind(req.Changes) != TypeObject || bytes.TrimLeft(req.Changes, " \t\r\n")[0] != '[' {
		return nil, errf(http.StatusBadRequest, CodeBadRequest, `"changes" must be an array`)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(req.Changes, &raws); err != nil {
		return nil, errf(http.StatusBadRequest, CodeBadRequest, `"changes" must be an array`)
	}
	if len(raws) > maxBatch {
		return nil, errf(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("a push carries at most %d changes, got %d", maxBatch, len(raws)))
	}
	out := make([]change, len(raws))
	for i, raw := range raws {
		if err := decodeChange(raw, schema, &out[i]); err != nil {
			return nil, validationErr(i, out[i].Op, err.Error())
		}
		if lim.maxHLC != "" && out[i].HLC > lim.maxHLC {
			return nil, clockAheadErr(i, out[i].Op, out[i].HLC, lim.maxAhead)
		}
	}
	return out, nil
}

func decodeChange(raw json.RawMessage, schema *Schema, c *change) error {
	if jsonKind(raw) != TypeObject || bytes.TrimLeft(raw, " \t\r\n")[0] != '{' {
		return fmt.Errorf("change is not a JSON object")
	}
	// encoding/json turns invalid UTF-8 into U+FFFD, which would make two
	// different keys (or values) one; refuse it instead of storing a guess.
	if !utf8.Valid(raw) {
		return fmt.Errorf("change is not valid UTF-8")
	}
	var w wireChange
	if err := json.Unmarshal(raw, &w); err != nil {
		// A field of the wrong JSON type; try to still name the op for the client.
		var op struct {
			Op string `json:"op"`
		}
		if json.Unmarshal(raw, &op) == nil && validOp(op.Op) {
			c.Op = op.Op
		}
		return fmt.Errorf("malformed change: %v", err)
	}
	return validateChange(&w, schema, c)
}

// validateChange checks a decoded change and fills c (c.Op as soon as it is
// known, so an error can name it).
func validateChange(w *wireChange, schema *Schema, c *change) error {
	if w.Op == nil || !validOp(*w.Op) {
		return fmt.Errorf(`"op" must be 1-64 characters of [A-Za-z0-9_-]`)
	}
	c.Op = *w.Op
	if w.Table == nil {
		return fmt.Errorf(`"table" is missing`)
	}
	t, ok := schema.table(*w.Table)
	if !ok {
		return fmt.Errorf("unknown table %q", *w.Table)
	}
	c.Table = *w.Table
	if w.HLC == nil || !validHLC(*w.HLC) {
		return fmt.Errorf(`"hlc" must be 15 digits, "-", 5 digits`)
	}
	c.HLC = *w.HLC
	if w.Origin == nil || !validOrigin(*w.Origin) {
		return fmt.Errorf(`"origin" must be 1-128 printable ASCII characters without spaces`)
	}
	c.Origin = *w.Origin
	if len(w.Key) == 0 {
		return fmt.Errorf(`"key" is missing`)
	}
	key, err := canonicalKey(w.Key)
	if err != nil {
		return err
	}
	c.Key = key
	if len(w.Row) == 0 {
		return fmt.Errorf(`"row" is missing (null deletes)`)
	}
	switch jsonKind(w.Row) {
	case "null":
		c.Row = nil
		return nil
	case TypeObject:
	default:
		return fmt.Errorf(`"row" must be an object or null`)
	}
	var row map[string]json.RawMessage
	if err := json.Unmarshal(w.Row, &row); err != nil {
		return fmt.Errorf(`"row" must be an object or null`)
	}
	if msg := t.checkRow(row, key); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, w.Row); err != nil {
		return fmt.Errorf(`"row": %v`, err)
	}
	c.Row = buf.Bytes()
	return nil
}
