//go:build !js

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/syncserver"
)

var urlRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// start runs the command and returns its URL, the first want lines it
// printed, and a stop function that waits for a graceful exit.
func start(t *testing.T, want int, args ...string) (string, []string, func()) {
	t.Helper()
	t.Setenv("MINIBASE_SYNC_SECRET", "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	var url string
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if m := urlRE.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if url != "" && len(lines) >= want {
			break
		}
	}
	require.NotEmpty(t, url, "no URL in %q", lines)
	go io.Copy(io.Discard, pr)
	return url, lines, func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("no graceful exit")
		}
	}
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

func TestServeRestartKeepsData(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sync.db")
	url, lines, stop := start(t, 5, "-db", db)
	token := strings.TrimSpace(lines[len(lines)-1])
	require.True(t, strings.HasPrefix(token, "ey"), "a sample token is printed with a generated secret: %q", lines)
	st, _ := call(t, "GET", url+"/v1/health", "", "")
	assert.Equal(t, 200, st)
	st, body := call(t, "POST", url+"/v1/push", token,
		`{"changes":[{"op":"o1","table":"todos","key":1,"row":{"id":1},"hlc":"000000000000001-00000","origin":"a"}]}`)
	require.Equal(t, 200, st, "%v", body)
	stop()

	// Same db, fixed secret from a file: the data is there, the old token is not valid.
	url, _, stop = start(t, 1, "-db", db, "-secret-file", secretFile(t, fixedSecret+"\n"))
	defer stop()
	st, _ = call(t, "GET", url+"/v1/pull?since=0", token, "")
	assert.Equal(t, 401, st, "tokens of the generated secret die with it")
	st, body = call(t, "GET", url+"/v1/pull?since=0", syncserver.SignToken([]byte(fixedSecret), "dev", "t", time.Time{}), "")
	require.Equal(t, 200, st)
	assert.Len(t, body["changes"], 1)
}

const fixedSecret = "0123456789abcdef0123456789abcdef"

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-schema", "/does/not/exist"}, {"-addr", "256.0.0.1:1", "-db", ":memory:"}} {
		err := run(context.Background(), args, io.Discard)
		assert.Error(t, err, "%v", args)
	}
}
