// Live queries across pages of one origin on one database, on both
// backends: the owner broadcasts what each commit touched, so a watcher in
// any other page re-runs (source 'tab'), whichever page wrote (the owner, the
// watcher's own, or a third that forwards too), and after the owner goes
// away the watchers follow the new owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

const page = () => env.page();

// In the page: connect, make table 'notes', and watch the notes of one topic.
async function setup({ topic, adapter }) {
  const conn = await window.minibase.connect({ adapter, name: 'live' });
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

for (const adapter of ['indexeddb', 'opfs']) {
  test(`${adapter}: a commit in one page re-runs the watchers of the others`, { skip }, async () => {
    const pages = [];
    const open = async () => {
      const p = await page();
      await p.evaluate(setup, { topic: 'a', adapter });
      pages.push(p);
      return p;
    };
    const owns = (p) => p.evaluate((adapter) => window.minibase.isOwner('live', adapter), adapter);
    const insert = (p, row) => p.evaluate((row) => window.conn.table('notes').insert(row), row);
    const a = await open();
    const b = await open();
    const c = await open();
    assert.deepEqual([await owns(a), await owns(b), await owns(c)], [true, false, false]);

    // A page that forwards writes; the owner's watcher and the writer's own follow.
    await insert(b, { topic: 'a', text: 'from b' });
    await until(a, () => window.seen.at(-1)?.join() === 'from b');
    await until(b, () => window.seen.at(-1)?.join() === 'from b');
    // The owner writes; the others follow.
    await insert(a, { topic: 'a', text: 'from a' });
    await until(b, () => window.seen.at(-1)?.join() === 'from b,from a');
    // A third page, not the owner either, writes in a transaction; both others follow.
    await c.evaluate(() => window.conn.transaction((tx) => tx.table('notes').insert({ topic: 'a', text: 'from c' })));
    for (const p of [a, b, c]) await until(p, () => window.seen.at(-1)?.join() === 'from b,from a,from c');
    // A write outside the watched range re-runs nothing anywhere.
    const before = await b.evaluate(async () => (await window.conn.stats()).live.evaluations);
    await insert(a, { topic: 'z', text: 'elsewhere' });
    await until(b, () => window.sources.length === 4);
    assert.equal(await b.evaluate(async () => (await window.conn.stats()).live.evaluations), before);
    assert.deepEqual(await a.evaluate(() => window.sources), ['insert a tab', 'insert a local', 'insert a tab', 'insert z local']);
    assert.deepEqual(await b.evaluate(() => window.sources), ['insert a local', 'insert a tab', 'insert a tab', 'insert z tab']);
    assert.deepEqual(await c.evaluate(() => window.sources), ['insert a tab', 'insert a tab', 'insert a local', 'insert z tab']);
    assert.deepEqual(await a.evaluate(() => window.seen), [[], ['from b'], ['from b', 'from a'], ['from b', 'from a', 'from c']]);

    // The owner goes: another page takes over and the watchers keep following.
    await a.close();
    await until(b, () => window.minibase.isOwner('live', 'indexeddb') || window.minibase.isOwner('live', 'opfs'));
    const d = await open();
    await insert(d, { topic: 'a', text: 'from d' });
    await until(b, () => window.seen.at(-1)?.join() === 'from b,from a,from c,from d');
    await until(c, () => window.seen.at(-1)?.join() === 'from b,from a,from c,from d');
    assert.deepEqual(pages.flatMap((p) => p.errors), []);
    for (const p of pages.slice(1)) await p.close();
  });
}

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
