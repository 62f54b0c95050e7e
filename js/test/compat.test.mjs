// The older hand-rolled libraries' shapes, through the main API and through
// the `minibase-db/compat` entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, MinibaseError } from 'minibase-db';
import { Connect, connect as connectCompat, MinibaseError as CompatError } from 'minibase-db/compat';

let roots = 0;
const freshRoot = () => `compat-test-${process.pid}-${++roots}`;

// Column options as the older libraries spell them: uni, increment.
const OLD_COLUMNS = [
  { name: 'id', type: 'number', primaryKey: true, increment: true },
  { name: 'username', type: 'string', uni: true, notNull: true },
  { name: 'age', type: 'number', default: 0 },
];
const ROWS = [
  { username: 'ann', age: 30 },
  { username: 'bob', age: 17 },
  { username: 'cy', age: 45 },
  { username: 'dee', age: 30 },
];
const names = (rows) => rows.map((r) => r.username);

test('main API accepts the old shapes of where, set, orderBy, limit and column options', async () => {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await conn.createTable('users', { columns: OLD_COLUMNS });
  const d = await conn.describeTable('users');
  assert.equal(d.columns[0].autoIncrement, true, 'increment = autoIncrement');
  assert.equal(d.columns[1].unique, true, 'uni = unique');

  const users = conn.table('users');
  assert.equal(await users.insertMany(ROWS), 4);
  const where = [{ name: 'age', type: '>=', value: 18 }];
  assert.deepEqual(names(await users.select(where)).sort(), ['ann', 'cy', 'dee']);
  assert.equal(await users.count(where), 3);
  assert.deepEqual(
    names(await users.select({ where, orderBy: [{ name: 'age', type: 'desc' }, { name: 'username', type: 'asc' }], limit: { start: 1, count: 2 } })),
    ['ann', 'dee'],
  );
  assert.deepEqual(names(await users.select({ where: [{ name: 'username', type: 'in', value: ['ann', 'bob'] }], orderBy: [{ name: 'username' }] })), ['ann', 'bob']);
  assert.deepEqual(names(await users.select([{ name: 'age', type: '>', value: 18 }, { name: 'age', type: '<', value: 40 }])).sort(), ['ann', 'dee']);

  // update([{ name, value }], [{ name, type, value }]) — modifyData(updateData, whereData)
  assert.equal(await users.update([{ name: 'age', value: 31 }], [{ name: 'username', type: '=', value: 'ann' }]), 1);
  assert.equal((await users.get(1)).age, 31);
  assert.equal(await users.update([{ name: 'age', value: 0 }], { where: [{ name: 'age', type: '<', value: 18 }] }), 1);
  assert.equal(await users.delete([{ name: 'username', type: '=', value: 'dee' }]), 1);
  assert.equal(await users.count(), 3);
  assert.deepEqual(await users.explain([{ name: 'username', type: '=', value: 'ann' }]), await users.explain({ where: { username: 'ann' } }));
  await conn.close();
});

test('minibase-db/compat: the old method names, as async functions', async () => {
  assert.equal(CompatError, MinibaseError, 'one error class for both entries');
  const db = await Connect.open({ adapter: 'memory', root: freshRoot() });
  assert.deepEqual(await db.showDataBases(), []);
  await db.createDataBase('shop');
  await db.createDataBase('shop', { ifNotExists: true });
  assert.deepEqual(await db.showDataBases(), ['shop']);
  await db.useDataBase('shop');
  await db.createTable('users', OLD_COLUMNS); // an array of columns, as the old libraries took
  await db.createTable('orders', { columns: [{ name: 'no', type: 'number', primaryKey: true }] });
  assert.deepEqual((await db.showTableList()).sort(), ['orders', 'users']);

  assert.deepEqual(await db.addData('users', { username: 'ann', age: 30 }), { id: 1 });
  assert.equal(await db.addData('users', ROWS.slice(1)), 3);

  const rows = await db.selectData('users', [{ name: 'age', type: '>=', value: 18 }], [{ name: 'age', type: 'desc' }], { start: 0, count: 2 });
  assert.deepEqual(names(rows), ['cy', 'ann']);
  assert.equal((await db.selectData('users')).length, 4);
  assert.deepEqual(names(await db.selectData('users', null, [{ name: 'username', type: 'desc' }], { start: 0, count: 1 })), ['dee']);
  assert.deepEqual(names(await db.selectData('users', { username: 'bob' })), ['bob'], 'object where works too');

  assert.equal(await db.modifyData('users', [{ name: 'age', value: 18 }], [{ name: 'username', type: '=', value: 'bob' }]), 1);
  assert.equal((await db.selectData('users', [{ name: 'username', type: '=', value: 'bob' }]))[0].age, 18);
  assert.equal(await db.deleteData('users', [{ name: 'username', type: '=', value: 'dee' }]), 1);

  // tryConnectTable picks a default table; the table argument may then be left out
  assert.equal(await db.tryConnectTable('users'), true);
  assert.equal((await db.selectData()).length, 3);
  assert.deepEqual(await db.addData({ username: 'eve' }), { id: 5 });
  assert.equal(await db.modifyData([{ name: 'age', value: 1 }], [{ name: 'username', type: '=', value: 'eve' }]), 1);
  assert.equal(await db.deleteData([{ name: 'username', type: '=', value: 'eve' }]), 1);
  await assert.rejects(db.tryConnectTable('nope'), (err) => err instanceof MinibaseError && err.code === 'NO_SUCH_TABLE');

  await assert.rejects(db.addData('users', { username: 'ann' }), (err) => err instanceof MinibaseError && err.code === 'UNIQUE_VIOLATION');
  await db.close();
});

test('minibase-db/compat: setAutoCommit(false) groups calls until commit or rollback', async () => {
  const db = await connectCompat({ adapter: 'memory', root: freshRoot() });
  await db.createDataBase('shop');
  await db.useDataBase('shop');
  await db.createTable('users', OLD_COLUMNS);
  const other = db.connection.table('users'); // sees committed data only

  await db.setAutoCommit(false);
  await db.addData('users', { username: 'ann' });
  await db.addData('users', [{ username: 'bob' }, { username: 'cy' }]);
  assert.equal((await db.selectData('users')).length, 3, 'the transaction sees its own writes');
  assert.equal(await other.count(), 0);
  await db.commit();
  assert.equal(await other.count(), 3);

  await db.deleteData('users', [{ name: 'username', type: '=', value: 'ann' }]);
  await db.modifyData('users', [{ name: 'age', value: 9 }], [{ name: 'username', type: '=', value: 'bob' }]);
  await db.rollback();
  assert.equal(await other.count(), 3);
  assert.equal((await other.select({ where: { username: 'bob' } }))[0].age, 0);

  await db.addData('users', { username: 'dee' });
  await db.setAutoCommit(true); // commits what is open
  assert.equal(await other.count(), 4);
  await db.addData('users', { username: 'eve' });
  assert.equal(await other.count(), 5, 'autocommit again');
  await db.commit(); // nothing open: a no-op
  await db.rollback();
  await db.close();
});

test('minibase-db/compat: a data call without a table name or a chosen table is an error', async () => {
  const db = await Connect.open({ adapter: 'memory', root: freshRoot() });
  await db.createDataBase('shop');
  await db.useDataBase('shop');
  await assert.rejects(db.selectData(), (err) => err instanceof MinibaseError && err.code === 'NO_SUCH_TABLE');
  await assert.rejects(db.addData({ a: 1 }), (err) => err instanceof MinibaseError && err.code === 'NO_SUCH_TABLE');
  await db.close();
});
