// Package bridge turns protocol requests (wasm/PROTOCOL.md) into engine
// calls and engine answers into response bytes. It is pure Go, so the whole
// request path is tested natively; wasm/ only moves the bytes.
package bridge

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"minibase/engine"
	"minibase/engine/kvstore"
	"minibase/engine/value"
	"minibase/fsadapter"
)

// OpenFS returns the filesystem for an adapter name and root directory.
type OpenFS func(adapter, root string) (fsadapter.FS, error)

// Bridge holds the open connections of one wasm instance.
//
// Connections to the same adapter and root share one engine.Conn: two
// stores writing the same files would corrupt each other, and sharing makes
// a second connect() see the first one's commits at once. The Conn closes
// when its last handle does.
type Bridge struct {
	openFS OpenFS
	conns  map[uint32]*shared      // handle → connection
	byRoot map[string]*shared      // adapter + root → connection
	stores map[uint32]*storeHandle // storage handles (storage.go)
	syncs  map[uint32]*syncHandle  // sync sessions (sync.go)
	jobs   map[uint32]any          // backups, checks and restores under way (backup.go)
	next   uint32
	// keys keeps passphrase-derived storage keys for the instance's
	// lifetime, the app's: reopening a store skips the slow derivation.
	keys *kvstore.KeyCache

	// OnBudget, when set, hears MemoryBudget each time a store opens or
	// closes, and when the files of stores held in memory grew or shrank
	// by more than an eighth of it since it last heard.
	OnBudget func(bytes int64)
	heard    int64     // the budget OnBudget last heard
	heldThen int64     // of it, what holders held
	holders  []*shared // open or pending stores whose files are in memory
	// Burst, when set, runs open, a store opening, as a burst of
	// allocation: the host holds its collector back to the memory budget
	// meanwhile. Opening replays the log into a new memtable, allocating
	// the memtable's size again in small objects that all stay live; a
	// collector paced from an almost empty heap starts cycle after cycle
	// while it runs, each scanning everything replayed so far (with 7 MB of
	// log, 2.4 s of a 2.5 s open in wasm went to collection assists).
	Burst func(open func())
	// pending are stores opened whose catalog was not loaded yet
	// (openRoot), by root key. Their budget counts from before their open,
	// so that the limit is the one they are opened under.
	pending map[string]*shared
	// bulk says a call since the last TookBulk committed a bulk transaction.
	bulk bool
	// warm are the connections whose bulk commits WarmCaches has not
	// followed up yet.
	warm []*engine.Conn
	// once is the id of the call being run in a once envelope (once.go),
	// whose answer its commit records.
	once *engine.CallID
}

// BulkWrites is the number of keys written from which committing a
// transaction counts as bulk work (TookBulk): a 100,000-row insertMany
// writes 400,000 with three indexes.
const BulkWrites = 1 << 16

// TookBulk reports whether a call since the last TookBulk committed a bulk
// transaction, which leaves a heap full of garbage and a collection under
// way: the host collects then, at the end of the long call, instead of
// letting the next short calls pay for it (the first hundred autocommit
// inserts after a 100,000-row load took 0.6-2.6 ms each instead of ~0.1).
func (b *Bridge) TookBulk() bool {
	was := b.bulk
	b.bulk = false
	return was
}

// WarmCaches fills the block caches of the stores that took bulk
// transactions since it last ran (engine.Conn.WarmCache). The host calls it
// after collecting the bulk work's garbage: the load's blocks then go into
// memory the collection freed, instead of raising the load's peak (wasm
// memory never shrinks), and the first reads after the load find them. A
// failure is left to the reads that meet the same block.
func (b *Bridge) WarmCaches() {
	for _, c := range b.warm {
		_ = c.WarmCache()
	}
	// Not b.warm[:0]: the array would keep the connections, and a closed
	// one's store with them (on the memory adapter its files: a heap the
	// memory limit no longer counts, collected back to back).
	b.warm = nil
}

type shared struct {
	conn       *engine.Conn
	key        string
	refs       int
	durability engine.Durability
	budget     int64            // memory the store is expected to hold (storeBudget)
	held       fsadapter.Holder // the store's files, when they are in memory
}

// heldBytes is what the store's files hold in memory (none on storage).
func (sh *shared) heldBytes() int64 {
	if sh.held == nil {
		return 0
	}
	return sh.held.HeldBytes()
}

// BaseMemoryBytes is the least memory the budget allows apart from the
// stores: the runtime, request and answer buffers, a transaction being
// built.
const BaseMemoryBytes = 8 << 20

// MemoryBudget is what the instance is expected to hold: each open store's
// memtable and cache, plus headroom for everything else of half that (at
// least BaseMemoryBytes). The wasm build sets it as the Go runtime's soft
// memory limit, so the heap is collected back towards it rather than left
// to double (wasm memory, once grown, is never returned).
//
// Wasm memory peaks at about the limit plus what is allocated before a
// collection catches up, and past the limit the collector runs more often
// (Go caps it at half the CPU). A 100,000-row insertMany on the node
// defaults (stores 32 MB): with 24 MB of headroom, 59 MB peak and 29-31 us
// per row; with 16 MB, 59 MB and 30-32 us; with 8 MB, 52 MB and 34-38 us.
// Half the stores keeps the small-device defaults (stores 16 MB) at 8 MB of
// headroom, where their 48 MB memory target is, and gives the node defaults
// the faster setting.
//
// The files of a store on an in-memory backend (the memory adapter) are
// heap too, and count at their size: below them the limit would hold the
// collector in back-to-back cycles for good (a 100,000-row table on the
// memory adapter, live heap 42-44 MB against a 24 MB limit: 26 collections
// in 3 s and 54 us per autocommit insert).
func (b *Bridge) MemoryBudget() int64 {
	var stores, held int64
	for _, m := range []map[string]*shared{b.byRoot, b.pending} {
		for _, sh := range m {
			stores += sh.budget
			held += sh.heldBytes()
		}
	}
	return stores + max(int64(BaseMemoryBytes), stores/2) + held
}

func (b *Bridge) budgetChanged() {
	b.heard, b.heldThen = b.MemoryBudget(), b.held()
	if b.OnBudget != nil {
		b.OnBudget(b.heard)
	}
}

// forget gives back the budget of a store no longer open.
func (b *Bridge) forget(sh *shared) {
	b.warm = slices.DeleteFunc(b.warm, func(c *engine.Conn) bool { return c == sh.conn })
	if i := slices.Index(b.holders, sh); i >= 0 {
		b.holders = slices.Delete(b.holders, i, i+1)
	}
	b.budgetChanged()
}

// held is what the files of stores held in memory hold.
func (b *Bridge) held() int64 {
	var n int64
	for _, sh := range b.holders {
		n += sh.heldBytes()
	}
	return n
}

// followHeld tells OnBudget when in-memory files moved the budget by more
// than an eighth since it last heard. It runs after every call: only the
// held files can have moved the budget since (opening and closing tell
// OnBudget themselves), so it sums those, not every store's budget.
func (b *Bridge) followHeld() {
	if len(b.holders) == 0 {
		return
	}
	if d := b.held() - b.heldThen; d > b.heard/8 || d < -b.heard/8 {
		b.budgetChanged()
	}
}

// New returns a bridge that opens filesystems with openFS.
func New(openFS OpenFS) *Bridge {
	return &Bridge{openFS: openFS, conns: map[uint32]*shared{}, byRoot: map[string]*shared{}, pending: map[string]*shared{}, syncs: map[uint32]*syncHandle{},
		keys: kvstore.NewKeyCache(0)}
}

// release drops handle h, closing its Conn when no handle is left.
func (b *Bridge) release(h uint32) error {
	sh, ok := b.conns[h]
	if !ok {
		return nil
	}
	delete(b.conns, h)
	for id, st := range b.stores {
		if st.conn == h {
			delete(b.stores, id) // a store lives no longer than its connection handle
		}
	}
	for id, sy := range b.syncs {
		if sy.conn == h {
			delete(b.syncs, id) // nor does a sync session
		}
	}
	sh.refs--
	if sh.refs > 0 {
		return nil
	}
	delete(b.byRoot, sh.key)
	b.forget(sh)
	return sh.conn.Close()
}

// Status bytes that start every response.
const (
	StatusOK    = 0
	StatusError = 1
)

// Handle runs one request and appends the response to out. It may
// overwrite req's bytes (a once envelope is unwrapped in place).
func (b *Bridge) Handle(req []byte, out []byte) (resp []byte) {
	defer func() {
		// A bug must not take the instance (and every open database) down with
		// it: report it as INTERNAL and keep serving.
		if r := recover(); r != nil {
			resp = appendError(out[:0], engine.CodeInternal, fmt.Sprintf("internal error: %v\n%s", r, debug.Stack()))
		}
	}()
	defer b.followHeld()
	if id, inner, ok := unwrapOnce(req); ok {
		return b.handleOnce(id, inner, out) // once.go
	}
	return b.handle(req, out)
}

// handle runs one request that is not a once envelope.
func (b *Bridge) handle(req []byte, out []byte) []byte {
	// The fast paths, each for one op; each reports false for a request it
	// does not serve, which the general path below then serves or words the
	// error of.
	var fast func(*Bridge, []byte, []byte) ([]byte, bool)
	switch requestOp(req) {
	case "get", "selectEq":
		fast = (*Bridge).handleLookup
	case "insert":
		fast = (*Bridge).handleInsert
	case "insertMany":
		fast = (*Bridge).handleStream
	case "importRows":
		fast = (*Bridge).handleImportRows // backup.go
	}
	if fast != nil {
		if resp, ok := fast(b, req, out); ok {
			return resp
		}
	}
	v, err := value.Decode(req)
	if err != nil {
		return appendError(out, engine.CodeBadValue, "malformed request: "+err.Error())
	}
	if v.Kind() != value.Array || v.Len() == 0 || v.Index(0).Kind() != value.String {
		return appendError(out, engine.CodeBadQuery, "a request is [op, ...args]")
	}
	c := &call{b: b, op: v.Index(0).Str(), args: v.Items()[1:], out: append(out, StatusOK), start: len(out)}
	if err := c.run(); err != nil {
		return appendError(out, engine.CodeOf(err), err.Error())
	}
	return c.out
}

func appendError(out []byte, code engine.Code, msg string) []byte {
	out = append(out, StatusError)
	return value.Append(out, value.ObjectOf(
		value.Member{Key: "code", Value: value.StringOf(string(code))},
		value.Member{Key: "message", Value: value.StringOf(msg)},
	))
}

// handleStream serves insertMany without decoding the whole request first:
// the rows are decoded one at a time as they are inserted, so a bulk insert
// never holds all its decoded rows at once. It reports false for any other
// request (or one it cannot read), which Handle then decodes as usual.
func (b *Bridge) handleStream(req []byte, out []byte) ([]byte, bool) {
	d, args, ok := tableRequest(req, "insertMany")
	if !ok {
		return nil, false
	}
	count, err := d.ArrayHeader()
	if err != nil {
		return nil, false // not an array: Handle reports it
	}
	c := &call{b: b, op: "insertMany", args: args, out: append(out, StatusOK), start: len(out)}
	err = c.tableOp(func(tx *engine.Tx, db, table string) error {
		// Rows are decoded straight from the request; a malformed row or
		// trailing bytes fail the statement before it commits anything.
		n, err := tx.InsertEncoded(db, table, d, count)
		if err != nil {
			return err
		}
		return c.result(value.NumberOf(float64(n)))
	})
	if err != nil {
		return appendError(out, engine.CodeOf(err), err.Error()), true
	}
	return c.out, true
}

// requestOp is the op of a request [op, ...args], a view of its bytes, or
// "" when the request does not start that way: one read of the head picks
// the fast path instead of each fast path decoding it again.
func requestOp(req []byte) string {
	d := value.NewDecoder(req)
	if _, err := d.ArrayHeader(); err != nil {
		return ""
	}
	op, _ := d.StringView()
	return op
}

// tableRequest reads the head of a request [op, conn, tx, db, table, x]
// for the given op: the four table arguments, and the decoder at x. It
// reports false for any other request.
func tableRequest(req []byte, op string) (*value.Decoder, []value.Value, bool) {
	d := value.NewDecoder(req)
	if n, err := d.ArrayHeader(); err != nil || n != 6 {
		return nil, nil, false
	}
	if name, ok := d.StringView(); !ok || name != op {
		return nil, nil, false
	}
	args := make([]value.Value, 4)
	for i := range args {
		var err error
		if args[i], err = d.Next(); err != nil {
			return nil, nil, false
		}
	}
	return d, args, true
}

// handleInsert serves insert, the single-row write every app makes most,
// decoding the row straight from the request into the engine's row (as
// handleStream does for insertMany) instead of into an object value first.
// A request of another shape, or one that is not well formed (whose error
// the general path words), reports false.
func (b *Bridge) handleInsert(req []byte, out []byte) ([]byte, bool) {
	d, args, ok := tableRequest(req, "insert")
	if !ok || !value.WellFormed(req) {
		return nil, false
	}
	if tag, ok := d.PeekTag(); !ok || tag != value.TagObject {
		return nil, false // not an object: the general path says so
	}
	c := &call{b: b, op: "insert", args: args, out: append(out, StatusOK), start: len(out)}
	err := c.tableOp(func(tx *engine.Tx, db, table string) error {
		id, err := tx.InsertEncodedOne(db, table, d)
		if err != nil {
			return err
		}
		return idResult(c, id)
	})
	if err != nil {
		return appendError(out, engine.CodeOf(err), err.Error()), true
	}
	return c.out, true
}

// handleLookup serves the hottest reads, get and selectEq, reading the
// request in place: names are looked up through views of the request bytes
// instead of strings decoded from it. Anything unusual (a bad argument, a
// closed handle, a system database) reports false, and Handle serves the
// request the general way, which also words the error.
func (b *Bridge) handleLookup(req []byte, out []byte) ([]byte, bool) {
	d := value.NewDecoder(req)
	n, err := d.ArrayHeader()
	if err != nil || (n != 6 && n != 7) {
		return nil, false
	}
	op, ok := d.StringView()
	if !ok || !(op == "get" && n == 6 || op == "selectEq" && n == 7) {
		return nil, false
	}
	connV, err1 := d.Next()
	txV, err2 := d.Next()
	db, ok1 := d.StringView()
	table, ok2 := d.StringView()
	col, ok3 := "", true
	if op == "selectEq" {
		col, ok3 = d.StringView()
	}
	key, err3 := d.Next()
	if err1 != nil || err2 != nil || err3 != nil || !ok1 || !ok2 || !ok3 || d.More() ||
		!connV.IsInteger() || !txV.IsInteger() || strings.HasPrefix(db, engine.SystemPrefix) {
		return nil, false
	}
	sh, ok := b.conns[uint32(connV.Number())]
	if !ok {
		return nil, false
	}
	run := func(tx *engine.Tx) ([]byte, error) {
		if op == "get" {
			return tx.GetTo(db, table, key, append(out, StatusOK))
		}
		return tx.SelectEqTo(db, table, col, key, append(out, StatusOK))
	}
	var resp []byte
	if txV.Number() == 0 {
		err = sh.conn.Auto(func(tx *engine.Tx) error {
			var err error
			resp, err = run(tx)
			return err
		})
	} else {
		var tx *engine.Tx
		if tx, err = sh.conn.Tx(uint64(txV.Number())); err == nil {
			resp, err = run(tx)
		}
	}
	if err != nil {
		return appendError(out, engine.CodeOf(err), err.Error()), true
	}
	return resp, true
}
