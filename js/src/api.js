// The public API: Connection → database → Table, and transactions. Every
// method is async; underneath, each is one synchronous bridge call, so a
// failure surfaces as a rejected promise carrying a MinibaseError.
// A bridge's call may also return a promise (the browser's IndexedDB
// bridge resolves once the write is durable, or forwards to another tab), so
// every call is awaited.

import { MinibaseError } from './errors.js';
import { Storage, ON_CLOSE } from './storage.js';
import { Sync } from './sync.js';
import { RESTORE, backupTo, exportLines, importLines, restoreThrough } from './backup.js';
import { applySchema, parseSchema, TX_HANDLE } from './schema.js';
import { Live, afterCall } from './live.js';
import { COMMITTING_OPS, SYNC_WRITE_OPS } from './ops.gen.js';

/**
 * @typedef {object} Session internal handle a Connection shares with its tables
 * @property {(op: string, ...args: unknown[]) => unknown} call runs op with the connection handle prepended
 * @property {() => string} db the current database name, or throws NO_SUCH_DATABASE
 * @property {string} adapter the connection's adapter (decides whether sync reads are offered)
 */

// Not Object.hasOwn: phones before iOS 15.4 run mini-programs without it.
const hasOwn = Object.prototype.hasOwnProperty;

/** Adapters whose reads complete synchronously, so tables offer getSync/selectSync/countSync. */
const SYNC_READ_ADAPTERS = new Set(['memory', 'node', 'wx']);

/** A `where` given directly as an array (older libraries) means `{ where }`. */
function toQuery(query) {
  return Array.isArray(query) ? { where: query } : query ?? {};
}

/**
 * Recognizes the commonest query, `{ where: { col: scalar } }` and nothing
 * else, and returns [col, value]: it goes to the engine as a flat `selectEq`
 * request that skips parsing a query object (a lookup is a few microseconds,
 * so the parse was a large share of it).
 * @returns {[string, unknown] | null}
 */
function equalityOnly(query) {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) return null;
  let where = null;
  for (const k in query) {
    if (k !== 'where' || !hasOwn.call(query, k)) return null;
    where = query.where;
  }
  if (where === null || typeof where !== 'object' || Array.isArray(where)) return null;
  let col = null;
  for (const k in where) {
    if (col !== null || !hasOwn.call(where, k) || k.startsWith('$')) return null;
    col = k;
  }
  if (col === null) return null;
  const v = where[col];
  const t = typeof v;
  return t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(v)) ? [col, v] : null;
}

/**
 * Opens a connection on a loaded engine.
 * @param {import('./bridge.js').Bridge} bridge
 * @param {{ adapter?: string, root?: string, durability?: string }} options
 * @param {object} [host] what the loader knows of its host: `fetch`, the
 *   default transport of `conn.sync()` where the host has no global fetch
 *   (mini-programs: wx.request)
 * @returns {Connection}
 */
export function openConnection(bridge, options, host = {}) {
  const { schema, checkpointIdleMs, ...rest } = options ?? {};
  const idleMs = checkpointIdleOption(checkpointIdleMs);
  // A declared schema (schema.js) is checked before anything is opened, and
  // the connection is handed out once the root is at its version.
  const declared = schema === undefined ? null : parseSchema(schema);
  const handle = bridge.call('open', rest);
  const conn = new Connection(bridge, handle, options?.adapter ?? 'memory', { ...host, checkpointIdleMs: idleMs });
  if (declared === null) return conn;
  return applySchema(conn, declared, (op, ...args) => bridge.call(op, handle, ...args), `${rest.adapter ?? 'memory'}:${rest.root ?? rest.name ?? ''}`);
}

/**
 * How long writes must have been quiet, by default, before a connection asks
 * the engine for a checkpoint (op 'checkpoint': the log flushed to a segment
 * once it holds 256 KB or more). A process or tab that then ends without
 * close() leaves nothing to replay at the next open, where a replay costs
 * about as much as the writes it repeats (~200 ms for 3 MB of log under
 * wasm). `connect({ checkpointIdleMs })` sets it; 0 turns it off.
 */
export const IDLE_CHECKPOINT_MS = 2000;

/**
 * connect()'s checkpointIdleMs, checked: a whole number of milliseconds, 0
 * or more (undefined: the default).
 * @returns {number}
 */
export function checkpointIdleOption(ms) {
  if (ms === undefined) return IDLE_CHECKPOINT_MS;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new MinibaseError('BAD_QUERY', 'connect: checkpointIdleMs must be a whole number of milliseconds, 0 (off) or more');
  }
  return ms;
}

/** Connections with writes not followed by a checkpoint yet (see checkpointPending). */
const unchecked = new Set();

/**
 * Asks every connection with writes since its last checkpoint for one now,
 * without waiting: what a page about to be hidden or unloaded does (the
 * browser build calls it on visibilitychange and pagehide), since it may
 * not run again. Best effort: every write was acknowledged durable already.
 */
export function checkpointPending() {
  for (const c of [...unchecked]) c[CHECKPOINT_NOW]();
}

const CHECKPOINT_NOW = Symbol('checkpointNow');

/** An open database connection (see `connect`). */
export class Connection {
  #bridge;
  #handle;
  #adapter;
  #db = null;
  #closed = false;
  /** @type {Session} */
  #session;

  /** @internal use `connect()` */
  constructor(bridge, handle, adapter = 'memory', host = {}) {
    this.#bridge = bridge;
    this.#handle = handle;
    this.#adapter = adapter;
    this.#hostFetch = host.fetch;
    this.#files = host.files;
    this.#idleMs = host.checkpointIdleMs ?? IDLE_CHECKPOINT_MS;
    this.#session = {
      call: (op, ...args) => this.#call(op, ...args),
      adapter,
      live: () => this.#liveState(),
      db: () => {
        if (this.#db === null) {
          throw new MinibaseError('NO_SUCH_DATABASE', 'no database selected: call useDatabase(name) first');
        }
        return this.#db;
      },
    };
  }

  #call(op, ...args) {
    if (this.#closed) throw new MinibaseError('CLOSED', `${op}: the connection is closed`);
    const result = this.#bridge.call(op, this.#handle, ...args);
    this.#afterCall(op, result, 'local');
    if (this.#syncs.size > 0 && SYNC_WRITE_OPS.has(op)) {
      // Push once the write is in (a bridge may answer with a promise).
      const notify = () => { for (const s of this.#syncs) s.notifyWrite(); };
      if (typeof result?.then === 'function') result.then(notify, () => {});
      else notify();
    }
    return result;
  }

  // Sync sessions (sync.js).
  #syncs = new Set();
  #hostFetch; // the loader's transport where the host has no fetch (wx.request)

  /**
   * Syncs the current database's synced tables (created with `sync: true`)
   * with a minibase sync server.
   * @param {{ url: string, tables?: string[], conflict?: 'lww'|'server-wins'|'client-wins'|'merge-fields'|Function,
   *   auth?: string|(() => string|Promise<string>), fetch?: typeof fetch }} options
   * @returns {Sync}
   */
  sync(options) {
    const db = this.#session.db();
    const opts = options?.fetch === undefined && this.#hostFetch ? { ...options, fetch: this.#hostFetch } : options;
    const syncCall = (op, ...args) => {
      const r = this.#bridge.call(op, ...args);
      this.#afterCall(op, r, 'sync');
      return r;
    };
    const s = new Sync(syncCall, (o) => this.#call('syncOpen', db, o), opts);
    this.#syncs.add(s);
    return s;
  }

  /** The database chosen with `useDatabase`, or null. */
  get database() {
    return this.#db;
  }

  /**
   * Creates a database.
   * @param {string} name
   * @param {{ ifNotExists?: boolean }} [options]
   */
  async createDatabase(name, options) {
    await this.#call('createDatabase', name, options ?? {});
  }

  /**
   * Makes `name` the database that `table()`, `createTable()` and the others work in.
   * @param {string} name
   */
  async useDatabase(name) {
    await this.#call('useDatabase', name);
    this.#db = name;
  }

  /** @returns {Promise<string[]>} the names of all databases */
  async showDatabases() {
    return this.#call('showDatabases');
  }

  /**
   * Drops a database and all its tables.
   * @param {string} name
   * @param {{ ifExists?: boolean }} [options]
   */
  async dropDatabase(name, options) {
    await this.#call('dropDatabase', name, options ?? {});
    if (this.#db === name) this.#db = null;
  }

  /**
   * Creates a table in the current database.
   * @param {string} name
   * @param {{ columns: object[], indexes?: object[], primaryKey?: string|string[], ifNotExists?: boolean, comment?: string }} spec
   */
  async createTable(name, spec) {
    await this.#call('createTable', this.#session.db(), name, spec ?? {});
  }

  /** @returns {Promise<string[]>} the tables of the current database */
  async showTables() {
    return this.#call('showTables', this.#session.db());
  }

  /**
   * @param {string} name
   * @returns {Promise<object>} `{ name, columns, indexes, primaryKey, comment }`
   */
  async describeTable(name) {
    return this.#call('describeTable', this.#session.db(), name);
  }

  /**
   * @param {string} name
   * @param {{ ifExists?: boolean }} [options]
   */
  async dropTable(name, options) {
    await this.#call('dropTable', this.#session.db(), name, options ?? {});
  }

  /**
   * A handle on a table of the current database (nothing is checked until it is used).
   * @param {string} name
   * @returns {Table}
   */
  table(name) {
    return new Table(this.#session, name, this.#db, null);
  }

  /**
   * Starts a transaction; use its `table()` for reads and writes inside it.
   * @returns {Promise<Transaction>}
   */
  async begin() {
    return new Transaction(this.#session, await this.#call('begin'), this.#db);
  }

  /**
   * Runs `fn` in a transaction: commits when it resolves (returning its
   * result), rolls back and rethrows when it throws.
   * @template T
   * @param {(tx: Transaction) => T | Promise<T>} fn
   * @returns {Promise<T>}
   */
  async transaction(fn) {
    if (typeof fn !== 'function') throw new MinibaseError('BAD_QUERY', 'transaction(fn): fn must be a function');
    const tx = await this.begin();
    let result;
    try {
      result = await fn(tx);
    } catch (err) {
      if (tx.active) await tx.rollback().catch(() => {});
      throw err;
    }
    if (tx.active) await tx.commit();
    return result;
  }

  /** @returns {Promise<number>} the root's schema version (0 when no declared schema ever set one; see connect's `schema`) */
  async schemaVersion() {
    return this.#call('schemaVersion', 0);
  }

  /** @returns {Promise<object>} engine statistics (and `live`, the live queries' counters, once any was used) */
  async stats() {
    const s = await this.#call('stats');
    if (this.#live && s && typeof s === 'object') s.live = this.#live.stats();
    return s;
  }

  // Live queries (live.js).
  #live = null;

  #liveState() {
    if (this.#closed) throw new MinibaseError('CLOSED', 'live: the connection is closed');
    this.#live ??= new Live(this, this.#bridge, this.#handle, (op, ...args) => this.#call(op, ...args),
      (db, name) => new Table(this.#session, name, db, null));
    return this.#live;
  }

  /**
   * Runs `fn` (reads only, over one snapshot) now and again after every
   * commit that touches what it read; subscribers get its result when it changed.
   * @template T
   * @param {(tx: { table(name: string): { get(key: unknown): Promise<object|null>, select(q?: object): Promise<object[]>, count(q?: object): Promise<number> } }) => Promise<T>} fn
   * @param {(value: T) => void} [callback]
   * @returns {import('./live.js').LiveSubscription<T>}
   */
  live(fn, callback) {
    return this.#liveState().live(fn, callback);
  }

  /**
   * The feed of committed changes, in commit order:
   * `{ db, table, key, op, row, source: 'local'|'tab'|'sync', seq }`, and
   * `{ op: 'reset' }` when changes were lost (a schema change, an overflow,
   * a `since` older than the kept history).
   * @param {{ tables?: string[], since?: number }} [options]
   * @param {(change: object) => void} [callback]
   */
  changes(options, callback) {
    return this.#liveState().changes(options, callback);
  }

  /** Compacts storage now. */
  async compact() {
    await this.#call('compact');
  }

  // Export, import, backup (backup.js).
  #files; // the loader's file access (node, wx), for paths given to backup()

  #io() {
    return { call: (op, ...args) => this.#call(op, ...args), raw: (op, ...args) => this.#bridge.call(op, ...args), files: this.#files };
  }

  /**
   * Checks that every index agrees with its rows and every row with its
   * schema; rejects with CORRUPT when not.
   */
  async checkIntegrity() {
    await this.#call('checkIntegrity');
  }

  /**
   * Exports tables as NDJSON lines from one snapshot (see backup.js).
   * @param {{ databases?: string[], tables?: string[], onProgress?: Function, signal?: object }} [options]
   * @returns {AsyncGenerator<string>}
   */
  export(options) {
    return exportLines(this.#io(), options);
  }

  /**
   * Imports an export: 'replace' swaps the exported tables in all at once or
   * not at all; 'merge' upserts and reports rejected lines.
   * @param {unknown} source
   * @param {{ mode?: 'replace'|'merge', onProgress?: Function, signal?: object }} [options]
   */
  async import(source, options) {
    return importLines(this.#io(), source, options);
  }

  /**
   * Writes a consistent backup of the whole root (all databases, storage,
   * sync state) to a path, a `{ write }` target, or (no target) a Blob.
   * @param {string|object} [target]
   * @param {{ onProgress?: Function, signal?: object }} [options]
   */
  async backup(target, options) {
    return backupTo(this.#io(), target, options);
  }

  /** @internal the browser's restore(): see backup.js, restoreThrough */
  async [RESTORE](source, options) {
    return restoreThrough(this.#io(), source, options);
  }

  /**
   * Opens a key-value store on this connection (see `openStorage`). It lives
   * as long as the connection: after `close()` its methods throw CLOSED.
   * @param {{ prefix?: string, secret?: string|Uint8Array, limitSize?: number, kdfIterations?: number, cacheKey?: boolean,
   *   cache?: { maxEntries?: number, maxBytes?: number }, sweepInterval?: number }} [options]
   * @returns {Promise<Storage>}
   */
  async storage(options) {
    const { cache, sweepInterval, [ON_CLOSE]: onClose, ...rest } = options ?? {};
    const prefix = rest.prefix ?? 'mp_';
    const st = await this.#call('storageOpen', { ...rest, prefix });
    const call = (op, ...args) => {
      if (this.#closed) throw new MinibaseError('CLOSED', `${op}: the connection is closed`);
      return this.#bridge.call(op, st, ...args);
    };
    const storeCall = (op, ...args) => {
      const r = call(op, ...args);
      this.#afterCall(op, r, 'local');
      return r;
    };
    const watch = (key, read, cb) => this.#liveState().watchStorage(prefix + key, read, cb);
    return new Storage(storeCall, { adapter: this.#adapter, prefix, cache, sweepInterval, onClose, watch });
  }

  // After every call: live queries hear of commits (live.js), and a write
  // arms the idle checkpoint.
  #afterCall(op, result, source) {
    afterCall(this.#bridge, op, result, source);
    if (COMMITTING_OPS.has(op)) this.#wrote();
  }

  // Writes arm one timer (not one per write): when it fires, a connection
  // that wrote again meanwhile waits out the rest of the quiet period.
  #idleMs;
  #lastWrite = 0;
  #idleTimer = null;

  #wrote() {
    unchecked.add(this); // for checkpointPending, whether or not idle checkpoints are on
    if (this.#idleMs === 0) return;
    this.#lastWrite = Date.now();
    if (this.#idleTimer === null) this.#armIdle(this.#idleMs);
  }

  #armIdle(ms) {
    this.#idleTimer = setTimeout(() => this.#idle(), ms);
    // Node: the timer must not keep a process alive that is otherwise done.
    this.#idleTimer?.unref?.();
  }

  #idle() {
    this.#idleTimer = null;
    const quiet = Date.now() - this.#lastWrite;
    if (quiet >= 0 && quiet < this.#idleMs) this.#armIdle(this.#idleMs - quiet);
    else this[CHECKPOINT_NOW]();
  }

  /** @internal a checkpoint now, its outcome ignored (see checkpointPending) */
  [CHECKPOINT_NOW]() {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    unchecked.delete(this);
    if (this.#closed) return;
    try {
      const r = this.#bridge.call('checkpoint', this.#handle);
      if (typeof r?.then === 'function') r.catch(() => {});
    } catch {
      // a checkpoint that failed changed nothing: the log still holds every write
    }
  }

  /**
   * Flushes the engine's log to a segment file now when it holds 256 KB or
   * more, so that the next open of the database replays nothing: what a
   * connection does by itself after writes have been quiet for
   * `connect({ checkpointIdleMs })` (2 s) and, in the browser, when the page
   * is hidden.
   * Call it where the app knows it may be killed (a mini-program's onHide).
   * Every write is durable when acknowledged either way.
   * @returns {Promise<{ flushed: boolean }>}
   */
  async checkpoint() {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    unchecked.delete(this);
    return this.#call('checkpoint');
  }

  /** Closes the connection; later calls reject with CLOSED. Closing twice is a no-op. */
  async close() {
    if (this.#closed) return;
    for (const s of this.#syncs) s.stop();
    this.#live?.close();
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    unchecked.delete(this);
    this.#closed = true;
    await this.#bridge.call('close', this.#handle);
  }
}

// The state a transaction shares with its tables.
class TxState {
  done = null; // 'committed' | 'rolled back' once finished

  constructor(handle) {
    this.handle = handle;
  }

  /** The handle, or TX_CLOSED once the transaction is finished. */
  use() {
    if (this.done) throw new MinibaseError('TX_CLOSED', `the transaction is already ${this.done}`);
    return this.handle;
  }
}

/** A transaction from `conn.begin()` or `conn.transaction(fn)`. */
export class Transaction {
  #session;
  #db;
  #state;

  /** @internal */
  constructor(session, handle, db) {
    this.#session = session;
    this.#db = db;
    this.#state = new TxState(handle);
  }

  /** True until `commit()` or `rollback()` is called. */
  get active() {
    return this.#state.done === null;
  }

  /** @internal the engine's handle (schema.js) */
  get [TX_HANDLE]() {
    return this.#state.use();
  }

  /**
   * Makes `name` the database this transaction's `table()` and schema
   * methods work in (nothing is checked until it is used).
   * @param {string} name
   */
  useDatabase(name) {
    this.#db = name;
  }

  // Schema changes inside the transaction: they commit, or vanish, with it.
  #schema(op, ...args) {
    return this.#session.call('txSchema', this.#state.use(), op, ...args);
  }

  #database() {
    return this.#db ?? this.#session.db();
  }

  /** Creates a database, as part of this transaction. @param {string} name @param {{ ifNotExists?: boolean }} [options] */
  async createDatabase(name, options) {
    await this.#schema('createDatabase', name, options ?? {});
  }

  /** Drops a database, as part of this transaction. @param {string} name @param {{ ifExists?: boolean }} [options] */
  async dropDatabase(name, options) {
    await this.#schema('dropDatabase', name, options ?? {});
  }

  /** Creates a table, as part of this transaction. @param {string} name @param {object} spec */
  async createTable(name, spec) {
    await this.#schema('createTable', this.#database(), name, spec ?? {});
  }

  /** Drops a table, as part of this transaction. @param {string} name @param {{ ifExists?: boolean }} [options] */
  async dropTable(name, options) {
    await this.#schema('dropTable', this.#database(), name, options ?? {});
  }

  /** @param {string} name @returns {Promise<object>} the table's schema as this transaction sees it */
  async describeTable(name) {
    return this.#schema('describeTable', this.#database(), name);
  }

  /** @returns {Promise<string[]>} the tables of the database, as this transaction sees them */
  async showTables() {
    return this.#schema('showTables', this.#database());
  }

  /**
   * A table whose reads and writes run inside this transaction.
   * @param {string} name
   * @returns {Table}
   */
  table(name) {
    return new Table(this.#session, name, this.#db, this.#state);
  }

  /** Commits; the transaction is finished afterwards even if this fails. */
  async commit() {
    await this.#finish('commit', 'committed');
  }

  /** Rolls back; the transaction is finished afterwards. */
  async rollback() {
    await this.#finish('rollback', 'rolled back');
  }

  #finish(op, done) {
    const handle = this.#state.use();
    this.#state.done = done;
    return this.#session.call(op, handle);
  }
}

/** Rows per request of a large insertMany (see Table.insertMany). */
const INSERT_CHUNK_ROWS = 4096;

/** Reads and writes on one table (see `conn.table(name)` and `tx.table(name)`). */
export class Table {
  #session;
  #name;
  #db;
  #tx;

  /** @internal */
  constructor(session, name, db, tx) {
    this.#session = session;
    this.#name = name;
    this.#db = db;
    this.#tx = tx;
  }

  /** The table's name. */
  get name() {
    return this.#name;
  }

  #database() {
    return this.#db ?? this.#session.db();
  }

  // Data operations: conn, tx, db, table, ...args.
  #data(op, ...args) {
    const tx = this.#tx ? this.#tx.use() : 0;
    return this.#session.call(op, tx, this.#database(), this.#name, ...args);
  }

  // Schema operations: conn, db, table, ...args; inside a transaction they
  // commit, or vanish, with it.
  #schema(op, ...args) {
    if (this.#tx) return this.#session.call('txSchema', this.#tx.use(), op, this.#database(), this.#name, ...args);
    return this.#session.call(op, this.#database(), this.#name, ...args);
  }

  /**
   * @param {object} row
   * @returns {Promise<{ id: unknown }>} the primary key (an object for compound keys)
   */
  async insert(row) {
    return this.#data('insert', row);
  }

  /**
   * Inserts all rows or none.
   * @param {object[]} rows
   * @returns {Promise<number>} the number inserted
   */
  async insertMany(rows) {
    if (this.#tx || !Array.isArray(rows) || rows.length <= INSERT_CHUNK_ROWS) return this.#data('insertMany', rows);
    // A large insert goes in chunks inside one transaction: each request
    // (and the engine's copy of it, in wasm memory that never shrinks) stays
    // small, and the rows still commit all together or not at all. It is a
    // bulk load: the engine sorts the rows at commit instead of writing each
    // through the transaction, and counts rows across the chunks in errors.
    const db = this.#database();
    const tx = await this.#session.call('begin', { bulk: true });
    let n = 0;
    try {
      for (let at = 0; at < rows.length; at += INSERT_CHUNK_ROWS) {
        n += await this.#session.call('insertMany', tx, db, this.#name, rows.slice(at, at + INSERT_CHUNK_ROWS));
      }
      await this.#session.call('commit', tx);
    } catch (err) {
      try {
        await this.#session.call('rollback', tx);
      } catch {
        // committed or gone already: the first error is the one to report
      }
      throw err;
    }
    return n;
  }

  /**
   * Inserts the row, or replaces the row with the same primary key.
   * @param {object} row
   * @returns {Promise<{ id: unknown }>}
   */
  async upsert(row) {
    return this.#data('upsert', row);
  }

  /**
   * @param {unknown} key a primary key value (an object for compound keys)
   * @returns {Promise<object|null>}
   */
  async get(key) {
    return this.#data('get', key);
  }

  /**
   * @param {object|object[]} [query] `{ where, orderBy, limit, offset, columns }`, or a where array
   * @returns {Promise<object[]>}
   */
  async select(query) {
    const eq = equalityOnly(query);
    if (eq) return this.#data('selectEq', eq[0], eq[1]);
    return this.#data('select', toQuery(query));
  }

  /**
   * The rows of `select(query)` now and after every commit that changes
   * them: `callback(rows)`; equal queries share one evaluation.
   * @param {object|object[]} [query]
   * @param {(rows: object[]) => void} [callback]
   * @returns {import('./live.js').LiveSubscription<object[]>}
   */
  watch(query, callback) {
    if (this.#tx) throw new MinibaseError('BAD_QUERY', 'watch: use conn.table(name).watch(), not a transaction\'s table');
    return this.#session.live().watch(this.#database(), this.#name, 'select', toQuery(query), callback);
  }

  /**
   * @param {object|object[]} [query]
   * @returns {Promise<number>}
   */
  async count(query) {
    return this.#data('count', toQuery(query));
  }

  // --- synchronous twins of the hot reads ---
  // On adapters whose reads are synchronous underneath (memory, node, wx: the
  // mini-program FileSystemManager's *Sync calls) a read is one synchronous
  // bridge call anyway; these return its result without a Promise.

  #syncRead(method) {
    if (!SYNC_READ_ADAPTERS.has(this.#session.adapter)) {
      throw new MinibaseError('SYNC_UNSUPPORTED', `${method}Sync is not available on the '${this.#session.adapter}' adapter: use await table.${method}()`);
    }
  }

  /** Synchronous `get`. @param {unknown} key @returns {object|null} */
  getSync(key) {
    this.#syncRead('get');
    return this.#data('get', key);
  }

  /** Synchronous `select`. @param {object|object[]} [query] @returns {object[]} */
  selectSync(query) {
    this.#syncRead('select');
    const eq = equalityOnly(query);
    if (eq) return this.#data('selectEq', eq[0], eq[1]);
    return this.#data('select', toQuery(query));
  }

  /** Synchronous `count`. @param {object|object[]} [query] @returns {number} */
  countSync(query) {
    this.#syncRead('count');
    return this.#data('count', toQuery(query));
  }
  // --- end synchronous twins ---

  /**
   * @param {object|object[]} set `{ col: value }` or `[{ name, value }]`
   * @param {object|object[]} [query] `{ where, ... }` or a where array
   * @returns {Promise<number>} the number of rows changed
   */
  async update(set, query) {
    return this.#data('update', set, toQuery(query));
  }

  /**
   * @param {object|object[]} [query] `{ where, ... }` or a where array
   * @returns {Promise<number>} the number of rows deleted
   */
  async delete(query) {
    return this.#data('delete', toQuery(query));
  }

  /**
   * @param {object|object[]} [query]
   * @returns {Promise<object>} the plan, `{ index, kind, ... }`
   */
  async explain(query) {
    return this.#data('explain', toQuery(query));
  }

  /** @param {object} column */
  async addColumn(column) {
    await this.#schema('addColumn', column);
  }

  /**
   * Renames and/or retypes a column, converting existing values.
   * @param {string} name
   * @param {object} column
   */
  async modifyColumn(name, column) {
    await this.#schema('modifyColumn', name, column);
  }

  /** @param {string} name */
  async dropColumn(name) {
    await this.#schema('dropColumn', name);
  }

  /**
   * @param {{ name?: string, columns: string|string[], unique?: boolean }|string|string[]} spec
   * @returns {Promise<string>} the index name
   */
  async createIndex(spec) {
    return this.#schema('createIndex', spec);
  }

  /** @param {string} name */
  async dropIndex(name) {
    await this.#schema('dropIndex', name);
  }
}
