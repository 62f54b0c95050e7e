package bridge

import (
	"errors"
	"fmt"
	"runtime/metrics"
	"slices"
	"strings"

	"minibase/engine"
	"minibase/engine/lsm"
	"minibase/engine/value"
	"minibase/fsadapter"
)

// Storage engine defaults of the node and memory adapters (see open).
const (
	nodeMemtableBytes = 8 << 20
	nodeCacheBytes    = 16 << 20
	// opfsSegmentBytes is the size of an OPFS store's segment files (the
	// node adapter's, with its 8 MB memtable).
	opfsSegmentBytes = 4 << 20
)

// call is one request being served.
type call struct {
	b    *Bridge
	op   string
	args []value.Value
	out  []byte
	// start is where the response (status byte, value) begins in out.
	start int
}

func (c *call) bad(format string, a ...any) error {
	return &engine.Error{Code: engine.CodeBadQuery, Msg: c.op + ": " + fmt.Sprintf(format, a...)}
}

func (c *call) arg(i int) value.Value {
	if i < len(c.args) {
		return c.args[i]
	}
	return value.NullValue
}

func (c *call) str(i int, what string) (string, error) {
	v := c.arg(i)
	if v.Kind() != value.String {
		return "", c.bad("%s must be a string, got %s", what, v.Kind())
	}
	return v.Str(), nil
}

// flag reads an optional boolean option such as { ifNotExists: true }.
// userDB reads a database name from a user request: system databases (the
// storage manager's, later the sync client's) are reachable only through
// their own operations.
func (c *call) userDB(i int, what string) (string, error) {
	name, err := c.str(i, what)
	if err == nil && strings.HasPrefix(name, engine.SystemPrefix) {
		return "", c.bad("database names starting with %s are reserved", engine.SystemPrefix)
	}
	return name, err
}

// dbArg reads the current database of a table or schema operation; JS sends
// null when none was chosen.
func (c *call) dbArg(i int) (string, error) {
	if c.arg(i).Kind() != value.String {
		return "", &engine.Error{Code: engine.CodeNoSuchDatabase, Msg: "no database selected: call useDatabase first"}
	}
	return c.userDB(i, "database")
}

func (c *call) flag(i int, name string) (bool, error) {
	opts := c.arg(i)
	if opts.IsNull() {
		return false, nil
	}
	if opts.Kind() != value.Object {
		return false, c.bad("options must be an object, got %s", opts.Kind())
	}
	f, _ := opts.Get(name)
	switch f.Kind() {
	case value.Null, value.Bool:
		return f.Bool(), nil
	}
	return false, c.bad("%s must be a boolean, got %s", name, f)
}

func (c *call) handle(i int) (uint64, error) {
	v := c.arg(i)
	if !v.IsInteger() || v.Number() < 0 {
		return 0, c.bad("argument %d must be a handle number", i)
	}
	return uint64(v.Number()), nil
}

func (c *call) conn() (*engine.Conn, error) {
	h, err := c.handle(0)
	if err != nil {
		return nil, err
	}
	sh, ok := c.b.conns[uint32(h)]
	if !ok {
		return nil, &engine.Error{Code: engine.CodeClosed, Msg: c.op + ": the connection is closed"}
	}
	return sh.conn, nil
}

func (c *call) result(v value.Value) error {
	c.out = value.Append(c.out, v)
	return nil
}

// table ops are [conn, tx, db, table, ...rest]; run fn in the named
// transaction, or as an autocommit statement when tx is 0.
func (c *call) tableOp(fn func(tx *engine.Tx, db, table string) error) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	txID, err := c.handle(1)
	if err != nil {
		return err
	}
	db, err := c.dbArg(2)
	if err != nil {
		return err
	}
	table, err := c.str(3, "table name")
	if err != nil {
		return err
	}
	if txID == 0 {
		return conn.Auto(func(tx *engine.Tx) error {
			if err := fn(tx, db, table); err != nil {
				return err
			}
			if c.b.once != nil {
				// The answer is built: it commits with the statement's writes.
				tx.RecordCall(*c.b.once, c.out[c.start:])
			}
			return nil
		})
	}
	tx, err := conn.Tx(txID)
	if err != nil {
		return err
	}
	return fn(tx, db, table)
}

// done answers null once err is nil: the shape of every op whose only
// answer is that it worked.
func (c *call) done(err error) error {
	if err != nil {
		return err
	}
	return c.result(value.NullValue)
}

// number answers a count (rows, keys, outbox entries) once err is nil.
func (c *call) number(n int, err error) error {
	if err != nil {
		return err
	}
	return c.result(value.NumberOf(float64(n)))
}

// strings answers a list of names once err is nil.
func (c *call) strings(names []string, err error) error {
	if err != nil {
		return err
	}
	return c.result(stringArray(names))
}

// opClose releases the connection handle in argument 0.
func opClose(c *call, _ *engine.Conn) error {
	h, _ := c.handle(0)
	return c.done(c.b.release(uint32(h)))
}

// opCreateDatabase, opDropDatabase and opUseDatabase serve the ops of
// [conn, name, options].
func opCreateDatabase(c *call, s engine.Schema) error {
	name, err := c.userDB(1, "database name")
	if err != nil {
		return err
	}
	ifNotExists, err := c.flag(2, "ifNotExists")
	if err != nil {
		return err
	}
	return c.done(s.CreateDatabase(name, ifNotExists))
}

func opDropDatabase(c *call, s engine.Schema) error {
	name, err := c.userDB(1, "database name")
	if err != nil {
		return err
	}
	ifExists, err := c.flag(2, "ifExists")
	if err != nil {
		return err
	}
	return c.done(s.DropDatabase(name, ifExists))
}

func opUseDatabase(c *call, conn *engine.Conn) error {
	name, err := c.userDB(1, "database name")
	if err != nil {
		return err
	}
	return c.done(conn.HasDatabase(name))
}

func opShowDatabases(c *call, s engine.Schema) error {
	return c.strings(s.Databases())
}

func opShowTables(c *call, s engine.Schema) error {
	db, err := c.dbArg(1)
	if err != nil {
		return err
	}
	return c.strings(s.Tables(db))
}

func opBegin(c *call, conn *engine.Conn) error {
	bulk, err := c.flag(1, "bulk")
	if err != nil {
		return err
	}
	begin := conn.Begin
	if bulk {
		begin = conn.BeginBulk
		// A bulk transaction's chunks and commit run without the caches'
		// loan (TakeBack); the commit's collection lends again.
		c.b.TakeBack()
	}
	tx, err := begin()
	if err != nil {
		return err
	}
	return c.result(value.NumberOf(float64(tx.ID())))
}

// txOf reads argument 1, a transaction handle of conn.
func (c *call) txOf(conn *engine.Conn) (*engine.Tx, error) {
	h, err := c.handle(1)
	if err != nil {
		return nil, err
	}
	return conn.Tx(h)
}

func opCommit(c *call, conn *engine.Conn) error {
	tx, err := c.txOf(conn)
	if err != nil {
		return err
	}
	if tx.Writes() >= BulkWrites {
		c.b.bulk = true
		if !slices.Contains(c.b.warm, conn) {
			c.b.warm = append(c.b.warm, conn)
		}
	}
	if c.b.once != nil {
		tx.RecordCall(*c.b.once, nullAnswer)
	}
	return c.done(tx.Commit())
}

func opRollback(c *call, conn *engine.Conn) error {
	tx, err := c.txOf(conn)
	if err != nil {
		return err
	}
	return c.done(tx.Rollback())
}

func opCompact(c *call, conn *engine.Conn) error { return c.done(conn.Compact()) }

// opCheckpoint flushes the store's log to a segment when it has grown
// enough to make the next open's replay costly (engine.Conn.Checkpoint),
// and answers {flushed}.
func opCheckpoint(c *call, conn *engine.Conn) error {
	flushed, err := conn.Checkpoint()
	if err != nil {
		return err
	}
	if flushed {
		// Writes have gone quiet and the flush left its garbage: the host
		// collects now, off any call that waits, and lends what the
		// writes grew (TookBulk).
		c.b.bulk = true
	}
	return c.result(value.ObjectOf(value.Member{Key: "flushed", Value: value.BoolOf(flushed)}))
}

// opCompactStep runs one step of the store's merging (engine.Conn.
// CompactStep) and answers {more, behind}. A step that merged some entries
// and then met chunks not loaded yet succeeded: the host loads what it
// missed, and the next step goes on from there; one that merged nothing
// failed having changed nothing, and runs again once they are loaded.
func opCompactStep(c *call, conn *engine.Conn) error {
	more, behind, err := conn.CompactStep()
	if err != nil {
		return err
	}
	return c.result(value.ObjectOf(
		value.Member{Key: "more", Value: value.BoolOf(more)},
		value.Member{Key: "behind", Value: value.BoolOf(behind)},
	))
}

func stringArray(names []string) value.Value {
	out := make([]value.Value, len(names))
	for i, n := range names {
		out[i] = value.StringOf(n)
	}
	return value.ArrayOf(out)
}

// opOpen opens a connection handle on a root, sharing the engine.Conn of
// a root already open.
func opOpen(c *call) error {
	opts := c.arg(0)
	if opts.Kind() != value.Object {
		return c.bad("options must be an object")
	}
	adapter, root := "memory", "minibase"
	eo := engine.Options{}
	for i := 0; i < opts.Len(); i++ {
		f := opts.Index(i)
		switch opts.KeyAt(i) {
		default:
			return c.bad("unknown option %q (adapter, root, adoptRoot, durability, memtableBytes, cacheBytes, restore)", opts.KeyAt(i))
		case "restore":
			// Opens a root whose restore was interrupted, to restore it again.
			eo.Restore = f.Bool()
		case "adoptRoot":
			if f.Kind() != value.Bool {
				return c.bad("adoptRoot must be a boolean")
			}
			eo.Store.AdoptDir = f.Bool()
		case "adapter":
			if f.Kind() != value.String {
				return c.bad("adapter must be a string")
			}
			adapter = f.Str()
		case "root", "name":
			if f.Kind() != value.String || f.Str() == "" {
				return c.bad("root must be a non-empty string")
			}
			root = f.Str()
		case "durability":
			if f.Kind() != value.String && !f.IsNull() {
				return c.bad("durability must be 'normal' or 'strict'")
			}
			switch f.Str() {
			case "normal", "":
			case "strict":
				eo.Durability = engine.Strict
			default:
				return c.bad("durability must be 'normal' or 'strict'")
			}
		// Storage engine tuning: sizes in bytes, 0 for the default.
		case "memtableBytes", "cacheBytes":
			if f.Kind() != value.Number || f.Number() < 0 || f.Number() > 1<<40 {
				return c.bad("%s must be a number of bytes", opts.KeyAt(i))
			}
			if opts.KeyAt(i) == "memtableBytes" {
				eo.Store.MemtableBytes = int64(f.Number())
			} else {
				eo.Store.CacheBytes = int64(f.Number())
			}
		}
	}
	if adapter != "memory" && adapter != "node" && adapter != "indexeddb" && adapter != "wx" && adapter != "opfs" {
		return c.bad("unknown adapter %q (memory, node, indexeddb, opfs or wx)", adapter)
	}
	if adapter == "memory" || adapter == "node" {
		// Node has memory to spare: a block cache that holds a table of
		// ~100,000 rows keeps its reads in memory. Both sizes count towards
		// the engine's memory limit (storeBudget), so they are what a Node
		// process should expect the engine to keep. Mini-programs and tabs
		// keep the store's smaller defaults; IndexedDB holds the files in
		// memory already.
		if eo.Store.MemtableBytes == 0 {
			eo.Store.MemtableBytes = nodeMemtableBytes
		}
		if eo.Store.CacheBytes == 0 {
			eo.Store.CacheBytes = nodeCacheBytes
		}
	}
	if adapter == "opfs" && eo.Store.CacheBytes == 0 {
		// OPFS is for databases larger than a tab holds, and its engine
		// runs in a worker of its own: a read the cache misses is a read
		// of the file, where IndexedDB's chunks are in memory. The larger
		// cache took indexed range queries of 100 rows over 100,000 from
		// 545 to 484 µs; its memtable stays small (appends are cheap there).
		eo.Store.CacheBytes = nodeCacheBytes
	}
	if adapter == "opfs" {
		// Every file is an access handle the worker opens before the first
		// call: a 1 GB database of the store's 2 MB segments (half the 4 MB
		// memtable) was 515 files, most of its cold open. A read reads
		// one block whatever the segment's size; a flush or merge holds the
		// segment it writes, and 8 MB segments took a 100,000-row load to
		// 56.5 MB of wasm memory against 45 (4 MB: 48-49).
		eo.Store.SegmentBytes = opfsSegmentBytes
	}
	if adapter == "indexeddb" {
		// A merge there may need more segment bytes than one call may load
		// (the host's callBytes): the host runs it in steps between calls
		// (compactStep), so that merges finish at any size and no commit
		// waits for one.
		eo.Store.CompactInSteps = true
	}
	key := adapter + "\x00" + root
	sh, ok := c.b.byRoot[key]
	if !ok {
		var err error
		if sh, err = c.b.openRoot(key, adapter, root, eo); err != nil {
			return inRoot(root, err)
		}
	} else if sh.durability != eo.Durability {
		return c.bad("%s is already open with another durability; connections to one root share it", root)
	}
	sh.refs++
	c.b.next++
	c.b.conns[c.b.next] = sh
	return c.result(value.NumberOf(float64(c.b.next)))
}

// openRoot opens the store of a root no connection has open. A store whose
// catalog is in bytes the backend has not loaded yet (fsadapter.
// ErrNotResident: the host loads them and runs the call again) stays open,
// recovered, in b.pending until the call runs again, so the next run does
// not replay its logs once more.
func (b *Bridge) openRoot(key, adapter, root string, eo engine.Options) (*shared, error) {
	p, ok := b.pending[key]
	if !ok {
		fs, err := b.openFS(adapter, root)
		if err != nil {
			return nil, err
		}
		p = &shared{key: key, durability: eo.Durability, budget: storeBudget(eo), cache: storeCache(eo)}
		if h, ok := fs.(fsadapter.Holder); ok && fs.Caps().InMemory {
			p.held = h
			b.holders = append(b.holders, p)
		}
		b.pending[key] = p
		b.budgetChanged()
		open := func() { p.conn, err = engine.OpenStore(fs, eo) }
		if b.Burst != nil {
			b.Burst(open)
		} else {
			open()
		}
		if err != nil {
			delete(b.pending, key)
			b.forget(p)
			return nil, err
		}
	}
	if err := p.conn.Resume(); err != nil {
		if !errors.Is(err, fsadapter.ErrNotResident) {
			delete(b.pending, key)
			p.conn.Close()
			b.forget(p)
		}
		return nil, err
	}
	delete(b.pending, key)
	b.byRoot[key] = p
	return p, nil
}

// inRoot names the root in an error of engine.Open ("open <root>: …"):
// the engine sees only a filesystem, and a LOCKED or CORRUPT message that
// does not say which root leaves an app with several of them guessing.
func inRoot(root string, err error) error {
	var e *engine.Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Msg, "open: ") {
		return err
	}
	named := *e
	named.Msg = "open " + root + ": " + strings.TrimPrefix(e.Msg, "open: ")
	return &named
}

// storeBudget is what one open store is expected to hold in memory: its
// memtable (the log bytes and the table over them, about twice its size)
// and its block cache. The store's own defaults apply where eo has zeros.
func storeBudget(eo engine.Options) int64 {
	mt := eo.Store.MemtableBytes
	if mt <= 0 {
		mt = lsm.DefaultMemtableBytes
	}
	return 2*mt + max(storeCache(eo), 0)
}

// storeCache is the size of a store's block cache; negative: none.
func storeCache(eo engine.Options) int64 {
	if eo.Store.CacheBytes == 0 {
		return lsm.DefaultCacheBytes
	}
	return eo.Store.CacheBytes
}

func opStats(c *call, conn *engine.Conn) error {
	s, err := conn.Stats()
	if err != nil {
		return err
	}
	n := func(x int64) value.Value { return value.NumberOf(float64(x)) }
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	u := func(i int) value.Value {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return value.NullValue
		}
		return value.NumberOf(float64(samples[i].Value.Uint64()))
	}
	return c.result(value.ObjectOf(
		value.Member{Key: "heapLiveBytes", Value: u(0)},
		value.Member{Key: "heapTotalBytes", Value: u(1)},
		value.Member{Key: "gcCycles", Value: u(2)},
		value.Member{Key: "keys", Value: n(s.Keys)},
		value.Member{Key: "liveBytes", Value: n(s.LiveBytes)},
		value.Member{Key: "files", Value: n(int64(s.Files))},
		value.Member{Key: "diskBytes", Value: n(s.DiskBytes)},
		value.Member{Key: "logBytes", Value: n(s.LogBytes)},
		value.Member{Key: "commits", Value: n(s.Commits)},
		value.Member{Key: "bytesWritten", Value: n(s.BytesWritten)},
		// Storage engine: segments, compaction and block cache.
		value.Member{Key: "flushes", Value: n(s.Flushes)},
		value.Member{Key: "compactions", Value: n(s.Compactions)},
		value.Member{Key: "runs", Value: n(int64(s.Runs))},
		value.Member{Key: "segments", Value: n(int64(s.Segments))},
		value.Member{Key: "memtableBytes", Value: n(s.MemtableBytes)},
		value.Member{Key: "indexBytes", Value: n(s.IndexBytes)},
		value.Member{Key: "indexCloses", Value: n(s.IndexCloses)},
		value.Member{Key: "cacheBytes", Value: n(s.CacheBytes)},
		value.Member{Key: "cacheLimit", Value: n(s.CacheLimit)},
		value.Member{Key: "cacheHits", Value: n(s.CacheHits)},
		value.Member{Key: "cacheMisses", Value: n(s.CacheMisses)},
		value.Member{Key: "cacheHitRate", Value: value.NumberOf(hitRate(s.CacheHits, s.CacheMisses))},
		// Passphrases stretched by this instance (storage key cache): each
		// costs about a second in wasm.
		value.Member{Key: "keyDerivations", Value: n(c.b.keys.Derivations())},
	))
}

// hitRate is hits over all lookups, 0 before any.
func hitRate(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

func opCreateTable(c *call, s engine.Schema, db, table string) error {
	spec, err := engine.ParseTableSpec(c.arg(3))
	if err != nil {
		return err
	}
	return c.done(s.CreateTable(db, table, spec))
}
func opDropTable(c *call, s engine.Schema, db, table string) error {
	ifExists, err := c.flag(3, "ifExists")
	if err != nil {
		return err
	}
	return c.done(s.DropTable(db, table, ifExists))
}
func opDescribeTable(c *call, s engine.Schema, db, table string) error {
	d, err := s.DescribeTable(db, table)
	if err != nil {
		return err
	}
	return c.result(d)
}
func opAddColumn(c *call, s engine.Schema, db, table string) error {
	col, err := engine.ParseColumn(c.arg(3))
	if err != nil {
		return err
	}
	return c.done(s.AddColumn(db, table, col))
}
func opModifyColumn(c *call, s engine.Schema, db, table string) error {
	name, err := c.str(3, "column name")
	if err != nil {
		return err
	}
	ch, err := engine.ParseColumnChange(c.arg(4))
	if err != nil {
		return err
	}
	return c.done(s.ModifyColumn(db, table, name, ch))
}
func opDropColumn(c *call, s engine.Schema, db, table string) error {
	name, err := c.str(3, "column name")
	if err != nil {
		return err
	}
	return c.done(s.DropColumn(db, table, name))
}
func opCreateIndex(c *call, s engine.Schema, db, table string) error {
	spec, err := engine.ParseIndexSpec(c.arg(3))
	if err != nil {
		return err
	}
	name, err := s.CreateIndex(db, table, spec)
	if err != nil {
		return err
	}
	return c.result(value.StringOf(name))
}
func opDropIndex(c *call, s engine.Schema, db, table string) error {
	name, err := c.str(3, "index name")
	if err != nil {
		return err
	}
	return c.done(s.DropIndex(db, table, name))
}

// rows writes a select result as a rowset.
func (c *call) rows(res *engine.Result, err error) error {
	if err != nil {
		return err
	}
	c.out = appendRowset(c.out, res)
	return nil
}

func appendRowset(out []byte, res *engine.Result) []byte {
	out = value.AppendRowsetHeader(out, res.Columns, len(res.Rows))
	for _, r := range res.Rows {
		for _, v := range r {
			out = value.Append(out, v)
		}
	}
	return out
}

func idResult(c *call, id value.Value) error {
	return c.result(value.ObjectOf(value.Member{Key: "id", Value: id}))
}

func opInsert(c *call, tx *engine.Tx, db, table string) error {
	id, err := tx.Insert(db, table, c.arg(4))
	if err != nil {
		return err
	}
	return idResult(c, id)
}
func opUpsert(c *call, tx *engine.Tx, db, table string) error {
	id, err := tx.Upsert(db, table, c.arg(4))
	if err != nil {
		return err
	}
	return idResult(c, id)
}
func opInsertMany(c *call, tx *engine.Tx, db, table string) error {
	return c.number(tx.InsertMany(db, table, c.arg(4)))
}
func opGet(c *call, tx *engine.Tx, db, table string) error {
	r, err := tx.Get(db, table, c.arg(4))
	if err != nil {
		return err
	}
	return c.result(r)
}
func opSelect(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(4))
	if err != nil {
		return err
	}
	c.out, err = tx.SelectTo(db, table, q, c.out)
	return err
}

// selectEq is select({ where: { column: value } }) sent flat: the
// commonest query skips building and parsing a query object.
func opSelectEq(c *call, tx *engine.Tx, db, table string) error {
	col, err := c.str(4, "column name")
	if err != nil {
		return err
	}
	return c.rows(tx.SelectEq(db, table, col, c.arg(5)))
}
func opCount(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(4))
	if err != nil {
		return err
	}
	return c.number(tx.Count(db, table, q))
}
func opUpdate(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(5))
	if err != nil {
		return err
	}
	return c.number(tx.Update(db, table, c.arg(4), q))
}
func opDelete(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(4))
	if err != nil {
		return err
	}
	return c.number(tx.Delete(db, table, q))
}
func opExplain(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(4))
	if err != nil {
		return err
	}
	p, err := tx.Explain(db, table, q)
	if err != nil {
		return err
	}
	return c.result(p)
}
