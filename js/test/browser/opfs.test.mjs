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

// The engine's worker dies under the page (terminated as a crash would, or an
// uncaught error in it): the calls it had fail with WORKER_LOST instead of
// hanging, the next call starts a new worker on the same files, and what was
// acknowledged before is there, after a reload too.
for (const kill of ['terminate', 'error']) {
  test(`opfs: the engine's worker dies (${kill}): pending calls fail, the next call reopens`, { skip }, async () => {
    const dir = tempProfile();
    const ctx = await launch(dir);
    try {
      const p = await page(ctx);
      const name = `killed-${kill}`;
      const r = await inPage(
        p,
        async (open, { name, kill }) => {
          const conn = await open(name);
          const notes = conn.table('notes');
          for (let i = 0; i < 5; i++) await notes.insert({ text: `before-${i}`, n: i });
          const tx = await conn.begin();
          await tx.table('notes').insert({ text: 'in-tx', n: -1 });
          const pending = Array.from({ length: 40 }, (_, i) => notes.insert({ text: `during-${i}`, n: 100 + i }));
          // A long call last, then a turn of the page's loop: the calls are in
          // the worker's queue, not all answered, when it dies. (Calls not
          // sent yet when it died would run on the next worker.)
          const big = notes.insertMany(Array.from({ length: 5000 }, (_, i) => ({ text: `big-${i}`, n: 10_000 + i })));
          await new Promise((resolve) => setTimeout(resolve, 0));
          const worker = globalThis[Symbol.for('minibase.opfsWorker')];
          if (kill === 'terminate') worker.terminate();
          else worker.dispatchEvent(new ErrorEvent('error', { message: 'a crash, simulated' }));
          const settled = await Promise.allSettled([...pending, big]);
          const acked = [];
          const codes = new Set();
          settled.forEach((s, i) => (s.status === 'fulfilled' ? acked.push(i < 40 ? `during-${i}` : 'big-0') : codes.add(s.reason.code)));
          const txCode = await tx.table('notes').insert({ text: 'in-tx-2', n: -2 }).then(() => 'acknowledged', (err) => err.code);
          const rows = (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text);
          await notes.insert({ text: 'after', n: 1000 });
          return { acked, codes: [...codes], failed: settled.length - acked.length, txCode, rows, newWorker: globalThis[Symbol.for('minibase.opfsWorker')] !== worker };
        },
        { name, kill },
      );
      assert.ok(r.failed > 0, 'calls were pending when the worker died');
      assert.deepEqual(r.codes, ['WORKER_LOST']);
      assert.equal(r.txCode, 'TX_CLOSED', 'a transaction of the dead worker is gone');
      assert.ok(r.newWorker, 'a new worker runs the engine');
      const before = ['before-0', 'before-1', 'before-2', 'before-3', 'before-4'];
      assert.deepEqual(r.rows.slice(0, 5), before, 'rows committed before the death are intact');
      for (const a of r.acked) assert.ok(r.rows.includes(a), `acknowledged ${a} is there`);
      // A call that failed may have committed or not; nothing else is there.
      for (const t of r.rows.slice(5)) assert.match(t, /^(during|big)-\d+$/);
      assert.ok(!r.rows.includes('in-tx'), 'the uncommitted transaction left nothing');
      await p.reload();
      await ready(p);
      const reloaded = await inPage(p, async (open, name) => (await (await open(name)).table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text), name);
      assert.deepEqual(reloaded, [...r.rows, 'after']);
      assert.deepEqual(p.errors, []);
    } finally {
      await ctx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("opfs: the owner's worker dies: another tab's calls go on, and release and delete work with it dead", { skip }, async () => {
  const dir = tempProfile();
  const ctx = await launch(dir);
  try {
    const owner = await page(ctx);
    const other = await page(ctx);
    await inPage(owner, async (open) => {
      window.conn = await open('shared-kill');
      await window.conn.table('notes').insert({ text: 'owner', n: 1 });
    });
    await inPage(other, async (open) => {
      window.conn = await open('shared-kill');
      await window.conn.table('notes').insert({ text: 'other', n: 2 });
    });
    assert.equal(await owner.evaluate(() => window.minibase.isOwner('shared-kill', 'opfs')), true);
    await owner.evaluate(() => globalThis[Symbol.for('minibase.opfsWorker')].terminate());
    // The other tab's forwarded calls reach the owner, which starts a new worker.
    const seen = await other.evaluate(async () => {
      const notes = window.conn.table('notes');
      await notes.insert({ text: 'other after', n: 3 });
      return (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text);
    });
    assert.deepEqual(seen, ['owner', 'other', 'other after']);
    // Dead again, with no call between: giving the database up and deleting it work.
    const after = await owner.evaluate(async () => {
      globalThis[Symbol.for('minibase.opfsWorker')].terminate();
      await window.minibase.release('shared-kill', 'opfs');
      return window.minibase.isOwner('shared-kill', 'opfs');
    });
    assert.equal(after, false);
    await owner.close();
    assert.deepEqual(await other.evaluate(async () => (await window.conn.table('notes').count()) ), 3, 'the other tab owns it now, with every row');
    const deleted = await other.evaluate(async () => {
      await window.conn.close();
      await window.minibase.deleteDatabase('shared-kill', 'opfs');
      return (await window.minibase.connect({ adapter: 'opfs', name: 'shared-kill' })).showDatabases();
    });
    assert.deepEqual(deleted, []);
    assert.deepEqual([...owner.errors, ...other.errors], []);
  } finally {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
