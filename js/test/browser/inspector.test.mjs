// The browser inspector (minibase-db/inspector) in Chromium on IndexedDB:
// tables with row counts, schema, a paged row view, a query box, stats;
// a screenshot goes to js/test/browser/artifacts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { artifacts, openPage, ready, skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

test('the inspector shows tables, pages rows, runs a query and shows stats', { skip }, async () => {
  const page = await openPage(env.ctx, `${env.server.url}/js/test/browser/pages/inspect.html`);
  await ready(page);
  await page.evaluate(async () => {
    const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'inspect-test' });
    await conn.createDatabase('shop');
    await conn.useDatabase('shop');
    await conn.createTable('users', {
      columns: [
        { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
        { name: 'name', type: 'string', unique: true },
        { name: 'age', type: 'number' },
        { name: 'tags', type: 'object' },
        { name: 'pic', type: 'bytes' },
      ],
      indexes: [{ columns: ['age'] }],
    });
    await conn.table('users').insertMany(Array.from({ length: 120 }, (_, i) => ({ name: `user ${i}`, age: 18 + (i % 50), tags: ['a', i], pic: new Uint8Array([i, 1, 2]) })));
    await conn.createDatabase('logs');
    window.inspector = await window.mountInspector(document.getElementById('inspector'), conn, { pageSize: 25 });
    await window.inspector.select('shop', 'users');
  });
  const text = (sel) => page.locator(sel).allTextContents();
  assert.deepEqual(await text('nav .db'), ['logs', 'shop']);
  assert.deepEqual(await text('nav button'), ['users (120)']);
  assert.match((await text('.stats'))[0], /keys \d+/);
  assert.match((await text('.schema'))[0], /name {2}string {2}unique\n/);
  assert.match((await text('.schema'))[0], /index idx_age \(age\)/);
  assert.equal(await page.locator('tbody tr').count(), 25);
  assert.match((await text('.pager span'))[0], /1–25 of 120/);
  assert.equal((await text('tbody tr:first-child td'))[4], '<3 bytes: 00 01 02>');

  await page.getByText('next ›').click();
  await page.waitForFunction(() => document.querySelector('.pager span')?.textContent.startsWith('26–50'));
  assert.equal((await text('tbody tr:first-child td'))[1], 'user 25');

  await page.fill('textarea', '{ "age": { ">=": 60 } }');
  await page.getByText('run', { exact: true }).click();
  await page.waitForFunction(() => /of 16$/.test(document.querySelector('.pager span')?.textContent ?? ''));
  assert.equal(await page.locator('tbody tr').count(), 16); // ages 60-67: i % 50 in 42..49

  await page.fill('textarea', '{ "nope": 1 }');
  await page.getByText('run', { exact: true }).click();
  await page.waitForFunction(() => document.querySelector('[role=status]')?.textContent.includes('NO_SUCH_COLUMN'));

  fs.mkdirSync(artifacts, { recursive: true });
  await page.fill('textarea', '{ "age": { "<": 30 } }');
  await page.getByText('run', { exact: true }).click();
  await page.waitForFunction(() => /1–25 of 36$/.test(document.querySelector('.pager span')?.textContent ?? ''));
  const shot = path.join(artifacts, 'inspector.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 1000);
  assert.deepEqual(page.errors, []);
});

test('make pwa serves the inspector of the app database at /inspect', { skip }, async () => {
  const { serve } = await import('../../../examples/pwa/serve.mjs');
  const server = await serve({ port: 0 });
  try {
    const app = await openPage(env.ctx, server.url);
    await app.waitForFunction(() => document.getElementById('status')?.textContent.includes('owns'));
    const page = await openPage(env.ctx, `${server.url}inspect`);
    await page.waitForFunction(() => document.querySelector('nav button[data-table="app.tasks"]'));
    assert.match(await page.locator('nav button').first().textContent(), /^tasks \(\d+\)$/);
    await page.locator('nav button').first().click();
    await page.waitForFunction(() => document.querySelector('.schema')?.textContent.includes('title  string'));
    assert.deepEqual(page.errors, []);
  } finally {
    await server.close();
  }
});
