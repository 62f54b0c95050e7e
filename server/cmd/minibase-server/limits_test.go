//go:build !js

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

// dialServer opens a raw connection to the server at url (http://host:port)
// whose reads give up after a bounded wait, so a server that never closes
// fails the test instead of hanging it.
func dialServer(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	return c
}

// closedByServer reads until the server closes the connection and reports
// whether it did before the connection's read deadline.
func closedByServer(r io.Reader) bool {
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestTrickledBodyIsCutOff: a body sent a byte at a time does not hold a
// connection open past the read timeout.
func TestTrickledBodyIsCutOff(t *testing.T) {
	url, _, stop := start(t, 1, "-db", ":memory:", "-read-timeout", "300ms")
	defer stop()
	c := dialServer(t, url)
	_, err := io.WriteString(c, "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	require.NoError(t, err)
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for range 1000 {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	assert.True(t, closedByServer(c), "the trickling connection was never cut off")
}

// TestIdleConnectionsAreClosed: a keep-alive connection that stays idle
// is closed after the idle timeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	url, _, stop := start(t, 1, "-db", ":memory:", "-idle-timeout", "200ms")
	defer stop()
	c := dialServer(t, url)
	_, err := io.WriteString(c, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	assert.Empty(t, res.Header.Get("Connection"), "kept alive")
	assert.True(t, closedByServer(br), "the idle connection was never closed")
}

// TestLongPollOutlivesReadTimeout: the command's read and write timeouts do
// not cut a long-poll short.
func TestLongPollOutlivesReadTimeout(t *testing.T) {
	url, lines, stop := start(t, 5, "-db", ":memory:", "-read-timeout", "50ms", "-write-timeout", "50ms")
	defer stop()
	token := strings.TrimSpace(lines[len(lines)-1])
	st, body := call(t, "GET", url+"/v1/pull?since=0&wait=0.5", token, "")
	assert.Equal(t, 200, st, "%v", body)
}

// TestSecretIsCheckedAndKeptOffTheCommandLine: secrets shorter than 32
// bytes are refused wherever they come from; a secret file's trailing
// newline is not part of the secret.
func TestSecretIsCheckedAndKeptOffTheCommandLine(t *testing.T) {
	short := "too-short-a-secret"
	cases := []struct {
		name string
		env  string
		args []string
		ok   bool
	}{
		{name: "short flag", args: []string{"-secret", short}},
		{name: "short file", args: []string{"-secret-file", secretFile(t, short+"\n")}},
		{name: "short environment", env: short},
		{name: "empty file", args: []string{"-secret-file", secretFile(t, "\n")}},
		{name: "missing file", args: []string{"-secret-file", "/does/not/exist"}},
		{name: "flag and file", args: []string{"-secret", fixedSecret, "-secret-file", secretFile(t, fixedSecret)}},
		{name: "file", args: []string{"-secret-file", secretFile(t, fixedSecret+"\n")}, ok: true},
		{name: "environment", env: fixedSecret, ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("MINIBASE_SYNC_SECRET", c.env)
			got, err := loadSecret(flagArg(c.args, "-secret"), flagArg(c.args, "-secret-file"))
			if !c.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, fixedSecret, got)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("MINIBASE_SYNC_SECRET", "")
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-secret", short}, io.Discard)
	assert.ErrorContains(t, err, "at least 32", "the server does not start with a short secret")
}

func flagArg(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// tokenPayload decodes a token's payload without checking it.
func tokenPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	head, _, ok := strings.Cut(token, ".")
	require.True(t, ok, "token %q", token)
	raw, err := base64.RawURLEncoding.DecodeString(head)
	require.NoError(t, err)
	var p map[string]any
	require.NoError(t, json.Unmarshal(raw, &p))
	return p
}

// TestSampleTokenExpires: the token printed with a generated secret is
// not valid forever.
func TestSampleTokenExpires(t *testing.T) {
	_, lines, stop := start(t, 5, "-db", ":memory:")
	defer stop()
	p := tokenPayload(t, strings.TrimSpace(lines[len(lines)-1]))
	exp, _ := p["exp"].(float64)
	assert.Greater(t, exp, float64(time.Now().Unix()))
	assert.LessOrEqual(t, exp, float64(time.Now().Add(sampleTokenTTL+time.Minute).Unix()))
}

// verifyingServer is a sync server with secret fixedSecret; it answers 200
// to a pull with a valid token of any tenant.
func verifyingServer(t *testing.T) *httptest.Server {
	t.Helper()
	db, err := sqlitestore.Open(":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	srv, err := syncserver.New(syncserver.Config{DB: db, Secret: []byte(fixedSecret)})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return ts
}

// TestTokenCommand: `minibase-server token` mints a token the server
// accepts, with the tenant, sub and expiry asked for, and refuses to mint
// without a good secret or a tenant.
func TestTokenCommand(t *testing.T) {
	ts := verifyingServer(t)
	now := time.Now()
	t.Setenv("MINIBASE_SYNC_SECRET", fixedSecret)
	var out, errOut bytes.Buffer
	require.NoError(t, mintToken([]string{"-tenant", "acme", "-sub", "ann", "-ttl", "2h"}, &out, &errOut, now))
	token := strings.TrimSpace(out.String())
	st, body := call(t, "GET", ts.URL+"/v1/pull?since=0", token, "")
	assert.Equal(t, 200, st, "%v", body)
	p := tokenPayload(t, token)
	assert.Equal(t, "acme", p["tenant"])
	assert.Equal(t, "ann", p["sub"])
	assert.Equal(t, float64(now.Add(2*time.Hour).Unix()), p["exp"])

	out.Reset()
	t.Setenv("MINIBASE_SYNC_SECRET", "")
	require.NoError(t, mintToken([]string{"-tenant", "acme", "-secret-file", secretFile(t, fixedSecret+"\n")}, &out, &errOut, now))
	st, _ = call(t, "GET", ts.URL+"/v1/pull?since=0", strings.TrimSpace(out.String()), "")
	assert.Equal(t, 200, st, "a secret from a file")

	for name, c := range map[string]struct {
		env  string
		args []string
	}{
		"no secret":    {args: []string{"-tenant", "acme"}},
		"short secret": {env: "short", args: []string{"-tenant", "acme"}},
		"no tenant":    {env: fixedSecret},
		"zero ttl":     {env: fixedSecret, args: []string{"-tenant", "acme", "-ttl", "0s"}},
		"stray arg":    {env: fixedSecret, args: []string{"-tenant", "acme", "extra"}},
	} {
		t.Setenv("MINIBASE_SYNC_SECRET", c.env)
		out.Reset()
		assert.Error(t, mintToken(c.args, &out, &errOut, now), name)
		assert.Empty(t, out.String(), name)
	}
}

// TestJSMintedTokenVerifies: server/token.mjs mints the same HMAC tokens
// as SignToken, so the Go server accepts them.
func TestJSMintedTokenVerifies(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	_, file, _, _ := runtime.Caller(0)
	helper := filepath.Join(filepath.Dir(file), "..", "..", "token.mjs")
	script := `const { signToken } = await import(process.argv[1]);
console.log(signToken(process.env.MINIBASE_SYNC_SECRET, 'acme', { sub: 'ann', expiresIn: 3600 }));`
	cmd := exec.Command(node, "--input-type=module", "-e", script, "file://"+filepath.ToSlash(helper))
	cmd.Env = append(os.Environ(), "MINIBASE_SYNC_SECRET="+fixedSecret)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	token := strings.TrimSpace(string(out))
	ts := verifyingServer(t)
	st, body := call(t, "GET", ts.URL+"/v1/pull?since=0", token, "")
	assert.Equal(t, 200, st, "%v", body)
	p := tokenPayload(t, token)
	assert.Equal(t, "acme", p["tenant"])
	assert.Equal(t, "ann", p["sub"])
	exp, _ := p["exp"].(float64)
	assert.InDelta(t, float64(time.Now().Add(time.Hour).Unix()), exp, 120)
}
