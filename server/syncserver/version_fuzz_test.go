package syncserver

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzCheckSchemaVersion feeds arbitrary bodies to the schema version
// check: it never panics, fails only with 400 BAD_REQUEST or 422
// SCHEMA_TOO_OLD (naming the minimum), and accepts a body only when its
// version, read back, is at least the minimum.
func FuzzCheckSchemaVersion(f *testing.F) {
	for _, s := range []string{
		`{"client":"a","changes":[],"schemaVersion":3}`, `{"schemaVersion":2}`, `{"schemaVersion":"3"}`,
		`{"schemaVersion":3.0}`, `{"schemaVersion":-1}`, `{"schemaVersion":1e3}`, `{"schemaVersion":null}`,
		`{"schemaVersion":9007199254740993}`, `{}`, `[]`, `nope`, `{"schemaVersion":3,"schemaVersion":1}`,
	} {
		f.Add([]byte(s), uint64(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, min uint64) {
		err := checkSchemaVersion(body, min)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("not an API error: %v", err)
		}
		switch {
		case ae.Status == http.StatusBadRequest && ae.Code == CodeBadRequest:
		case ae.Status == http.StatusUnprocessableEntity && ae.Code == CodeSchemaTooOld:
			if ae.MinSchemaVersion == nil || *ae.MinSchemaVersion != min || min == 0 {
				t.Fatalf("SCHEMA_TOO_OLD must name the minimum %d: %+v", min, ae)
			}
		default:
			t.Fatalf("unexpected error %d %s", ae.Status, ae.Code)
		}
	})
}
