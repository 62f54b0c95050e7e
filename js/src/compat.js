// `minibase-db/compat`: the method names of the hand-rolled "Connect / DataBase /
// Table" libraries, mapped onto the minibase API so that code written for them
// ports with few edits. Every method is async: add `await`.
//
// Before (hand-rolled library, synchronous, JSON file rewritten on each change):
//
//   const conn = new Connect('app')
//   conn.createDataBase('shop'); conn.useDataBase('shop')
//   conn.createTable('users', [{ name: 'id', type: 'number', primaryKey: true, increment: true },
//                              { name: 'username', type: 'string', uni: true }])
//   conn.addData('users', { username: 'ann' })
//   conn.selectData('users', [{ name: 'id', type: '>=', value: 1 }],
//                   [{ name: 'id', type: 'desc' }], { start: 0, count: 10 })
//   conn.modifyData('users', [{ name: 'username', value: 'bob' }], [{ name: 'id', type: '=', value: 1 }])
//   conn.deleteData('users', [{ name: 'id', type: '=', value: 1 }])
//   conn.setAutoCommit(false); conn.addData('users', …); conn.commit()
//
// After (minibase-db/compat, same shapes, durable, indexed):
//
//   import { Connect } from 'minibase-db/compat'
//   const conn = await Connect.open({ root: 'app' })        // or: await connect({ root: 'app' })
//   await conn.createDataBase('shop', { ifNotExists: true }); await conn.useDataBase('shop')
//   await conn.createTable('users', [ …same columns… ])
//   await conn.addData('users', { username: 'ann' })          // -> { id: 1 }
//   await conn.selectData('users', [{ name: 'id', type: '>=', value: 1 }],
//                         [{ name: 'id', type: 'desc' }], { start: 0, count: 10 })
//   await conn.tryConnectTable('users')                       // then the table argument may be left out:
//   await conn.selectData([{ name: 'id', type: '>=', value: 1 }])
//   await conn.setAutoCommit(false); await conn.addData('users', …); await conn.commit()
//
// New code should use the main API (`import { connect } from 'minibase-db'`).

import { connect as connectMain, MinibaseError } from './node.js';

export { MinibaseError };

/** A connection with the older libraries' method names. */
export class Connect {
  #conn;
  #table = null; // set by tryConnectTable
  #autoCommit = true;
  #tx = null; // promise of the open transaction while autoCommit is off

  /**
   * Opens a connection (same options as `connect` in the main API).
   * @param {object} [options]
   * @returns {Promise<Connect>}
   */
  static async open(options) {
    return new Connect(await connectMain(options));
  }

  /** @param {import('./api.js').Connection} conn a connection from the main API */
  constructor(conn) {
    this.#conn = conn;
  }

  /** The main-API connection underneath. */
  get connection() {
    return this.#conn;
  }

  /** @returns {Promise<string[]>} */
  async showDataBases() {
    return this.#conn.showDatabases();
  }

  /**
   * @param {string} name
   * @param {{ ifNotExists?: boolean }} [options]
   */
  async createDataBase(name, options) {
    return this.#conn.createDatabase(name, options);
  }

  /** @param {string} name */
  async useDataBase(name) {
    this.#table = null;
    return this.#conn.useDatabase(name);
  }

  /**
   * Checks that the table exists and makes it the default table of the data
   * methods below. Resolves to true, or rejects with NO_SUCH_TABLE.
   * @param {string} name
   * @returns {Promise<true>}
   */
  async tryConnectTable(name) {
    await this.#conn.describeTable(name);
    this.#table = name;
    return true;
  }

  /** @returns {Promise<string[]>} */
  async showTableList() {
    return this.#conn.showTables();
  }

  /**
   * @param {string} name
   * @param {object[]|object} spec an array of columns, or `{ columns, indexes, ... }`
   */
  async createTable(name, spec) {
    return this.#conn.createTable(name, Array.isArray(spec) ? { columns: spec } : spec);
  }

  /**
   * Inserts a row (→ `{ id }`) or an array of rows (→ the number inserted).
   * @param {string|object|object[]} table the table name, or the data when tryConnectTable chose the table
   * @param {object|object[]} [data]
   */
  async addData(...args) {
    const [table, data] = await this.#target(args);
    return Array.isArray(data) ? table.insertMany(data) : table.insert(data);
  }

  /**
   * @param {string} [table] may be left out after tryConnectTable
   * @param {object[]|object} [whereData] `[{ name, type, value }]` or `{ col: value }`
   * @param {object[]|string} [orderByData] `[{ name, type: 'asc'|'desc' }]`
   * @param {{ start: number, count: number }|number} [limitData]
   * @returns {Promise<object[]>}
   */
  async selectData(...args) {
    const [table, whereData, orderByData, limitData] = await this.#target(args);
    const query = {};
    if (whereData != null) query.where = whereData;
    if (orderByData != null) query.orderBy = orderByData;
    if (limitData != null) query.limit = limitData;
    return table.select(query);
  }

  /**
   * @param {string} [table] may be left out after tryConnectTable
   * @param {object[]|object} updateData `[{ name, value }]` or `{ col: value }`
   * @param {object[]|object} [whereData]
   * @returns {Promise<number>} rows changed
   */
  async modifyData(...args) {
    const [table, updateData, whereData] = await this.#target(args);
    return table.update(updateData, whereData == null ? {} : { where: whereData });
  }

  /**
   * @param {string} [table] may be left out after tryConnectTable
   * @param {object[]|object} [whereData]
   * @returns {Promise<number>} rows deleted
   */
  async deleteData(...args) {
    const [table, whereData] = await this.#target(args);
    return table.delete(whereData == null ? {} : { where: whereData });
  }

  /**
   * With false, the following calls run in one transaction until commit() or
   * rollback(); with true, an open transaction is committed first.
   * @param {boolean} on
   */
  async setAutoCommit(on) {
    if (on && this.#tx) await this.commit();
    this.#autoCommit = Boolean(on);
  }

  /** Commits the calls made since autoCommit was turned off (a no-op with nothing open). */
  async commit() {
    const tx = this.#tx;
    this.#tx = null;
    if (tx) await (await tx).commit();
  }

  /** Undoes the calls made since autoCommit was turned off. */
  async rollback() {
    const tx = this.#tx;
    this.#tx = null;
    if (tx) await (await tx).rollback();
  }

  /** Closes the connection (an open transaction is rolled back by the engine). */
  async close() {
    this.#tx = null;
    return this.#conn.close();
  }

  // Splits (table?, ...rest): a leading string names the table; otherwise the
  // table chosen by tryConnectTable is used. Returns [Table, ...rest].
  async #target(args) {
    let name = this.#table;
    let rest = args;
    if (typeof args[0] === 'string') [name, ...rest] = args;
    if (name === null) {
      throw new MinibaseError('NO_SUCH_TABLE', 'no table given: pass a table name or call tryConnectTable(name) first');
    }
    if (this.#autoCommit) return [this.#conn.table(name), ...rest];
    this.#tx ??= this.#conn.begin().catch((err) => {
      this.#tx = null;
      throw err;
    });
    return [(await this.#tx).table(name), ...rest];
  }
}

/**
 * Opens a compat connection: `await connect(options)` is `await Connect.open(options)`.
 * @param {object} [options]
 * @returns {Promise<Connect>}
 */
export function connect(options) {
  return Connect.open(options);
}
