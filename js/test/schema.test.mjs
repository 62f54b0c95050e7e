// Versioned schemas (connect's `schema` option) against the real wasm engine:
// new databases, upgrades through migrations, SCHEMA_MISMATCH,
// VERSION_TOO_NEW, a migrating process killed mid-step, two connections
// migrating at once, transactional schema changes, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, MinibaseError } from 'minibase-db';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let roots = 0;
const memRoot = () => `schema-test-${process.pid}-${++roots}`;

function tempRoot(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-schema-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'data');
}

async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof MinibaseError, `not a MinibaseError: ${err}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const V1 = {
  version: 1,
  database: 'app',
  tables: {
    notes: {
      columns: [
        { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
        { name: 'title', type: 'string', notNull: true },
        { name: 'stars', type: 'number' },
      ],
    },
  },
};

// Version 3: step 2 turns stars into a string rating and adds a done flag
// filled from the data; step 3 adds an index and a tags table (declared only).
const V3 = {
  version: 3,
  database: 'app',
  tables: {
    notes: {
      columns: [
        { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
        { name: 'title', type: 'string', notNull: true },
        { name: 'rating', type: 'string' },
        { name: 'done', type: 'boolean', notNull: true, default: false },
      ],
      indexes: [{ columns: ['done'] }],
    },
    tags: { columns: [{ name: 'name', type: 'string', primaryKey: true }] },
  },
  migrations: {
    2: async (tx) => {
      const notes = tx.table('notes');
      await notes.modifyColumn('stars', { name: 'rating', type: 'string' });
      await notes.addColumn({ name: 'done', type: 'boolean', notNull: true, default: false });
      await notes.update({ done: true }, { where: { rating: '5' } });
    },
  },
};

test('a new database gets the declared tables and version in one step', async () => {
  const root = memRoot();
  const conn = await connect({ adapter: 'memory', root, schema: V3 });
  assert.equal(conn.database, 'app');
  assert.equal(await conn.schemaVersion(), 3);
  assert.deepEqual(await conn.showTables(), ['notes', 'tags']);
  const d = await conn.describeTable('notes');
  assert.deepEqual(d.columns.map((c) => c.name), ['id', 'title', 'rating', 'done']);
  await conn.table('notes').insert({ title: 'a' });
  await conn.close();
  // Opening again changes nothing.
  const again = await connect({ adapter: 'memory', root, schema: V3 });
  assert.deepEqual(await again.describeTable('notes'), d);
  assert.equal(await again.table('notes').count(), 1);
  await again.close();
});

test('an upgrade runs each missing step, and the data comes along (node adapter)', async (t) => {
  const root = tempRoot(t);
  let conn = await connect({ adapter: 'node', root, schema: V1 });
  assert.equal(await conn.schemaVersion(), 1);
  await conn.table('notes').insertMany([{ title: 'a', stars: 5 }, { title: 'b', stars: 2 }, { title: 'c' }]);
  await conn.close();

  conn = await connect({ adapter: 'node', root, schema: V3 });
  assert.equal(await conn.schemaVersion(), 3);
  assert.deepEqual(await conn.table('notes').select({ orderBy: 'id' }), [
    { id: 1, title: 'a', rating: '5', done: true },
    { id: 2, title: 'b', rating: '2', done: false },
    { id: 3, title: 'c', rating: null, done: false },
  ]);
  assert.equal((await conn.table('notes').explain({ where: { done: true } })).index, 'idx_done');
  assert.deepEqual(await conn.showTables(), ['notes', 'tags']);
  await conn.close();
  conn = await connect({ adapter: 'node', root, schema: V3 });
  assert.equal(await conn.table('notes').count({ where: { done: true } }), 1);
  await conn.close();
});

test('a failing step is rolled back whole; earlier steps stay', async () => {
  const root = memRoot();
  let conn = await connect({ adapter: 'memory', root, schema: V1 });
  await conn.table('notes').insert({ title: 'a', stars: 1 });
  await conn.close();
  const v4 = {
    ...V3,
    version: 4,
    migrations: {
      ...V3.migrations,
      4: async (tx) => {
        await tx.table('notes').addColumn({ name: 'half', type: 'string' });
        await tx.table('notes').update({ title: 'changed' }, {});
        throw new Error('step 4 broke');
      },
    },
  };
  await assert.rejects(connect({ adapter: 'memory', root, schema: v4 }), /step 4 broke/);
  conn = await connect({ adapter: 'memory', root });
  assert.equal(await conn.schemaVersion(), 3);
  await conn.useDatabase('app');
  assert.deepEqual(await conn.table('notes').select(), [{ id: 1, title: 'a', rating: '1', done: false }]);
  await conn.close();
});

test('SCHEMA_MISMATCH names the table and the difference, and changes nothing', async () => {
  const root = memRoot();
  (await connect({ adapter: 'memory', root, schema: V1 })).close();
  const changed = structuredClone(V1);
  changed.tables.notes.columns[2].type = 'string';
  await rejectsWith(connect({ adapter: 'memory', root, schema: changed }), 'SCHEMA_MISMATCH', /app\.notes: column stars is number, declared string/);
  // A version bump without a step for a change that is not additive.
  await rejectsWith(connect({ adapter: 'memory', root, schema: { ...changed, version: 2 } }), 'SCHEMA_MISMATCH', /app\.notes/);
  const dropped = structuredClone(V1);
  dropped.tables.notes.columns.pop();
  await rejectsWith(connect({ adapter: 'memory', root, schema: dropped }), 'SCHEMA_MISMATCH', /column stars exists but is not declared/);
  const conn = await connect({ adapter: 'memory', root });
  assert.equal(await conn.schemaVersion(), 1);
  await conn.useDatabase('app');
  assert.equal((await conn.describeTable('notes')).columns[2].type, 'number');
  await conn.close();
  // Additive differences come with a version bump and no step.
  const added = structuredClone(V1);
  added.version = 2;
  added.tables.notes.columns.push({ name: 'color', type: 'string' });
  added.tables.notes.indexes = [{ columns: ['stars'] }];
  const c2 = await connect({ adapter: 'memory', root, schema: added });
  assert.equal(await c2.schemaVersion(), 2);
  assert.deepEqual((await c2.describeTable('notes')).columns.map((c) => c.name), ['id', 'title', 'stars', 'color']);
  await c2.close();
});

test('an older app opening a newer database gets VERSION_TOO_NEW and changes nothing', async () => {
  const root = memRoot();
  (await connect({ adapter: 'memory', root, schema: V3 })).close();
  await rejectsWith(connect({ adapter: 'memory', root, schema: V1 }), 'VERSION_TOO_NEW', /version 3, newer than this app's version 1/);
  const conn = await connect({ adapter: 'memory', root });
  assert.equal(await conn.schemaVersion(), 3);
  await conn.useDatabase('app');
  assert.deepEqual((await conn.describeTable('notes')).columns.map((c) => c.name), ['id', 'title', 'rating', 'done']);
  await conn.close();
});

test('connections migrating one root at once: the step runs once, all see the new version', async () => {
  const root = memRoot();
  (await connect({ adapter: 'memory', root, schema: V1 })).close();
  let runs = 0;
  const v2 = {
    ...V1,
    version: 2,
    migrations: {
      2: async (tx) => {
        runs++;
        await new Promise((r) => setTimeout(r, 20)); // let the others try meanwhile
        await tx.table('notes').addColumn({ name: 'extra', type: 'string' });
      },
    },
  };
  v2.tables = { notes: { columns: [...V1.tables.notes.columns, { name: 'extra', type: 'string' }] } };
  const conns = await Promise.all(Array.from({ length: 4 }, () => connect({ adapter: 'memory', root, schema: v2 })));
  assert.equal(runs, 1);
  for (const c of conns) {
    assert.equal(await c.schemaVersion(), 2);
    await c.close();
  }
});

test('schema changes inside a transaction commit or vanish with it', async () => {
  const conn = await connect({ adapter: 'memory', root: memRoot() });
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await assert.rejects(conn.transaction(async (tx) => {
    await tx.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }] });
    await tx.table('t').insert({ k: 'a' });
    assert.deepEqual(await tx.showTables(), ['t']);
    assert.deepEqual(await conn.showTables(), [], 'not visible outside before commit');
    throw new Error('undo');
  }), /undo/);
  assert.deepEqual(await conn.showTables(), []);
  await conn.transaction(async (tx) => {
    await tx.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }] });
    await tx.table('t').insert({ k: 'a' });
    await tx.table('t').addColumn({ name: 'v', type: 'number', default: 7 });
    assert.equal((await tx.describeTable('t')).columns.length, 2);
  });
  assert.deepEqual(await conn.table('t').select(), [{ k: 'a', v: 7 }]);
  await conn.close();
});

test('a migration of a synced table must be additive', async () => {
  const root = memRoot();
  const synced = {
    version: 1,
    database: 'app',
    tables: { notes: { sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'body', type: 'string' }] } },
  };
  (await connect({ adapter: 'memory', root, schema: synced })).close();
  const renamed = {
    ...synced,
    version: 2,
    tables: { notes: { sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'text', type: 'string' }] } },
    migrations: { 2: (tx) => tx.table('notes').modifyColumn('body', { name: 'text' }) },
  };
  await rejectsWith(connect({ adapter: 'memory', root, schema: renamed }), 'SYNC_SCHEMA', /notes is synced.*not additive/);
  const grown = structuredClone(synced);
  grown.version = 2;
  grown.tables.notes.columns.push({ name: 'color', type: 'string', default: 'red' });
  grown.tables.notes.indexes = [{ columns: ['body'] }];
  const conn = await connect({ adapter: 'memory', root, schema: grown });
  assert.equal(await conn.schemaVersion(), 2);
  await conn.close();
});

test('bad schema options are BAD_QUERY and open nothing', async (t) => {
  const bads = [
    [null, /schema must be an object/],
    [[], /schema must be an object/],
    [{ version: 0 }, /version must be a whole number/],
    [{ version: 1.5 }, /version must be a whole number/],
    [{ version: '2' }, /version must be a whole number/],
    [{ version: 2 ** 60 }, /version must be a whole number/],
    [{ version: 1, tabels: {} }, /unknown option 'tabels'/],
    [{ version: 1, tables: {} }, /tables needs database/],
    [{ version: 1, database: '', tables: {} }, /database must be a non-empty string/],
    [{ version: 1, databases: { a: [] } }, /databases.a must be an object/],
    [{ version: 1, database: 'a', tables: { t: 'x' } }, /table a.t must be a createTable spec/],
    [{ version: 1, database: 'a', tables: { t: { ifNotExists: true, columns: [] } } }, /ifNotExists has no meaning/],
    [{ version: 2, migrations: { x: () => {} } }, /migration key 'x'/],
    [{ version: 2, migrations: { '02': () => {} } }, /migration key '02'/],
    [{ version: 2, migrations: { 3: () => {} } }, /above the declared version/],
    [{ version: 2, migrations: { 2: 'up' } }, /must be a function/],
    [{ version: 2, migrations: [] }, /migrations must be an object/],
  ];
  for (const [schema, pattern] of bads) {
    await rejectsWith(connect({ adapter: 'memory', root: memRoot(), schema }), 'BAD_QUERY', pattern);
  }
  // Checked before the root is opened: no directory appears.
  const dir = path.join(tempRoot(t), 'never');
  await rejectsWith(connect({ adapter: 'node', root: dir, schema: { version: 0 } }), 'BAD_QUERY');
  assert.equal(fs.existsSync(dir), false);
  // A declared table the engine refuses, and a migration that ends its own transaction.
  await rejectsWith(connect({ adapter: 'memory', root: memRoot(), schema: { version: 1, database: 'a', tables: { t: { columns: [{ name: 'o', type: 'object', primaryKey: true }] } } } }), 'BAD_QUERY');
  const root = memRoot();
  (await connect({ adapter: 'memory', root, schema: V1 })).close();
  await rejectsWith(connect({ adapter: 'memory', root, schema: { ...V1, version: 2, migrations: { 2: (tx) => tx.commit() } } }), 'BAD_QUERY', /must not commit or roll back/);
  // Half a step must never commit, even when the migration swallows the refusal and goes on.
  const sneaky = async (tx) => {
    await tx.table('notes').addColumn({ name: 'half', type: 'string' });
    await tx.commit().catch(() => {});
    await tx.rollback().catch(() => {});
    throw new Error('gave up');
  };
  await assert.rejects(connect({ adapter: 'memory', root, schema: { ...V1, version: 2, migrations: { 2: sneaky } } }), /gave up/);
  const conn = await connect({ adapter: 'memory', root });
  assert.equal(await conn.schemaVersion(), 1);
  await conn.useDatabase('app');
  assert.deepEqual((await conn.describeTable('notes')).columns.map((c) => c.name), ['id', 'title', 'stars']);
  await conn.close();
});

// The migrating process is killed in the middle of step 2, after its schema
// change and data rewrite went through but before the step committed.
const MIGRATOR = `
import { connect } from 'minibase-db';
const root = process.argv[1];
await connect({ adapter: 'node', root, schema: {
  version: 2, database: 'app',
  tables: { notes: { columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'title', type: 'string', notNull: true },
    { name: 'rating', type: 'string' } ] } },
  migrations: { 2: async (tx) => {
    await tx.table('notes').modifyColumn('stars', { name: 'rating', type: 'string' });
    await tx.table('notes').update({ title: 'rewritten' }, {});
    process.stdout.write('mid-step\\n');
    await new Promise(() => {}); // killed here
  } } } });
`;

test('a process killed mid-migration leaves the old version intact; the step runs again', { timeout: 120_000 }, async (t) => {
  const root = tempRoot(t);
  let conn = await connect({ adapter: 'node', root, schema: V1 });
  await conn.table('notes').insertMany(Array.from({ length: 300 }, (_, i) => ({ title: `n${i}`, stars: i % 6 })));
  await conn.close();

  const child = spawn(process.execPath, ['--input-type=module', '-e', MIGRATOR, root], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('mid-step') && resolve());
    child.on('exit', (code) => reject(new Error(`migrator exited with ${code} before the middle of the step`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;

  conn = await connect({ adapter: 'node', root, schema: V1 });
  assert.equal(await conn.schemaVersion(), 1);
  assert.deepEqual((await conn.describeTable('notes')).columns.map((c) => c.name), ['id', 'title', 'stars']);
  assert.equal(await conn.table('notes').count({ where: { title: 'rewritten' } }), 0);
  assert.equal(await conn.table('notes').count(), 300);
  await conn.close();

  const v2 = {
    ...V1,
    version: 2,
    tables: { notes: { columns: [V1.tables.notes.columns[0], V1.tables.notes.columns[1], { name: 'rating', type: 'string' }] } },
    migrations: { 2: (tx) => tx.table('notes').modifyColumn('stars', { name: 'rating', type: 'string' }) },
  };
  conn = await connect({ adapter: 'node', root, schema: v2 });
  assert.equal(await conn.schemaVersion(), 2);
  assert.equal(await conn.table('notes').count({ where: { rating: '5' } }), 50);
  await conn.close();
});

test('sync pushes carry the schema version; SCHEMA_TOO_OLD fails the push and dead-letters nothing', async () => {
  const schema = {
    version: 4,
    database: 'app',
    tables: { todos: { sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' }] } },
  };
  const conn = await connect({ adapter: 'memory', root: memRoot(), schema });
  await conn.table('todos').insert({ id: 'a', title: 'milk' });
  const bodies = [];
  const fetch = async (url, init) => {
    bodies.push(JSON.parse(init.body));
    const body = { error: { code: 'SCHEMA_TOO_OLD', message: 'the client is too old', minSchemaVersion: 5 } };
    return { status: 422, text: async () => JSON.stringify(body) };
  };
  const sync = conn.sync({ url: 'http://127.0.0.1:1', fetch });
  await rejectsWith(sync.now(), 'SCHEMA_TOO_OLD', /too old/);
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0].schemaVersion, 4);
  assert.equal(bodies[0].changes.length, 1);
  assert.equal(await sync.pending(), 1, 'the change stays queued');
  assert.deepEqual(await sync.deadLetters(), []);
  sync.stop();
  await conn.close();
});

test('a sync server with -min-schema-version refuses old clients until they migrate', { timeout: 120_000 }, async () => {
  const { startNative } = await import('./sync-server.mjs');
  const srv = await startNative({ args: ['-min-schema-version', '2'] });
  try {
    const todos = (extra = []) => ({ sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' }, ...extra] });
    const v1 = { version: 1, database: 'app', tables: { todos: todos() } };
    const v2 = { version: 2, database: 'app', tables: { todos: todos([{ name: 'color', type: 'string', default: 'red' }]) } };
    const root = memRoot();
    let conn = await connect({ adapter: 'memory', root, schema: v1 });
    await conn.table('todos').insert({ id: 'a', title: 'milk' });
    let sync = conn.sync({ url: srv.url, auth: srv.token('t1') });
    await rejectsWith(sync.now(), 'SCHEMA_TOO_OLD', /older than the oldest this server accepts \(2\)/);
    assert.equal(await sync.pending(), 1);
    sync.stop();
    await conn.close();

    conn = await connect({ adapter: 'memory', root, schema: v2 });
    sync = conn.sync({ url: srv.url, auth: srv.token('t1') });
    await sync.now();
    assert.equal(await sync.pending(), 0);
    sync.stop();
    await conn.close();

    const other = await connect({ adapter: 'memory', root: memRoot(), schema: v2 });
    const s2 = other.sync({ url: srv.url, auth: srv.token('t1') });
    await s2.now();
    assert.deepEqual(await other.table('todos').select(), [{ id: 'a', title: 'milk', color: 'red' }]);
    s2.stop();
    await other.close();
  } finally {
    await srv.stop();
  }
});

test('an existing unversioned database is adopted when it matches, refused when it does not', async () => {
  const legacy = async () => {
    const root = memRoot();
    const conn = await connect({ adapter: 'memory', root });
    await conn.createDatabase('app');
    await conn.useDatabase('app');
    await conn.createTable('notes', V1.tables.notes);
    await conn.table('notes').insert({ title: 'old', stars: 3 });
    await conn.close();
    return root;
  };
  // Matches: version 1 is recorded, the data stays; step 1, when given, runs on it.
  let root = await legacy();
  let ran = 0;
  let conn = await connect({ adapter: 'memory', root, schema: { ...V1, migrations: { 1: async (tx) => { ran++; await tx.table('notes').update({ stars: 4 }, {}); } } } });
  assert.equal(ran, 1);
  assert.equal(await conn.schemaVersion(), 1);
  assert.deepEqual(await conn.table('notes').select(), [{ id: 1, title: 'old', stars: 4 }]);
  await conn.close();
  // Does not match: SCHEMA_MISMATCH, and the version stays 0.
  root = await legacy();
  const other = structuredClone(V1);
  other.tables.notes.columns[1].notNull = false;
  await rejectsWith(connect({ adapter: 'memory', root, schema: other }), 'SCHEMA_MISMATCH', /column title has notNull true, declared false/);
  conn = await connect({ adapter: 'memory', root });
  assert.equal(await conn.schemaVersion(), 0);
  await conn.close();
});

test('migration errors from the engine surface with their codes and leave the old version', async () => {
  const root = memRoot();
  let conn = await connect({ adapter: 'memory', root, schema: V1 });
  await conn.table('notes').insertMany([{ title: 'a', stars: 1 }, { title: 'b', stars: 1 }]);
  await conn.close();
  const cases = [
    [(tx) => tx.table('nope').addColumn({ name: 'x' }), 'NO_SUCH_TABLE'],
    [(tx) => tx.table('notes').modifyColumn('stars', { unique: true }), 'UNIQUE_VIOLATION'],
    [(tx) => tx.table('notes').modifyColumn('title', { type: 'number' }), 'TYPE_MISMATCH'],
    [(tx) => tx.createDatabase('__mine'), 'BAD_QUERY'],
    [(tx) => tx.table('notes').insert({ title: null }), 'NOT_NULL_VIOLATION'],
  ];
  for (const [step, code] of cases) {
    await rejectsWith(connect({ adapter: 'memory', root, schema: { ...V1, version: 2, migrations: { 2: step } } }), code);
  }
  conn = await connect({ adapter: 'memory', root, schema: V1 });
  assert.equal(await conn.schemaVersion(), 1);
  assert.equal(await conn.table('notes').count(), 2);
  await conn.close();
});
