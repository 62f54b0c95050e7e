// The whole public API against the real wasm engine (memory adapter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, MinibaseError, Connection, Table, Transaction } from 'minibase-db';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let roots = 0;
const freshRoot = () => `api-test-${process.pid}-${++roots}`;

const USERS = {
  columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'username', type: 'string', unique: true, notNull: true },
    { name: 'age', type: 'number', default: 0 },
    { name: 'profile', type: 'object' },
    { name: 'active', type: 'boolean', default: true },
  ],
  indexes: [{ columns: ['age'] }],
  comment: 'people',
};

const PEOPLE = [
  { username: 'ann', age: 30, profile: { city: 'Oslo', tags: ['a'] } },
  { username: 'bob', age: 17 },
  { username: 'cy', age: 45, active: false },
  { username: 'dee', age: 30, profile: null },
  { username: 'eve', age: -2.5 },
];

/** A connection on a fresh in-memory root with database 'shop' and table 'users' (ids 1..5). */
async function shop({ rows = PEOPLE } = {}) {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await conn.createTable('users', USERS);
  if (rows.length) await conn.table('users').insertMany(rows);
  return conn;
}

async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof MinibaseError, `expected a MinibaseError, got ${err?.stack ?? err}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const names = (rows) => rows.map((r) => r.username);

test('connect gives a Connection; methods return promises', async () => {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  assert.ok(conn instanceof Connection);
  assert.equal(conn.database, null);
  const p = conn.showDatabases();
  assert.ok(p instanceof Promise);
  assert.deepEqual(await p, []);
  await conn.close();
});

test('databases: create, show, use, drop, ifNotExists, ifExists', async () => {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  await conn.createDatabase('a');
  await conn.createDatabase('b');
  await conn.createDatabase('a', { ifNotExists: true });
  await rejectsWith(conn.createDatabase('a'), 'ALREADY_EXISTS', /a/);
  assert.deepEqual((await conn.showDatabases()).sort(), ['a', 'b']);
  await conn.useDatabase('b');
  assert.equal(conn.database, 'b');
  await rejectsWith(conn.useDatabase('nope'), 'NO_SUCH_DATABASE', /nope/);
  assert.equal(conn.database, 'b', 'a failed useDatabase keeps the current one');
  await conn.dropDatabase('b');
  assert.equal(conn.database, null);
  await conn.dropDatabase('b', { ifExists: true });
  await rejectsWith(conn.dropDatabase('b'), 'NO_SUCH_DATABASE');
  assert.deepEqual(await conn.showDatabases(), ['a']);
  await conn.close();
});

test('tables: create, show, describe, drop', async () => {
  const conn = await shop({ rows: [] });
  await conn.createTable('orders', { columns: [{ name: 'no', type: 'string', primaryKey: true }, { name: 'total', type: 'number', comment: 'EUR' }] });
  await conn.createTable('orders', { columns: [{ name: 'x', type: 'number' }], ifNotExists: true });
  await rejectsWith(conn.createTable('orders', { columns: [{ name: 'x', type: 'number' }] }), 'ALREADY_EXISTS', /orders/);
  assert.deepEqual((await conn.showTables()).sort(), ['orders', 'users']);

  const d = await conn.describeTable('users');
  assert.equal(d.name, 'users');
  assert.equal(d.comment, 'people');
  assert.deepEqual(d.primaryKey, ['id']);
  assert.deepEqual(d.columns.map((c) => [c.name, c.type]), [
    ['id', 'number'], ['username', 'string'], ['age', 'number'], ['profile', 'object'], ['active', 'boolean'],
  ]);
  const byName = Object.fromEntries(d.columns.map((c) => [c.name, c]));
  assert.equal(byName.id.autoIncrement, true);
  assert.equal(byName.username.unique, true);
  assert.equal(byName.username.notNull, true);
  assert.equal(byName.age.default, 0);
  assert.ok(d.indexes.some((ix) => ix.columns.length === 1 && ix.columns[0] === 'age' && !ix.unique), JSON.stringify(d.indexes));

  const o = await conn.describeTable('orders');
  assert.deepEqual(o.primaryKey, ['no']);
  assert.equal(o.columns[1].comment, 'EUR');

  await conn.dropTable('orders');
  await conn.dropTable('orders', { ifExists: true });
  await rejectsWith(conn.dropTable('orders'), 'NO_SUCH_TABLE', /orders/);
  await rejectsWith(conn.describeTable('orders'), 'NO_SUCH_TABLE');
  assert.deepEqual(await conn.showTables(), ['users']);
  await conn.close();
});

test('insert, get, defaults and autoIncrement', async () => {
  const conn = await shop({ rows: [] });
  const users = conn.table('users');
  assert.ok(users instanceof Table);
  assert.equal(users.name, 'users');
  assert.deepEqual(await users.insert({ username: 'ann', age: 30 }), { id: 1 });
  assert.deepEqual(await users.insert({ username: 'bob' }), { id: 2 });
  assert.deepEqual(await users.insert({ id: 10, username: 'cy' }), { id: 10 });
  assert.deepEqual(await users.insert({ username: 'dee' }), { id: 11 });
  const bob = await users.get(2);
  assert.equal(bob.username, 'bob');
  assert.equal(bob.age, 0, 'default');
  assert.equal(bob.active, true, 'default');
  assert.equal(bob.profile ?? null, null);
  assert.equal(await users.get(999), null);
  assert.equal(await users.count(), 4);
  await conn.close();
});

test('insertMany returns the count and is all or nothing', async () => {
  const conn = await shop({ rows: [] });
  const users = conn.table('users');
  assert.equal(await users.insertMany(PEOPLE), PEOPLE.length);
  assert.equal(await users.insertMany([]), 0);
  await rejectsWith(users.insertMany([{ username: 'fay' }, { username: 'ann' }]), 'UNIQUE_VIOLATION', /username/);
  assert.equal(await users.count(), PEOPLE.length);
  assert.equal((await users.select({ where: { username: 'fay' } })).length, 0);

  // Large inserts go in several requests inside one transaction: still all
  // or nothing, and an error names the row of the whole array.
  const many = Array.from({ length: 10_000 }, (_, i) => ({ username: `u${i}` }));
  many[9_001] = { username: 'ann' };
  await rejectsWith(users.insertMany(many), 'UNIQUE_VIOLATION', /\(row 9001\)/);
  assert.equal(await users.count(), PEOPLE.length, 'the chunks before the failing one were rolled back');
  many[9_001] = { username: 'u9001' };
  assert.equal(await users.insertMany(many), 10_000);
  assert.equal(await users.count(), PEOPLE.length + 10_000);
  await conn.close();
});

test('select: where operators, $or, orderBy, limit, offset, columns', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const q = async (query) => names(await users.select(query));

  assert.deepEqual(await q({ where: { username: 'ann' } }), ['ann']);
  assert.deepEqual(await q({ where: { age: { '=': 30 } }, orderBy: 'username' }), ['ann', 'dee']);
  assert.deepEqual(await q({ where: { age: { '!=': 30 } }, orderBy: 'username' }), ['bob', 'cy', 'eve']);
  assert.deepEqual(await q({ where: { age: { '<': 17 } } }), ['eve']);
  assert.deepEqual(await q({ where: { age: { '<=': 17 } }, orderBy: 'age' }), ['eve', 'bob']);
  assert.deepEqual(await q({ where: { age: { '>': 30 } } }), ['cy']);
  assert.deepEqual(await q({ where: { age: { '>=': 30 } }, orderBy: ['age', 'username'] }), ['ann', 'dee', 'cy']);
  assert.deepEqual(await q({ where: { age: { '>=': 18, '<': 40 } }, orderBy: 'username' }), ['ann', 'dee']);
  assert.deepEqual(await q({ where: { username: { in: ['bob', 'cy', 'zed'] } }, orderBy: 'username' }), ['bob', 'cy']);
  assert.deepEqual(await q({ where: { username: { notIn: ['bob', 'cy'] } }, orderBy: 'username' }), ['ann', 'dee', 'eve']);
  assert.deepEqual(await q({ where: { age: { between: [17, 30] } }, orderBy: 'username' }), ['ann', 'bob', 'dee']);
  assert.deepEqual(await q({ where: { username: { like: '%e%' } }, orderBy: 'username' }), ['dee', 'eve']);
  assert.deepEqual(await q({ where: { username: { like: '_o_' } } }), ['bob']);
  assert.deepEqual(await q({ where: { username: { startsWith: 'd' } } }), ['dee']);
  assert.deepEqual(await q({ where: { profile: { isNull: true } }, orderBy: 'username' }), ['bob', 'cy', 'dee', 'eve']);
  assert.deepEqual(await q({ where: { profile: { isNotNull: true } } }), ['ann']);
  assert.deepEqual(await q({ where: { active: false } }), ['cy']);
  assert.deepEqual(await q({ where: { $or: [{ username: 'bob' }, { age: { '>': 40 } }] }, orderBy: 'username' }), ['bob', 'cy']);
  assert.deepEqual(await q({ where: { age: 30, $or: [{ username: 'ann' }, { username: 'cy' }] } }), ['ann']);

  assert.deepEqual(await q({ orderBy: [{ name: 'age', type: 'desc' }, { name: 'username', type: 'asc' }] }), ['cy', 'ann', 'dee', 'bob', 'eve']);
  assert.deepEqual(await q({ orderBy: [{ name: 'age', type: 'desc' }, { name: 'username', type: 'desc' }], limit: 2 }), ['cy', 'dee']);
  assert.deepEqual(await q({ orderBy: 'username', limit: 2, offset: 1 }), ['bob', 'cy']);
  assert.deepEqual(await q({ orderBy: 'username', limit: { start: 3, count: 10 } }), ['dee', 'eve']);

  const some = await users.select({ where: { username: 'ann' }, columns: ['username', 'age'] });
  assert.deepEqual(some, [{ username: 'ann', age: 30 }]);
  const ann = (await users.select({ where: { username: 'ann' } }))[0];
  assert.deepEqual(ann.profile, { city: 'Oslo', tags: ['a'] });
  assert.equal((await users.select()).length, 5);
  assert.deepEqual(await users.select({ where: { username: 'nobody' } }), []);

  assert.equal(await users.count({ where: { age: { '>=': 18 } } }), 3);
  assert.equal(await users.count(), 5);
  await conn.close();
});

test('update and delete return the number of rows changed', async () => {
  const conn = await shop();
  const users = conn.table('users');
  assert.equal(await users.update({ age: 31 }, { where: { username: 'ann' } }), 1);
  assert.equal((await users.get(1)).age, 31);
  // counts rows whose values changed: cy (45) is inactive already
  assert.equal(await users.update({ active: false }, { where: { age: { '>=': 30 } } }), 2);
  assert.equal(await users.count({ where: { active: false } }), 3);
  assert.equal(await users.update({ age: 1 }, { where: { username: 'nobody' } }), 0);
  assert.equal(await users.update({ profile: { x: 1 } }), 5, 'no where: every row');
  await rejectsWith(users.update({ username: 'ann' }, { where: { username: 'bob' } }), 'UNIQUE_VIOLATION');
  assert.equal((await users.get(2)).username, 'bob');

  assert.equal(await users.delete({ where: { age: { '<': 18 } } }), 2);
  assert.equal(await users.count(), 3);
  assert.equal(await users.delete({ where: { username: 'nobody' } }), 0);
  assert.equal(await users.delete(), 3, 'no where: every row');
  assert.equal(await users.count(), 0);
  await conn.close();
});

test('upsert inserts or replaces by primary key', async () => {
  const conn = await shop();
  const users = conn.table('users');
  assert.deepEqual(await users.upsert({ id: 2, username: 'bobby', age: 18 }), { id: 2 });
  assert.equal((await users.get(2)).username, 'bobby');
  assert.equal(await users.count(), 5);
  assert.deepEqual(await users.upsert({ id: 50, username: 'zed' }), { id: 50 });
  assert.equal(await users.count(), 6);
  assert.equal((await users.select({ where: { username: 'bob' } })).length, 0, 'old unique value freed');
  await rejectsWith(users.upsert({ id: 3, username: 'ann' }), 'UNIQUE_VIOLATION');
  await conn.close();
});

test('explain shows index use', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const byPk = await users.explain({ where: { id: 3 } });
  assert.equal(byPk.kind, 'point');
  assert.equal(byPk.index, 'primary');
  const byUnique = await users.explain({ where: { username: 'ann' } });
  assert.equal(byUnique.kind, 'point');
  assert.notEqual(byUnique.index, 'primary');
  const byRange = await users.explain({ where: { age: { '>=': 18 } } });
  assert.equal(byRange.kind, 'range');
  assert.match(byRange.index, /age/);
  const scan = await users.explain({ where: { active: true } });
  assert.equal(scan.kind, 'scan');
  const ordered = await users.explain({ orderBy: 'age', limit: 2 });
  assert.match(ordered.index, /age/);
  assert.equal(ordered.sort, false, 'the index gives the order');
  assert.deepEqual(await users.explain([{ name: 'username', type: '=', value: 'ann' }]), byUnique);
  await conn.close();
});

test('schema changes: addColumn, modifyColumn, dropColumn, createIndex, dropIndex', async () => {
  const conn = await shop();
  const users = conn.table('users');
  await users.addColumn({ name: 'score', type: 'number', default: 5 });
  assert.equal((await users.get(1)).score, 5, 'existing rows get the default');
  await users.update({ score: 9 }, { where: { username: 'cy' } });

  await users.modifyColumn('score', { name: 'points' });
  const cy = (await users.select({ where: { username: 'cy' } }))[0];
  assert.equal(cy.points, 9);
  assert.equal('score' in cy, false);
  await users.modifyColumn('points', { type: 'string' });
  assert.equal((await users.select({ where: { username: 'cy' } }))[0].points, '9');
  await rejectsWith(users.modifyColumn('nope', { name: 'x' }), 'NO_SUCH_COLUMN');

  await users.dropColumn('points');
  assert.equal('points' in (await users.get(3)), false);
  await rejectsWith(users.dropColumn('points'), 'NO_SUCH_COLUMN');

  const name = await users.createIndex({ columns: ['active', 'age'] });
  assert.equal(typeof name, 'string');
  assert.ok((await conn.describeTable('users')).indexes.some((ix) => ix.name === name));
  const plan = await users.explain({ where: { active: true, age: { '>': 20 } } });
  assert.equal(plan.index, name);
  const named = await users.createIndex({ name: 'by_name_age', columns: ['username', 'age'], unique: true });
  assert.equal(named, 'by_name_age');
  await rejectsWith(users.createIndex({ name: 'by_name_age', columns: ['age'] }), 'ALREADY_EXISTS');
  await users.dropIndex(name);
  await users.dropIndex('by_name_age');
  assert.equal((await conn.describeTable('users')).indexes.some((ix) => ix.name === name), false);
  await rejectsWith(users.dropIndex(name), 'NO_SUCH_INDEX');
  await rejectsWith(users.createIndex({ columns: ['nope'] }), 'NO_SUCH_COLUMN');

  // a unique index over existing duplicates fails and changes nothing
  await rejectsWith(users.createIndex({ columns: ['age'], unique: true }), 'UNIQUE_VIOLATION');
  assert.equal((await conn.describeTable('users')).indexes.length, 2);
  assert.equal(await users.count(), 5);
  await conn.close();
});

test('compound primary keys: insert resolves to an object id; get takes it', async () => {
  const conn = await shop({ rows: [] });
  await conn.createTable('stock', {
    columns: [
      { name: 'shop', type: 'string' },
      { name: 'sku', type: 'number' },
      { name: 'qty', type: 'number', default: 0 },
    ],
    primaryKey: ['shop', 'sku'],
  });
  const stock = conn.table('stock');
  const { id } = await stock.insert({ shop: 'north', sku: 7, qty: 3 });
  assert.deepEqual(id, { shop: 'north', sku: 7 });
  assert.equal((await stock.get({ shop: 'north', sku: 7 })).qty, 3);
  assert.equal(await stock.get({ shop: 'south', sku: 7 }), null);
  await rejectsWith(stock.insert({ shop: 'north', sku: 7 }), 'UNIQUE_VIOLATION');
  await conn.close();
});

test('values: strings, numbers, bytes, dates, nested objects round trip', async () => {
  const conn = await shop({ rows: [] });
  await conn.createTable('things', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'any', type: 'any' },
      { name: 'blob', type: 'bytes' },
    ],
  });
  const things = conn.table('things');
  const values = [
    'héllo 😀 日本', '', 0, -0.5, 2 ** 53, -(2 ** 53), 1e-300, true, null,
    { deep: { list: [1, 'two', { three: [null, false] }] }, 'weird key': 1, '': 2 },
    ['x'.repeat(1000)],
  ];
  for (const v of values) {
    const { id } = await things.insert({ any: v });
    assert.deepEqual((await things.get(id)).any, v);
  }
  const blob = new Uint8Array([0, 1, 2, 255]);
  const { id } = await things.insert({ blob, any: new Date(86400000) });
  const row = await things.get(id);
  assert.deepEqual(row.blob, blob);
  assert.ok(row.blob instanceof Uint8Array);
  assert.equal(row.any, 86400000, 'a Date is stored as its time in ms');
  await conn.close();
});

test('transaction(fn) commits and returns the result', async () => {
  const conn = await shop();
  const result = await conn.transaction(async (tx) => {
    assert.ok(tx instanceof Transaction);
    const t = tx.table('users');
    await t.insert({ username: 'fay' });
    await t.update({ age: 99 }, { where: { username: 'ann' } });
    assert.equal(await t.count(), 6, 'reads see the transaction\u2019s own writes');
    assert.equal(await conn.table('users').count(), 5, 'others see committed data only');
    return 'ok';
  });
  assert.equal(result, 'ok');
  assert.equal(await conn.table('users').count(), 6);
  assert.equal((await conn.table('users').get(1)).age, 99);
  await conn.close();
});

test('transaction(fn) rolls back and rethrows when fn throws', async () => {
  const conn = await shop();
  const boom = new Error('boom');
  await assert.rejects(
    conn.transaction(async (tx) => {
      await tx.table('users').insert({ username: 'fay' });
      await tx.table('users').delete({ where: { username: 'ann' } });
      throw boom;
    }),
    (err) => err === boom,
  );
  assert.equal(await conn.table('users').count(), 5);
  assert.equal((await conn.table('users').select({ where: { username: 'fay' } })).length, 0);

  // an engine error inside rolls back the earlier writes too
  await rejectsWith(
    conn.transaction(async (tx) => {
      await tx.table('users').insert({ username: 'gus' });
      await tx.table('users').insert({ username: 'ann' });
    }),
    'UNIQUE_VIOLATION',
  );
  assert.equal(await conn.table('users').count(), 5);
  await rejectsWith(conn.transaction('not a function'), 'BAD_QUERY');
  await conn.close();
});

test('begin/commit, begin/rollback, and TX_CLOSED afterwards', async () => {
  const conn = await shop();
  const tx = await conn.begin();
  assert.equal(tx.active, true);
  await tx.table('users').insert({ username: 'fay' });
  await tx.commit();
  assert.equal(tx.active, false);
  assert.equal(await conn.table('users').count(), 6);
  await rejectsWith(tx.table('users').insert({ username: 'gus' }), 'TX_CLOSED');
  await rejectsWith(tx.table('users').select(), 'TX_CLOSED');
  await rejectsWith(tx.commit(), 'TX_CLOSED');
  await rejectsWith(tx.rollback(), 'TX_CLOSED');

  const tx2 = await conn.begin();
  const t2 = tx2.table('users');
  await t2.insert({ username: 'gus' });
  await t2.delete({ where: { username: 'ann' } });
  assert.equal((await t2.get(1)), null);
  await tx2.rollback();
  assert.equal(await conn.table('users').count(), 6);
  assert.equal((await conn.table('users').get(1)).username, 'ann');
  await rejectsWith(t2.count(), 'TX_CLOSED');
  await rejectsWith(tx2.table('users').addColumn({ name: 'x', type: 'number' }), 'TX_CLOSED');
  await conn.close();
});

test('stats, compact and close', async () => {
  const conn = await shop();
  const stats = await conn.stats();
  assert.equal(typeof stats, 'object');
  for (const v of Object.values(stats)) assert.equal(typeof v, 'number');
  await conn.compact();
  assert.equal(await conn.table('users').count(), 5);
  await conn.close();
  await conn.close(); // a second close is a no-op
  await rejectsWith(conn.showDatabases(), 'CLOSED');
  await rejectsWith(conn.table('users').count(), 'CLOSED');
  await rejectsWith(conn.stats(), 'CLOSED');
});

test('table operations before useDatabase are NO_SUCH_DATABASE', async () => {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  await rejectsWith(conn.table('users').select(), 'NO_SUCH_DATABASE', /useDatabase/);
  await rejectsWith(conn.table('users').insert({ a: 1 }), 'NO_SUCH_DATABASE');
  await rejectsWith(conn.createTable('t', USERS), 'NO_SUCH_DATABASE');
  await rejectsWith(conn.showTables(), 'NO_SUCH_DATABASE');
  await rejectsWith(conn.describeTable('t'), 'NO_SUCH_DATABASE');
  await rejectsWith(conn.table('t').addColumn({ name: 'x', type: 'number' }), 'NO_SUCH_DATABASE');
  await conn.close();
});

test('connections share one engine but not their current database', async () => {
  const root = freshRoot();
  const a = await connect({ adapter: 'memory', root });
  await a.createDatabase('one');
  await a.useDatabase('one');
  const b = await connect({ adapter: 'memory', root: freshRoot() });
  assert.equal(b.database, null);
  assert.deepEqual(await b.showDatabases(), []);
  await a.close();
  await b.close();
});

test('the CommonJS entry works through require("minibase-db")', () => {
  const code = `
    const { connect, MinibaseError } = require('minibase-db');
    const compat = require('minibase-db/compat');
    (async () => {
      const conn = await connect({ adapter: 'memory', root: 'cjs' });
      await conn.createDatabase('d'); await conn.useDatabase('d');
      await conn.createTable('t', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'v', type: 'string' }] });
      const { id } = await conn.table('t').insert({ v: 'x' });
      const err = await conn.useDatabase('zz').catch((e) => e);
      console.log(JSON.stringify({ id, ok: err instanceof MinibaseError, code: err.code, compat: typeof compat.Connect.open }));
      await conn.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const out = spawnSync(process.execPath, ['-e', code], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim()), { id: 1, ok: true, code: 'NO_SUCH_DATABASE', compat: 'function' });
});

test('preload starts the engine ahead of connect; a failed preload leaves the next start to try again', () => {
  // A process of its own: the engine is process-wide, and this one must not have started yet.
  const code = `
    import { preload, connect } from 'minibase-db';
    const bad = await preload({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) }).catch((e) => e);
    const startedBefore = await preload();
    const conn = await connect({ adapter: 'memory', root: 'preloaded' });
    await conn.createDatabase('d'); await conn.useDatabase('d');
    await conn.createTable('t', { columns: [{ name: 'id', type: 'number', primaryKey: true }] });
    await conn.table('t').insert({ id: 7 });
    const again = await preload({ wasm: new Uint8Array([1, 2, 3]) }); // started: the first start decided
    console.log(JSON.stringify({ bad: bad.code, ok: startedBefore === undefined && again === undefined, rows: await conn.table('t').count() }));
    await conn.close();`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim()), { bad: 'INTERNAL', ok: true, rows: 1 });
});
