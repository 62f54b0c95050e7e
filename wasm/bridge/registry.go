package bridge

import (
	"minibase/engine"
	"minibase/engine/kvstore"
)

// handleKind names what a handle an op opens is; the JS side keeps virtual
// handles of each kind across an owner change (js/src/tabs.js).
type handleKind string

const (
	kindNone  handleKind = ""
	kindConn  handleKind = "conn"
	kindTx    handleKind = "tx"
	kindStore handleKind = "store"
	kindSync  handleKind = "sync"
	kindJob   handleKind = "job"
)

// opSpec declares one operation of the protocol (wasm/PROTOCOL.md): what
// the JS side must know about it and the function that serves it. The JS
// tables (js/src/ops.gen.js) are generated from these declarations
// (TestJSOpTables), and the protocol doc is checked against them
// (TestProtocolDocListsEveryOp).
type opSpec struct {
	name string
	// tx: argument 1 is a transaction handle, 0 for autocommit.
	tx bool
	// opens: the result is a new handle of this kind (syncOpen's result
	// carries it as handle).
	opens handleKind
	// closes: the op releases the handle in argument 0.
	closes bool
	// writes: the op may write rows of user tables, so a started sync
	// session pushes after it.
	writes bool
	// commits: the op may leave committed changes in the change feed, so
	// live queries take the feed after it.
	commits bool
	// once: the op's answer commits with its writes as a call record when
	// it runs in a once envelope (once.go), so that a resent call is
	// answered from the record instead of running again: the table writes
	// in autocommit (a write inside an explicit transaction commits with
	// commit) and commit. Other ops in an envelope run again when resent.
	once bool

	// The handler, exactly one of these, by what the op's arguments start
	// with. They are plain functions rather than closures built around
	// them, so the table is static data in the wasm module, not code run
	// at start.
	run    func(c *call) error                                  // anything else: reads its own arguments
	conn   func(c *call, conn *engine.Conn) error               // [conn, ...]
	table  func(c *call, tx *engine.Tx, db, table string) error // [conn, tx, db, table, ...] (tableOp)
	inTx   func(c *call, tx *engine.Tx) error                   // [conn, tx, ...], tx an explicit transaction
	schema func(c *call, s engine.Schema) error                 // [conn, ...], also run inside a transaction by txSchema
	ddl    func(c *call, s engine.Schema, db, table string) error
	store  func(c *call, m *kvstore.Manager, h *storeHandle) error // [store, ...]
	sync   func(c *call, h *syncHandle) error                      // [sync session, ...]
}

// ops is every operation, in the order of wasm/PROTOCOL.md.
var ops = []opSpec{
	{name: "open", opens: kindConn, run: opOpen},
	{name: "close", closes: true, conn: opClose},
	{name: "createDatabase", schema: opCreateDatabase},
	{name: "dropDatabase", commits: true, schema: opDropDatabase},
	{name: "showDatabases", schema: opShowDatabases},
	{name: "useDatabase", conn: opUseDatabase},
	{name: "createTable", commits: true, ddl: opCreateTable},
	{name: "dropTable", commits: true, ddl: opDropTable},
	{name: "showTables", schema: opShowTables},
	{name: "describeTable", ddl: opDescribeTable},
	{name: "addColumn", commits: true, ddl: opAddColumn},
	{name: "modifyColumn", commits: true, ddl: opModifyColumn},
	{name: "dropColumn", commits: true, ddl: opDropColumn},
	{name: "createIndex", commits: true, ddl: opCreateIndex},
	{name: "dropIndex", commits: true, ddl: opDropIndex},
	{name: "insert", tx: true, writes: true, commits: true, once: true, table: opInsert},
	{name: "insertMany", tx: true, writes: true, commits: true, once: true, table: opInsertMany},
	{name: "upsert", tx: true, writes: true, commits: true, once: true, table: opUpsert},
	{name: "get", tx: true, table: opGet},
	{name: "select", tx: true, table: opSelect},
	{name: "selectEq", tx: true, table: opSelectEq},
	{name: "count", tx: true, table: opCount},
	{name: "update", tx: true, writes: true, commits: true, once: true, table: opUpdate},
	{name: "delete", tx: true, writes: true, commits: true, once: true, table: opDelete},
	{name: "explain", tx: true, table: opExplain},
	{name: "begin", opens: kindTx, conn: opBegin},
	{name: "commit", tx: true, writes: true, commits: true, once: true, conn: opCommit},
	{name: "rollback", tx: true, conn: opRollback},
	{name: "stats", conn: opStats},
	{name: "compact", conn: opCompact},
	{name: "compactStep", conn: opCompactStep},
	{name: "checkpoint", conn: opCheckpoint},

	{name: "schemaVersion", tx: true, conn: opSchemaVersion},
	{name: "setSchemaVersion", tx: true, inTx: opSetSchemaVersion},
	{name: "declareTable", tx: true, inTx: opDeclareTable},
	{name: "txSchema", tx: true, inTx: opTxSchema},

	{name: "storageOpen", opens: kindStore, conn: opStorageOpen},
	{name: "storageClose", closes: true, run: opStorageClose},
	{name: "storageSet", commits: true, store: opStorageSet},
	{name: "storageGet", store: opStorageGet},
	{name: "storageHas", store: opStorageHas},
	{name: "storageRemove", commits: true, store: opStorageRemove},
	{name: "storageKeys", store: opStorageKeys},
	{name: "storageClear", commits: true, store: opStorageClear},
	{name: "storageInfo", store: opStorageInfo},
	{name: "storageCleanExpired", commits: true, store: opStorageCleanExpired},
	{name: "storageBatch", commits: true, store: opStorageBatch},
	{name: "storageSetClock", store: opStorageSetClock},

	{name: "syncOpen", opens: kindSync, conn: opSyncOpen},
	{name: "syncClose", closes: true, run: opSyncClose},
	{name: "syncNextPush", sync: opSyncNextPush},
	{name: "syncAckPush", commits: true, sync: opSyncAckPush},
	{name: "syncReject", sync: opSyncReject},
	{name: "syncCursor", sync: opSyncCursor},
	{name: "syncApplyPull", commits: true, sync: opSyncApplyPull},
	{name: "syncResync", commits: true, sync: opSyncResync},
	{name: "syncFinish", commits: true, sync: opSyncFinish},
	{name: "syncPending", sync: opSyncPending},
	{name: "syncDeadLetters", sync: opSyncDeadLetters},
	{name: "syncConflicts", sync: opSyncConflicts},
	{name: "syncRetry", sync: opSyncRetry},
	{name: "syncDiscard", sync: opSyncDiscard},
	{name: "syncResolve", commits: true, sync: opSyncResolve},

	{name: "changesWatch", conn: opChangesWatch},
	{name: "changesFilter", conn: opChangesFilter},
	{name: "changesTake", conn: opChangesTake},
	{name: "readRanges", table: opReadRanges},
	{name: "keyRange", table: opKeyRange},

	{name: "once", run: opOnce},
	{name: "recorded", conn: opRecorded},
	{name: "settle", conn: opSettle},

	{name: "checkIntegrity", conn: opCheckIntegrity},
	{name: "exportPage", tx: true, table: opExportPage},
	{name: "importStage", opens: kindJob, conn: opImportStage},
	{name: "importRows", run: opImportRows},
	{name: "importFinish", run: opImportFinish},
	{name: "importAbort", run: opImportAbort},
	{name: "backupOpen", opens: kindJob, conn: opBackupOpen},
	{name: "backupRead", run: opBackupRead},
	{name: "backupCheck", opens: kindJob, run: opBackupCheck},
	{name: "restoreOpen", opens: kindJob, run: opRestoreOpen},
	{name: "restoreConn", opens: kindJob, run: opRestoreConn},
	{name: "backupWrite", run: opBackupWrite},
	{name: "backupEnd", run: opBackupEnd},
}

// opsByName indexes ops; it is filled in init because txSchema, one of the
// ops, looks schema ops up in it.
var opsByName map[string]*opSpec

func init() {
	opsByName = make(map[string]*opSpec, len(ops))
	for i := range ops {
		opsByName[ops[i].name] = &ops[i]
	}
}

// run serves c.op through its declaration.
func (c *call) run() error {
	spec := opsByName[c.op]
	if spec == nil {
		return c.bad("unknown operation")
	}
	switch {
	case spec.run != nil:
		return spec.run(c)
	case spec.table != nil:
		return c.tableOp(func(tx *engine.Tx, db, table string) error { return spec.table(c, tx, db, table) })
	case spec.store != nil:
		m, h, err := c.store()
		if err != nil {
			return err
		}
		return spec.store(c, m, h)
	case spec.sync != nil:
		h, err := c.syncHandle()
		if err != nil {
			return err
		}
		return spec.sync(c, h)
	}
	conn, err := c.conn()
	if err != nil {
		return err
	}
	switch {
	case spec.conn != nil:
		return spec.conn(c, conn)
	case spec.inTx != nil:
		txID, err := c.handle(1)
		if err != nil {
			return err
		}
		if txID == 0 {
			return c.bad("needs an explicit transaction")
		}
		tx, err := conn.Tx(txID)
		if err != nil {
			return err
		}
		return spec.inTx(c, tx)
	}
	return spec.runSchema(c, conn.Schema())
}

// runSchema serves a schema op with s, the connection's or a transaction's
// (txSchema).
func (spec *opSpec) runSchema(c *call, s engine.Schema) error {
	if spec.schema != nil {
		return spec.schema(c, s)
	}
	db, err := c.dbArg(1)
	if err != nil {
		return err
	}
	table, err := c.str(2, "table name")
	if err != nil {
		return err
	}
	return spec.ddl(c, s, db, table)
}
