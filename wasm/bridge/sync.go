package bridge

import (
	"minibase/engine"
	"minibase/engine/replica"
	"minibase/engine/value"
)

// Sync operations. The JS side (js/src/sync.js) makes the HTTP
// requests with the host's fetch and hands the answers here; these ops are
// the steps of engine/replica's state machine. Wire bodies travel as JSON
// strings, so JS sends what it got from the server without parsing it.
// The ops, their arguments and answers are in wasm/PROTOCOL.md ("Sync").

type syncHandle struct {
	conn uint32 // connection handle it belongs to
	r    *replica.Replica
	last replica.PushRequest // the batch in flight, for syncReject
}

func (c *call) syncHandle() (*syncHandle, error) {
	id, err := c.handle(0)
	if err != nil {
		return nil, err
	}
	h, ok := c.b.syncs[uint32(id)]
	if ok {
		if _, live := c.b.conns[h.conn]; live {
			return h, nil
		}
		delete(c.b.syncs, uint32(id))
	}
	return nil, &engine.Error{Code: engine.CodeClosed, Msg: c.op + ": the sync session or its connection is closed"}
}

func opSyncOpen(c *call, conn *engine.Conn) error {
	connH, _ := c.handle(0)
	db, err := c.dbArg(1)
	if err != nil {
		return err
	}
	cfg := replica.Config{DB: db}
	opts := c.arg(2)
	if !opts.IsNull() && opts.Kind() != value.Object {
		return c.bad("options must be an object")
	}
	if p, ok := opts.Get("policy"); ok && !p.IsNull() {
		if p.Kind() != value.String {
			return c.bad("policy must be a string")
		}
		cfg.Policy = replica.Policy(p.Str())
	}
	if ts, ok := opts.Get("tables"); ok && !ts.IsNull() {
		if ts.Kind() != value.Array {
			return c.bad("tables must be an array of table names")
		}
		cfg.Tables = []string{}
		for _, t := range ts.Items() {
			if t.Kind() != value.String {
				return c.bad("tables must be an array of table names")
			}
			cfg.Tables = append(cfg.Tables, t.Str())
		}
	}
	r, err := replica.New(conn, cfg)
	if err != nil {
		if _, ok := err.(*engine.Error); ok {
			return err
		}
		return c.bad("%v", err)
	}
	c.b.next++
	c.b.syncs[c.b.next] = &syncHandle{conn: uint32(connH), r: r}
	return c.result(value.ObjectOf(
		value.Member{Key: "handle", Value: value.NumberOf(float64(c.b.next))},
		value.Member{Key: "client", Value: value.StringOf(r.Client())}))
}

// jsonArg reads a server answer passed as a JSON string and decodes it.
func jsonArg[T any](c *call, i int, decode func([]byte) (T, error)) (T, error) {
	var zero T
	s, err := c.str(i, "JSON body")
	if err != nil {
		return zero, err
	}
	v, err := decode([]byte(s))
	if err != nil {
		return zero, &engine.Error{Code: "SYNC_PROTOCOL", Msg: c.op + ": the server's answer is not valid: " + err.Error()}
	}
	return v, nil
}

// opSyncClose forgets the session; closing a closed one is not an error.
func opSyncClose(c *call) error {
	if id, err := c.handle(0); err == nil {
		delete(c.b.syncs, uint32(id))
	}
	return c.result(value.NullValue)
}

func opSyncNextPush(c *call, h *syncHandle) error {
	limit := replica.DefaultBatch
	if v := c.arg(1); v.IsInteger() && v.Number() > 0 && v.Number() <= 1000 {
		limit = int(v.Number())
	}
	req, err := h.r.NextPush(limit)
	if err != nil {
		return err
	}
	h.last = req
	if len(req.Changes) == 0 {
		return c.result(value.NullValue)
	}
	b, err := replica.EncodePushRequest(req)
	if err != nil {
		return err
	}
	return c.result(value.StringOf(string(b)))
}

func opSyncAckPush(c *call, h *syncHandle) error {
	resp, err := jsonArg(c, 1, replica.DecodePushResponse)
	if err != nil {
		return err
	}
	return c.report(h.r.AckPush(resp))
}

func opSyncReject(c *call, h *syncHandle) error {
	body, err := c.str(1, "JSON body")
	if err != nil {
		return err
	}
	return c.done(h.r.Reject(h.last, replica.DecodeServerError(422, []byte(body))))
}

func opSyncCursor(c *call, h *syncHandle) error {
	cur, err := h.r.Cursor()
	if err != nil {
		return err
	}
	return c.result(value.NumberOf(float64(cur)))
}

func opSyncApplyPull(c *call, h *syncHandle) error {
	resp, err := jsonArg(c, 1, replica.DecodePullResponse)
	if err != nil {
		return err
	}
	return c.report(h.r.ApplyPull(resp))
}

func opSyncResync(c *call, h *syncHandle) error { return c.done(h.r.BeginResync()) }

func opSyncFinish(c *call, h *syncHandle) error { return c.report(h.r.FinishResync()) }

func opSyncPending(c *call, h *syncHandle) error {
	return c.number(h.r.Pending())
}

func opSyncDeadLetters(c *call, h *syncHandle) error {
	es, err := h.r.DeadLetters()
	if err != nil {
		return err
	}
	out := make([]value.Value, len(es))
	for i, e := range es {
		code, _ := e.Note.Get("code")
		msg, _ := e.Note.Get("message")
		out[i] = obj("op", value.StringOf(e.Op), "table", value.StringOf(e.Table), "key", e.Key,
			"row", e.Row, "hlc", value.StringOf(e.HLC), "code", code, "message", msg)
	}
	return c.result(value.ArrayOf(out))
}

func opSyncConflicts(c *call, h *syncHandle) error {
	es, err := h.r.Conflicts()
	if err != nil {
		return err
	}
	out := make([]value.Value, len(es))
	for i, e := range es {
		out[i] = obj("id", value.NumberOf(float64(e.Seq)), "table", value.StringOf(e.Table), "key", e.Key,
			"local", e.Row, "remote", e.Note, "base", e.Base)
	}
	return c.result(value.ArrayOf(out))
}

func opSyncRetry(c *call, h *syncHandle) error {
	op, err := c.str(1, "op")
	if err != nil {
		return err
	}
	return c.done(h.r.Retry(op))
}

func opSyncDiscard(c *call, h *syncHandle) error {
	op, err := c.str(1, "op")
	if err != nil {
		return err
	}
	return c.done(h.r.Discard(op))
}

func opSyncResolve(c *call, h *syncHandle) error {
	id, err := c.handle(1)
	if err != nil {
		return err
	}
	return c.done(h.r.Resolve(id, c.arg(2)))
}

// report answers a step's report.
func (c *call) report(rep replica.Report, err error) error {
	if err != nil {
		return err
	}
	return c.result(reportValue(rep))
}

func obj(kv ...any) value.Value {
	m := make([]value.Member, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m = append(m, value.Member{Key: kv[i].(string), Value: kv[i+1].(value.Value)})
	}
	return value.ObjectOf(m...)
}

// reportValue renders a step's report for the JS events.
func reportValue(r replica.Report) value.Value {
	num := func(n int) value.Value { return value.NumberOf(float64(n)) }
	changes := make([]value.Value, len(r.Changes))
	for i, ch := range r.Changes {
		changes[i] = obj("table", value.StringOf(ch.Table), "key", ch.Key, "row", ch.Row,
			"deleted", value.BoolOf(ch.Row.IsNull()), "hlc", value.StringOf(ch.HLC), "origin", value.StringOf(ch.Origin))
	}
	confs := make([]value.Value, len(r.Conflicts))
	for i, cf := range r.Conflicts {
		confs[i] = obj("table", value.StringOf(cf.Table), "key", cf.Key, "local", cf.Local, "remote", cf.Remote,
			"base", cf.Base, "resolution", value.StringOf(cf.Resolution), "id", value.NumberOf(float64(cf.ID)))
	}
	errs := make([]value.Value, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = obj("table", value.StringOf(e.Table), "key", e.Key, "message", value.StringOf(e.Err.Error()))
	}
	return obj("applied", num(r.Applied), "duplicate", num(r.Duplicate), "stale", num(r.Stale),
		"pulled", num(r.Pulled), "deadLettered", num(r.DeadLettered), "changes", value.ArrayOf(changes),
		"conflicts", value.ArrayOf(confs), "errors", value.ArrayOf(errs))
}
