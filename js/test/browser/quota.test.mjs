// A page with a small storage quota (set through the DevTools protocol) gets
// QUOTA_EXCEEDED for a write IndexedDB refuses, and keeps a usable database
// holding exactly the acknowledged writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, ready, skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

// In the page: database 'quota' with table blobs, kept as window.conn; its row count.
const open = (p) =>
  inPage(p, async (open) => {
    window.conn = await open('quota');
    return window.conn.table('blobs').count();
  }, undefined, { table: 'blobs' });

const ids = (p) => p.evaluate(async () => (await window.conn.table('blobs').select({ columns: ['id'] })).map((r) => r.id));

test('QUOTA_EXCEEDED, then a usable database', { skip }, async () => {
  const p = await env.page();
  // Before IndexedDB is first used: Chromium keeps the quota it saw when it
  // opened the origin's IndexedDB storage.
  const cdp = await env.ctx.newCDPSession(p);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.server.url, quotaSize: 1024 * 1024 });
  const st = await cdp.send('Storage.getUsageAndQuota', { origin: env.server.url });
  assert.ok(st.overrideActive && st.quota === 1024 * 1024, `quota override took effect (${JSON.stringify(st)})`);

  assert.equal(await open(p), 0);
  await p.evaluate(() => window.conn.table('blobs').insertMany([1, 2, 3].map((id) => ({ id, body: 'small' }))));

  // ~4 MB in one commit, random (IndexedDB compresses values): more than the quota allows.
  const code = await p.evaluate(async () => {
    const random = () => Array.from(crypto.getRandomValues(new Uint8Array(2048)), (x) => x.toString(16).padStart(2, '0')).join('');
    try {
      await window.conn.table('blobs').insertMany(Array.from({ length: 1000 }, (_, i) => ({ id: 100 + i, body: random() })));
      return 'acknowledged';
    } catch (err) {
      return err.code;
    }
  });
  assert.equal(code, 'QUOTA_EXCEEDED');

  // The refused commit is gone; the database still takes small writes.
  assert.deepEqual((await ids(p)).sort((a, b) => a - b), [1, 2, 3]);
  await p.evaluate(() => window.conn.table('blobs').insert({ id: 4, body: 'after' }));
  assert.deepEqual((await ids(p)).sort((a, b) => a - b), [1, 2, 3, 4]);

  // And it is what a reload finds.
  await p.reload();
  await ready(p);
  assert.equal(await open(p), 4);
  assert.equal(await p.evaluate(async () => (await window.conn.table('blobs').get(4)).body), 'after');
  assert.deepEqual(p.errors, []);
});
