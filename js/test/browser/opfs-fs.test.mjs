// The 'opfs' adapter's Go tests (wasm/adapter_opfs_test.go: the fsadapter
// conformance suite, and a reopen) compiled for js/wasm and run in a
// dedicated Worker of Chromium on its real OPFS, through the host of
// js/src/browser-opfs.js (FileSystemSyncAccessHandle exists only in workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goTestWasm, skip, useBrowser } from './helpers.mjs';

// Written at test time (node --test would run a .js file kept below js/test).
const WORKER = `import '/js/src/wasm_exec.js';
import { FILE, MARKER, SlotPool, opfsHost } from '/js/src/browser-opfs.js';
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

// A busy stretch (calls that each wrote and deleted every spare file, as
// merges do) grows the spares, and its session keeps them; the calls of
// the next session remove them a few at a time, down to what the pool
// keeps, never a file that holds data.
async function spares() {
  const name = 'spares-' + Math.random().toString(36).slice(2);
  const files = async () => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('minibase')).getDirectoryHandle(name);
    let n = 0;
    for await (const _ of dir.keys()) n++;
    return n;
  };
  const pool = await SlotPool.open(name, { spare: 4 });
  const kept = pool.create(FILE, '/kept');
  pool.write(kept, new Uint8Array([1, 2, 3]), 0);
  pool.flush();
  await pool.topUp();
  const grown = [];
  for (let round = 0; round < 5; round++) {
    const made = [];
    for (let i = 0; ; i++) {
      try {
        made.push(pool.create(FILE, '/tmp' + i));
      } catch {
        break; // EMFILE: every spare taken
      }
    }
    for (const s of made) pool.release(s);
    pool.flush();
    await pool.topUp();
    grown.push(await files());
  }
  // The session that grew them keeps them.
  const busyWantsTopUp = pool.needsTopUp;
  pool.close();
  // The next one starts from the floor: its open removes nothing, the
  // calls after it remove them a few at a time.
  const next = await SlotPool.open(name, { spare: 4 });
  const opened = await files();
  const quiet = [];
  for (let call = 0; call < 12 && next.needsTopUp; call++) {
    await next.topUp();
    quiet.push(await files());
  }
  next.close();
  const again = await SlotPool.open(name, { spare: 4 });
  const got = new Uint8Array(3);
  again.read(again.get(FILE, '/kept'), got, 0);
  again.close();
  return { grown, busyWantsTopUp, opened, quiet, kept: [...got], after: await files() };
}

self.onmessage = async (e) => {
  if (e.data === 'spares') return self.postMessage(await spares().catch((err) => ({ error: String(err?.stack ?? err) })));
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

// Runs one of the worker's own checks (its message: 'held', 'spares') in a new worker.
async function inWorker(check) {
  const page = await env.page();
  return page.evaluate(
    (check) =>
      new Promise((resolve) => {
        const w = new Worker('/build/worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => resolve({ error: String(e.message) });
        w.postMessage(check);
      }),
    check,
  );
}

test('an opfs pool that finds one file held by another context fails LOCKED and keeps no handle of the others', { skip }, async () => {
  const r = await inWorker('held');
  assert.deepEqual(r, { failure: { code: 'EBUSY', locked: true }, markers: ['m1'] });
});

test('an opfs pool removes the spare files an earlier session left, a few between calls, and no file that holds data', { skip }, async () => {
  const r = await inWorker('spares');
  assert.equal(r.error, undefined, r.error);
  // 1 data file + spares doubling with what each busy call took: 4 → 8 → … → 128.
  assert.deepEqual(r.grown, [9, 17, 33, 65, 129]);
  assert.equal(r.busyWantsTopUp, false, 'the session that grew the spares keeps them');
  assert.equal(r.opened, 129, 'an open removes none');
  // Then each call of the next session removes at most 16 spares, down to the floor's 4 + 4.
  assert.ok(r.quiet.length >= 8, JSON.stringify(r.quiet));
  for (let i = 1; i < r.quiet.length; i++) assert.ok(r.quiet[i - 1] - r.quiet[i] <= 16 && r.quiet[i] <= r.quiet[i - 1], JSON.stringify(r.quiet));
  assert.equal(r.quiet.at(-1), 9, JSON.stringify(r.quiet));
  assert.equal(r.after, 9);
  assert.deepEqual(r.kept, [1, 2, 3]);
});
