package kvstore

import (
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
)

// testIterations keeps PBKDF2 cheap in tests; the count is stored with the
// salt, so reopening uses it too.
const testIterations = 1000

// fakeClock is an injectable clock: tests move time, never sleep.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *fakeClock                   { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (c *fakeClock) opts(o Options) Options  { o.Clock = c.Now; return o }
func withIters(o Options) Options            { o.KDFIterations = testIterations; return o }
func codeOf(err error) engine.Code           { return engine.CodeOf(err) }
func requireCode(t testing.TB, want engine.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, engine.CodeOf(err), "error: %v", err)
}

// env is a connection on a memory filesystem, checked for integrity at the
// end of the test.
type env struct {
	fs    fsadapter.FS
	conn  *engine.Conn
	clock *fakeClock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	fs, err := memfs.New()
	require.NoError(t, err)
	c, err := engine.Open(fs, engine.Options{})
	require.NoError(t, err)
	e := &env{fs: fs, conn: c, clock: newClock()}
	t.Cleanup(func() {
		if e.conn != nil {
			require.NoError(t, e.conn.CheckIntegrity())
			require.NoError(t, e.conn.Close())
		}
	})
	return e
}

// open opens a store with the env's clock and cheap key derivation.
func (e *env) open(t testing.TB, o Options) *Manager {
	t.Helper()
	m, err := Open(e.conn, e.clock.opts(withIters(o)))
	require.NoError(t, err)
	return m
}

// reopen closes and reopens the connection on the same files, as after a
// restart.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	require.NoError(t, e.conn.Close())
	c, err := engine.Open(e.fs, engine.Options{})
	require.NoError(t, err)
	e.conn = c
}

// files returns the content of every file on the filesystem.
func (e *env) files(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var walk func(dir string)
	walk = func(dir string) {
		names, err := e.fs.ReadDir(dir)
		require.NoError(t, err)
		for _, n := range names {
			p := path.Join(dir, n)
			st, err := e.fs.Stat(p)
			require.NoError(t, err)
			if st.IsDir() {
				walk(p)
				continue
			}
			b, err := e.fs.ReadFile(p)
			require.NoError(t, err)
			out[p] = b
		}
	}
	walk(".")
	return out
}
