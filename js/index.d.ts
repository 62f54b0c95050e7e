// Types of the `minibase` package (Node entry). Hand-written; the sources are
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
  | 'INTERNAL';

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
}

export interface TableDescription {
  name: string;
  columns: ColumnSpec[];
  indexes: Array<{ name: string; columns: string[]; unique: boolean }>;
  primaryKey: string[];
  comment?: string;
  [key: string]: unknown;
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
  /** Where data lives. Default 'node' (files under `root`). */
  adapter?: 'node' | 'memory';
  /** Directory (node) or name (memory) of the data. Default 'minibase-data'. */
  root?: string;
  /** 'strict' also survives power loss (fsync); default 'normal' survives the process being killed. */
  durability?: 'normal' | 'strict';
  /** The engine binary; default js/dist/minibase.wasm. Used only when the process-wide engine is first started. */
  wasm?: string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;
}

export function connect(options?: ConnectOptions): Promise<Connection>;

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
  addColumn(column: ColumnSpec): Promise<void>;
  modifyColumn(name: string, column: ColumnChange): Promise<void>;
  dropColumn(name: string): Promise<void>;
  /** Resolves to the index name. */
  createIndex(spec: IndexSpec | string | string[]): Promise<string>;
  dropIndex(name: string): Promise<void>;
}

export class Transaction {
  private constructor();
  /** True until commit() or rollback(). */
  readonly active: boolean;
  /** A table whose reads and writes run in this transaction. */
  table(name: string): Table;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What `conn.stats()` reports. */
export interface Stats {
  /** Go heap occupied by objects live at the last collection. */
  heapLiveBytes: number;
  /** All memory the Go runtime holds (wasm memory never shrinks). */
  heapTotalBytes: number;
  gcCycles: number;
  /** Keys in the store (rows plus index entries plus the catalog). */
  keys: number;
  liveBytes: number;
  files: number;
  diskBytes: number;
  /** Write-ahead log bytes not yet folded into a checkpoint. */
  logBytes: number;
  /** Commits since the connection opened. */
  commits: number;
  /** Bytes handed to the backend since the connection opened. */
  bytesWritten: number;
  [key: string]: unknown;
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
  stats(): Promise<Stats>;
  compact(): Promise<void>;
  close(): Promise<void>;
}
