// fsadapter/idbfs's Go tests (the shared conformance suite, reload, host
// failures) compiled for js/wasm and run inside Chromium on its real
// IndexedDB, not fake-indexeddb.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, openPage, ready, repoRoot, skip, startServer, tempProfile } from './helpers.mjs';

let server;
let profile;
let build;
let ctx;

before(async () => {
  if (skip) return;
  build = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-gotest-'));
  execFileSync('go', ['test', '-c', '-o', path.join(build, 'test.wasm'), './fsadapter/idbfs/'], {
    cwd: repoRoot,
    env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  server = await startServer({ mounts: { '/': repoRoot, '/build/': build } });
  profile = tempProfile();
  ctx = await launch(profile);
});

after(async () => {
  await ctx?.close();
  await server?.close();
  for (const dir of [profile, build]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('fsadapter/idbfs passes its Go tests in Chromium', { skip }, async () => {
  const page = await openPage(ctx, `${server.url}/js/test/browser/pages/gotest.html`);
  const out = [];
  page.on('console', (m) => out.push(m.text()));
  await ready(page);
  const code = await page.evaluate(() => window.runGoTest(['-test.v']));
  const log = out.join('\n');
  assert.equal(code, 0, log);
  assert.match(log, /--- PASS: TestConformance /);
  assert.match(log, /--- PASS: TestReloadSeesFlushedChanges /);
  assert.doesNotMatch(log, /--- SKIP/);
});
