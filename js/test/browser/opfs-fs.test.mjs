// The 'opfs' adapter's Go tests (wasm/adapter_opfs_test.go: the fsadapter
// conformance suite, and a reopen) compiled for js/wasm and run in a
// dedicated Worker of Chromium on its real OPFS, through the host of
// js/src/browser-opfs.js (FileSystemSyncAccessHandle exists only in workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goTestWasm, skip, useBrowser } from './helpers.mjs';

// Written at test time (node --test would run a .js file kept below js/test).
const WORKER = `import '/js/src/wasm_exec.js';
import { MARKER, SlotPool, opfsHost } from '/js/src/browser-opfs.js';
import { minibaseImports } from '/js/src/imports.js';

globalThis.__opfsTest = {
  host: { opfs: opfsHost },
  // Spare files for the suite's 300 files made in a row (the engine's calls
  // make a few dozen, with the pool topped up between calls).
  async open(name) {
    opfsHost.pools.get(name)?.close();
    opfsHost.pools.set(name, await SlotPool.open(name, { spare: 320 }));
  },
  close(name) {
    opfsHost.pools.get(name)?.close();
    opfsHost.pools.delete(name);
  },
};

// A pool that cannot open one of its files (another context holds it) fails
// and lets go of every file it did open: with that one free again, the next
// open takes them all.
async function heldFile() {
  const name = 'held-' + Math.random().toString(36).slice(2);
  const first = await SlotPool.open(name, { spare: 12 });
  first.create(MARKER, 'm1');
  first.flush();
  first.close();
  const root = await navigator.storage.getDirectory();
  const dir = await (await root.getDirectoryHandle('minibase')).getDirectoryHandle(name);
  const held = await (await dir.getFileHandle('s7')).createSyncAccessHandle();
  let failure;
  try {
    (await SlotPool.open(name, { spare: 12, retries: 0 })).close();
    failure = 'opened';
  } catch (err) {
    failure = { code: err.code, locked: err.locked };
  }
  held.close();
  const again = await SlotPool.open(name, { spare: 12, retries: 0 });
  const markers = [...again.entries(MARKER)].map((s) => s.path);
  again.close();
  return { failure, markers };
}

self.onmessage = async (e) => {
  if (e.data === 'held') return self.postMessage(await heldFile().catch((err) => ({ error: String(err?.stack ?? err) })));
  const log = [];
  console.log = (...a) => log.push(a.join(' '));
  console.error = console.log;
  const go = new Go();
  Object.assign(go.importObject, minibaseImports(go));
  go.argv = ['test.wasm', ...e.data];
  go.env = { HOME: '/', TMPDIR: '/tmp' };
  let code = null;
  go.exit = (c) => (code = c);
  try {
    const { instance } = await WebAssembly.instantiateStreaming(fetch('/build/test.wasm'), go.importObject);
    await go.run(instance);
  } catch (err) {
    log.push(String(err?.stack ?? err));
  }
  self.postMessage({ code, log: log.join('\\n') });
};
`;

const env = useBrowser({ files: { 'worker.js': WORKER }, build: (dir) => goTestWasm('./wasm/', dir) });

test('the opfs adapter passes the fsadapter conformance suite in a Chromium worker', { skip }, async () => {
  const page = await env.page();
  const { code, log } = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const w = new Worker('/build/worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve({ code: -1, log: String(e.message) });
        w.postMessage(['-test.v', '-test.run', 'OPFS']);
      }),
  );
  assert.equal(code, 0, log);
  assert.match(log, /--- PASS: TestOPFSConformance /);
  assert.match(log, /--- PASS: TestOPFSReopen /);
  assert.match(log, /--- PASS: TestOPFSNestedNames /);
  assert.doesNotMatch(log, /--- SKIP/);
});

test('an opfs pool that finds one file held by another context fails LOCKED and keeps no handle of the others', { skip }, async () => {
  const page = await env.page();
  const r = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const w = new Worker('/build/worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve({ error: String(e.message) });
        w.postMessage('held');
      }),
  );
  assert.deepEqual(r, { failure: { code: 'EBUSY', locked: true }, markers: ['m1'] });
});
