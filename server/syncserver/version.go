package syncserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// checkSchemaVersion refuses a push from a client whose schema is older
// than min (Config.MinSchemaVersion): its rows have a shape the app no
// longer stores. With min 0 nothing is read.
func checkSchemaVersion(body []byte, min uint64) error {
	if min == 0 {
		return nil
	}
	var req struct {
		SchemaVersion json.RawMessage `json:"schemaVersion"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errf(http.StatusBadRequest, CodeBadRequest, "body is not a JSON object: "+err.Error())
	}
	var v uint64
	if raw := bytes.TrimSpace(req.SchemaVersion); len(raw) > 0 && string(raw) != "null" {
		n, err := parseVersion(string(raw))
		if err != nil {
			return errf(http.StatusBadRequest, CodeBadRequest, `"schemaVersion" must be a whole number from 0`)
		}
		v = n
	}
	if v >= min {
		return nil
	}
	m := min
	return &apiError{Status: http.StatusUnprocessableEntity, Code: CodeSchemaTooOld, MinSchemaVersion: &m,
		Message: fmt.Sprintf("the client's schema version %d is older than the oldest this server accepts (%d): update the app, then sync again", v, min)}
}

// parseVersion reads a JSON value that must be a plain whole number within 2^53.
func parseVersion(s string) (uint64, error) {
	var v uint64
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil || fmt.Sprint(v) != s || v > 1<<53 {
		return 0, fmt.Errorf("bad version %q", s)
	}
	return v, nil
}
