// deleteDatabase on both backends: right after this tab closed and released
// its connections it succeeds (IndexedDB reports the just-closed connection
// as 'blocked' until its close finished: that is waited for, not LOCKED);
// while another tab has the database open it is LOCKED, answers (no hang)
// and leaves that tab's data alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

const page = () => env.page();

// In the page: connect to `name`, make table t, insert keys; window.conn keeps the connection.
async function fill({ adapter, name, keys, locks }) {
  const conn = await window.minibase.connect({ adapter, name, ...(locks === null ? { locks: null } : {}) });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('t', { ifNotExists: true, columns: [{ name: 'k', type: 'string', primaryKey: true }] });
  await conn.table('t').insertMany(keys.map((k) => ({ k })));
  window.conn = conn;
  return (await conn.table('t').select({})).map((r) => r.k);
}

// In the page: deleteDatabase's outcome, 'ok' or the error's code.
async function remove({ adapter, name }) {
  try {
    await window.minibase.deleteDatabase(name, adapter);
    return 'ok';
  } catch (err) {
    return err.code ?? String(err);
  }
}

for (const adapter of ['indexeddb', 'opfs']) {
  test(`${adapter}: deleteDatabase right after close and release deletes`, { skip }, async () => {
    const p = await page();
    const outcomes = [];
    // Each round: the connections closed, reopened, the database released,
    // taken again (a new IndexedDB connection), closed, and deleted at once.
    for (let round = 0; round < 12; round++) {
      const name = `del-${adapter}`;
      const keys = await p.evaluate(fill, { adapter, name, keys: ['a', 'b'] });
      assert.deepEqual(keys, ['a', 'b'], `round ${round}: the database was deleted, so it starts empty`);
      // In one evaluate: a round trip to the test between close and delete
      // would give the close the time it needs.
      const { rows, outcome } = await p.evaluate(async ({ adapter, name, removeSrc }) => {
        const remove = (0, eval)(`(${removeSrc})`); // eslint-disable-line no-eval
        await window.conn.close();
        const c2 = await window.minibase.connect({ adapter, name });
        await c2.useDatabase('app');
        await c2.table('t').insert({ k: 'c' });
        await c2.close();
        await window.minibase.release(name, adapter);
        const c3 = await window.minibase.connect({ adapter, name });
        await c3.useDatabase('app');
        const rows = (await c3.table('t').select({})).map((r) => r.k);
        await c3.close();
        return { rows, outcome: await remove({ adapter, name }) };
      }, { adapter, name, removeSrc: remove.toString() });
      assert.deepEqual(rows, ['a', 'b', 'c']);
      outcomes.push(outcome);
    }
    assert.deepEqual(outcomes, Array(12).fill('ok'));
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test(`${adapter}: deleteDatabase while another tab owns it: LOCKED, and its data stays`, { skip }, async () => {
    const name = `held-${adapter}`;
    const owner = await page();
    const other = await page();
    assert.deepEqual(await owner.evaluate(fill, { adapter, name, keys: ['x'] }), ['x']);
    assert.equal(await owner.evaluate(({ name, adapter }) => window.minibase.isOwner(name, adapter), { name, adapter }), true);
    assert.equal(await other.evaluate(remove, { adapter, name }), 'LOCKED');
    // The owner goes on, and nothing deletes the database behind it.
    await owner.evaluate(() => window.conn.table('t').insert({ k: 'y' }));
    await owner.close();
    const seen = await other.evaluate(async ({ adapter, name }) => {
      const c = await window.minibase.connect({ adapter, name });
      await c.useDatabase('app');
      const keys = (await c.table('t').select({})).map((r) => r.k);
      await c.close();
      return keys;
    }, { adapter, name });
    assert.deepEqual(seen, ['x', 'y']);
    assert.equal(await other.evaluate(remove, { adapter, name }), 'ok', 'once the owner is gone');
    assert.deepEqual([...owner.errors, ...other.errors], []);
    await other.close();
  });
}

test('indexeddb: a tab without Web Locks holds the database open: LOCKED after the wait, no hang', { skip }, async () => {
  const name = 'held-nolocks';
  const holder = await page();
  const other = await page();
  // Opened exclusively, without the lock: only IndexedDB itself knows it is open.
  assert.deepEqual(await holder.evaluate(fill, { adapter: 'indexeddb', name, keys: ['x'], locks: null }), ['x']);
  assert.equal(await other.evaluate(remove, { adapter: 'indexeddb', name }), 'LOCKED');
  // The holder still reads and writes.
  await holder.evaluate(() => window.conn.table('t').insert({ k: 'y' }));
  assert.deepEqual(await holder.evaluate(async () => (await window.conn.table('t').select({})).map((r) => r.k)), ['x', 'y']);
  assert.deepEqual([...holder.errors, ...other.errors], []);
  await holder.close();
  await other.close();
});
