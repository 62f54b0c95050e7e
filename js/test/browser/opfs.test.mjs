// What only the 'opfs' adapter (the engine in the loader's own Worker on OPFS
// files) has to show: eviction (the origin's OPFS cleared behind the app's
// back) and QUOTA_EXCEEDED. The cases of every backend (reload, restart, a
// second page, the app's Worker, SIGKILL) are in backends.test.mjs; two tabs
// with an owner hand-over are in tabs.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launch, openPage, ready, repoRoot, skip, startServer, tempProfile } from './helpers.mjs';

let server;

before(async () => {
  if (skip) return;
  server = await startServer({ mounts: { '/': repoRoot } });
});

after(async () => {
  await server?.close();
});

async function page(ctx) {
  const p = await openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`);
  await ready(p);
  await p.evaluate(() => {
    window.evictions = [];
    window.minibase.events.addEventListener('evicted', (e) => window.evictions.push(e.detail));
  });
  return p;
}

// Runs in the page: opens OPFS database `name`, creating the schema when new.
async function open(name = 'persist', durability) {
  const conn = await window.minibase.connect({ adapter: 'opfs', name, durability });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('notes', {
    ifNotExists: true,
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'text', type: 'string', unique: true },
      { name: 'n', type: 'number' },
    ],
    indexes: [{ columns: ['n'] }],
  });
  return conn;
}

/** Runs fn(open, arg) in the page. */
const inPage = (p, fn, arg) =>
  p.evaluate(
    async ({ src, openSrc, arg }) => (0, eval)(`(${src})`)((0, eval)(`(${openSrc})`), arg), // eslint-disable-line no-eval
    { src: fn.toString(), openSrc: open.toString(), arg },
  );

test('opfs: the origin cleared behind the app: evicted, and an empty database', { skip }, async () => {
  const dir = tempProfile();
  const ctx = await launch(dir);
  try {
    let p = await page(ctx);
    assert.equal(await inPage(p, async (open) => (await open('gone')).table('notes').insertMany([{ text: 'a', n: 1 }, { text: 'b', n: 2 }])).then(() => 2), 2);
    await p.close();
    const other = await ctx.newPage();
    const cdp = await ctx.newCDPSession(other);
    await cdp.send('Storage.clearDataForOrigin', { origin: server.url, storageTypes: 'file_systems' });
    await other.close();
    p = await page(ctx);
    const dbs = await p.evaluate(async () => (await window.minibase.connect({ adapter: 'opfs', name: 'gone' })).showDatabases());
    assert.deepEqual(dbs, []);
    assert.deepEqual(await p.evaluate(() => window.evictions.map((e) => [e.name, e.adapter])), [['gone', 'opfs']]);
    assert.deepEqual(p.errors, []);
  } finally {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('opfs: QUOTA_EXCEEDED, then a usable database', { skip }, async () => {
  const dir = tempProfile();
  const ctx = await launch(dir);
  try {
    const p = await openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`);
    await ready(p);
    const cdp = await ctx.newCDPSession(p);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: 8 * 1024 * 1024 });
    const openBlobs = async () => {
      const conn = await window.minibase.connect({ adapter: 'opfs', name: 'quota' });
      await conn.createDatabase('app', { ifNotExists: true });
      await conn.useDatabase('app');
      await conn.createTable('blobs', {
        ifNotExists: true,
        columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'body', type: 'string' }],
      });
      return conn;
    };
    const r = await p.evaluate(async (src) => {
      const conn = await (0, eval)(`(${src})`)(); // eslint-disable-line no-eval
      const blobs = conn.table('blobs');
      await blobs.insertMany([1, 2, 3].map((id) => ({ id, body: 'small' })));
      const random = () => Array.from(crypto.getRandomValues(new Uint8Array(2048)), (x) => x.toString(16).padStart(2, '0')).join('');
      // 1 MB a call (random: nothing compresses it) until the quota refuses one.
      let code = 'acknowledged';
      let acked = 3;
      for (let round = 0; round < 16 && code === 'acknowledged'; round++) {
        try {
          await blobs.insertMany(Array.from({ length: 250 }, (_, i) => ({ id: 1000 * (round + 1) + i, body: random() })));
          acked += 250;
        } catch (err) {
          code = err.code;
          window.quotaError = err.message;
        }
      }
      window.conn = conn;
      return { code, message: window.quotaError, acked, afterRefused: await blobs.count() };
    }, openBlobs.toString());
    assert.equal(r.code, 'QUOTA_EXCEEDED', r.message);
    assert.equal(r.afterRefused, r.acked, 'the refused insert left nothing');
    // More quota: the same connection takes writes again; freeing space works.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: 64 * 1024 * 1024 });
    const final = await p.evaluate(async () => {
      const blobs = window.conn.table('blobs');
      await blobs.insert({ id: 4, body: 'after' });
      await blobs.delete({ where: { id: { '>=': 1000 } } });
      await window.conn.compact();
      return blobs.count();
    });
    assert.equal(final, 4);
    await p.reload();
    await ready(p);
    const ids = await p.evaluate(async (src) => {
      const conn = await (0, eval)(`(${src})`)(); // eslint-disable-line no-eval
      return (await conn.table('blobs').select({ columns: ['id'] })).map((x) => x.id).sort((a, b) => a - b);
    }, openBlobs.toString());
    assert.deepEqual(ids, [1, 2, 3, 4]);
  } finally {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
