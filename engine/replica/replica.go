// Package replica is the client side of offline sync: the state machine
// between a local engine database and a sync server speaking
// server/PROTOCOL.md. It is pure Go (no net/http, no syscall/js): requests
// go through a Transport, or, in the browser, the JS side makes them and
// hands the answers to the same steps (NextPush, AckPush, Reject,
// ApplyPull), which the bridge exposes as operations.
//
// What it relies on from the engine: every write to a synced table has
// already queued an outbox entry in its own transaction (engine/syncmeta.go).
// Each step here runs as one engine transaction, so a pulled page and the
// cursor after it, or a push answer and the outbox entries it retires,
// commit together: a process killed at any point re-sends or re-pulls, and
// the server's at-most-once op ids make that harmless.
package replica

import (
	"errors"
	"fmt"

	"minibase/engine"
	"minibase/engine/hlc"
	"minibase/engine/value"
)

// Policy says what happens when a remote change meets a local change that
// has not been acknowledged yet (or a push comes back stale).
type Policy string

// The policies.
const (
	// LWW keeps the version with the greater (hlc, origin): the server's
	// own rule, so a client and the server always agree on the winner.
	LWW Policy = "lww"
	// ServerWins takes the remote version and drops the local change.
	ServerWins Policy = "server-wins"
	// ClientWins keeps the local row and sends it again with a fresh clock
	// reading, which then beats the remote one.
	ClientWins Policy = "client-wins"
	// Custom files the conflict for the app's merge function (Conflicts,
	// Resolve); the merged row is written locally and pushed as a new change.
	Custom Policy = "custom"
	// MergeFields merges column by column against the last synced version:
	// a column only one side changed takes that side's value; a column both
	// changed goes to the later writer (as LWW). A delete on either side
	// falls back to LWW for the whole row. A merged row that differs from
	// the remote one is pushed as a new change.
	MergeFields Policy = "merge-fields"
)

// Config configures a Replica.
type Config struct {
	DB     string
	Tables []string // synced tables to sync; nil means every synced table of DB
	Policy Policy   // LWW when empty
}

// Replica syncs one database of a Conn. Its methods are not safe for
// concurrent use: one sync runs at a time (the JS side and Client ensure it).
type Replica struct {
	c      *engine.Conn
	db     string
	only   map[string]bool // nil: all synced tables
	policy Policy
	client string
	seen   map[string]bool // during a full resync: rows the server returned
}

// RowChange is a remote change that altered a local row (the `change` event).
type RowChange struct {
	Table  string
	Key    value.Value
	Row    value.Value // null: deleted
	HLC    string
	Origin string
}

// Conflict reports a remote change that met a local unacknowledged change
// (the `conflict` event). Resolution is "remote" (local change dropped),
// "local" (local change kept, it wins), "reissued" (client-wins: local row
// sent again), "merged" (merge-fields) or "pending" (waiting for the merge
// function; ID names it).
type Conflict struct {
	Table      string
	Key        value.Value
	Local      value.Value
	Remote     value.Value
	Base       value.Value
	Resolution string
	ID         uint64
}

// RemoteError is a received change that could not be applied locally (it
// breaks a local constraint, such as a unique index the server does not
// know). It is skipped and reported, never retried forever.
type RemoteError struct {
	Table string
	Key   value.Value
	Err   error
	// Code is CodeClockAhead for a change stamped too far ahead of this
	// device's clock (its clock is not adopted), else the engine's code.
	Code string
}

// remoteError reports a received change that was not applied.
func remoteError(table string, key value.Value, err error) RemoteError {
	code := string(engine.CodeOf(err))
	if errors.Is(err, hlc.ErrAhead) {
		// The code leads the message too: hosts that pass on only the
		// message (the JS error event) still name it.
		code, err = CodeClockAhead, fmt.Errorf("%s: %w", CodeClockAhead, err)
	}
	return RemoteError{Table: table, Key: key, Err: err, Code: code}
}

// Report is what one step did.
type Report struct {
	Applied, Duplicate, Stale int // push verdicts
	Pulled                    int
	DeadLettered              int
	Changes                   []RowChange
	Conflicts                 []Conflict
	Errors                    []RemoteError
}

func (r *Report) add(o Report) {
	r.Applied += o.Applied
	r.Duplicate += o.Duplicate
	r.Stale += o.Stale
	r.Pulled += o.Pulled
	r.DeadLettered += o.DeadLettered
	r.Changes = append(r.Changes, o.Changes...)
	r.Conflicts = append(r.Conflicts, o.Conflicts...)
	r.Errors = append(r.Errors, o.Errors...)
}

// New opens the sync state of cfg.DB. An unfinished full resync (the process
// died during one) starts over.
func New(c *engine.Conn, cfg Config) (*Replica, error) {
	switch cfg.Policy {
	case "":
		cfg.Policy = LWW
	case LWW, ServerWins, ClientWins, Custom, MergeFields:
	default:
		return nil, fmt.Errorf("sync: unknown conflict policy %q (use lww, server-wins, client-wins, merge-fields or a function)", cfg.Policy)
	}
	client, err := c.SyncClientID()
	if err != nil {
		return nil, err
	}
	r := &Replica{c: c, db: cfg.DB, policy: cfg.Policy, client: client}
	if _, err := c.SyncTables(cfg.DB); err != nil {
		return nil, err
	}
	if cfg.Tables != nil {
		// Naming a table opts it into sync (its rows are queued once).
		r.only = map[string]bool{}
		for _, t := range cfg.Tables {
			if err := c.EnableSync(cfg.DB, t); err != nil {
				return nil, err
			}
			r.only[t] = true
		}
	}
	var resync bool
	err = c.Auto(func(tx *engine.Tx) error {
		v, err := tx.SyncState(r.stateName("resync"))
		resync = v.Kind() == value.Bool && v.Bool()
		if err == nil && resync {
			err = tx.SetSyncState(r.stateName("cursor"), value.NumberOf(0))
		}
		return err
	})
	if resync {
		r.seen = map[string]bool{}
	}
	return r, err
}

// Client is the client id sent as origin and in pushes.
func (r *Replica) Client() string { return r.client }

func (r *Replica) stateName(s string) string { return s + ":" + r.db }

func (r *Replica) wants(table string) bool {
	return table != "" && (r.only == nil || r.only[table])
}

// Cursor is the server sequence number pulled up to.
func (r *Replica) Cursor() (int64, error) {
	var cur int64
	err := r.c.Auto(func(tx *engine.Tx) error {
		v, err := tx.SyncState(r.stateName("cursor"))
		cur = int64(v.Number())
		return err
	})
	return cur, err
}

// Resyncing reports whether a full resync is under way.
func (r *Replica) Resyncing() bool { return r.seen != nil }

// Pending counts the outbox entries of the synced tables.
func (r *Replica) Pending() (int, error) {
	n := 0
	err := r.c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(engine.Outbox, r.db, 0)
		for _, e := range es {
			if r.wants(e.Table) {
				n++
			}
		}
		return err
	})
	return n, err
}

// toChange renders an entry as the protocol's change.
func toChange(e engine.SyncEntry) (Change, error) {
	k, err := ToJSON(e.Key)
	if err != nil {
		return Change{}, err
	}
	row, err := ToJSON(e.Row)
	if err != nil {
		return Change{}, err
	}
	return Change{Op: e.Op, Table: e.Table, Key: k, Row: row, HLC: e.HLC, Origin: e.Origin}, nil
}

// NextPush is the next batch of at most limit outbox entries, in order.
// Entries of dropped tables are discarded on the way; an entry whose row
// cannot be written as JSON goes to the dead letters.
func (r *Replica) NextPush(limit int) (PushRequest, error) {
	req := PushRequest{Client: r.client, Changes: []Change{}}
	err := r.c.Auto(func(tx *engine.Tx) error {
		v, err := tx.SchemaVersion()
		if err != nil {
			return err
		}
		req.SchemaVersion = v
		scan := limit
		if r.only != nil {
			scan = 0
		}
		es, err := tx.SyncEntries(engine.Outbox, r.db, scan)
		if err != nil {
			return err
		}
		for _, e := range es {
			if len(req.Changes) >= limit {
				break
			}
			if e.Table == "" {
				if err := tx.SyncDelete(engine.Outbox, e.Seq); err != nil {
					return err
				}
				continue
			}
			if !r.wants(e.Table) {
				continue
			}
			ch, err := toChange(e)
			if err != nil {
				if err := r.deadLetter(tx, e, "BAD_VALUE", err.Error()); err != nil {
					return err
				}
				continue
			}
			req.Changes = append(req.Changes, ch)
		}
		return nil
	})
	return req, err
}

func (r *Replica) deadLetter(tx *engine.Tx, e engine.SyncEntry, code, msg string) error {
	if err := tx.SyncDelete(engine.Outbox, e.Seq); err != nil {
		return err
	}
	e.Note = value.ObjectOf(value.Member{Key: "code", Value: value.StringOf(code)},
		value.Member{Key: "message", Value: value.StringOf(msg)})
	_, err := tx.SyncAppend(engine.DeadLetters, e)
	return err
}

// outboxByOp maps op ids to outbox entries. The ops of a push answer are
// the head of the outbox (NextPush takes them from there), so the head is
// read first and the whole outbox only when an op is not found in it.
func outboxByOp(tx *engine.Tx, db string, ops []string) (map[string]engine.SyncEntry, error) {
	for _, limit := range []int{2*len(ops) + 64, 0} {
		es, err := tx.SyncEntries(engine.Outbox, db, limit)
		if err != nil {
			return nil, err
		}
		m := make(map[string]engine.SyncEntry, len(es))
		for _, e := range es {
			m[e.Op] = e
		}
		all := true
		for _, op := range ops {
			_, ok := m[op]
			all = all && ok
		}
		if all || limit == 0 || len(es) < limit {
			return m, nil
		}
	}
	return nil, nil
}

// AckPush records the server's answer to a push: applied and duplicate
// entries leave the outbox; a stale one leaves it too and the server's
// current version goes through the conflict policy.
func (r *Replica) AckPush(resp PushResponse) (Report, error) {
	var rep Report
	err := r.c.Auto(func(tx *engine.Tx) error {
		rep = Report{}
		ops := make([]string, len(resp.Results))
		for i, res := range resp.Results {
			ops[i] = res.Op
		}
		byOp, err := outboxByOp(tx, r.db, ops)
		if err != nil {
			return err
		}
		type stale struct {
			e   engine.SyncEntry
			cur *Change
		}
		var stales []stale
		for _, res := range resp.Results {
			e, ok := byOp[res.Op]
			if !ok {
				continue // already retired (an earlier answer to a re-sent push)
			}
			switch res.Status {
			case Applied, Duplicate:
				if res.Status == Applied {
					rep.Applied++
				} else {
					rep.Duplicate++
				}
			case Stale:
				rep.Stale++
				if res.Current != nil {
					stales = append(stales, stale{e, res.Current})
				}
			default:
				continue // unknown verdict: keep the entry, push it again later
			}
			if err := tx.SyncDelete(engine.Outbox, e.Seq); err != nil {
				return err
			}
		}
		if len(stales) == 0 {
			return nil
		}
		pend, err := r.pendingRows(tx)
		if err != nil {
			return err
		}
		// Several stale ops of one row (a batch may carry more than one
		// change to it) are one conflict: resolved once, against the
		// server's current version, with every local change to the row.
		var order []string
		byRow := map[string][]stale{}
		for _, s := range stales {
			k := rowID(s.e.Table, s.e.Key)
			if _, ok := byRow[k]; !ok {
				order = append(order, k)
			}
			byRow[k] = append(byRow[k], s)
		}
		for _, k := range order {
			ss := byRow[k]
			var local []engine.SyncEntry
			for _, s := range ss {
				local = append(local, s.e)
			}
			local = append(local, pend[k]...)
			if err := r.resolve(tx, *ss[len(ss)-1].cur, local, true, &rep); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

// Reject handles a 422 VALIDATION or CLOCK_AHEAD answer: the op it names
// moves to the dead letters with that code (the rest of the batch is pushed
// again by the next round). A change refused for its clock was stamped by a
// device clock running ahead of the server's; it is kept, visible, rather
// than re-stamped, and Retry sends it again once the clocks agree.
func (r *Replica) Reject(req PushRequest, serr *ServerError) error {
	op := serr.Op
	if op == "" && serr.Index != nil && *serr.Index >= 0 && *serr.Index < len(req.Changes) {
		op = req.Changes[*serr.Index].Op
	}
	if op == "" {
		return fmt.Errorf("sync: validation error names no op: %w", serr)
	}
	return r.c.Auto(func(tx *engine.Tx) error {
		byOp, err := outboxByOp(tx, r.db, []string{op})
		if err != nil {
			return err
		}
		e, ok := byOp[op]
		if !ok {
			return fmt.Errorf("sync: rejected op %s is not in the outbox: %w", op, serr)
		}
		return r.deadLetter(tx, e, serr.Code, serr.Message)
	})
}

// rowID names a row across tables; keys are compared in canonical JSON.
func rowID(table string, key value.Value) string {
	k, _ := ToJSON(key)
	return table + "\x00" + string(k)
}

// pendingRows groups the outbox by row.
func (r *Replica) pendingRows(tx *engine.Tx) (map[string][]engine.SyncEntry, error) {
	es, err := tx.SyncEntries(engine.Outbox, r.db, 0)
	if err != nil {
		return nil, err
	}
	m := map[string][]engine.SyncEntry{}
	for _, e := range es {
		if r.wants(e.Table) {
			k := rowID(e.Table, e.Key)
			m[k] = append(m[k], e)
		}
	}
	return m, nil
}

// conflictRows maps rows to their unresolved conflict (custom policy).
func (r *Replica) conflictRows(tx *engine.Tx) (map[string]engine.SyncEntry, error) {
	es, err := tx.SyncEntries(engine.Conflicts, r.db, 0)
	m := map[string]engine.SyncEntry{}
	for _, e := range es {
		m[rowID(e.Table, e.Key)] = e
	}
	return m, err
}

// after reports whether version (h1, o1) is later than (h2, o2): the
// protocol's order, clock first, origin as the tie-break.
func after(h1, o1, h2, o2 string) bool {
	return h1 > h2 || (h1 == h2 && o1 > o2)
}

// decoded is a received change in engine values.
type decoded struct {
	table    string
	key, row value.Value
	meta     engine.RowMeta
}

func decodeChange(ch Change) (decoded, error) {
	key, err := FromJSON(ch.Key)
	if err != nil {
		return decoded{}, fmt.Errorf("sync: key of a received change: %w", err)
	}
	row, err := FromJSON(ch.Row)
	if err != nil {
		return decoded{}, fmt.Errorf("sync: row of a received change: %w", err)
	}
	return decoded{table: ch.Table, key: key, row: row, meta: engine.RowMeta{HLC: ch.HLC, Origin: ch.Origin}}, nil
}

// apply writes a received version locally. A version the local schema
// refuses is reported and skipped rather than wedging every later sync.
func (r *Replica) apply(tx *engine.Tx, d decoded, rep *Report) error {
	meta := d.meta
	changed, err := tx.PutSynced(r.db, d.table, d.key, d.row, &meta)
	if err != nil {
		var e *engine.Error
		if errors.As(err, &e) && e.Code != engine.CodeIO && e.Code != engine.CodeCorrupt && e.Code != engine.CodeClosed && e.Code != engine.CodeInternal {
			rep.Errors = append(rep.Errors, remoteError(d.table, d.key, err))
			return nil
		}
		return err
	}
	if changed {
		rep.Changes = append(rep.Changes, RowChange{Table: d.table, Key: d.key, Row: d.row, HLC: d.meta.HLC, Origin: d.meta.Origin})
	}
	return nil
}

// resolve brings one received version in: straight in when the row has no
// local unacknowledged change, through the policy when it has (local lists
// them, oldest first; stale says the first one just came back stale).
func (r *Replica) resolve(tx *engine.Tx, ch Change, local []engine.SyncEntry, stale bool, rep *Report) error {
	if !r.wants(ch.Table) {
		return nil
	}
	d, err := decodeChange(ch)
	if err != nil {
		rep.Errors = append(rep.Errors, remoteError(ch.Table, value.NullValue, err))
		return nil
	}
	if len(local) == 0 {
		return r.apply(tx, d, rep)
	}
	if err := tx.ObserveSyncClock(d.meta.HLC); err != nil {
		rep.Errors = append(rep.Errors, remoteError(d.table, d.key, err))
		return nil
	}
	if !stale && d.meta.Origin == r.client {
		return nil // our own earlier change coming back: the local one is newer
	}
	cur, _, _, err := tx.SyncRow(r.db, d.table, d.key)
	if err != nil {
		return err
	}
	last := local[len(local)-1]
	conf := Conflict{Table: d.table, Key: d.key, Local: cur, Remote: d.row, Base: local[0].Base}
	drop := func() error {
		for _, e := range local {
			if err := tx.SyncDelete(engine.Outbox, e.Seq); err != nil { // a no-op for the stale one
				return err
			}
		}
		return nil
	}
	policy := r.policy
	if policy == MergeFields && (cur.IsNull() || d.row.IsNull() || conf.Base.IsNull()) {
		policy = LWW // a delete (or a row created on both sides) has no columns to merge
	}
	remoteLater := after(d.meta.HLC, d.meta.Origin, last.HLC, last.Origin)
	switch policy {
	case MergeFields:
		merged := mergeFields(cur, d.row, conf.Base, remoteLater)
		conf.Resolution = "merged"
		if err := drop(); err != nil {
			return err
		}
		if err := r.apply(tx, d, rep); err != nil {
			return err
		}
		if !value.Equal(merged, d.row) {
			if _, err := tx.PutSynced(r.db, d.table, d.key, merged, nil); err != nil {
				return err
			}
		}
	case LWW, ServerWins:
		if policy == LWW && !remoteLater {
			conf.Resolution = "local"
			break
		}
		conf.Resolution = "remote"
		if err := drop(); err != nil {
			return err
		}
		if err := r.apply(tx, d, rep); err != nil {
			return err
		}
	case ClientWins:
		conf.Resolution = "reissued"
		if err := drop(); err != nil {
			return err
		}
		// Take the remote version first (the clock moves past it), then
		// write the local row over it as a new change.
		meta := d.meta
		if _, err := tx.PutSynced(r.db, d.table, d.key, d.row, &meta); err != nil {
			return err
		}
		if _, err := tx.PutSynced(r.db, d.table, d.key, cur, nil); err != nil {
			return err
		}
	case Custom:
		conf.Resolution = "pending"
		if err := drop(); err != nil {
			return err
		}
		id, err := tx.SyncAppend(engine.Conflicts, engine.SyncEntry{DB: r.db, Table: d.table, Key: d.key,
			Row: cur, Base: conf.Base, HLC: d.meta.HLC, Origin: d.meta.Origin, Note: d.row})
		if err != nil {
			return err
		}
		conf.ID = id
	}
	rep.Conflicts = append(rep.Conflicts, conf)
	return nil
}

// mergeFields merges two versions of a row column by column against base.
func mergeFields(local, remote, base value.Value, remoteLater bool) value.Value {
	get := func(v value.Value, k string) (value.Value, bool) { return v.Get(k) }
	var m []value.Member
	seen := map[string]bool{}
	add := func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		l, _ := get(local, k)
		rv, _ := get(remote, k)
		b, _ := get(base, k)
		pick := l
		switch {
		case value.Equal(l, b) && l.Kind() == b.Kind():
			pick = rv
		case value.Equal(rv, b) && rv.Kind() == b.Kind():
			pick = l
		case remoteLater:
			pick = rv
		}
		m = append(m, value.Member{Key: k, Value: pick})
	}
	for i := 0; i < local.Len(); i++ {
		add(local.KeyAt(i))
	}
	for i := 0; i < remote.Len(); i++ {
		add(remote.KeyAt(i))
	}
	return value.ObjectOf(m...)
}

// ApplyPull applies one page of a pull and moves the cursor past it, in one
// transaction.
func (r *Replica) ApplyPull(resp PullResponse) (Report, error) {
	var rep Report
	err := r.c.Auto(func(tx *engine.Tx) error {
		rep = Report{Pulled: len(resp.Changes)}
		pend, err := r.pendingRows(tx)
		if err != nil {
			return err
		}
		confs, err := r.conflictRows(tx)
		if err != nil {
			return err
		}
		for _, ch := range resp.Changes {
			if !r.wants(ch.Table) {
				continue
			}
			key, err := FromJSON(ch.Key)
			if err != nil {
				rep.Errors = append(rep.Errors, remoteError(ch.Table, value.NullValue, err))
				continue
			}
			id := rowID(ch.Table, key)
			if r.seen != nil {
				r.seen[id] = true
			}
			if ch.Origin == r.client && len(pend[id]) == 0 {
				// Our own change coming back: skip it when the row still
				// holds exactly that version (the common case after a push).
				if _, m, ok, err := tx.SyncRow(r.db, ch.Table, key); err == nil && ok && m.HLC == ch.HLC && m.Origin == ch.Origin {
					continue
				}
			}
			d, err := decodeChange(ch)
			if err != nil {
				rep.Errors = append(rep.Errors, remoteError(ch.Table, value.NullValue, err))
				continue
			}
			if c, ok := confs[id]; ok && after(ch.HLC, ch.Origin, c.HLC, c.Origin) {
				// A newer remote version for a row waiting on the merge
				// function replaces the remote side of that conflict.
				if err := tx.SyncDelete(engine.Conflicts, c.Seq); err != nil {
					return err
				}
				c.HLC, c.Origin, c.Note = ch.HLC, ch.Origin, d.row
				if _, err := tx.SyncAppend(engine.Conflicts, c); err != nil {
					return err
				}
				continue
			} else if ok {
				continue
			}
			if err := r.resolve(tx, ch, pend[id], false, &rep); err != nil {
				return err
			}
		}
		return tx.SetSyncState(r.stateName("cursor"), value.NumberOf(float64(resp.Cursor)))
	})
	return rep, err
}

// BeginResync starts a full resync (the server answered 410
// RESYNC_REQUIRED): the cursor goes back to 0 and the rows the full pull
// returns are tracked, so FinishResync can drop the others.
func (r *Replica) BeginResync() error {
	r.seen = map[string]bool{}
	return r.c.Auto(func(tx *engine.Tx) error {
		if err := tx.SetSyncState(r.stateName("resync"), value.BoolOf(true)); err != nil {
			return err
		}
		return tx.SetSyncState(r.stateName("cursor"), value.NumberOf(0))
	})
}

// FinishResync ends a full resync once the pull has no more pages: local
// synced rows the server did not return are dropped, unless a local change
// to them is still waiting to be pushed.
func (r *Replica) FinishResync() (Report, error) {
	var rep Report
	if r.seen == nil {
		return rep, nil
	}
	tables, err := r.c.SyncTables(r.db)
	if err != nil {
		return rep, err
	}
	err = r.c.Auto(func(tx *engine.Tx) error {
		rep = Report{}
		pend, err := r.pendingRows(tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if !r.wants(t) {
				continue
			}
			var gone []value.Value
			err := tx.SyncRows(r.db, t, func(key value.Value) error {
				id := rowID(t, key)
				if !r.seen[id] && len(pend[id]) == 0 {
					gone = append(gone, key)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range gone {
				_, meta, _, err := tx.SyncRow(r.db, t, k)
				if err != nil {
					return err
				}
				if _, err := tx.PutSynced(r.db, t, k, value.NullValue, &meta); err != nil {
					return err
				}
				rep.Changes = append(rep.Changes, RowChange{Table: t, Key: k, Row: value.NullValue, HLC: meta.HLC, Origin: meta.Origin})
			}
		}
		return tx.SetSyncState(r.stateName("resync"), value.BoolOf(false))
	})
	if err == nil {
		r.seen = nil
	}
	return rep, err
}

// Conflicts lists the conflicts waiting for the merge function.
func (r *Replica) Conflicts() ([]engine.SyncEntry, error) {
	return r.list(engine.Conflicts)
}

// DeadLetters lists the changes the server rejected.
func (r *Replica) DeadLetters() ([]engine.SyncEntry, error) {
	return r.list(engine.DeadLetters)
}

func (r *Replica) list(l engine.SyncList) ([]engine.SyncEntry, error) {
	var out []engine.SyncEntry
	err := r.c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(l, r.db, 0)
		for _, e := range es {
			if r.wants(e.Table) {
				out = append(out, e)
			}
		}
		return err
	})
	return out, err
}

func findOp(es []engine.SyncEntry, op string) (engine.SyncEntry, bool) {
	for _, e := range es {
		if e.Op == op {
			return e, true
		}
	}
	return engine.SyncEntry{}, false
}

// Retry moves a dead letter back to the end of the outbox (same op id). One
// refused with CLOCK_AHEAD gets a fresh clock reading: its own would still
// be refused, and the device's clock has presumably been set right since.
// It then counts as the latest write of its row.
func (r *Replica) Retry(op string) error {
	return r.c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(engine.DeadLetters, r.db, 0)
		if err != nil {
			return err
		}
		e, ok := findOp(es, op)
		if !ok {
			return &engine.Error{Code: engine.CodeBadQuery, Msg: "sync: no dead letter with op " + op}
		}
		if err := tx.SyncDelete(engine.DeadLetters, e.Seq); err != nil {
			return err
		}
		if code, _ := e.Note.Get("code"); code.Str() == CodeClockAhead {
			if e.HLC, err = tx.NextSyncClock(); err != nil {
				return err
			}
		}
		e.Note = value.NullValue
		_, err = tx.SyncAppend(engine.Outbox, e)
		return err
	})
}

// Discard forgets a dead letter. The local row keeps whatever it holds; the
// next change to it (or a remote one) brings it back in step.
func (r *Replica) Discard(op string) error {
	return r.c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(engine.DeadLetters, r.db, 0)
		if err != nil {
			return err
		}
		e, ok := findOp(es, op)
		if !ok {
			return &engine.Error{Code: engine.CodeBadQuery, Msg: "sync: no dead letter with op " + op}
		}
		return tx.SyncDelete(engine.DeadLetters, e.Seq)
	})
}

// Resolve settles a conflict filed by the custom policy with the merged row
// (null deletes it): it is written locally as a new change, with a clock
// reading after the remote version's, and pushed by the next sync.
func (r *Replica) Resolve(id uint64, merged value.Value) error {
	return r.c.Auto(func(tx *engine.Tx) error {
		es, err := tx.SyncEntries(engine.Conflicts, r.db, 0)
		if err != nil {
			return err
		}
		var e *engine.SyncEntry
		for i := range es {
			if es[i].Seq == id {
				e = &es[i]
			}
		}
		if e == nil {
			return &engine.Error{Code: engine.CodeBadQuery, Msg: fmt.Sprintf("sync: no conflict %d", id)}
		}
		if err := tx.SyncDelete(engine.Conflicts, id); err != nil {
			return err
		}
		meta := engine.RowMeta{HLC: e.HLC, Origin: e.Origin}
		if _, err := tx.PutSynced(r.db, e.Table, e.Key, e.Note, &meta); err != nil {
			return err
		}
		_, err = tx.PutSynced(r.db, e.Table, e.Key, merged, nil)
		return err
	})
}
