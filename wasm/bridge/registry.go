package bridge

import (
	"minibase/engine"
	"minibase/engine/kvstore"
	"minibase/engine/replica"
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

	// run serves the op; schema ops set schema instead, which also serves
	// them inside a transaction (txSchema).
	run    func(c *call) error
	schema func(c *call, s engine.Schema) error
}

// ops is every operation, in the order of wasm/PROTOCOL.md.
var ops = []opSpec{
	{name: "open", opens: kindConn, run: opOpen},
	{name: "close", closes: true, run: onConn(opClose)},
	{name: "createDatabase", schema: opCreateDatabase},
	{name: "dropDatabase", commits: true, schema: opDropDatabase},
	{name: "showDatabases", schema: opShowDatabases},
	{name: "useDatabase", run: onConn(opUseDatabase)},
	{name: "createTable", commits: true, schema: ddl(opCreateTable)},
	{name: "dropTable", commits: true, schema: ddl(opDropTable)},
	{name: "showTables", schema: opShowTables},
	{name: "describeTable", schema: ddl(opDescribeTable)},
	{name: "addColumn", commits: true, schema: ddl(opAddColumn)},
	{name: "modifyColumn", commits: true, schema: ddl(opModifyColumn)},
	{name: "dropColumn", commits: true, schema: ddl(opDropColumn)},
	{name: "createIndex", commits: true, schema: ddl(opCreateIndex)},
	{name: "dropIndex", commits: true, schema: ddl(opDropIndex)},
	{name: "insert", tx: true, writes: true, commits: true, run: onTable(opInsert)},
	{name: "insertMany", tx: true, writes: true, commits: true, run: onTable(opInsertMany)},
	{name: "upsert", tx: true, writes: true, commits: true, run: onTable(opUpsert)},
	{name: "get", tx: true, run: onTable(opGet)},
	{name: "select", tx: true, run: onTable(opSelect)},
	{name: "selectEq", tx: true, run: onTable(opSelectEq)},
	{name: "count", tx: true, run: onTable(opCount)},
	{name: "update", tx: true, writes: true, commits: true, run: onTable(opUpdate)},
	{name: "delete", tx: true, writes: true, commits: true, run: onTable(opDelete)},
	{name: "explain", tx: true, run: onTable(opExplain)},
	{name: "begin", opens: kindTx, run: onConn(opBegin)},
	{name: "commit", tx: true, writes: true, commits: true, run: onConn(endTx((*engine.Tx).Commit))},
	{name: "rollback", tx: true, run: onConn(endTx((*engine.Tx).Rollback))},
	{name: "stats", run: onConn(opStats)},
	{name: "compact", run: onConn(opCompact)},

	{name: "schemaVersion", tx: true, run: onConn(opSchemaVersion)},
	{name: "setSchemaVersion", tx: true, run: onConn(inTx(opSetSchemaVersion))},
	{name: "declareTable", tx: true, run: onConn(inTx(opDeclareTable))},
	{name: "txSchema", tx: true, run: onConn(inTx(opTxSchema))},

	{name: "storageOpen", opens: kindStore, run: onConn(opStorageOpen)},
	{name: "storageClose", closes: true, run: opStorageClose},
	{name: "storageSet", commits: true, run: onStore(opStorageSet)},
	{name: "storageGet", run: onStore(opStorageGet)},
	{name: "storageHas", run: onStore(opStorageHas)},
	{name: "storageRemove", commits: true, run: onStore(opStorageRemove)},
	{name: "storageKeys", run: onStore(opStorageKeys)},
	{name: "storageClear", commits: true, run: onStore(opStorageClear)},
	{name: "storageInfo", run: onStore(opStorageInfo)},
	{name: "storageCleanExpired", commits: true, run: onStore(opStorageCleanExpired)},
	{name: "storageBatch", commits: true, run: onStore(opStorageBatch)},
	{name: "storageSetClock", run: onStore(opStorageSetClock)},

	{name: "syncOpen", opens: kindSync, run: onConn(opSyncOpen)},
	{name: "syncClose", closes: true, run: opSyncClose},
	{name: "syncNextPush", run: onSync(opSyncNextPush)},
	{name: "syncAckPush", commits: true, run: onSync(opSyncAckPush)},
	{name: "syncReject", run: onSync(opSyncReject)},
	{name: "syncCursor", run: onSync(opSyncCursor)},
	{name: "syncApplyPull", commits: true, run: onSync(opSyncApplyPull)},
	{name: "syncResync", commits: true, run: onSync(opSyncResync)},
	{name: "syncFinish", commits: true, run: onSync(opSyncFinish)},
	{name: "syncPending", run: onSync(opSyncPending)},
	{name: "syncDeadLetters", run: onSync(opSyncDeadLetters)},
	{name: "syncConflicts", run: onSync(opSyncConflicts)},
	{name: "syncRetry", run: onSync(syncDeadLetter((*replica.Replica).Retry))},
	{name: "syncDiscard", run: onSync(syncDeadLetter((*replica.Replica).Discard))},
	{name: "syncResolve", commits: true, run: onSync(opSyncResolve)},

	{name: "changesWatch", run: onConn(opChangesWatch)},
	{name: "changesFilter", run: onConn(opChangesFilter)},
	{name: "changesTake", run: onConn(opChangesTake)},
	{name: "readRanges", run: onTable(opReadRanges)},
	{name: "keyRange", run: onTable(opKeyRange)},

	{name: "checkIntegrity", run: onConn(opCheckIntegrity)},
	{name: "exportPage", tx: true, run: onTable(opExportPage)},
	{name: "importStage", opens: kindJob, run: onConn(opImportStage)},
	{name: "importRows", run: opImportRows},
	{name: "importFinish", run: opImportFinish},
	{name: "importAbort", run: opImportAbort},
	{name: "backupOpen", opens: kindJob, run: onConn(opBackupOpen)},
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
	if spec.schema != nil {
		conn, err := c.conn()
		if err != nil {
			return err
		}
		return spec.schema(c, conn.Schema())
	}
	return spec.run(c)
}

// onConn serves an op whose argument 0 is a connection handle.
func onConn(fn func(c *call, conn *engine.Conn) error) func(*call) error {
	return func(c *call) error {
		conn, err := c.conn()
		if err != nil {
			return err
		}
		return fn(c, conn)
	}
}

// onTable serves an op of [conn, tx, db, table, ...] (see tableOp).
func onTable(fn func(c *call, tx *engine.Tx, db, table string) error) func(*call) error {
	return func(c *call) error {
		return c.tableOp(func(tx *engine.Tx, db, table string) error { return fn(c, tx, db, table) })
	}
}

// ddl serves a schema op of [conn, db, table, ...].
func ddl(fn func(c *call, s engine.Schema, db, table string) error) func(*call, engine.Schema) error {
	return func(c *call, s engine.Schema) error {
		db, err := c.dbArg(1)
		if err != nil {
			return err
		}
		table, err := c.str(2, "table name")
		if err != nil {
			return err
		}
		return fn(c, s, db, table)
	}
}

// onStore serves an op whose argument 0 is a store handle.
func onStore(fn func(c *call, m *kvstore.Manager, h *storeHandle) error) func(*call) error {
	return func(c *call) error {
		m, h, err := c.store()
		if err != nil {
			return err
		}
		return fn(c, m, h)
	}
}

// onSync serves an op whose argument 0 is a sync session handle.
func onSync(fn func(c *call, h *syncHandle) error) func(*call) error {
	return func(c *call) error {
		h, err := c.syncHandle()
		if err != nil {
			return err
		}
		return fn(c, h)
	}
}
