//go:build !js

package syncserver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/server/syncserver"
)

// A server with MinSchemaVersion refuses pushes from older clients (and
// from clients that send no version) with 422 SCHEMA_TOO_OLD, storing
// nothing; current and newer clients push as before.
func TestMinSchemaVersion(t *testing.T) {
	e := newEnv(t, syncserver.Config{MinSchemaVersion: 3})
	tk := tok("acme")
	row := func(op string, v any) map[string]any {
		body := map[string]any{"client": "c", "changes": []ch{change(op, 1, map[string]any{"id": 1, "title": op}, hlc(1, 0), "c")}}
		if v != nil {
			body["schemaVersion"] = v
		}
		return body
	}
	for _, tc := range []struct {
		name   string
		v      any
		status int
		code   string
	}{
		{"no version", nil, 422, "SCHEMA_TOO_OLD"},
		{"older", 2, 422, "SCHEMA_TOO_OLD"},
		{"zero", 0, 422, "SCHEMA_TOO_OLD"},
		{"not a number", "3", 400, "BAD_REQUEST"},
		{"fraction", 3.5, 400, "BAD_REQUEST"},
		{"negative", -3, 400, "BAD_REQUEST"},
		{"huge", 1e300, 400, "BAD_REQUEST"},
		{"whole float", 3.0, 200, ""},
		{"object", map[string]any{"v": 3}, 400, "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.do("POST", "/v1/push", tk, row("op"+strings.ReplaceAll(tc.name, " ", "-"), tc.v))
			require.Equal(t, tc.status, st, "%v", body)
			if st == 200 {
				return
			}
			errBody := body["error"].(map[string]any)
			require.Equal(t, tc.code, errBody["code"])
			if tc.code == "SCHEMA_TOO_OLD" {
				require.EqualValues(t, 3, errBody["minSchemaVersion"])
				require.Contains(t, errBody["message"], "update the app")
			}
		})
	}
	st, body := e.pull(tk, "since=0")
	require.Equal(t, 200, st)
	require.Len(t, changesOf(body), 1, "a refused push stores nothing (only the exponent case went in)")
	for i, v := range []any{3, 4} {
		st, body := e.do("POST", "/v1/push", tk, row([]string{"okA", "okB"}[i], v))
		require.Equal(t, 200, st, "%v", body)
	}

	// Without MinSchemaVersion the field is ignored, whatever it holds.
	e2 := newEnv(t, syncserver.Config{})
	st, body = e2.do("POST", "/v1/push", tk, row("free", "anything"))
	require.Equal(t, 200, st, "%v", body)
}
