// The offline PWA (examples/pwa): load it, add tasks, go offline, reload —
// the service worker serves the app and the engine, the tasks are there;
// add more offline; they survive another reload. Screenshot kept in
// js/test/browser/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { serve } from '../../../examples/pwa/serve.mjs';
import { artifacts, launch, skip, tempProfile } from './helpers.mjs';

let server;
let profile;
let ctx;

before(async () => {
  if (skip) return;
  server = await serve({ port: 0 });
  profile = tempProfile();
  ctx = await launch(profile);
});

after(async () => {
  await ctx?.close();
  await server?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const titles = (page) => page.$$eval('#tasks li span', (els) => els.map((e) => e.textContent));

async function add(page, title) {
  const before = Number(await page.getAttribute('body', 'data-count'));
  await page.fill('#title', title);
  await page.click('button[type=submit]');
  await page.waitForFunction((n) => Number(document.body.dataset.count) === n, before + 1);
}

async function appReady(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

test('the PWA works offline after the first visit', { skip }, async () => {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(server.url);
  await appReady(page);
  // The service worker installed (shell and engine cached) and controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const manifest = await page.evaluate(async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json());
  assert.equal(manifest.short_name, 'Tasks');
  const cached = await page.evaluate(async () => (await (await caches.open('tasks-v1')).keys()).map((r) => new URL(r.url).pathname));
  assert.ok(cached.includes('/minibase/minibase.wasm') && cached.includes('/app.js'), JSON.stringify(cached));

  await add(page, 'buy milk');
  await add(page, 'write tests');
  assert.deepEqual(await titles(page), ['buy milk', 'write tests']);

  // Playwright's offline mode does not cover the service worker's own
  // fetches, so the server goes away too: nothing can come from the network.
  await ctx.setOffline(true);
  const served = server.requests();
  await server.close();
  await page.reload();
  await appReady(page);
  assert.deepEqual(await titles(page), ['buy milk', 'write tests'], 'served by the service worker, offline');

  await add(page, 'offline task');
  await page.reload();
  await appReady(page);
  assert.deepEqual(await titles(page), ['buy milk', 'write tests', 'offline task']);
  assert.equal(server.requests(), served, 'nothing reached the server while offline');
  // Offline for real: the network is unreachable from the page.
  assert.equal(await page.evaluate(() => fetch('./not-cached').then((r) => `reached: ${r.status}`, () => 'offline')), 'offline');

  fs.mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, 'pwa-offline.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 1000);
  assert.deepEqual(errors, []);
  await ctx.setOffline(false);
  server = null; // closed above
});
