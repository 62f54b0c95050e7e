// Package bridge turns protocol requests (wasm/PROTOCOL.md) into engine
// calls and engine answers into response bytes. It is pure Go, so the whole
// request path is tested natively; wasm/ only moves the bytes.
package bridge

import (
	"fmt"
	"runtime"
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
	heard    int64     // the budget OnBudget last heard, without what is lent
	heldThen int64     // of it, what holders held
	lent     int64     // lent to the stores' block caches (LendIdleMemory)
	told     int64     // the limit OnBudget last heard: heard plus lent
	holders  []*shared // open or pending stores whose files are in memory
	// HostBytes, when set, is the memory the runtime holds from the host
	// (in wasm, the linear memory it has grown, never given back): what
	// LendIdleMemory lends from.
	HostBytes func() int64
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
	// bulk says a call since the last TookBulk committed a bulk transaction
	// or flushed a checkpoint.
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
// inserts after a 100,000-row load took 0.6-2.6 ms each instead of ~0.1),
// and lends the block caches what the work grew (LendIdleMemory). A
// checkpoint that flushed counts too: it runs once writes have gone quiet,
// so what many small writes grew is lent as well.
func (b *Bridge) TookBulk() bool {
	was := b.bulk
	b.bulk = false
	return was
}

// WarmCaches fills the block caches of the stores that took bulk
// transactions since it last ran (engine.Conn.WarmCache). The host calls it
// after collecting the bulk work's garbage and lending what the work grew
// (LendIdleMemory): the load's blocks then go into memory the collection
// freed and into the loan, instead of raising the load's peak (wasm memory
// never shrinks), and the first reads after the load find them. A failure
// is left to the reads that meet the same block.
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
	cache      int64            // of it, its block cache's configured size
	lent       int64            // lent to its block cache past that (LendIdleMemory)
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
	stores, held := b.storeTotals()
	return stores + headroom(stores) + held
}

// storeTotals sums the open and pending stores' budgets and held files.
func (b *Bridge) storeTotals() (budget, held int64) {
	for _, m := range []map[string]*shared{b.byRoot, b.pending} {
		for _, sh := range m {
			budget += sh.budget
			held += sh.heldBytes()
		}
	}
	return budget, held
}

// headroom is the budget's room for everything but the stores of budget
// bytes: half that, at least BaseMemoryBytes.
func headroom(stores int64) int64 { return max(int64(BaseMemoryBytes), stores/2) }

// budgetChanged takes back what was lent (the stores it was lent among
// changed) and tells OnBudget the new budget.
func (b *Bridge) budgetChanged() {
	b.takeBack()
	b.hear()
}

// MaxCacheLoan bounds what LendIdleMemory lends a store's block cache, as a
// multiple of the cache's configured size.
const MaxCacheLoan = 3

// LendIdleMemory lends the open stores' block caches half of the memory
// the runtime holds from the host past the budget and as much again as the
// budget's headroom, at most MaxCacheLoan times each cache's own size,
// shared in proportion to those sizes (each takes whole chunks of
// cache.RingChunk), and raises the limit OnBudget hears by what they took.
// The host calls it right after collecting a bulk call's garbage
// (TookBulk), and then WarmCaches, which reads a load's run into the loan
// too.
//
// A bulk call grows wasm memory well past the budget (a 100,000-row
// insertMany on the small-device defaults: 47 MB against 24), and wasm
// memory is never given back: blocks kept in that memory cost the device
// nothing more, where each block read again is a file read (on a phone, a
// call into the mini-program's file system). A cache keeps the blocks it
// evicts in its loan (cache.Cache.SetLoan), in large chunks it lets go
// whole. What the loan holds is live under a limit raised by as much, so
// a write has the room it had before; its garbage may overshoot the limit
// by the headroom kept out of the loan and stay within what is held. Bulk
// work takes the loan back first (TakeBack), and so does a store opening
// or closing, until the next bulk call or checkpoint lends again.
func (b *Bridge) LendIdleMemory() {
	if b.HostBytes == nil {
		return
	}
	var caches int64
	for _, sh := range b.byRoot {
		caches += max(sh.cache, 0)
	}
	stores, held := b.storeTotals()
	budget := stores + headroom(stores) + held // MemoryBudget
	idle := max((b.HostBytes()-budget-headroom(stores))/2, 0)
	// Each store is lent its share anew; a cache lent as much as it has
	// keeps what its loan holds (after a checkpoint, most often).
	b.lent = 0
	for _, sh := range b.byRoot {
		var share int64
		if sh.cache > 0 {
			share = min(idle*sh.cache/caches, MaxCacheLoan*sh.cache)
		}
		sh.lent = sh.conn.LendCache(share)
		b.lent += sh.lent
	}
	b.hear()
}

// TakeBack ends the loan, as a store opening does, and reports whether
// there was one. It runs before bulk work (a bulk request, a bulk
// transaction begun), whose peak sets how much wasm memory is held for
// good: when there was a loan it collects, so that the bulk work starts
// from the live heap and the loan's chunks are free pages for its large
// arrays, as they would be without a loan.
func (b *Bridge) TakeBack() bool {
	if b.lent == 0 {
		return false
	}
	b.takeBack()
	b.hear()
	runtime.GC()
	return true
}

// takeBack ends the loan: the caches drop what they hold past their own
// size. The caller tells OnBudget.
func (b *Bridge) takeBack() {
	for _, m := range []map[string]*shared{b.byRoot, b.pending} {
		for _, sh := range m {
			if sh.lent > 0 {
				sh.lent = 0
				if sh.conn != nil {
					sh.conn.LendCache(0)
				}
			}
		}
	}
	b.lent = 0
}

// hear tells OnBudget the budget plus what is lent, when that changed
// (LendIdleMemory runs after every bulk call, most often lending nothing
// new).
func (b *Bridge) hear() {
	b.heard, b.heldThen = b.MemoryBudget(), b.held()
	if limit := b.heard + b.lent; b.OnBudget != nil && limit != b.told {
		b.told = limit
		b.OnBudget(limit)
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
