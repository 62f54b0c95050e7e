// Versioned schemas: `connect({ schema: { version, tables, migrations } })`.
//
// The root stores the version its schema is at. On connect, each step from
// the stored version up to the declared one runs in one transaction: the
// step's migration function (schema changes and data rewrites through the
// transaction it is given), then, on the last step, the declared tables are
// compared with what is stored — what is missing and additive is created,
// any other difference is SCHEMA_MISMATCH — and the new version is recorded.
// The engine commits the catalog with the step's rows, so a crash mid-step
// leaves the old version whole and the step runs again on the next connect.
//
// A database that has none of the declared tables and no version is new:
// it gets the declared tables and the version in one commit, without
// migrations (as Dexie does). An app older than the stored version gets
// VERSION_TOO_NEW and changes nothing. Connections that migrate the same
// root at once take turns (a Web Lock across tabs and workers where there
// is one, a queue in this process otherwise): the first runs the steps, the
// others then find the version current and only check it.

import { MinibaseError } from './errors.js';

/** A Transaction's engine handle, for the schema ops (internal). */
export const TX_HANDLE = Symbol('minibase.txHandle');

const hasOwn = Object.prototype.hasOwnProperty;

/** Attempts when another connection's schema change wins the race or the owner tab changes. */
const MAX_ATTEMPTS = 8;

const bad = (msg) => new MinibaseError('BAD_QUERY', `connect schema: ${msg}`);
const isPlain = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads and checks `connect`'s `schema` option.
 * @returns {{ version: number, database: string|null, decls: [string, string, object][], migrations: Map<number, Function> }}
 */
export function parseSchema(schema) {
  if (!isPlain(schema)) throw bad('schema must be an object { version, tables | databases, migrations }');
  for (const k of Object.keys(schema)) {
    if (!['version', 'database', 'tables', 'databases', 'migrations'].includes(k)) {
      throw bad(`unknown option '${k}' (version, database, tables, databases, migrations)`);
    }
  }
  const { version, database = null, tables, databases, migrations = {} } = schema;
  if (!Number.isSafeInteger(version) || version < 1) throw bad(`version must be a whole number from 1, got ${String(version)}`);
  if (database !== null && (typeof database !== 'string' || database === '')) throw bad('database must be a non-empty string');
  const dbs = {};
  if (tables !== undefined) {
    if (database === null) throw bad("tables needs database: the name of the database they live in (or use databases: { name: { table: spec } })");
    if (!isPlain(tables)) throw bad('tables must be an object { name: createTable spec }');
    dbs[database] = tables;
  }
  if (databases !== undefined) {
    if (!isPlain(databases)) throw bad('databases must be an object { database: { table: createTable spec } }');
    for (const [db, ts] of Object.entries(databases)) {
      if (!isPlain(ts)) throw bad(`databases.${db} must be an object { table: createTable spec }`);
      if (hasOwn.call(dbs, db)) throw bad(`database ${db} is declared twice (tables and databases)`);
      dbs[db] = ts;
    }
  }
  const decls = [];
  for (const [db, ts] of Object.entries(dbs)) {
    for (const [name, spec] of Object.entries(ts)) {
      if (!isPlain(spec)) throw bad(`table ${db}.${name} must be a createTable spec object`);
      if (hasOwn.call(spec, 'ifNotExists')) throw bad(`table ${db}.${name}: ifNotExists has no meaning in a declared schema`);
      decls.push([db, name, spec]);
    }
  }
  if (!isPlain(migrations)) throw bad('migrations must be an object { version: async (tx) => … }');
  const steps = new Map();
  for (const [k, fn] of Object.entries(migrations)) {
    const n = Number(k);
    if (!Number.isSafeInteger(n) || n < 1 || String(n) !== k) throw bad(`migration key '${k}' is not a version number`);
    if (n > version) throw bad(`migration ${n} is above the declared version ${version}`);
    if (typeof fn !== 'function') throw bad(`migration ${n} must be a function (tx, { from, to }) => …`);
    steps.set(n, fn);
  }
  return { version, database, decls, migrations: steps };
}

// Migrations of one root in this process take turns (where no Web Lock
// exists): key → the promise of the last one queued.
const queues = new Map();

async function exclusive(key, fn) {
  const locks = globalThis.navigator?.locks;
  if (typeof locks?.request === 'function') {
    return locks.request(`minibase:schema:${key}`, { mode: 'exclusive' }, fn);
  }
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.then(() => {}, () => {});
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

/**
 * Brings the connection's root to the declared schema (see the top of this
 * file). On failure the connection is closed and the error thrown.
 * @param {import('./api.js').Connection} conn
 * @param {ReturnType<typeof parseSchema>} s connect's `schema` option, parsed before the root was opened
 * @param {(op: string, ...args: unknown[]) => unknown} call a bridge call with the connection handle prepended
 * @param {string} key names the root, for taking turns
 * @returns {Promise<import('./api.js').Connection>}
 */
export async function applySchema(conn, s, call, key) {
  try {
    await exclusive(key, () => migrate(conn, s, call));
    if (s.database !== null) await conn.useDatabase(s.database);
    return conn;
  } catch (err) {
    await conn.close().catch(() => {});
    throw err;
  }
}

async function migrate(conn, s, call) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(conn, s, call);
    } catch (err) {
      // Another connection (a tab, a worker, imperative DDL) changed the
      // schema first, or the owner tab went away mid-step (its transaction
      // is gone, TX_CLOSED): look again at what is stored.
      const retry = err instanceof MinibaseError && (err.code === 'TX_CONFLICT' || err.code === 'TX_CLOSED');
      if (!retry || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

async function migrateOnce(conn, s, call) {
  const stored = await call('schemaVersion', 0);
  if (stored > s.version) {
    throw new MinibaseError('VERSION_TOO_NEW',
      `the database's schema is at version ${stored}, newer than this app's version ${s.version}: update the app (nothing was changed)`);
  }
  if (stored === s.version) {
    // Current: only check that the declaration still matches.
    await inTransaction(conn, s, async (tx, h) => {
      for (const [db, name, spec] of s.decls) await call('declareTable', h, db, name, spec, { create: false });
    }, { commit: false });
    return;
  }
  if (stored === 0 && !(await anyDeclaredTableExists(call, s))) {
    await inTransaction(conn, s, async (tx, h) => {
      for (const [db, name, spec] of s.decls) await call('declareTable', h, db, name, spec, { create: true });
      await call('setSchemaVersion', h, s.version);
    });
    return;
  }
  for (let step = stored + 1; step <= s.version; step++) {
    await inTransaction(conn, s, async (tx, h) => {
      const fn = s.migrations.get(step);
      if (fn) await fn(tx, { from: step - 1, to: step });
      if (step === s.version) {
        for (const [db, name, spec] of s.decls) await call('declareTable', h, db, name, spec, { create: true });
      }
      await call('setSchemaVersion', h, step);
    });
  }
}

async function anyDeclaredTableExists(call, s) {
  const dbs = new Set(await call('showDatabases'));
  for (const [db, name] of s.decls) {
    if (dbs.has(db) && (await call('showTables', db)).includes(name)) return true;
  }
  return false;
}

// Runs fn(tx, handle) in a transaction, committing (or, for a check, rolling
// back) when it returns and rolling back when it throws. A migration must
// not end the step's transaction itself: half a step would commit without
// its version, so tx.commit and tx.rollback refuse while fn runs.
async function inTransaction(conn, s, fn, { commit = true } = {}) {
  const tx = await conn.begin();
  if (s.database !== null) tx.useDatabase(s.database);
  const end = { commit: tx.commit.bind(tx), rollback: tx.rollback.bind(tx) };
  const refuse = () => Promise.reject(new MinibaseError('BAD_QUERY',
    'a migration must not commit or roll back its transaction: the step commits when the migration returns, and rolls back when it throws'));
  Object.defineProperty(tx, 'commit', { value: refuse, configurable: true });
  Object.defineProperty(tx, 'rollback', { value: refuse, configurable: true });
  try {
    await fn(tx, tx[TX_HANDLE]);
  } catch (err) {
    if (tx.active) await end.rollback().catch(() => {});
    throw err;
  }
  if (commit) await end.commit();
  else await end.rollback();
}
