// Versioned schemas across tabs: one page owns the IndexedDB database, two
// others connect with a newer schema at the same time. The migration step
// runs exactly once (the other page waits on the Web Lock and then finds
// the version current), every page sees the new version, and a page with
// the old app version gets VERSION_TOO_NEW and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

const page = () => env.page();

// In the page: the schema at `version` (1 or 2); step 2 counts its runs in
// localStorage, which every page of the origin shares.
function schemaAt(version) {
  const columns = [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'title', type: 'string' },
  ];
  if (version >= 2) columns.push({ name: 'done', type: 'boolean', notNull: true, default: false });
  return {
    version,
    database: 'app',
    tables: { notes: { columns, indexes: version >= 2 ? [{ columns: ['done'] }] : [] } },
    migrations: version < 2 ? {} : {
      2: async (tx) => {
        localStorage.setItem('runs', String(Number(localStorage.getItem('runs') ?? 0) + 1));
        await tx.table('notes').addColumn({ name: 'done', type: 'boolean', notNull: true, default: false });
        await new Promise((r) => setTimeout(r, 200)); // the other page tries meanwhile
        await tx.table('notes').update({ done: true }, { where: { title: 'first' } });
        await tx.table('notes').createIndex({ columns: ['done'] });
      },
    },
  };
}

async function open(version) {
  try {
    window.conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'schema-tabs', schema: (0, eval)(`(${window.schemaAt})`)(version) });
    return { version: await window.conn.schemaVersion(), owner: window.minibase.isOwner('schema-tabs') };
  } catch (err) {
    return { code: err.code, message: err.message };
  }
}

test('pages migrating at once: the step runs once, all see the new version; an old page is refused', { skip }, async () => {
  const pages = [await page(), await page(), await page()];
  for (const p of pages) await p.evaluate((src) => { window.schemaAt = src; }, schemaAt.toString());
  const [a, b, c] = pages;
  assert.deepEqual(await a.evaluate(`(${open})(1)`), { version: 1, owner: true });
  await a.evaluate(() => window.conn.table('notes').insertMany([{ title: 'first' }, { title: 'second' }]));

  const [rb, rc] = await Promise.all([b.evaluate(`(${open})(2)`), c.evaluate(`(${open})(2)`)]);
  assert.deepEqual(rb, { version: 2, owner: false });
  assert.deepEqual(rc, { version: 2, owner: false });
  assert.equal(await a.evaluate(() => localStorage.getItem('runs')), '1', 'the step ran exactly once');
  for (const p of pages) {
    const rows = await p.evaluate(async () => {
      await window.conn.useDatabase('app');
      return window.conn.table('notes').select({ orderBy: 'id' });
    });
    assert.deepEqual(rows, [{ id: 1, title: 'first', done: true }, { id: 2, title: 'second', done: false }]);
  }
  assert.equal(await b.evaluate(async () => (await window.conn.table('notes').explain({ where: { done: true } })).index), 'idx_done');

  // The old app version in a fresh page: refused, nothing changed.
  const d = await page();
  await d.evaluate((src) => { window.schemaAt = src; }, schemaAt.toString());
  const rd = await d.evaluate(`(${open})(1)`);
  assert.equal(rd.code, 'VERSION_TOO_NEW', rd.message);
  assert.equal(await a.evaluate(() => window.conn.schemaVersion()), 2);
  for (const p of [...pages, d]) assert.deepEqual(p.errors, []);
});
