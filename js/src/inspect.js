// What an inspector shows of a root, gathered through the public API, so
// the CLI, the browser inspector and the mini-program debug page show the
// same thing.

/**
 * @typedef {object} TableOverview
 * @property {string} name
 * @property {number} rows
 * @property {object[]} columns as describeTable gives them
 * @property {object[]} indexes
 * @property {string[]} primaryKey
 * @property {boolean} sync
 * @property {string} comment
 */

/**
 * Every database with its tables (schema and row count), and the engine's
 * stats. The connection's current database is left as it was.
 * @param {import('./api.js').Connection} conn
 * @returns {Promise<{ databases: { name: string, tables: TableOverview[] }[], stats: object }>}
 */
export async function describeRoot(conn) {
  const was = conn.database;
  const databases = [];
  try {
    for (const name of await conn.showDatabases()) {
      await conn.useDatabase(name);
      const tables = [];
      for (const t of await conn.showTables()) {
        const d = await conn.describeTable(t);
        tables.push({
          name: t, rows: await conn.table(t).count(), columns: d.columns, indexes: d.indexes,
          primaryKey: d.primaryKey, sync: Boolean(d.sync), comment: d.comment ?? '',
        });
      }
      databases.push({ name, tables });
    }
  } finally {
    if (was !== null && was !== conn.database) await conn.useDatabase(was).catch(() => {});
  }
  return { databases, stats: await conn.stats() };
}

/**
 * One page of a table's rows in primary key order (or the query's orderBy).
 * @param {import('./api.js').Connection} conn
 * @param {string} db
 * @param {string} table
 * @param {{ where?: object, orderBy?: unknown, offset?: number, limit?: number }} [options]
 * @returns {Promise<{ rows: object[], total: number, offset: number, limit: number }>}
 */
export async function pageRows(conn, db, table, options = {}) {
  const { where, orderBy, offset = 0, limit = 50 } = options;
  const was = conn.database;
  try {
    await conn.useDatabase(db);
    const t = conn.table(table);
    const order = orderBy ?? (await conn.describeTable(table)).primaryKey;
    const q = where ? { where } : {};
    const [rows, total] = await Promise.all([t.select({ ...q, orderBy: order, offset, limit }), t.count(q)]);
    return { rows, total, offset, limit };
  } finally {
    if (was !== null && was !== db) await conn.useDatabase(was).catch(() => {});
  }
}

/** A value as the inspectors print it: bytes as a short hex preview, objects as JSON. */
export function formatValue(v) {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Uint8Array) {
    const hex = Array.from(v.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return `<${v.length} bytes${v.length ? `: ${hex}${v.length > 16 ? ' …' : ''}` : ''}>`;
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
