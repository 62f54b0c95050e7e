package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"minibase/engine"
	"minibase/engine/hlc"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

const farFuture = "999999999999999-99999"

// outboxHLCs lists the clock readings of a node's queued changes.
func outboxHLCs(t *testing.T, c *engine.Conn) []string {
	t.Helper()
	var out []string
	require.NoError(t, c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(engine.Outbox, "db", 0)
		for _, e := range es {
			out = append(out, e.HLC)
		}
		return err
	}))
	return out
}

// TestFarFutureRemoteClockIsNotAdopted: a received change stamped with the
// last clock reading there is (as an old server accepted) is reported with
// CLOCK_AHEAD and skipped; the local clock keeps following the wall clock,
// so later local changes are not dead-lettered and a restart finds no
// corrupt clock.
func TestFarFutureRemoteClockIsNotAdopted(t *testing.T) {
	const wall = 1_700_000_000_000
	for _, pending := range []bool{false, true} {
		name := map[bool]string{false: "no local change", true: "a local change to the row"}[pending]
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer()
			srv.seq = 1
			srv.rows["todos\x00\"x\""] = Change{Op: "evil", Table: "todos", Key: RawJSON(`"x"`), Row: RawJSON(`{"id":"x","title":"evil"}`),
				HLC: farFuture, Origin: "evil", Seq: 1}
			fs, err := memfs.New()
			require.NoError(t, err)
			now := func() time.Time { return time.UnixMilli(wall) }
			c, err := engine.Open(fs, engine.Options{Now: now})
			require.NoError(t, err)
			require.NoError(t, c.CreateDatabase("db", true))
			require.NoError(t, c.CreateTable("db", "todos", todos(t)))
			r, err := New(c, Config{DB: "db"})
			require.NoError(t, err)
			n := &node{t: t, c: c, cl: &Client{Replica: r, Transport: srv}, wall: wall}
			if pending {
				n.put(`{"id":"x","title":"mine"}`)
			}
			rep := n.sync()
			// Reported once by the pull, and once more by the push that came
			// back stale against it when there was a local change.
			require.NotEmpty(t, rep.Errors, "the far-future change is reported")
			for _, e := range rep.Errors {
				require.Equal(t, CodeClockAhead, e.Code)
				require.True(t, errors.Is(e.Err, hlc.ErrAhead), "%v", e.Err)
			}
			require.Empty(t, rep.Changes, "and not applied")

			n.put(`{"id":"y","title":"later"}`)
			hs := outboxHLCs(t, c)
			require.NotEmpty(t, hs)
			for _, h := range hs {
				ts, err := hlc.Parse(h)
				require.NoError(t, err)
				require.Less(t, ts.Wall, int64(wall+1000), "the local clock follows the wall clock, not the far-future change")
			}
			require.Zero(t, n.sync().DeadLettered)

			require.NoError(t, c.Close())
			c, err = engine.Open(fs, engine.Options{Now: now})
			require.NoError(t, err, "a restart finds the clock intact")
			defer c.Close()
			require.NoError(t, c.Auto(func(tx *engine.Tx) error {
				_, err := tx.Upsert("db", "todos", mustJSON(t, `{"id":"z","title":"after restart"}`))
				return err
			}))
		})
	}
}

// clockBoundServer refuses changes stamped past maxHLC the way the sync
// server does: 422 CLOCK_AHEAD naming the op.
type clockBoundServer struct {
	*fakeServer
	maxHLC string
}

func (s clockBoundServer) Push(ctx context.Context, req PushRequest) (PushResponse, error) {
	for i, ch := range req.Changes {
		if ch.HLC > s.maxHLC {
			idx := i
			return PushResponse{}, &ServerError{Status: 422, Code: CodeClockAhead, Message: "hlc ahead", Index: &idx, Op: ch.Op}
		}
	}
	return s.fakeServer.Push(ctx, req)
}

// TestClockAheadRefusalIsDeadLettered: changes of a device whose clock runs
// far ahead are refused by the server and kept visibly in the dead letters
// with CLOCK_AHEAD; the other devices never see them, and the device still
// pulls what others write.
func TestClockAheadRefusalIsDeadLettered(t *testing.T) {
	const wall = 1_700_000_000_000
	srv := clockBoundServer{newFakeServer(), hlc.Timestamp{Wall: wall + 300_000, Logical: hlc.MaxLogical}.String()}
	ahead := newNode(t, srv, LWW, wall+365*24*3600_000)
	other := newNode(t, srv, LWW, wall)

	ahead.put(`{"id":"a","title":"from the future"}`)
	ahead.put(`{"id":"b","title":"also"}`)
	rep := ahead.sync()
	require.Equal(t, 2, rep.DeadLettered)
	dl, err := ahead.cl.Replica.DeadLetters()
	require.NoError(t, err)
	require.Len(t, dl, 2)
	for _, e := range dl {
		code, _ := e.Note.Get("code")
		require.Equal(t, CodeClockAhead, code.Str())
	}
	pending, err := ahead.cl.Replica.Pending()
	require.NoError(t, err)
	require.Zero(t, pending)

	other.put(`{"id":"c","title":"present"}`)
	other.sync()
	require.Empty(t, srv.rows["todos\x00\"a\""].Op, "the refused change never reached the server")
	ahead.sync()
	require.Contains(t, ahead.rows(), "todos\x00\"c\"", "the device still receives others' changes")
	require.NotContains(t, other.rows(), "todos\x00\"a\"")
}

// TestJSONRefusesWhatWouldMergeKeys: strings that would reach the wire as
// U+FFFD (invalid UTF-8, lone surrogates) are errors both ways, so two
// different keys never become one.
func TestJSONRefusesWhatWouldMergeKeys(t *testing.T) {
	for _, in := range []string{"\"a\xff\"", "\"a\xfe\"", `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `{"\udfff":1}`, "[\"\xe2\x82\"]"} {
		_, err := FromJSON([]byte(in))
		require.Error(t, err, "%q", in)
	}
	for _, v := range []value.Value{value.StringOf("a\xff"), value.ArrayOf([]value.Value{value.StringOf("\xfe")}),
		value.ObjectOf(value.Member{Key: "\xff", Value: value.NumberOf(1)})} {
		_, err := ToJSON(v)
		require.Error(t, err, "%v", v)
	}
	for _, in := range []string{`"\ud83d\ude00"`, "\"\uFFFD\"", `"\\ud800"`} {
		v, err := FromJSON([]byte(in))
		require.NoError(t, err, "%q", in)
		_, err = ToJSON(v)
		require.NoError(t, err)
	}
}
