// Types of the `minibase-db` package (Node entry). Hand-written; the sources are
// plain ESM JavaScript in js/src.

/** Every stable error code a MinibaseError can carry. */
export type ErrorCode =
  | 'UNIQUE_VIOLATION'
  | 'NOT_NULL_VIOLATION'
  | 'TYPE_MISMATCH'
  | 'NO_SUCH_DATABASE'
  | 'NO_SUCH_TABLE'
  | 'NO_SUCH_COLUMN'
  | 'NO_SUCH_INDEX'
  | 'ALREADY_EXISTS'
  | 'BAD_QUERY'
  | 'BAD_VALUE'
  | 'TOO_LARGE'
  | 'TX_CLOSED'
  | 'TX_CONFLICT'
  | 'CORRUPT'
  | 'CLOSED'
  | 'QUOTA_EXCEEDED'
  | 'LOCKED'
  | 'IO'
  | 'INTERNAL'
  | 'WRONG_SECRET'
  | 'DECRYPT_FAILED'
  | 'NO_SECRET'
  | 'SYNC_UNSUPPORTED'
  // The 'opfs' adapter: the engine's worker died (terminated, crashed) while the call was
  // under way, so whether it committed is unknown; the next call starts a new worker.
  | 'WORKER_LOST'
  // Versioned schemas (connect's `schema`): a declared table differs from the stored one
  // with no migration step; the stored version is newer than the app's; a migration would
  // change a synced table in a way that is not additive.
  | 'SCHEMA_MISMATCH'
  | 'VERSION_TOO_NEW'
  | 'SYNC_SCHEMA'
  // Sync: the server refuses pushes from this schema version (update the app).
  | 'SCHEMA_TOO_OLD'
  // The mini-program entry: the runtime lacks what the engine needs (an old
  // base library, a plugin without getRandomValues, Alipay's logic layer).
  | 'UNSUPPORTED_RUNTIME'
  // Sync: the network failed, the server answered an error
  // (its code), or its answer could not be read or applied.
  | 'NETWORK'
  | 'UNAUTHORIZED'
  | 'VALIDATION'
  | 'RESYNC_REQUIRED'
  | 'BAD_REQUEST'
  | 'SYNC_PROTOCOL'
  | 'SYNC_APPLY'
  // Export, import, backup and restore: a source of another format, a job
  // cancelled through its signal (data from a newer minibase: VERSION_TOO_NEW).
  | 'BAD_FORMAT'
  | 'ABORTED';

/** The only error the package raises; `code` says what kind of failure it is. */
export class MinibaseError extends Error {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  readonly name: 'MinibaseError';
  code: ErrorCode;
}

// ---- values -------------------------------------------------------------

/** A value that can be stored: JSON-like, plus bytes and Dates (stored as ms). */
export type Value =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Date
  | Value[]
  | { [key: string]: Value | undefined };

/** A row as stored and returned. */
export type Row = Record<string, any>;

// ---- schema -------------------------------------------------------------

export type ColumnType = 'string' | 'number' | 'boolean' | 'object' | 'bytes' | 'any';
/** Other spellings the engine accepts (older libraries, SQL habits). */
export type ColumnTypeAlias = 'int' | 'integer' | 'float' | 'double' | 'bool' | 'json' | 'array' | 'text' | 'varchar';

export interface ColumnSpec {
  name: string;
  /** Default 'any'. */
  type?: ColumnType | ColumnTypeAlias;
  default?: Value;
  notNull?: boolean;
  primaryKey?: boolean;
  autoIncrement?: boolean;
  unique?: boolean;
  comment?: string;
  /** Older libraries' name for `unique`. */
  uni?: boolean;
  /** Older libraries' name for `autoIncrement`. */
  increment?: boolean;
}

/** A column change for modifyColumn: new name and/or type (and other options). */
export type ColumnChange = Partial<ColumnSpec>;

export interface IndexSpec {
  name?: string;
  columns: string | string[];
  unique?: boolean;
}

export interface TableSpec {
  columns: ColumnSpec[];
  indexes?: Array<IndexSpec | string | string[]>;
  /** A table-level (possibly compound) primary key. */
  primaryKey?: string | string[];
  ifNotExists?: boolean;
  comment?: string;
  /** Queue every write for offline sync (`conn.sync()`); needs an app-chosen primary key. */
  sync?: boolean;
}

export interface TableDescription {
  name: string;
  columns: ColumnSpec[];
  indexes: Array<{ name: string; columns: string[]; unique: boolean }>;
  primaryKey: string[];
  comment?: string;
  [key: string]: unknown;
}

/** A migration step: schema changes and data rewrites through `tx`; the step commits whole. */
export type Migration = (tx: Transaction, step: { from: number; to: number }) => unknown | Promise<unknown>;

/**
 * A declared, versioned schema (`connect({ schema })`). On connect each step from the stored
 * version up runs in one transaction (its migration, if any; on the last step the declared
 * tables are checked, and what is missing and additive is created), then the version is
 * recorded. A new database gets the declared tables without migrations.
 */
export interface SchemaDeclaration {
  /** The app's schema version, a whole number from 1. */
  version: number;
  /** The database `tables` live in; connect also makes it the current database. */
  database?: string;
  /** Tables of `database`: name → createTable spec (without ifNotExists). */
  tables?: Record<string, TableSpec>;
  /** Tables of several databases: database → table name → createTable spec. */
  databases?: Record<string, Record<string, TableSpec>>;
  /** Steps by the version they lead to (2 runs on a database at version 1). */
  migrations?: Record<number, Migration>;
}

// ---- queries ------------------------------------------------------------

export type Operator =
  | '=' | '!=' | '<' | '<=' | '>' | '>='
  | 'in' | 'notIn' | 'between' | 'like' | 'startsWith' | 'isNull' | 'isNotNull'
  | OperatorAlias;

/** Other spellings the engine accepts for the same operators. */
export type OperatorAlias =
  | '==' | '===' | 'eq' | '$eq' | '!==' | '<>' | 'ne' | '$ne'
  | 'lt' | '$lt' | 'lte' | '$lte' | 'gt' | '$gt' | 'gte' | '$gte'
  | '$in' | 'nin' | '$nin' | 'not in';

/** `{ '>=': 18 }`, `{ in: [1, 2] }`, `{ between: [1, 9] }`, `{ isNull: true }`… */
export type Condition = { [op in Operator]?: Value };

/** `{ age: { '>=': 18 }, name: 'ann', $or: [{…}, {…}] }` — conditions are ANDed. */
export type WhereObject = {
  $or?: WhereObject[];
  [column: string]: Value | Condition | WhereObject[] | undefined;
};

/** The older libraries' shape: `[{ name: 'age', type: '>=', value: 18 }]`. */
export type WhereItem = { name: string; type: Operator; value?: Value };
export type WhereArray = WhereItem[];

export type Where = WhereObject | WhereArray;

export type OrderBy = string | Array<string | { name: string; type?: 'asc' | 'desc' }>;

/** A number of rows, or the older `{ start, count }`. */
export type Limit = number | { start?: number; count: number };

export interface Query {
  where?: Where;
  orderBy?: OrderBy;
  limit?: Limit;
  offset?: number;
  /** Only these columns in the result. */
  columns?: string[];
}

/** A query, or (older shape) just a where array. */
export type QueryArg = Query | WhereArray;

/** `{ age: 31 }`, or the older `[{ name: 'age', value: 31 }]`. */
export type SetArg = Record<string, Value> | Array<{ name: string; value: Value }>;

/** What explain() returns: the chosen access path. */
export interface Plan {
  table: string;
  /** 'point': one key; 'range': key ranges of an index; 'scan': every row. */
  kind: 'point' | 'range' | 'scan' | (string & {});
  /** 'primary', an index name, or 'rowid' for a scan of a table without a primary key. */
  index: string;
  /** True when the rows must be sorted after reading (no index gives the order). */
  sort?: boolean;
  [key: string]: unknown;
}

// ---- API ----------------------------------------------------------------

export interface ConnectOptions {
  /**
   * Where data lives. Default 'node' (files under `root`); in the browser build 'indexeddb'.
   * Browser build: 'opfs' runs the engine in a dedicated Worker the loader starts, on OPFS files.
   */
  adapter?: 'node' | 'memory' | 'indexeddb' | 'opfs';
  /** Browser build, 'opfs': the module the engine's worker loads (default: browser.mjs itself, import.meta.url). */
  opfsWorker?: string | URL;
  /**
   * Browser build, 'opfs': how calls reach the engine's worker. 'auto' (default): through a
   * SharedArrayBuffer when the page is cross-origin isolated (COOP + COEP), else by message;
   * 'shared': the former or BAD_QUERY; 'message': always by message.
   */
  channel?: 'auto' | 'shared' | 'message';
  /** Browser build: the database's name (IndexedDB database "minibase:<name>"). Default 'minibase'. */
  name?: string;
  /**
   * Directory (node) or name (memory) of the data. Default 'minibase-data'. Must not be empty
   * (`'.'` is the working directory). A directory that holds other files but no database is
   * refused with BAD_QUERY unless `adoptRoot` is set.
   */
  root?: string;
  /** Create the database in `root` even though the directory holds other files. Default false. */
  adoptRoot?: boolean;
  /** 'strict' also survives power loss (fsync); default 'normal' survives the process being killed. */
  durability?: 'normal' | 'strict';
  /** Log bytes the memtable collects before it is flushed to a segment file. Default 8 MB on node and memory, 4 MB on wx, IndexedDB and OPFS. Used when the root is first opened. */
  memtableBytes?: number;
  /** Byte limit of the block cache for segment files. Default 16 MB on node, memory and OPFS, 8 MB on wx and IndexedDB. Used when the root is first opened. It also bounds the segment indexes and bloom filters kept in memory. */
  cacheBytes?: number;
  /** Milliseconds writes must be quiet before the connection checkpoints (see `checkpoint()`). Default 2000; 0 turns idle checkpoints off. */
  checkpointIdleMs?: number;
  /** The engine binary; default js/dist/minibase.wasm. Used only when the process-wide engine is first started. */
  wasm?: string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;
  /** A declared, versioned schema: connect resolves once the root is at its version. */
  schema?: SchemaDeclaration;
  /** Browser build: ask the browser to exempt the origin's storage from eviction (navigator.storage.persist()). Default false. */
  persist?: boolean;
  /** Browser build, 'indexeddb': bytes of segment-file chunks kept loaded (default 32 MB); a query reading others loads them from IndexedDB first. One call's own chunks may go past it, up to 4 × residentBytes (at least 64 MB): a call needing more fails with TOO_LARGE. */
  residentBytes?: number;
}

export function connect(options?: ConnectOptions): Promise<Connection>;

/** The options of `preload`: connect's that concern the engine (the first start decides them). */
export type PreloadOptions = Pick<ConnectOptions, 'adapter' | 'wasm' | 'opfsWorker' | 'channel'>;

/**
 * Starts the engine `connect` with these options would use, opening nothing, and resolves once it
 * runs: called as an app loads, the engine's fetch, compile and start are done or under way when it
 * connects. Browser build: the page's engine ('indexeddb', 'memory') or the OPFS worker and its engine
 * ('opfs'; a connect made meanwhile opens the files while the engine finishes). Node: the process's engine.
 */
export function preload(options?: PreloadOptions): Promise<void>;

// ---- export, import, backup ----

/** An AbortSignal, or the stand-in of createAbortSignal() where AbortController does not exist. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface Progress {
  /** Rows (export, import) or bytes (backup, restore) done so far. */
  done: number;
  /** The total when known (rows of an export or import; bytes of a restore), else null. */
  total: number | null;
  /** Bytes read or written so far. */
  bytes: number;
  /** Of a restore: 'verify' (the whole file is checked first), then 'restore'. */
  phase?: 'verify' | 'restore';
}

export interface JobOptions {
  onProgress?: (p: Progress) => void;
  /** Cancels the job: it rejects with ABORTED (an import in 'replace' mode then changes nothing). */
  signal?: AbortSignalLike;
}

export interface ExportOptions extends JobOptions {
  /** Databases to export. Default all. */
  databases?: string[];
  /** Tables to export, as 'db.table' or a table name. Default all of `databases`. */
  tables?: string[];
}

/** Text or bytes, whole or as an (async) iterable of chunks, a stream, a `{ path }` (node, wx), or a function returning one (read again for checks). */
export type ImportSource =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | { path: string }
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>
  | ReadableStream<Uint8Array>
  | (() => ImportSource | Promise<ImportSource>);

export interface ImportOptions extends JobOptions {
  mode?: 'replace' | 'merge';
  /** Rows per batch (one commit each in 'merge'). Default 1000. */
  batchRows?: number;
}

export interface ImportResult {
  mode: 'replace' | 'merge';
  tables: number;
  /** Rows written. */
  rows: number;
  /** 'merge': the first 1000 lines refused, with why. */
  rejected: { line: number; code: ErrorCode; message: string }[];
  rejectedCount: number;
}

export interface BackupTarget {
  write(chunk: Uint8Array): unknown;
  close?(): unknown;
}

export interface BackupResult {
  bytes: number;
  /** Without a target, where the host has Blob (browsers). */
  blob?: Blob;
  /** Without a target, where the host has no Blob. */
  data?: Uint8Array;
}

export interface RestoreOptions extends JobOptions {
  /** Node and wx: the adapter and root to restore into (it must not be open). Default the entry's connect() defaults. */
  adapter?: string;
  root?: string;
  /** Browser: the database to restore into (no tab may have it open). */
  name?: string;
  durability?: 'normal' | 'strict';
}

/**
 * Restores a backup into a root, after checking the whole file: a corrupt,
 * truncated or foreign file is refused with CORRUPT (a newer format with
 * VERSION_TOO_NEW) and nothing changes. A restore killed midway leaves the
 * root refusing to open (CORRUPT) until it is restored again.
 */
export function restore(source: string | Uint8Array | ArrayBuffer | Blob | (() => ImportSource | Promise<ImportSource>), options?: RestoreOptions): Promise<{ keys: number; bytes: number }>;
/** Node: checks a backup file end to end without restoring it. */
export function verify(source: string | Uint8Array | (() => ImportSource | Promise<ImportSource>)): Promise<{ keys: number; bytes: number }>;
// What the inspectors show (the CLI, minibase-db/inspector, a mini-program debug page).
export interface TableOverview {
  name: string;
  rows: number;
  columns: object[];
  indexes: { name: string; columns: string[]; unique: boolean }[];
  primaryKey: string[];
  sync: boolean;
  comment: string;
}
/** Every database with its tables (schema and row count), and the engine's stats. */
export function describeRoot(conn: Connection): Promise<{ databases: { name: string; tables: TableOverview[] }[]; stats: Stats }>;
/** One page of a table's rows, in primary key order unless orderBy says otherwise. */
export function pageRows(conn: Connection, db: string, table: string, options?: { where?: object; orderBy?: unknown; offset?: number; limit?: number }): Promise<{ rows: Row[]; total: number; offset: number; limit: number }>;
/** A value as the inspectors print it: bytes as a short hex preview, objects as JSON. */
export function formatValue(v: unknown): string;
/** An AbortController stand-in for hosts without one (mini-programs). */
export function createAbortSignal(): { signal: AbortSignalLike; abort(reason?: unknown): void };

// ---- browser build only (minibase-db/browser, or the "browser" condition) ----

/** Whether this page or worker owns database `name` now (runs the other tabs' calls). */
export function isOwner(name: string, adapter?: 'indexeddb' | 'opfs'): boolean;
/** Gives up this tab's part in database `name`: ownership passes to another tab; resolves once its files are let go. */
export function release(name: string, adapter?: 'indexeddb' | 'opfs'): Promise<void>;
/**
 * Deletes database `name` (IndexedDB, or its OPFS directory). Connections this tab just closed
 * are waited for; LOCKED while another tab or worker has it open (on IndexedDB, a connection
 * that holds no Web Lock is taken for open when it is still not closed after 5 seconds).
 */
export function deleteDatabase(name: string, adapter?: 'indexeddb' | 'opfs'): Promise<void>;

/** What `events` reports with `evicted`. */
export interface EvictedDetail {
  /** The database found evicted (or cleared) and opened empty. */
  name: string;
  /** Its new marker. */
  marker: string;
  /** The marker this origin remembered, or null. */
  previous: string | null;
  /** 'opfs' for an OPFS database; absent for IndexedDB. */
  adapter?: 'opfs';
  /** True when another tab found it and told this one. */
  remote?: boolean;
}
/** Storage events of this page or worker: `evicted` (a CustomEvent<EvictedDetail>). Listen before `connect`. */
export const events: EventTarget;
/** The origin's storage as the browser reports it. */
export interface OriginStorage {
  usage?: number;
  quota?: number;
  /** Whether the origin's storage is exempt from eviction. */
  persisted?: boolean;
}
/** navigator.storage.estimate() and persisted() (stats() reports the first as storageUsageBytes / storageQuotaBytes). */
export function storageInfo(): Promise<OriginStorage>;

export interface InsertResult {
  /** The primary key; an object for compound keys. */
  id: any;
}

export class Table {
  private constructor();
  readonly name: string;
  insert(row: Row): Promise<InsertResult>;
  insertMany(rows: Row[]): Promise<number>;
  upsert(row: Row): Promise<InsertResult>;
  get(key: Value): Promise<Row | null>;
  select(query?: QueryArg): Promise<Row[]>;
  count(query?: QueryArg): Promise<number>;
  /** `update(set, query)`; older shape `update([{ name, value }], [{ name, type, value }])`. */
  update(set: SetArg, query?: QueryArg): Promise<number>;
  delete(query?: QueryArg): Promise<number>;
  explain(query?: QueryArg): Promise<Plan>;
  /** Synchronous `get` on the memory, node and wx adapters; elsewhere throws SYNC_UNSUPPORTED. */
  getSync(key: Value): Row | null;
  /** Synchronous `select` on the memory, node and wx adapters; elsewhere throws SYNC_UNSUPPORTED. */
  selectSync(query?: QueryArg): Row[];
  /** Synchronous `count` on the memory, node and wx adapters; elsewhere throws SYNC_UNSUPPORTED. */
  countSync(query?: QueryArg): number;
  addColumn(column: ColumnSpec): Promise<void>;
  modifyColumn(name: string, column: ColumnChange): Promise<void>;
  dropColumn(name: string): Promise<void>;
  /** Resolves to the index name. */
  createIndex(spec: IndexSpec | string | string[]): Promise<string>;
  dropIndex(name: string): Promise<void>;
  /**
   * The rows of `select(query)` now and after every commit that can change them (this
   * connection, another in the process, another tab, sync). Equal queries share one
   * evaluation; `callback` runs only when the rows changed. Not on a transaction's table.
   */
  watch(query?: QueryArg, callback?: (rows: Row[]) => void): LiveSubscription<Row[]>;
}

// --- Live queries ---

/** A subscriber of a live value: a function of each value, or an observer. */
export type LiveObserver<T> = ((value: T) => void) | { next?(value: T): void; error?(err: MinibaseError): void; complete?(): void };

/**
 * What `table.watch`, `conn.live`, `conn.changes` and `storage.watch` return: a
 * subscription, a minimal Observable and an async iterator (of a query: the newest answer
 * when the reader falls behind; of `conn.changes()`: every change).
 */
export interface LiveSubscription<T> extends AsyncIterable<T> {
  /** The latest value, undefined before the first. */
  readonly current: T | undefined;
  /** True once unsubscribed or the connection closed. */
  readonly closed: boolean;
  /** Resolves when the subscription ends: the final signal when the connection closes. */
  readonly done: Promise<void>;
  subscribe(observer: LiveObserver<T>): { unsubscribe(): void; readonly closed: boolean };
  /** Ends every subscriber added through this object. */
  unsubscribe(): void;
}

/** The reads `conn.live(fn)` may make: over one snapshot, each tracked for invalidation. */
export interface LiveReader {
  table(name: string): {
    readonly name: string;
    get(key: Value): Promise<Row | null>;
    select(query?: QueryArg): Promise<Row[]>;
    count(query?: QueryArg): Promise<number>;
  };
}

/** One committed change of `conn.changes()`; `op: 'reset'` when changes were lost (take a fresh read). */
export interface ChangeEvent {
  op: 'insert' | 'update' | 'delete' | 'reset';
  db?: string;
  table?: string;
  /** The primary key (an object for compound keys). */
  key?: Value;
  /** The row after the change (absent for a delete). */
  row?: Row;
  /** 'local': a connection of this process or page; 'tab': another tab or worker; 'sync': a pulled change. */
  source: 'local' | 'tab' | 'sync';
  /** Increasing within the connection: pass the last one seen as `since` to resume. */
  seq: number;
  reason?: 'overflow' | 'since';
}

/** `stats().live`: counters of the connection's live queries. */
export interface LiveStats {
  /** Distinct live queries (shared evaluations) and their subscribers. */
  queries: number;
  subscribers: number;
  feeds: number;
  /** Evaluations in all, those caused by a commit, callbacks made, re-runs whose answer was unchanged. */
  evaluations: number;
  reevaluations: number;
  notifications: number;
  skipped: number;
  changes: number;
  subscriberErrors: number;
}

export class Transaction {
  private constructor();
  /** True until commit() or rollback(). */
  readonly active: boolean;
  /** A table whose reads, writes and schema changes run in this transaction. */
  table(name: string): Table;
  /** The database this transaction's table() and schema methods use from now on. */
  useDatabase(name: string): void;
  /** Schema changes that commit, or vanish, with the transaction. */
  createDatabase(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  dropDatabase(name: string, options?: { ifExists?: boolean }): Promise<void>;
  createTable(name: string, spec: TableSpec): Promise<void>;
  dropTable(name: string, options?: { ifExists?: boolean }): Promise<void>;
  /** The table's schema as this transaction sees it. */
  describeTable(name: string): Promise<TableDescription>;
  showTables(): Promise<string[]>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What `conn.stats()` reports. */
export interface Stats {
  /** Go heap occupied by objects live at the last collection. */
  heapLiveBytes: number;
  /** All memory the Go runtime holds (wasm memory never shrinks). */
  heapTotalBytes: number;
  /** Size of the engine's wasm linear memory: what it costs the process; grown as needed, never returned. */
  wasmMemoryBytes: number;
  gcCycles: number;
  /** Keys in the store (rows plus index entries plus the catalog). */
  keys: number;
  liveBytes: number;
  files: number;
  diskBytes: number;
  /** Write-ahead log bytes not yet flushed to segment files. */
  logBytes: number;
  /** Commits since the connection opened. */
  commits: number;
  /** Bytes handed to the backend since the connection opened. */
  bytesWritten: number;
  /** Memtable flushes to segment files, and merges of segment runs, since open. */
  flushes: number;
  compactions: number;
  /** Sorted runs of segment files, and the segment files in them. */
  runs: number;
  segments: number;
  /** Key and value bytes in the memtable. */
  memtableBytes: number;
  /** Indexes and bloom filters held in memory, of the segments open (a segment is opened by its first read; past a limit, cacheBytes by default, the least recently read are closed again). */
  indexBytes: number;
  /** Segments closed since open to keep indexBytes within its limit. */
  indexCloses: number;
  /** Bytes held by the block cache, and its limit; both include the memory a bulk call's growth lent it (under wasm: up to three times cacheBytes more, for the blocks it evicts, taken back by the next bulk work). */
  cacheBytes: number;
  cacheLimit: number;
  /** Block reads served by the cache / read from the backend since open, and hits / (hits + misses). */
  cacheHits: number;
  cacheMisses: number;
  cacheHitRate: number;
  /** Browser build (indexeddb, opfs): the origin's storage use and quota (navigator.storage.estimate()). */
  storageUsageBytes?: number;
  storageQuotaBytes?: number;
  /** IndexedDB, in the tab that owns the database: bytes of segment chunks loaded now. */
  residentChunkBytes?: number;
  /** IndexedDB, owning tab: the most chunk bytes loaded at once, and the most one call held. */
  peakResidentChunkBytes?: number;
  peakCallChunkBytes?: number;
  /** IndexedDB, owning tab: chunks (and their bytes) read from IndexedDB, chunks let go past `residentBytes`, and calls run again after loading chunks. */
  chunkLoads?: number;
  chunkLoadBytes?: number;
  chunkEvictions?: number;
  chunkReruns?: number;
  /**
   * IndexedDB, owning tab: merges of segment runs run in steps after writes (each its own call
   * within the chunk budget): steps run since the tab took the database, and 1 while steps
   * are under way (0 once no merge is due).
   */
  compactSteps?: number;
  compacting?: number;
  /** IndexedDB, owning tab: milliseconds the last load of the database's file list (and segment ends) took. */
  filesLoadMs?: number;
  /**
   * OPFS: the database's files (slot files, spares included); those whose handle is not open
   * yet (an open leaves the segments its map knows closed until a call reads one, and opens
   * the rest a few at a time once calls pause); those the open left closed; those opened
   * since; calls run again after opening the files they read; and the times every file had
   * to be opened and sorted because the map was stale.
   */
  opfsFiles?: number;
  opfsFilesClosed?: number;
  opfsFilesLeftClosed?: number;
  opfsFilesOpenedLater?: number;
  opfsReruns?: number;
  opfsFullOpens?: number;
  /** Live query counters, once the connection used one. */
  live?: LiveStats;
  [key: string]: unknown;
  /**
   * Passphrases this engine instance has stretched with PBKDF2 for stores that cache their key
   * (`cacheKey`, the default): each costs ~1 s in wasm; a reopen with the same passphrase reuses it.
   */
  keyDerivations: number;
}

export class Connection {
  private constructor();
  /** The database chosen with useDatabase(), or null. */
  readonly database: string | null;
  createDatabase(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  useDatabase(name: string): Promise<void>;
  showDatabases(): Promise<string[]>;
  dropDatabase(name: string, options?: { ifExists?: boolean }): Promise<void>;
  createTable(name: string, spec: TableSpec): Promise<void>;
  showTables(): Promise<string[]>;
  describeTable(name: string): Promise<TableDescription>;
  dropTable(name: string, options?: { ifExists?: boolean }): Promise<void>;
  table(name: string): Table;
  begin(): Promise<Transaction>;
  /** Commits when fn resolves (returning its result); rolls back and rethrows when it throws. */
  transaction<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T>;
  /** The root's schema version (0 when no declared schema ever set one). */
  schemaVersion(): Promise<number>;
  stats(): Promise<Stats>;
  compact(): Promise<void>;
  /**
   * Flushes the log to a segment now when it holds 256 KB or more, so that the next open
   * replays nothing. Done by itself after writes have been quiet for 2 s and when a page or
   * mini-program is hidden; every write is durable when acknowledged either way.
   */
  checkpoint(): Promise<{ flushed: boolean }>;
  /** Checks every index against its rows and every row against its schema; CORRUPT when they disagree. */
  checkIntegrity(): Promise<void>;
  /**
   * The tables (default: every table of every database) as NDJSON lines, read
   * from one snapshot: a header `{ format: 'minibase-export', version, tables }`,
   * a `{ t, r }` line per row (bytes as `{ $bytes: base64 }`), then `{ end: true, rows }`.
   */
  export(options?: ExportOptions): AsyncGenerator<string, void, undefined>;
  /**
   * Loads an export. 'replace' (default) swaps the exported tables in all at
   * once or not at all; 'merge' creates what is missing, upserts row by row
   * and reports the lines it rejected. Bad input: BAD_FORMAT, CORRUPT
   * (truncated), VERSION_TOO_NEW, or the engine's code with the line number.
   */
  import(source: ImportSource, options?: ImportOptions): Promise<ImportResult>;
  /**
   * A consistent backup of the whole root (every database, storage, sync
   * state) as one checksummed file: to a path (node; wx: under USER_DATA_PATH),
   * to a `{ write(chunk) }` target, or (no target) returned as a Blob where
   * the host has Blob, else as bytes.
   */
  backup(target?: string | BackupTarget, options?: JobOptions): Promise<BackupResult>;
  /** A key-value store on this connection; it closes with the connection. */
  storage(options?: StorageOptions): Promise<Storage>;
  /** Syncs the current database's synced tables with a minibase sync server. */
  sync(options: SyncOptions): Sync;
  /**
   * Runs `fn` (reads over one snapshot) now and after every commit touching what it read;
   * the same function shares one evaluation. `callback` runs when its result changed.
   */
  live<T>(fn: (tx: LiveReader) => Promise<T>, callback?: (value: T) => void): LiveSubscription<T>;
  /** Committed changes in commit order (`since`: replay those after that seq, if still kept). */
  changes(options?: { tables?: string[]; since?: number }, callback?: (change: ChangeEvent) => void): LiveSubscription<ChangeEvent>;
  /** Closes the connection; live subscriptions end (complete(), `done`). */
  close(): Promise<void>;
}

// --- Offline sync ---

/** A conflict merge function: returns the row to keep (null deletes it). */
export type MergeFunction = (local: Row | null, remote: Row | null, base: Row | null) => Row | null | Promise<Row | null>;

/** A fetch-like transport: `globalThis.fetch`, or an adapter over `wx.request`. */
export type SyncFetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) =>
  Promise<{ status: number; text(): Promise<string>; body?: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } } | null }>;

export interface SyncOptions {
  /** The server's base URL, e.g. `https://sync.example.com` (paths /v1/... are added). */
  url: string;
  /** Synced tables to sync; default every table created with `sync: true`. */
  tables?: string[];
  /**
   * Conflict policy; default 'lww' (last writer by hybrid logical clock, ties broken by origin).
   * 'merge-fields' merges column by column against the last synced version.
   */
  conflict?: 'lww' | 'server-wins' | 'client-wins' | 'merge-fields' | MergeFunction;
  /** Bearer token, or a function returning one (called before every request). */
  auth?: string | (() => string | Promise<string>);
  /** Defaults to globalThis.fetch. */
  fetch?: SyncFetch;
  /** Changes per push (1..1000, default 500). */
  batchSize?: number;
  /** Changes per pull page (1..1000, default 500). */
  pullLimit?: number;
  /** Told how many changes a long pull has applied so far. */
  onProgress?: (progress: { pulled: number }) => void;
  /** Retry delays after failures in ms: exponential from min to max, with jitter (default 1000..60000). */
  backoff?: { min?: number; max?: number };
}

export interface SyncStatus {
  online: boolean;
  lastSuccess: number | null;
  lastError: Error | null;
  pending: number;
}

export interface SyncChange {
  table: string;
  key: Value;
  /** The row now stored; null when deleted. */
  row: Row | null;
  deleted: boolean;
  hlc: string;
  origin: string;
}

export interface SyncConflict {
  table: string;
  key: Value;
  local: Row | null;
  remote: Row | null;
  base: Row | null;
  /** 'remote' (local change dropped), 'local' (kept: it is later), 'reissued' (client-wins), 'pending' (merge function). */
  resolution: 'remote' | 'local' | 'reissued' | 'merged' | 'pending';
}

export interface DeadLetter {
  op: string;
  table: string;
  key: Value;
  row: Row | null;
  hlc: string;
  code: string;
  message: string;
}

export class Sync {
  private constructor();
  /** This database's client id (its origin), once the session has been used. */
  readonly client: string | null;
  /** Pushes pending changes in order, then pulls what others wrote. */
  now(): Promise<void>;
  /** Syncs now, every `interval` ms (default 30000), after local writes, and on server notices with `realtime`. */
  start(options?: { interval?: number; realtime?: boolean }): void;
  stop(): void;
  pending(): Promise<number>;
  status(): Promise<SyncStatus>;
  on(event: 'change', fn: (change: SyncChange) => void): () => void;
  on(event: 'conflict', fn: (conflict: SyncConflict) => void): () => void;
  on(event: 'error', fn: (error: Error) => void): () => void;
  on(event: 'status', fn: (status: SyncStatus) => void): () => void;
  on(event: 'progress', fn: (progress: { pulled: number }) => void): () => void;
  deadLetters(): Promise<DeadLetter[]>;
  retry(op: string | DeadLetter): Promise<void>;
  discard(op: string | DeadLetter): Promise<void>;
  close(): Promise<void>;
}

// ---- storage ------------------------------------------------------------

/** Options of `conn.storage()`. */
export interface StorageOptions {
  /** Key prefix; `clear()` removes only these keys. Default 'mp_'. Prefixes of two stores must not overlap. */
  prefix?: string;
  /** A passphrase (PBKDF2-SHA256) or a raw 32-byte key; needed for `encrypt: true`. */
  secret?: string | Uint8Array;
  /** Quota in bytes (keys plus stored values). Default 10 MB. */
  limitSize?: number;
  /** PBKDF2 iterations when the store's salt is first created. Default 600,000. */
  kdfIterations?: number;
  /**
   * Keep the key derived from a passphrase for the engine's lifetime, so that opening the
   * store again with the same passphrase skips PBKDF2 (~1 s in wasm). Default true.
   */
  cacheKey?: boolean;
  /** Bounds of the memory LRU of `cached()`. Default 1000 entries, 4 MB. */
  cache?: { maxEntries?: number; maxBytes?: number };
  /** Seconds between background sweeps of expired keys; 0 turns them off. Default 60. */
  sweepInterval?: number;
}

/** Options of `openStorage()`: where the data lives plus the store's options. */
export interface OpenStorageOptions extends StorageOptions, ConnectOptions {}

/** What a store keeps: any JSON value, plus bytes (an ArrayBuffer is read back as a Uint8Array). */
export type StorageValue = Value | ArrayBuffer;

export interface SetOptions {
  /** Seconds to live. */
  expire?: number;
  /** Absolute expiry: a Date or ms since the epoch. */
  expireAt?: Date | number;
  /** AES-256-GCM; the store needs a secret (else NO_SECRET). */
  encrypt?: boolean;
  /** Deflate, kept only when it makes the value smaller. */
  compress?: boolean;
}

export type BatchOp =
  | { type: 'set'; key: string; data: StorageValue; options?: SetOptions }
  | { type: 'get'; key: string; defaultValue?: Value }
  | { type: 'has'; key: string }
  | { type: 'remove'; key: string };

/** `info()`: the shape and units of wx.getStorageInfo (sizes in KB), usage as "12.34%". */
export interface StorageInfo {
  /** The live keys, without the prefix, sorted. */
  keys: string[];
  /** How many: `keys.length`. */
  keyCount: number;
  currentSize: number;
  limitSize: number;
  usage: string;
}

export interface StorageStats {
  reads: number;
  writes: number;
  hits: number;
  misses: number;
  hitRate: number;
  hottest: Array<{ key: string; reads: number }>;
  memory: { entries: number; bytes: number };
}

/** A key-value store with expiry, encryption, compression and a quota. */
export class Storage {
  private constructor();
  readonly prefix: string;
  readonly closed: boolean;
  set(key: string, value: StorageValue, options?: SetOptions): Promise<void>;
  get<T = any>(key: string, defaultValue?: T): Promise<T | any>;
  has(key: string): Promise<boolean>;
  /** Resolves to whether the key held a live value. */
  remove(key: string): Promise<boolean>;
  /** Live keys without the prefix, sorted. */
  keys(): Promise<string[]>;
  clear(): Promise<void>;
  info(): Promise<StorageInfo>;
  /** Resolves to the number of expired keys deleted. */
  cleanExpired(): Promise<number>;
  /** Writes apply atomically; results in order (get → value or defaultValue, has/remove → boolean, set → null). */
  batch(ops: BatchOp[]): Promise<any[]>;
  /** Memory LRU → stored value → loader(); concurrent callers share one loader call. */
  cached<T>(key: string, loader: () => T | Promise<T>, options?: { ttl?: number; memory?: boolean; encrypt?: boolean; compress?: boolean }): Promise<T>;
  stats(): StorageStats;
  // The *Sync twins work on the memory, node and wx adapters; on 'indexeddb'
  // they throw SYNC_UNSUPPORTED (a write is acknowledged only once IndexedDB
  // committed it, and reads run in the tab that owns the database).
  getSync<T = any>(key: string, defaultValue?: T): T | any;
  setSync(key: string, value: StorageValue, options?: SetOptions): void;
  hasSync(key: string): boolean;
  removeSync(key: string): boolean;
  keysSync(): string[];
  infoSync(): StorageInfo;
  /** The value under key now (null when missing) and after every commit that writes it. */
  watch<T = any>(key: string, callback?: (value: T | null) => void): LiveSubscription<T | null>;
  /** Pins the expiry clock (tests); null returns to real time. On 'indexeddb' returns a promise of the engine's clock being set. */
  setClock(ms: number | Date | null): void | Promise<void>;
  close(): Promise<void>;
}

/** Opens a store on its own connection, closed with the store. */
export function openStorage(options?: OpenStorageOptions): Promise<Storage>;
