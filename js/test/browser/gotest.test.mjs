// fsadapter/idbfs's Go tests (the shared conformance suite, reload, host
// failures) compiled for js/wasm and run inside Chromium on its real
// IndexedDB, not fake-indexeddb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goTestWasm, openPage, ready, skip, useBrowser } from './helpers.mjs';

const env = useBrowser({ build: (dir) => goTestWasm('./fsadapter/idbfs/', dir) });

test('fsadapter/idbfs passes its Go tests in Chromium', { skip }, async () => {
  const page = await openPage(env.ctx, `${env.server.url}/js/test/browser/pages/gotest.html`);
  const out = [];
  page.on('console', (m) => out.push(m.text()));
  await ready(page);
  const code = await page.evaluate(() => window.runGoTest(['-test.v']));
  const log = out.join('\n');
  assert.equal(code, 0, log);
  assert.match(log, /--- PASS: TestConformance /);
  assert.match(log, /--- PASS: TestReloadSeesFlushedChanges /);
  assert.match(log, /--- PASS: TestCompactionInStepsWithinChunkBudget /);
  assert.doesNotMatch(log, /--- SKIP/);
});
