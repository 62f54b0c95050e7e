// The 'opfs' adapter: the engine in the loader's own Worker on OPFS files.
// The IndexedDB suite's cases on it: a reload and a browser restart, the
// browser SIGKILLed right after an acknowledgment, the app's own Worker on the
// same database (forwarded to the owning tab's engine), eviction (the
// origin's OPFS cleared behind the app's back), and QUOTA_EXCEEDED. Two tabs
// with an owner hand-over are in tabs.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, openPage, ready, repoRoot, skip, startServer, tempProfile } from './helpers.mjs';

const WORKER = `// An app's dedicated module Worker using an OPFS database.
import { connect } from '/js/dist/browser.mjs';

let conn;
self.onmessage = async (e) => {
  const { name, op, row } = e.data;
  try {
    conn ??= await connect({ adapter: 'opfs', name });
    await conn.useDatabase('app');
    const notes = conn.table('notes');
    if (op === 'insert') self.postMessage({ ok: await notes.insert(row) });
    else self.postMessage({ ok: await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] }) });
  } catch (err) {
    self.postMessage({ error: \`\${err.code}: \${err.message}\` });
  }
};
`;

let server;
let build;

before(async () => {
  if (skip) return;
  build = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-opfs-'));
  fs.writeFileSync(path.join(build, 'worker.js'), WORKER);
  server = await startServer({ mounts: { '/': repoRoot, '/build/': build } });
});

after(async () => {
  await server?.close();
  if (build) fs.rmSync(build, { recursive: true, force: true });
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

const texts = (p, name) =>
  inPage(p, async (open, name) => (await (await open(name)).table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text), name);

test('opfs: writes survive a reload and a browser restart', { skip }, async () => {
  const profile = tempProfile();
  let ctx;
  try {
    ctx = await launch(profile);
    let p = await page(ctx);
    const count = await inPage(p, async (open) => {
      const conn = await open('persist', 'strict');
      const notes = conn.table('notes');
      await notes.insert({ text: 'first', n: 1 });
      await notes.insertMany(Array.from({ length: 5000 }, (_, i) => ({ text: `bulk ${i}`, n: i })));
      await conn.transaction(async (tx) => {
        await tx.table('notes').insert({ text: 'in tx', n: 7 });
        await tx.table('notes').update({ n: 2 }, { where: { text: 'first' } });
      });
      await notes.delete({ where: { n: { '>=': 400 } } });
      const st = await conn.stats();
      return { n: await notes.count(), files: st.files, storage: { usage: st.storageUsageBytes }, owner: window.minibase.isOwner('persist', 'opfs') };
    });
    assert.equal(count.n, 402);
    assert.ok(count.files > 0);
    assert.equal(count.owner, true);
    assert.equal(typeof count.storage.usage, 'number');
    const want = await texts(p);
    assert.equal(want.length, 402);

    await p.reload();
    await ready(p);
    assert.deepEqual(await texts(p), want, 'after a reload');
    // A second page sees the same data, through the first page's worker.
    const p2 = await page(ctx);
    assert.deepEqual(await texts(p2), want, 'in a second page');
    assert.equal(await p2.evaluate(() => window.minibase.isOwner('persist', 'opfs')), false);
    // The IndexedDB database of the same name is another database.
    assert.deepEqual(
      await p2.evaluate(async () => (await window.minibase.connect({ adapter: 'indexeddb', name: 'persist' })).showDatabases()),
      [],
    );
    assert.deepEqual([...p.errors, ...p2.errors], []);
    await ctx.close();

    ctx = await launch(profile);
    p = await page(ctx);
    assert.deepEqual(await texts(p), want, 'after a browser restart');
    // Closing every connection, releasing (the worker lets go of the files), connecting again.
    const again = await p.evaluate(async () => {
      const c1 = await window.minibase.connect({ adapter: 'opfs', name: 'reopen' });
      await c1.createDatabase('app');
      await c1.useDatabase('app');
      await c1.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }] });
      await c1.table('t').insertMany([{ k: 'a' }, { k: 'b' }]);
      await c1.close();
      await window.minibase.release('reopen', 'opfs');
      const c2 = await window.minibase.connect({ adapter: 'opfs', name: 'reopen' });
      await c2.useDatabase('app');
      await c2.table('t').insert({ k: 'c' });
      const rows = (await c2.table('t').select({})).map((r) => r.k);
      await c2.close();
      await window.minibase.deleteDatabase('reopen', 'opfs');
      const c3 = await window.minibase.connect({ adapter: 'opfs', name: 'reopen' });
      return { rows, afterDelete: await c3.showDatabases() };
    });
    assert.deepEqual(again, { rows: ['a', 'b', 'c'], afterDelete: [] });
    assert.deepEqual(await p.evaluate(() => window.evictions), [], 'a deleted database is not an evicted one');
  } finally {
    await ctx?.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test("opfs: the app's own Worker uses the same database", { skip }, async () => {
  const profile = tempProfile();
  const ctx = await launch(profile);
  try {
    const p = await page(ctx);
    const result = await inPage(p, async (open) => {
      const conn = await open('shared');
      await conn.table('notes').insert({ text: 'from the page', n: 1 });
      const worker = new Worker('/build/worker.js', { type: 'module' });
      const ask = (msg) =>
        new Promise((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.postMessage({ name: 'shared', ...msg });
        });
      const fromWorker = await ask({ op: 'insert', row: { text: 'from the worker', n: 2 } });
      const seenByWorker = await ask({ op: 'select' });
      const seenByPage = (await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text);
      worker.terminate();
      return { fromWorker, seenByWorker, seenByPage };
    });
    assert.deepEqual(result.fromWorker, { ok: { id: 2 } });
    assert.deepEqual(result.seenByWorker.ok.map((r) => r.text), ['from the page', 'from the worker']);
    assert.deepEqual(result.seenByPage, ['from the page', 'from the worker']);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

// The browser process of the Chromium started on profile dir (not its helpers).
function browserPid(dir) {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const line = ps.split('\n').find((l) => l.includes(`--user-data-dir=${dir}`) && !l.includes('--type='));
  assert.ok(line, `no browser process for ${dir}`);
  return Number(line.trim().split(/\s+/)[0]);
}

test('opfs: acknowledged writes survive the browser being killed', { skip }, async () => {
  const dir = tempProfile();
  let ctx;
  try {
    ctx = await launch(dir);
    let p = await page(ctx);
    const acked = await inPage(p, async (open) => {
      const notes = (await open('killed')).table('notes');
      for (let i = 0; i < 50; i++) await notes.insert({ text: `one ${i}`, n: i });
      await notes.insertMany(Array.from({ length: 1000 }, (_, i) => ({ text: `many ${i}`, n: i })));
      return notes.count();
    });
    assert.equal(acked, 1050);
    // No graceful shutdown: SIGKILL the browser process right after the acknowledgment.
    process.kill(browserPid(dir), 'SIGKILL');
    await ctx.close().catch(() => {});
    ctx = await launch(dir);
    p = await page(ctx);
    const got = await texts(p, 'killed');
    assert.equal(got.length, 1050);
    assert.equal(got[49], 'one 49');
    assert.deepEqual(await p.evaluate(() => window.evictions), []);
  } finally {
    await ctx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

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
