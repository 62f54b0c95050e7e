// Live queries across two pages of one origin on one IndexedDB database:
// the owner broadcasts what each commit touched, so a watcher in the other
// page re-runs (source 'tab'), in both directions, and after the owner goes
// away the watchers follow the new owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

const page = () => env.page();

// In the page: connect, make table 'notes', and watch the notes of one topic.
async function setup(topic) {
  const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'live' });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('notes', {
    ifNotExists: true,
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'topic', type: 'string' },
      { name: 'text', type: 'string' },
    ],
    indexes: [{ columns: ['topic'] }],
  });
  window.conn = conn;
  window.seen = [];
  window.sources = [];
  conn.table('notes').watch({ where: { topic }, orderBy: 'id' }, (rows) => window.seen.push(rows.map((r) => r.text)));
  conn.changes({ tables: ['notes'] }, (c) => window.sources.push(`${c.op} ${c.row?.topic} ${c.source}`));
  await new Promise((r) => setTimeout(r, 50));
}

const until = async (p, fn, arg) => {
  for (let i = 0; i < 200; i++) {
    if (await p.evaluate(fn, arg)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`never: ${fn}`);
};

test('a commit in one page re-runs the watchers of the other', { skip }, async () => {
  const a = await page();
  await a.evaluate(`(${setup})('a')`);
  const b = await page();
  await b.evaluate(`(${setup})('a')`);
  assert.equal(await a.evaluate(() => window.minibase.isOwner('live')), true);

  // The other page writes; the owner's watcher and the writer's own follow.
  await b.evaluate(() => window.conn.table('notes').insert({ topic: 'a', text: 'from b' }));
  await until(a, () => window.seen.at(-1)?.join() === 'from b');
  await until(b, () => window.seen.at(-1)?.join() === 'from b');
  // The owner writes; the other page follows.
  await a.evaluate(() => window.conn.table('notes').insert({ topic: 'a', text: 'from a' }));
  await until(b, () => window.seen.at(-1)?.join() === 'from b,from a');
  // A write outside the watched range re-runs nothing anywhere.
  const before = await b.evaluate(async () => (await window.conn.stats()).live.evaluations);
  await a.evaluate(() => window.conn.table('notes').insert({ topic: 'z', text: 'elsewhere' }));
  await until(b, () => window.sources.length === 3);
  assert.equal(await b.evaluate(async () => (await window.conn.stats()).live.evaluations), before);
  assert.deepEqual(await a.evaluate(() => window.sources), ['insert a tab', 'insert a local', 'insert z local']);
  assert.deepEqual(await b.evaluate(() => window.sources), ['insert a local', 'insert a tab', 'insert z tab']);
  assert.deepEqual(await a.evaluate(() => window.seen), [[], ['from b'], ['from b', 'from a']]);

  // The owner goes: the other page takes over and its watchers keep following.
  await a.close();
  await until(b, () => window.minibase.isOwner('live'));
  const c = await page();
  await c.evaluate(`(${setup})('a')`);
  await c.evaluate(() => window.conn.table('notes').insert({ topic: 'a', text: 'from c' }));
  await until(b, () => window.seen.at(-1)?.join() === 'from b,from a,from c');
  assert.deepEqual(b.errors, []);
  assert.deepEqual(c.errors, []);
});

test("a sync pull re-runs the watchers, with source 'sync'", { skip }, async () => {
  const { startNative } = await import('../sync-server.mjs');
  const srv = await startNative();
  try {
    const p = await page();
    const r = await p.evaluate(async ({ url, token }) => {
      const open = async (name) => {
        const c = await window.minibase.connect({ adapter: 'indexeddb', name });
        await c.createDatabase('app', { ifNotExists: true });
        await c.useDatabase('app');
        await c.createTable('todos', { ifNotExists: true, sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' }] });
        return c;
      };
      const a = await open('live-sync-a');
      const b = await open('live-sync-b');
      const seen = [];
      const sources = [];
      b.table('todos').watch({}, (rows) => seen.push(rows.map((t) => t.title)));
      b.changes({ tables: ['todos'] }, (c) => sources.push(`${c.op} ${c.key} ${c.source}`));
      await new Promise((res) => setTimeout(res, 50));
      await a.table('todos').insert({ id: 't1', title: 'milk' });
      await a.sync({ url, auth: token }).now();
      await b.sync({ url, auth: token }).now();
      await new Promise((res) => setTimeout(res, 100));
      await a.close();
      await b.close();
      return { seen, sources };
    }, { url: srv.url, token: srv.token('live-browser') });
    assert.deepEqual(r.seen, [[], ['milk']]);
    assert.deepEqual(r.sources, ['insert t1 sync']);
  } finally {
    await srv.stop();
  }
});
