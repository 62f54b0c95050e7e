// Live queries against the real wasm engine (memory adapter): table.watch,
// conn.live, conn.changes and storage.watch, from every source of writes in
// one process (this connection, transactions, insertMany, another connection,
// the storage manager, a sync pull), and a randomized check that every live
// result equals a fresh query after random writes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'minibase-db';
import { startNative } from './sync-server.mjs';

const freshRoot = () => `live-${process.pid}-${randomBytes(4).toString('hex')}`;

const USERS = {
  columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'name', type: 'string', unique: true },
    { name: 'age', type: 'number', default: 0 },
    { name: 'city', type: 'string' },
    { name: 'tags', type: 'object' },
  ],
  indexes: [{ columns: ['age'] }],
};

async function shop(root = freshRoot()) {
  const conn = await connect({ adapter: 'memory', root });
  await conn.createDatabase('shop', { ifNotExists: true });
  await conn.useDatabase('shop');
  await conn.createTable('users', { ...USERS, ifNotExists: true });
  await conn.createTable('orders', {
    ifNotExists: true,
    columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'user', type: 'number' }],
  });
  return conn;
}

/** Lets queued re-evaluations (microtasks) and their callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const names = (rows) => rows.map((r) => r.name);

async function liveStats(conn) {
  return (await conn.stats()).live;
}

describe('table.watch', () => {
  test('first result at once; re-runs only for writes in the ranges its plan reads', async () => {
    const conn = await shop();
    const users = conn.table('users');
    await users.insertMany([{ name: 'ann', age: 30 }, { name: 'bob', age: 40 }]);
    const seen = [];
    users.watch({ where: { age: 30 }, columns: ['name'] }, (rows) => seen.push(names(rows)));
    await settle();
    assert.deepEqual(seen, [['ann']]);
    const base = (await liveStats(conn)).evaluations;

    await users.insert({ name: 'cy', age: 50 }); // outside the age range
    await conn.table('orders').insert({ user: 1 }); // another table
    await users.update({ city: 'oslo' }, { where: { id: 2 } }); // bob: age 40, out of range
    await settle();
    assert.equal((await liveStats(conn)).evaluations, base, 'writes elsewhere re-run nothing');

    await users.update({ city: 'rome' }, { where: { id: 1 } }); // ann, in range, a column not selected
    await settle();
    assert.equal((await liveStats(conn)).evaluations, base + 1);
    assert.deepEqual(seen, [['ann']], 'a re-run with rows equal to before notifies nobody');

    await users.update({ age: 30 }, { where: { name: 'bob' } }); // bob moves into the range
    await settle();
    assert.deepEqual(seen.at(-1), ['ann', 'bob']);
    await users.update({ age: 31 }, { where: { name: 'ann' } }); // ann moves out
    await settle();
    assert.deepEqual(seen.at(-1), ['bob']);
    await users.delete({ where: { name: 'bob' } });
    await settle();
    assert.deepEqual(seen.at(-1), []);
    await conn.close();
  });

  test('a changed unindexed column of a row in range notifies, with unchanged rows keeping their identity', async () => {
    const conn = await shop();
    const users = conn.table('users');
    await users.insertMany([{ name: 'ann', age: 30 }, { name: 'bob', age: 30 }]);
    const seen = [];
    users.watch({ where: { age: 30 }, orderBy: 'name' }, (rows) => seen.push(rows));
    await settle();
    await users.update({ city: 'rome' }, { where: { name: 'bob' } });
    await settle();
    assert.equal(seen.length, 2);
    assert.equal(seen[1][1].city, 'rome');
    assert.equal(seen[1][0], seen[0][0], 'ann is the same object');
    await conn.close();
  });

  test('identical queries share one evaluation, whatever their key order', async () => {
    const conn = await shop();
    const users = conn.table('users');
    await users.insert({ name: 'ann', age: 30 });
    let calls = 0;
    const subs = [];
    for (let i = 0; i < 100; i++) {
      const q = i % 2 ? { where: { age: 30 }, orderBy: 'name' } : { orderBy: 'name', where: { age: 30 } };
      subs.push(users.watch(q, () => calls++));
    }
    await settle();
    assert.equal(calls, 100);
    const s0 = await liveStats(conn);
    assert.equal(s0.queries, 1);
    assert.equal(s0.subscribers, 100);
    await users.insert({ name: 'bob', age: 30 });
    await settle();
    const s1 = await liveStats(conn);
    assert.equal(s1.evaluations - s0.evaluations, 1);
    assert.equal(calls, 200);
    for (const s of subs) s.unsubscribe();
    assert.equal((await liveStats(conn)).queries, 0, 'an unsubscribed query is gone');
    await users.insert({ name: 'cy', age: 30 });
    await settle();
    assert.equal(calls, 200);
    await conn.close();
  });

  test('a transaction or a chunked insertMany is one re-run after its commit, never an intermediate state', async () => {
    const conn = await shop();
    const users = conn.table('users');
    const seen = [];
    users.watch({ orderBy: 'name' }, (rows) => seen.push(rows.length));
    await settle();
    const s0 = await liveStats(conn);
    const tx = await conn.begin();
    await tx.table('users').insert({ name: 'a1' });
    await settle();
    await tx.table('users').insert({ name: 'a2' });
    await settle();
    assert.deepEqual(seen, [0], 'nothing before the commit');
    await tx.commit();
    await settle();
    assert.deepEqual(seen, [0, 2]);

    const rb = await conn.begin();
    await rb.table('users').insert({ name: 'gone' });
    await rb.rollback();
    await settle();
    assert.deepEqual(seen, [0, 2], 'a rollback shows nothing');

    await assert.rejects(conn.transaction(async (t) => {
      await t.table('users').insert({ name: 'a3' });
      throw new Error('abort');
    }));
    await settle();
    assert.deepEqual(seen, [0, 2]);

    const many = Array.from({ length: 10000 }, (_, i) => ({ name: `m${i}`, age: i % 90 }));
    await users.insertMany(many); // three chunks in one transaction
    await settle();
    assert.deepEqual(seen, [0, 2, 10002]);
    const s1 = await liveStats(conn);
    assert.equal(s1.reevaluations - s0.reevaluations, 2);
    await conn.close();
  });

  test('writes of another connection in the process (same root) reach the watcher', async () => {
    const root = freshRoot();
    const a = await shop(root);
    const b = await shop(root);
    const seen = [];
    a.table('users').watch({ where: { name: 'zed' } }, (rows) => seen.push(rows.length));
    await settle();
    await b.table('users').insert({ name: 'zed' });
    await settle();
    assert.deepEqual(seen, [0, 1]);
    await b.close();
    await a.table('users').delete({ where: { name: 'zed' } });
    await settle();
    assert.deepEqual(seen, [0, 1, 0]);
    await a.close();
  });

  test('a throwing subscriber does not affect the others', async () => {
    const conn = await shop();
    const errors = [];
    const orig = console.error;
    console.error = (...a) => errors.push(a);
    try {
      const seen = [];
      conn.table('users').watch({}, () => {
        throw new Error('boom');
      });
      conn.table('users').watch({}, (rows) => seen.push(rows.length));
      await settle();
      await conn.table('users').insert({ name: 'x' });
      await settle();
      assert.deepEqual(seen, [0, 1]);
      assert.equal((await liveStats(conn)).subscriberErrors, 2);
    } finally {
      console.error = orig;
    }
    assert.equal(errors.length, 2);
    await conn.close();
  });

  test('closing the connection ends every subscription with a final signal', async () => {
    const conn = await shop();
    const sub = conn.table('users').watch({});
    let completed = 0;
    sub.subscribe({ next() {}, complete: () => completed++ });
    const it = conn.table('users').watch({ where: { age: 1 } })[Symbol.asyncIterator]();
    const first = await it.next();
    assert.deepEqual(first, { value: [], done: false });
    const pending = it.next();
    await conn.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    await sub.done;
    assert.equal(sub.closed, true);
    assert.equal(completed, 1);
    assert.throws(() => conn.table('users').watch({}), { code: 'CLOSED' });
  });

  test('async iterator and Observable subscribe', async () => {
    const conn = await shop();
    const users = conn.table('users');
    const live = users.watch({ orderBy: 'name' });
    const got = [];
    const h = live.subscribe({ next: (rows) => got.push(names(rows)) });
    const it = live[Symbol.asyncIterator]();
    assert.deepEqual((await it.next()).value, []);
    await users.insert({ name: 'ann' });
    assert.deepEqual(names((await it.next()).value), ['ann']);
    assert.deepEqual(names(live.current), ['ann']);
    await it.return();
    h.unsubscribe();
    assert.deepEqual(got, [[], ['ann']]);
    await conn.close();
  });

  test('a schema change re-runs the watchers (new plan, new ranges)', async () => {
    const conn = await shop();
    const users = conn.table('users');
    await users.insert({ name: 'ann', city: 'oslo' });
    const seen = [];
    users.watch({ where: { city: 'oslo' } }, (rows) => seen.push(names(rows)));
    await settle();
    await users.createIndex('city');
    await settle();
    await users.insert({ name: 'bob', city: 'oslo' });
    await settle();
    await users.insert({ name: 'cy', city: 'rome' });
    await settle();
    assert.deepEqual(seen, [['ann'], ['ann', 'bob']]);
    await conn.close();
  });
});

describe('conn.live', () => {
  test('reads of several tables over one snapshot, re-run when any of them changes', async () => {
    const conn = await shop();
    await conn.table('users').insert({ name: 'ann', age: 30 });
    const seen = [];
    const fn = async (tx) => {
      const user = await tx.table('users').get(1);
      const n = await tx.table('orders').count({ where: { user: 1 } });
      return { name: user?.name ?? null, orders: n };
    };
    const sub = conn.live(fn, (v) => seen.push(v));
    conn.live(fn, () => {}); // the same function shares the evaluation
    await settle();
    assert.equal((await liveStats(conn)).queries, 1);
    await conn.table('orders').insert({ user: 1 });
    await settle();
    await conn.table('users').insert({ name: 'bob' }); // another key: get(1) is untouched
    await settle();
    await conn.table('users').update({ name: 'anna' }, { where: { id: 1 } });
    await settle();
    assert.deepEqual(seen, [
      { name: 'ann', orders: 0 },
      { name: 'ann', orders: 1 },
      { name: 'anna', orders: 1 },
    ]);
    sub.unsubscribe();
    await conn.close();
  });

  test('a read that fails reaches error(), and the query stays live', async () => {
    const conn = await shop();
    const errors = [];
    const values = [];
    conn.live(async (tx) => tx.table('nope').select()).subscribe({ next: (v) => values.push(v), error: (e) => errors.push(e.code) });
    await settle();
    await settle();
    assert.deepEqual(errors, ['NO_SUCH_TABLE']);
    await conn.createTable('nope', { columns: [{ name: 'id', type: 'number', primaryKey: true }] });
    await settle();
    await settle();
    assert.deepEqual(values, [[]]);
    await conn.close();
  });
});

describe('conn.changes', () => {
  test('committed changes in commit order, filtered by table, with since', async () => {
    const conn = await shop();
    const got = [];
    const feed = conn.changes({ tables: ['users'] }, (c) => got.push(`${c.op} ${c.table} ${c.key} ${c.source}`));
    await conn.table('users').insert({ name: 'ann' });
    await conn.table('orders').insert({ user: 1 });
    await conn.transaction(async (tx) => {
      await tx.table('users').update({ age: 3 }, { where: { id: 1 } });
      await tx.table('users').insert({ name: 'bob' });
    });
    await conn.table('users').delete({ where: { id: 1 } });
    const st = await conn.storage();
    await st.set('k', 1); // the storage manager's rows are not in the feed
    await settle();
    assert.deepEqual(got, ['insert users 1 local', 'update users 1 local', 'insert users 2 local', 'delete users 1 local']);
    const all = [];
    const rows = [];
    conn.changes({ since: 0 }, (c) => {
      all.push(c.seq);
      rows.push(c.row?.name);
    });
    await settle();
    assert.equal(all.length, 5, 'replayed from the kept history');
    assert.deepEqual(all, [...all].sort((x, y) => x - y));
    assert.deepEqual(rows, ['ann', undefined, 'ann', 'bob', undefined]);
    feed.unsubscribe();
    await conn.close();
  });

  test('nothing watched: the engine keeps no feed', async () => {
    const conn = await shop();
    const sub = conn.table('users').watch({});
    await settle();
    sub.unsubscribe();
    assert.equal((await liveStats(conn)).queries, 0);
    // changesTake answers nothing while the feed is off: insert, then peek through a new feed.
    await conn.table('users').insert({ name: 'ann' });
    const got = [];
    conn.changes({}, (c) => got.push(c));
    await settle();
    assert.deepEqual(got, []);
    await conn.close();
  });
});

describe('storage.watch', () => {
  test('the value now and after each write of the key, from this and another connection', async () => {
    const root = freshRoot();
    const conn = await shop(root);
    const other = await shop(root);
    const st = await conn.storage({ prefix: 'app_' });
    const st2 = await other.storage({ prefix: 'app_' });
    const seen = [];
    const sub = st.watch('theme', (v) => seen.push(v));
    await settle();
    await st.set('theme', 'dark');
    await settle();
    await st.set('unrelated', 1);
    await settle();
    await st2.set('theme', 'light');
    await settle();
    await st.remove('theme');
    await settle();
    assert.deepEqual(seen, [null, 'dark', 'light', null]);
    sub.unsubscribe();
    await st.set('theme', 'x');
    await settle();
    assert.equal(seen.length, 4);
    await other.close();
    await conn.close();
  });
});

describe('sync', () => {
  let srv;
  before(async () => {
    srv = await startNative();
  });
  after(async () => {
    await srv?.stop();
  });

  test("a pulled change re-runs the watchers, with source 'sync'", async () => {
    const TODOS = { sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' }] };
    const dev = async () => {
      const c = await connect({ adapter: 'memory', root: freshRoot() });
      await c.createDatabase('app');
      await c.useDatabase('app');
      await c.createTable('todos', TODOS);
      return c;
    };
    const a = await dev();
    const b = await dev();
    const auth = srv.token(`live-${process.pid}`);
    const seen = [];
    const sources = [];
    b.table('todos').watch({}, (rows) => seen.push(rows.map((r) => r.title)));
    b.changes({}, (c) => sources.push(`${c.op} ${c.key} ${c.source}`));
    await a.table('todos').insert({ id: 't1', title: 'milk' });
    await a.sync({ url: srv.url, auth }).now();
    await b.sync({ url: srv.url, auth }).now();
    await settle();
    assert.deepEqual(seen, [[], ['milk']]);
    assert.deepEqual(sources, ['insert t1 sync']);
    await a.close();
    await b.close();
  });
});

test('randomized: after random writes every live result equals a fresh query', async () => {
  const conn = await shop();
  const users = conn.table('users');
  let seed = 42;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const cities = ['oslo', 'rome', 'lima', null];
  const queries = [
    {},
    { where: { age: 30 } },
    { where: { age: { $gte: 20, $lt: 40 } }, orderBy: 'name' },
    { where: { name: 'u3' } },
    { where: { id: 5 } },
    { where: { id: { $in: [1, 2, 3] } } },
    { where: { city: 'rome' }, orderBy: 'id' },
    { where: { age: 30, city: 'oslo' } },
    { orderBy: 'age', limit: 3 },
    { where: { id: { $gt: 10 } }, orderBy: { id: 'desc' }, limit: 2 },
    { where: { $or: [{ age: 10 }, { city: 'lima' }] }, orderBy: 'id' },
  ];
  const latest = queries.map(() => undefined);
  queries.forEach((q, i) => users.watch(q, (rows) => (latest[i] = rows)));
  const counts = conn.live(async (tx) => ({
    n: await tx.table('users').count(),
    u7: await tx.table('users').get(7),
  }));
  let liveCount;
  counts.subscribe((v) => (liveCount = v));
  for (let round = 0; round < 60; round++) {
    const burst = 1 + rand(4);
    const ops = [];
    for (let j = 0; j < burst; j++) {
      const id = 1 + rand(20);
      const row = { id, name: `u${id}`, age: rand(5) * 10, city: cities[rand(4)], tags: rand(2) ? [rand(3)] : null };
      switch (rand(5)) {
        case 0:
          ops.push(users.upsert(row));
          break;
        case 1:
          ops.push(users.update({ age: row.age }, { where: { id } }));
          break;
        case 2:
          ops.push(users.update({ city: row.city, tags: row.tags }, { where: { id } }));
          break;
        case 3:
          ops.push(users.delete({ where: { id } }));
          break;
        default:
          ops.push(conn.transaction(async (tx) => {
            await tx.table('users').upsert(row);
            await tx.table('users').update({ age: 0 }, { where: { id: 1 + rand(20) } });
          }));
      }
    }
    await Promise.allSettled(ops);
    await settle();
    await settle();
    for (let i = 0; i < queries.length; i++) {
      assert.deepEqual(latest[i], await users.select(queries[i]), `round ${round}: ${JSON.stringify(queries[i])}`);
    }
    assert.deepEqual(liveCount, { n: await users.count(), u7: await users.get(7) }, `round ${round}: live()`);
  }
  const s = await liveStats(conn);
  assert.ok(s.evaluations < 60 * (queries.length + 1), `ranges spared some re-runs (${s.evaluations} evaluations)`);
  await conn.close();
});

describe('attacks', () => {
  test('a subscriber that unsubscribes, writes or closes the connection from its callback', async () => {
    const conn = await shop();
    const users = conn.table('users');
    const seen = [];
    const once = users.watch({}, (rows) => {
      seen.push(`once ${rows.length}`);
      once.unsubscribe();
    });
    let writes = 0;
    users.watch({ where: { name: 'counter' } }, async (rows) => {
      seen.push(`counter ${rows[0]?.age ?? '-'}`);
      if (rows.length && rows[0].age < 3) {
        writes++;
        await users.update({ age: rows[0].age + 1 }, { where: { name: 'counter' } });
      }
    });
    await settle();
    await users.insert({ name: 'counter', age: 0 });
    for (let i = 0; i < 10; i++) await settle();
    assert.deepEqual(seen, ['once 0', 'counter -', 'counter 0', 'counter 1', 'counter 2', 'counter 3']);
    assert.equal(writes, 3);
    let completed = false;
    users.watch({}).subscribe({
      next: () => conn.close(),
      complete: () => (completed = true),
    });
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(completed, true);
    await assert.rejects(users.select(), { code: 'CLOSED' });
  });

  test('more changes than the engine keeps: a reset, and every watcher runs again', async () => {
    const conn = await shop();
    const users = conn.table('users');
    const seen = [];
    const resets = [];
    users.watch({ where: { name: 'x' } }, (rows) => seen.push(rows.length));
    conn.changes({}, (c) => c.op === 'reset' && resets.push(c.reason));
    await settle();
    const big = Array.from({ length: 12_000 }, (_, i) => ({ name: i === 11_999 ? "x" : `n${i}` }));
    await users.insertMany(big);
    await settle();
    await settle();
    assert.deepEqual(resets, ['overflow']);
    assert.deepEqual(seen, [0, 1]);
    await conn.close();
  });
});

test('the async iterator of conn.changes keeps every change, however slow the reader', async () => {
  const conn = await shop();
  const it = conn.changes({ tables: ['users'] })[Symbol.asyncIterator]();
  await conn.table('users').insert({ name: 'a' });
  await conn.table('users').insert({ name: 'b' });
  await conn.table('users').insert({ name: 'c' });
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await it.next()).value.row.name);
  assert.deepEqual(got, ['a', 'b', 'c']);
  await it.return();
  await conn.close();
});
