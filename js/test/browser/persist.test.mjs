// Data on the IndexedDB adapter survives a page reload and a browser restart
// with the same profile directory; a dedicated Worker uses the same database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, openPage, ready, repoRoot, skip, startServer, tempProfile } from './helpers.mjs';

// Worker scripts are written at test time into a directory served as
// /build/: node --test would run any .js file kept below js/test.
const WORKER = `// A dedicated module Worker using minibase: answers { name, op } messages.
import { connect } from '/js/dist/browser.mjs';

let conn;
self.onmessage = async (e) => {
  const { name, op, row } = e.data;
  try {
    conn ??= await connect({ adapter: 'indexeddb', name });
    await conn.useDatabase('app');
    const notes = conn.table('notes');
    if (op === 'insert') self.postMessage({ ok: await notes.insert(row) });
    else self.postMessage({ ok: await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] }) });
  } catch (err) {
    self.postMessage({ error: \`\${err.code}: \${err.message}\` });
  }
};
`;

const SERVICE_WORKER = `// A module service worker that uses minibase itself: answers { name } messages
// with the rows of table notes, after inserting one of its own.
import { connect } from '/js/dist/browser.mjs';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  e.waitUntil(
    (async () => {
      try {
        const conn = await connect({ adapter: 'indexeddb', name: e.data.name });
        await conn.useDatabase('app');
        await conn.table('notes').insert({ text: 'from the service worker', n: 3 });
        const rows = await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] });
        e.source.postMessage({ ok: rows.map((r) => r.text) });
      } catch (err) {
        e.source.postMessage({ error: \`\${err.code}: \${err.message}\` });
      }
    })(),
  );
});
`;

let server;
let profile;
let build;

before(async () => {
  if (skip) return;
  build = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-browser-workers-'));
  fs.writeFileSync(path.join(build, 'worker.js'), WORKER);
  fs.writeFileSync(path.join(build, 'sw.js'), SERVICE_WORKER);
  server = await startServer({ mounts: { '/': repoRoot, '/build/': build } });
  profile = tempProfile();
});

after(async () => {
  await server?.close();
  for (const dir of [profile, build]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const page = (ctx) => openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`);

// Runs in the page: opens database 'persist', creating the schema when new.
async function open(durability) {
  const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'persist', durability });
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

const texts = async (p) =>
  p.evaluate(async (src) => {
    const open = eval(`(${src})`);
    const conn = await open();
    return (await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text);
  }, open.toString());

test('writes survive a reload and a browser restart', { skip }, async () => {
  let ctx = await launch(profile);
  let p = await page(ctx);
  await ready(p);
  const inserted = await p.evaluate(async (src) => {
    const open = eval(`(${src})`);
    const conn = await open('strict');
    const notes = conn.table('notes');
    await notes.insert({ text: 'first', n: 1 });
    await notes.insertMany(Array.from({ length: 500 }, (_, i) => ({ text: `bulk ${i}`, n: i })));
    await conn.transaction(async (tx) => {
      await tx.table('notes').insert({ text: 'in tx', n: 7 });
      await tx.table('notes').update({ n: 2 }, { where: { text: 'first' } });
    });
    await notes.delete({ where: { n: { '>=': 400 } } });
    return notes.count();
  }, open.toString());
  assert.equal(inserted, 402);
  const want = await texts(p);
  assert.equal(want.length, 402);
  assert.equal(want[0], 'first');

  await p.reload();
  await ready(p);
  assert.deepEqual(await texts(p), want, 'after a reload');
  // A second page of the same browser sees the same data (through the first).
  const p2 = await page(ctx);
  await ready(p2);
  assert.deepEqual(await texts(p2), want, 'in a second page');
  assert.deepEqual([...p.errors, ...p2.errors], []);
  await ctx.close();

  ctx = await launch(profile);
  p = await page(ctx);
  await ready(p);
  assert.deepEqual(await texts(p), want, 'after a browser restart');
  const n2 = await p.evaluate(async () => {
    const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'persist' });
    await conn.useDatabase('app');
    return (await conn.table('notes').get(1)).n;
  });
  assert.equal(n2, 2, 'the transaction committed');
  // Closing every connection and connecting again in the same page.
  const again = await p.evaluate(async () => {
    const c1 = await window.minibase.connect({ adapter: 'indexeddb', name: 'reopen' });
    await c1.createDatabase('app');
    await c1.useDatabase('app');
    await c1.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }] });
    await c1.table('t').insertMany([{ k: 'a' }, { k: 'b' }]);
    await c1.close();
    const c2 = await window.minibase.connect({ adapter: 'indexeddb', name: 'reopen' });
    await c2.useDatabase('app');
    await c2.table('t').insert({ k: 'c' });
    return (await c2.table('t').select({})).map((r) => r.k);
  });
  assert.deepEqual(again, ['a', 'b', 'c']);
  await ctx.close();
});

test('a dedicated Worker opens the same database', { skip }, async () => {
  const ctx = await launch(tempProfile());
  try {
    const p = await page(ctx);
    await ready(p);
    const result = await p.evaluate(async (src) => {
      const open = eval(`(${src})`);
      const conn = await open();
      await conn.table('notes').insert({ text: 'from the page', n: 1 });
      const worker = new Worker('/build/worker.js', { type: 'module' });
      const ask = (msg) =>
        new Promise((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.postMessage({ name: 'persist', ...msg });
        });
      const fromWorker = await ask({ op: 'insert', row: { text: 'from the worker', n: 2 } });
      const seenByWorker = await ask({ op: 'select' });
      const seenByPage = (await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text);
      worker.terminate();
      return { fromWorker, seenByWorker, seenByPage };
    }, open.toString());
    assert.deepEqual(result.fromWorker, { ok: { id: 2 } });
    assert.deepEqual(result.seenByWorker.ok.map((r) => r.text), ['from the page', 'from the worker']);
    assert.deepEqual(result.seenByPage, ['from the page', 'from the worker']);
  } finally {
    await ctx.close();
  }
});

// The browser process of the Chromium started on profile dir (not its helpers).
function browserPid(dir) {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const line = ps.split('\n').find((l) => l.includes(`--user-data-dir=${dir}`) && !l.includes('--type='));
  assert.ok(line, `no browser process for ${dir}`);
  return Number(line.trim().split(/\s+/)[0]);
}

test('acknowledged writes survive the browser being killed', { skip }, async () => {
  const dir = tempProfile();
  try {
    let ctx = await launch(dir);
    let p = await page(ctx);
    await ready(p);
    const acked = await p.evaluate(async (src) => {
      const open = eval(`(${src})`);
      const conn = await open();
      const notes = conn.table('notes');
      for (let i = 0; i < 50; i++) await notes.insert({ text: `one ${i}`, n: i });
      await notes.insertMany(Array.from({ length: 1000 }, (_, i) => ({ text: `many ${i}`, n: i })));
      return notes.count();
    }, open.toString());
    assert.equal(acked, 1050);
    // No graceful shutdown: SIGKILL the browser process right after the acknowledgment.
    process.kill(browserPid(dir), 'SIGKILL');
    await ctx.close().catch(() => {});
    ctx = await launch(dir);
    p = await page(ctx);
    await ready(p);
    const got = await texts(p);
    assert.equal(got.length, 1050);
    assert.equal(got[49], 'one 49');
    await ctx.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a Service Worker opens the same database', { skip }, async () => {
  const dir = tempProfile();
  const ctx = await launch(dir);
  try {
    const p = await page(ctx);
    await ready(p);
    const result = await p.evaluate(async (src) => {
      const open = eval(`(${src})`);
      const conn = await open();
      await conn.table('notes').insert({ text: 'from the page', n: 1 });
      // A live query and the change feed of this page see the service worker's write.
      const sources = [];
      const feed = conn.changes({ tables: ['notes'] }, (c) => sources.push(`${c.op}:${c.source}`));
      let live;
      const liveSaw = new Promise((resolve, reject) => {
        live = conn.table('notes').watch({ orderBy: [{ name: 'id', type: 'asc' }] }, (rows) => {
          if (rows.some((r) => r.text === 'from the service worker')) resolve(rows.map((r) => r.text));
        });
        setTimeout(() => reject(new Error('no live update after the service worker wrote')), 20_000);
      });
      const reg = await navigator.serviceWorker.register('/build/sw.js', { type: 'module', scope: '/build/' });
      const sw = reg.installing ?? reg.waiting ?? reg.active;
      if (sw.state !== 'activated') await new Promise((resolve) => sw.addEventListener('statechange', () => sw.state === 'activated' && resolve()));
      const answer = await new Promise((resolve) => {
        navigator.serviceWorker.onmessage = (e) => resolve(e.data);
        sw.postMessage({ name: 'persist' });
      });
      const seenByPage = (await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text);
      const liveRows = await liveSaw;
      live.unsubscribe();
      feed.unsubscribe();
      return { answer, seenByPage, liveRows, sources };
    }, open.toString());
    assert.deepEqual(result.answer, { ok: ['from the page', 'from the service worker'] });
    assert.deepEqual(result.seenByPage, ['from the page', 'from the service worker']);
    assert.deepEqual(result.liveRows, ['from the page', 'from the service worker'], 'the live query followed the service worker');
    assert.ok(result.sources.includes('insert:tab'), `the change feed says where the write came from: ${result.sources}`);
  } finally {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
