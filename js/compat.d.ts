// Types of `minibase-db/compat`: the older hand-rolled libraries' method names
// over the minibase API. Every method is async.

import type {
  ColumnSpec, ConnectOptions, Connection, InsertResult, Limit, OrderBy, Row, SetArg, TableSpec, Where,
} from './index.js';

export { MinibaseError } from './index.js';

export class Connect {
  /** Opens a connection; same options as `connect` from 'minibase-db'. */
  static open(options?: ConnectOptions): Promise<Connect>;
  constructor(conn: Connection);
  /** The main-API connection underneath. */
  readonly connection: Connection;

  showDataBases(): Promise<string[]>;
  createDataBase(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  useDataBase(name: string): Promise<void>;
  /** Checks that the table exists and makes it the default for the data methods. */
  tryConnectTable(name: string): Promise<true>;
  showTableList(): Promise<string[]>;
  createTable(name: string, spec: ColumnSpec[] | TableSpec): Promise<void>;

  addData(table: string, data: Row[]): Promise<number>;
  addData(table: string, data: Row): Promise<InsertResult>;
  addData(data: Row[]): Promise<number>;
  addData(data: Row): Promise<InsertResult>;

  selectData(table: string, whereData?: Where | null, orderByData?: OrderBy | null, limitData?: Limit | null): Promise<Row[]>;
  selectData(whereData?: Where | null, orderByData?: OrderBy | null, limitData?: Limit | null): Promise<Row[]>;

  modifyData(table: string, updateData: SetArg, whereData?: Where | null): Promise<number>;
  modifyData(updateData: SetArg, whereData?: Where | null): Promise<number>;

  deleteData(table: string, whereData?: Where | null): Promise<number>;
  deleteData(whereData?: Where | null): Promise<number>;

  /** false: the following calls run in one transaction until commit()/rollback(); true commits an open one. */
  setAutoCommit(on: boolean): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

/** `await connect(options)` is `await Connect.open(options)`. */
export function connect(options?: ConnectOptions): Promise<Connect>;
