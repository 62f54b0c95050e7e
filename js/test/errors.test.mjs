// Every error code reachable from JS, and bad input of every shape: each is a
// MinibaseError, changes nothing, and the engine keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, MinibaseError } from 'minibase-db';

let roots = 0;
const freshRoot = () => `errors-test-${process.pid}-${++roots}`;

async function shop() {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number', default: 0 },
      { name: 'profile', type: 'object' },
    ],
    indexes: [{ columns: ['age'] }],
  });
  await conn.table('users').insertMany([{ username: 'ann', age: 30 }, { username: 'bob', age: 17 }]);
  return conn;
}

/** Everything observable about the data, to prove that a failure changed nothing. */
async function snapshot(conn) {
  return {
    dbs: (await conn.showDatabases()).sort(),
    tables: (await conn.showTables()).sort(),
    schema: await conn.describeTable('users'),
    rows: await conn.table('users').select({ orderBy: 'id' }),
  };
}

function checkError(err, code, pattern) {
  assert.ok(err instanceof MinibaseError, `expected a MinibaseError, got ${err?.stack ?? err}`);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'MinibaseError');
  assert.equal(typeof err.code, 'string');
  assert.notEqual(err.code, 'INTERNAL', err.message);
  if (code) assert.equal(err.code, code, err.message);
  if (pattern) assert.match(err.message, pattern);
  assert.ok(err.message.length > 0);
  return true;
}

/**
 * Runs `fn` (a function returning a promise) and expects it to reject with a
 * MinibaseError of `code` (any non-INTERNAL code when null) without changing
 * the data; then checks that the engine still serves a normal call.
 */
async function failsCleanly(conn, fn, code, pattern) {
  const before = await snapshot(conn);
  let promise;
  assert.doesNotThrow(() => {
    promise = fn();
  }, 'an API call must reject, never throw synchronously');
  assert.ok(promise instanceof Promise);
  await assert.rejects(promise, (err) => checkError(err, code, pattern));
  assert.deepEqual(await snapshot(conn), before, 'a failed call changed nothing');
  assert.equal(await conn.table('users').count(), before.rows.length);
}

test('UNIQUE_VIOLATION says what and where', async () => {
  const conn = await shop();
  const users = conn.table('users');
  await failsCleanly(conn, () => users.insert({ username: 'ann' }), 'UNIQUE_VIOLATION', /users.*username|username.*users/);
  await failsCleanly(conn, () => users.insert({ id: 1, username: 'zed' }), 'UNIQUE_VIOLATION');
  await failsCleanly(conn, () => users.update({ username: 'ann' }, { where: { username: 'bob' } }), 'UNIQUE_VIOLATION', /ann/);
  await failsCleanly(conn, () => users.insertMany([{ username: 'x1' }, { username: 'x1' }]), 'UNIQUE_VIOLATION');
  await conn.close();
});

test('NOT_NULL_VIOLATION', async () => {
  const conn = await shop();
  const users = conn.table('users');
  await failsCleanly(conn, () => users.insert({ age: 3 }), 'NOT_NULL_VIOLATION', /username/);
  await failsCleanly(conn, () => users.insert({ username: null }), 'NOT_NULL_VIOLATION');
  await failsCleanly(conn, () => users.update({ username: null }, { where: { id: 1 } }), 'NOT_NULL_VIOLATION');
  await conn.close();
});

test('TYPE_MISMATCH', async () => {
  const conn = await shop();
  const users = conn.table('users');
  await failsCleanly(conn, () => users.insert({ username: 'cy', age: 'old' }), 'TYPE_MISMATCH', /age/);
  await failsCleanly(conn, () => users.insert({ username: 42 }), 'TYPE_MISMATCH');
  await failsCleanly(conn, () => users.update({ age: true }, { where: { id: 1 } }), 'TYPE_MISMATCH');
  await failsCleanly(conn, () => users.insertMany([{ username: 'ok' }, { username: 'cy', age: [1] }]), 'TYPE_MISMATCH');
  await conn.close();
});

test('NO_SUCH_DATABASE, NO_SUCH_TABLE, NO_SUCH_COLUMN, NO_SUCH_INDEX, ALREADY_EXISTS', async () => {
  const conn = await shop();
  await failsCleanly(conn, () => conn.useDatabase('nope'), 'NO_SUCH_DATABASE', /nope/);
  await failsCleanly(conn, () => conn.dropDatabase('nope'), 'NO_SUCH_DATABASE');
  await failsCleanly(conn, () => conn.table('nope').select(), 'NO_SUCH_TABLE', /nope/);
  await failsCleanly(conn, () => conn.table('nope').insert({ a: 1 }), 'NO_SUCH_TABLE');
  await failsCleanly(conn, () => conn.dropTable('nope'), 'NO_SUCH_TABLE');
  await failsCleanly(conn, () => conn.table('users').insert({ username: 'cy', nope: 1 }), 'NO_SUCH_COLUMN', /nope/);
  await failsCleanly(conn, () => conn.table('users').select({ where: { nope: 1 } }), 'NO_SUCH_COLUMN');
  await failsCleanly(conn, () => conn.table('users').select({ orderBy: 'nope' }), 'NO_SUCH_COLUMN');
  await failsCleanly(conn, () => conn.table('users').update({ nope: 1 }), 'NO_SUCH_COLUMN');
  await failsCleanly(conn, () => conn.table('users').dropColumn('nope'), 'NO_SUCH_COLUMN');
  await failsCleanly(conn, () => conn.table('users').dropIndex('nope'), 'NO_SUCH_INDEX');
  await failsCleanly(conn, () => conn.createDatabase('shop'), 'ALREADY_EXISTS', /shop/);
  await failsCleanly(conn, () => conn.createTable('users', { columns: [{ name: 'x', type: 'number' }] }), 'ALREADY_EXISTS');
  await failsCleanly(conn, () => conn.table('users').addColumn({ name: 'age', type: 'number' }), 'ALREADY_EXISTS');
  await conn.close();
});

test('BAD_QUERY: unknown operators, wrong shapes, bad schemas', async () => {
  const conn = await shop();
  const users = conn.table('users');
  await failsCleanly(conn, () => users.select({ where: { age: { '~=': 1 } } }), 'BAD_QUERY', /~=/);
  await failsCleanly(conn, () => users.select([{ name: 'age', type: 'LIKEISH', value: 1 }]), 'BAD_QUERY');
  await failsCleanly(conn, () => users.delete({ where: { age: { $regex: 1 } } }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ limit: 'ten' }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ limit: -1 }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ orderBy: [{ name: 'age', type: 'sideways' }] }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ wher: { age: 1 } }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ where: { age: { between: [1] } } }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ where: { age: { in: 5 } } }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.select({ where: { $or: 'x' } }), 'BAD_QUERY');
  await failsCleanly(conn, () => conn.createTable('t', { columns: [] }), 'BAD_QUERY');
  await failsCleanly(conn, () => conn.createTable('t', { columns: [{ name: 'x', type: 'integr' }] }), 'BAD_QUERY', /integr/);
  await failsCleanly(conn, () => conn.createTable('t', { columns: [{ name: 'x', type: 'number', primarykey: true }] }), 'BAD_QUERY', /primarykey/);
  await failsCleanly(conn, () => conn.createTable('t', { columns: 'x' }), 'BAD_QUERY');
  await failsCleanly(conn, () => users.addColumn({ name: 'z', type: 'string', autoIncrement: true }), 'BAD_QUERY');
  await conn.close();
});

test('BAD_VALUE: NaN, Infinity, bigint, functions, symbols, cyclic and too deep values', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const cyclic = { username: 'cy' };
  cyclic.profile = { back: cyclic };
  let deep = {};
  for (let i = 0; i < 100; i++) deep = { d: deep };
  await failsCleanly(conn, () => users.insert({ username: 'cy', age: NaN }), 'BAD_VALUE', /NaN.*age/);
  await failsCleanly(conn, () => users.insert({ username: 'cy', age: Infinity }), 'BAD_VALUE');
  await failsCleanly(conn, () => users.insert({ username: 'cy', age: 10n }), 'BAD_VALUE', /bigint/);
  await failsCleanly(conn, () => users.insert({ username: 'cy', profile: { f() {} } }), 'BAD_VALUE');
  await failsCleanly(conn, () => users.insert({ username: Symbol('x') }), 'BAD_VALUE');
  await failsCleanly(conn, () => users.insert(cyclic), 'BAD_VALUE', /cyclic/);
  await failsCleanly(conn, () => users.insert({ username: 'cy', profile: deep }), 'BAD_VALUE', /deep/);
  await failsCleanly(conn, () => users.insertMany([{ username: 'ok' }, { username: 'cy', age: NaN }]), 'BAD_VALUE');
  await failsCleanly(conn, () => users.select({ where: { age: NaN } }), 'BAD_VALUE');
  await failsCleanly(conn, () => users.update({ age: -Infinity }, { where: { id: 1 } }), 'BAD_VALUE');
  await failsCleanly(conn, () => users.get(NaN), 'BAD_VALUE');
  await failsCleanly(conn, () => users.insert({ username: 'cy', profile: new Map([[1, 2]]) }), 'BAD_VALUE', /Map/);
  await failsCleanly(conn, () => users.insert({ username: 'cy', profile: { when: new Date('nope') } }), 'BAD_VALUE');
  await conn.close();
});

test('wrong types in every argument position', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const calls = [
    () => users.insert(42),
    () => users.insert('row'),
    () => users.insert(null),
    () => users.insert([1, 2]),
    () => users.insert(),
    () => users.insertMany({ username: 'x' }),
    () => users.insertMany([1, 2]),
    () => users.insertMany('rows'),
    () => users.upsert(7),
    () => users.select(42),
    () => users.select('where'),
    () => users.select({ where: 5 }),
    () => users.select({ where: [5] }),
    () => users.select({ where: [{ name: 5, type: '=', value: 1 }] }),
    () => users.select({ columns: 7 }),
    () => users.select({ offset: 'x' }),
    () => users.count({ where: 'x' }),
    () => users.update('set', {}),
    () => users.update(null, {}),
    () => users.update([{ value: 1 }], []),
    () => users.delete(17),
    () => users.explain({ where: { age: { '>': 1, '<<': 2 } } }),
    () => users.get({ no: 'such key shape' }),
    () => users.get([1, 2]),
    () => users.addColumn('x'),
    () => users.addColumn({ name: 5, type: 'number' }),
    () => users.modifyColumn(5, { name: 'x' }),
    () => users.modifyColumn('age', 'x'),
    () => users.modifyColumn('age', { type: 'nonsense' }),
    () => users.modifyColumn('age', { nonsense: 1 }),
    () => users.dropColumn(5),
    () => users.createIndex(5),
    () => users.createIndex({ columns: [] }),
    () => users.createIndex({ columns: ['age', 'age'] }),
    () => users.dropIndex(null),
    () => conn.table(5).select(),
    () => conn.table(null).count(),
    () => conn.table('').insert({}),
    () => conn.createDatabase(5),
    () => conn.createDatabase(''),
    () => conn.createDatabase('x', { ifNotExists: 'yes' }),
    () => conn.createTable('', { columns: [{ name: 'x', type: 'number' }] }),
    () => conn.createTable('t', null),
    () => conn.createTable('t', 'spec'),
    () => conn.createTable('t', { columns: [{ name: 'x', type: 'number', default: 'str' }] }),
    () => conn.createTable('t', { columns: [{ name: 'a', type: 'number' }, { name: 'a', type: 'string' }] }),
    () => conn.createTable('t', { columns: [{ name: 'a', type: 'number' }], indexes: [{ columns: ['b'] }] }),
    () => conn.useDatabase(5),
    () => conn.dropTable(5),
    () => conn.describeTable(null),
  ];
  const failures = [];
  for (const [i, call] of calls.entries()) {
    await failsCleanly(conn, call, null).catch((err) => failures.push(`call #${i} (${call}): ${err.message}`));
  }
  assert.deepEqual(failures, []);
  await conn.close();
});

test('__proto__ keys are data, never prototypes; nothing is polluted', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const evilRow = JSON.parse('{"username": "cy", "__proto__": {"admin": true}}');
  await failsCleanly(conn, () => users.insert(evilRow), 'NO_SUCH_COLUMN', /__proto__/);
  await failsCleanly(conn, () => users.select({ where: JSON.parse('{"__proto__": {"=": 1}}') }), null);
  await failsCleanly(conn, () => users.update(JSON.parse('{"__proto__": 1}'), { where: { id: 1 } }), null);
  await failsCleanly(conn, () => conn.createTable('t', JSON.parse('{"columns": [{"name": "x", "type": "number"}], "__proto__": {}}')), 'BAD_QUERY');
  assert.equal({}.admin, undefined);
  assert.equal(Object.prototype.admin, undefined);

  // as stored data inside an object column it round trips as an own key
  const profile = JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": 1}}');
  const { id } = await users.insert({ username: 'cy', profile });
  const back = (await users.get(id)).profile;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.ok(Object.hasOwn(back, '__proto__'));
  assert.deepEqual(back.__proto__, { admin: true });
  assert.equal(back.admin, undefined);
  assert.equal({}.admin, undefined);

  // a column named __proto__ is either refused or an ordinary own property
  const made = await conn
    .createTable('odd', { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: '__proto__', type: 'any' }] })
    .then(() => true, (err) => checkError(err) && false);
  if (made) {
    const odd = conn.table('odd');
    await odd.insert(JSON.parse('{"id": 1, "__proto__": {"admin": true}}'));
    const [row] = await odd.select();
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.ok(Object.hasOwn(row, '__proto__'));
    assert.equal(row.admin, undefined);
  }
  await conn.close();
});

test('huge strings (a few MB) are stored or refused cleanly; the engine keeps working', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const huge = 'é'.repeat(2 * 1024 * 1024); // 4 MB of UTF-8
  await failsCleanly(conn, () => users.insert({ username: 'cy', age: huge }), 'TYPE_MISMATCH');
  await failsCleanly(conn, () => users.select({ where: { [huge]: 1 } }), null);
  await failsCleanly(conn, () => conn.table(huge).count(), null);
  await failsCleanly(conn, () => users.select({ where: { age: { [huge]: 1 } } }), 'BAD_QUERY');

  // a huge value in a string column: accepted whole or refused (e.g. TOO_LARGE)
  const before = await users.count();
  const stored = await users.insert({ username: 'big', profile: { text: huge } }).then(
    (r) => r,
    (err) => checkError(err) && null,
  );
  if (stored) {
    assert.equal((await users.get(stored.id)).profile.text, huge);
    assert.equal(await users.count(), before + 1);
  } else {
    assert.equal(await users.count(), before);
  }
  assert.equal((await users.select({ where: { username: 'ann' } }))[0].age, 30);
  await conn.close();
});

test('CLOSED and TX_CLOSED', async () => {
  const conn = await shop();
  const tx = await conn.begin();
  await tx.commit();
  await assert.rejects(tx.table('users').insert({ username: 'z' }), (err) => checkError(err, 'TX_CLOSED'));
  await assert.rejects(tx.rollback(), (err) => checkError(err, 'TX_CLOSED'));
  const users = conn.table('users');
  await conn.close();
  for (const call of [() => users.count(), () => users.insert({ username: 'z' }), () => conn.begin(), () => conn.showDatabases(), () => conn.useDatabase('shop')]) {
    await assert.rejects(call(), (err) => checkError(err, 'CLOSED'));
  }
  // the engine itself is fine: a new connection works
  const again = await connect({ adapter: 'memory', root: freshRoot() });
  assert.deepEqual(await again.showDatabases(), []);
  await again.close();
});

test('bad connect options are MinibaseErrors', async () => {
  await assert.rejects(connect({ adapter: 'ftp' }), (err) => checkError(err, 'BAD_QUERY'));
  await assert.rejects(connect({ adapter: 'memory', rooot: 'typo' }), (err) => checkError(err, 'BAD_QUERY'));
  await assert.rejects(connect({ adapter: 'memory', root: '' }), (err) => checkError(err, 'BAD_QUERY'));
  await assert.rejects(connect({ adapter: 'memory', durability: 'sometimes' }), (err) => checkError(err, 'BAD_QUERY'));
  await assert.rejects(connect({ adapter: 'memory', root: NaN }), (err) => checkError(err, 'BAD_VALUE'));
});

test('after all of this the engine still answers correctly', async () => {
  const conn = await shop();
  const users = conn.table('users');
  for (let i = 0; i < 200; i++) await users.insert({ username: `u${i}`, age: i % 50 });
  assert.equal(await users.count(), 202);
  assert.equal(await users.count({ where: { age: { between: [10, 19] } } }), 41); // 40 + bob (17)
  await conn.close();
});

test('TX_CONFLICT: the second of two transactions writing one row fails, and changes nothing', async () => {
  const conn = await shop();
  const users = conn.table('users');
  const a = await conn.begin();
  const b = await conn.begin();
  await a.table('users').update({ age: 31 }, { where: { username: 'ann' } });
  await b.table('users').update({ age: 99 }, { where: { username: 'ann' } });
  await a.commit();
  await assert.rejects(b.commit(), (err) => checkError(err, 'TX_CONFLICT'));
  assert.deepEqual((await users.select({ where: { username: 'ann' }, columns: ['age'] }))[0], { age: 31 });
  await conn.close();
});

test('TOO_LARGE: an index key over the limit is refused cleanly', async () => {
  const conn = await shop();
  await failsCleanly(conn, () => conn.table('users').insert({ username: 'x'.repeat(5000) }), 'TOO_LARGE');
  await conn.close();
});

test('CORRUPT: a damaged log is reported with its file name, never half-read', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-corrupt-'));
  try {
    let conn = await connect({ adapter: 'node', root });
    await conn.createDatabase('d');
    await conn.useDatabase('d');
    await conn.createTable('t', { columns: [{ name: 'k', type: 'number', primaryKey: true }] });
    for (let i = 0; i < 20; i++) await conn.table('t').insert({ k: i });
    await conn.close();
    const log = fs.readdirSync(root).find((f) => f.endsWith('.log'));
    assert.ok(log, 'a log file exists');
    const file = path.join(root, log);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff; // a record in the middle, with good ones after it
    fs.writeFileSync(file, bytes);
    await assert.rejects(connect({ adapter: 'node', root }), (err) => {
      checkError(err, 'CORRUPT');
      assert.match(err.message, new RegExp(log.replace('.', '\\.')));
      return true;
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
