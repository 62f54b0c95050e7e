// The foundation's JS API suite (js/test/api.test.mjs), run inside a real
// Chromium page with every connection on the IndexedDB adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleApiSuite } from './bundle.mjs';
import { openPage, ready, skip, useBrowser } from './helpers.mjs';

// Need Node's child_process: nothing to test in a page (opfs.test.mjs has the page's preload).
const SKIP = ['the CommonJS entry works through require("minibase-db")', 'preload starts the engine ahead of connect; a failed preload leaves the next start to try again'];

const env = useBrowser({ build: (dir) => bundleApiSuite(dir) });

test('the JS API suite passes in Chromium on IndexedDB', { skip }, async () => {
  const page = await openPage(env.ctx, `${env.server.url}/js/test/browser/pages/api.html`);
  await ready(page);
  const results = await page.evaluate((skip) => window.runSuite(skip), SKIP);
  const failed = results.filter((r) => r.ok === false);
  const ran = results.filter((r) => r.ok);
  assert.ok(ran.length >= 15, `only ${ran.length} cases ran: ${JSON.stringify(results)}`);
  assert.deepEqual(failed, [], failed.map((f) => `${f.name}: ${f.error}`).join('\n\n'));
  assert.deepEqual(page.errors, []);
  // What the suite wrote went to IndexedDB, not to memory.
  const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(dbs.some((n) => n.startsWith('minibase:api-test-')), JSON.stringify(dbs));
});
