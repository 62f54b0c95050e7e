// What only the IndexedDB adapter has to show here: a Service Worker uses the
// same database as the page (the OPFS adapter cannot run in one). The cases
// of every backend (reload, restart, a dedicated Worker, SIGKILL) are in
// backends.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, skip, useBrowser } from './helpers.mjs';

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

const env = useBrowser({ files: { 'sw.js': SERVICE_WORKER } });

test('a Service Worker opens the same database', { skip }, async () => {
  const p = await env.page();
  const result = await inPage(p, async (open) => {
    const conn = await open('persist');
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
  });
  assert.deepEqual(result.answer, { ok: ['from the page', 'from the service worker'] });
  assert.deepEqual(result.seenByPage, ['from the page', 'from the service worker']);
  assert.deepEqual(result.liveRows, ['from the page', 'from the service worker'], 'the live query followed the service worker');
  assert.ok(result.sources.includes('insert:tab'), `the change feed says where the write came from: ${result.sources}`);
  assert.deepEqual(p.errors, []);
});
