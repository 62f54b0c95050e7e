// minibase quickstart for Node: a database on disk, a table with a unique and
// a secondary index, inserts, queries, updates, deletes, a transaction and a
// query plan.
//
//   make build && node examples/node/quickstart.mjs [data-dir]
//
// The data lives in examples/node/data (or the directory given). Run it twice:
// the second run finds the first run's rows on disk, then starts the table over.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, MinibaseError } from 'minibase-db';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.argv[2] ?? path.join(here, 'data');

const show = (title, value) => {
  console.log(`\n${title}`);
  if (Array.isArray(value) && value.length && typeof value[0] === 'object') console.table(value);
  else if (value !== undefined) console.log(value);
};

const conn = await connect({ adapter: 'node', root });
console.log(`minibase quickstart — data in ${root}`);

await conn.createDatabase('shop', { ifNotExists: true });
await conn.useDatabase('shop');
if ((await conn.showTables()).includes('users')) {
  const left = await conn.table('users').count();
  show(`found ${left} users on disk from an earlier run; starting the table over`);
  await conn.dropTable('users');
}
await conn.createTable('users', {
  comment: 'quickstart users',
  columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'username', type: 'string', unique: true, notNull: true },
    { name: 'age', type: 'number', default: 0 },
    { name: 'city', type: 'string' },
    { name: 'profile', type: 'object' },
  ],
  indexes: [{ columns: ['age'] }],
});
show('databases:', await conn.showDatabases());
show('tables in shop:', await conn.showTables());
const described = await conn.describeTable('users');
show('users columns:', described.columns);
show('users indexes:', described.indexes);

const users = conn.table('users');
const first = await users.insert({ username: 'ann', age: 30, city: 'Oslo', profile: { likes: ['tea'] } });
show('insert ann →', first);
const n = await users.insertMany([
  { username: 'bob', age: 17, city: 'Bergen' },
  { username: 'cy', age: 45, city: 'Oslo' },
  { username: 'dee', age: 30, city: 'Tromsø' },
  { username: 'eve', age: 22 },
]);
show('insertMany →', `${n} rows`);

try {
  await users.insert({ username: 'ann' });
} catch (err) {
  if (!(err instanceof MinibaseError)) throw err;
  show('inserting ann again fails, as it should:', `${err.code}: ${err.message}`);
}

show('adults, oldest first, first 3:', await users.select({
  where: { age: { '>=': 18 } },
  orderBy: [{ name: 'age', type: 'desc' }, { name: 'username', type: 'asc' }],
  limit: 3,
}));
show('in Oslo or younger than 20 (username, age):', await users.select({
  where: { $or: [{ city: 'Oslo' }, { age: { '<': 20 } }] },
  orderBy: 'username',
  columns: ['username', 'age'],
}));
show('older-library shape, where as [{ name, type, value }]:', await users.select([{ name: 'username', type: 'like', value: '%e%' }]));
show('get(1) →', await users.get(1));
show('count of age 30 →', await users.count({ where: { age: 30 } }));

show('update bob’s age →', `${await users.update({ age: 18 }, { where: { username: 'bob' } })} row changed`);
show('delete eve →', `${await users.delete({ where: { username: 'eve' } })} row deleted`);

const moved = await conn.transaction(async (tx) => {
  const t = tx.table('users');
  const moved = await t.update({ city: 'Oslo' }, { where: { username: 'bob' } });
  await t.insert({ username: 'fay', age: 28, city: 'Oslo' });
  return moved + 1;
});
show('transaction (bob moves to Oslo, fay joins) committed →', `${moved} rows written together`);

try {
  await conn.transaction(async (tx) => {
    await tx.table('users').insert({ username: 'gus' });
    throw new Error('changed my mind');
  });
} catch (err) {
  show('a transaction that throws is rolled back:', `${err.message}; gus exists: ${(await users.count({ where: { username: 'gus' } })) > 0}`);
}

show('plan for a unique-key lookup:', await users.explain({ where: { username: 'ann' } }));
show('plan for an age range:', await users.explain({ where: { age: { between: [20, 40] } } }));
show('plan for a filter without an index:', await users.explain({ where: { city: 'Oslo' } }));

show('all users now:', await users.select({ orderBy: 'id', columns: ['id', 'username', 'age', 'city'] }));
show('storage stats:', await conn.stats());

await conn.close();
console.log('\ndone.');
