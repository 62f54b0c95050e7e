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
    for await (const f of dir.keys()) if (f !== 'map') n++; // the slot files
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

// A slot's header naming a file at \`path\`, as browser-opfs.js writes it
// (content starts at 4096, after it), for files made behind a pool's back.
function fileHeader(path) {
  const p = new TextEncoder().encode(path);
  const b = new Uint8Array(16 + p.length);
  b.set(new TextEncoder().encode('MBOPFS01'));
  b[8] = FILE;
  new DataView(b.buffer).setUint32(12, p.length, true);
  b.set(p, 16);
  return b;
}

// A reopen leaves the segments the pool's map knows closed: a read of one
// fails ENOTRESIDENT until openWanted opens it. Whatever changed behind the
// map (a slot written or freed, a file in a slot the map calls free, two
// slots naming one file, a torn map) is caught, and the headers decide.
async function lazy(name, phase, files) {
  const dir = async () => (await (await navigator.storage.getDirectory()).getDirectoryHandle('minibase')).getDirectoryHandle(name);
  // A slot file written behind the pool's back (content starts at 4096, after the header).
  const raw = async (file, fn) => {
    const h = await (await (await dir()).getFileHandle(file)).createSyncAccessHandle();
    try {
      return fn(h);
    } finally {
      h.close();
    }
  };
  const fill = (n, x) => new Uint8Array(n).fill(x);
  const code = (fn) => {
    try {
      fn();
      return 'read';
    } catch (err) {
      return err.code;
    }
  };
  if (phase === 2) return lazyAfterKill(name, files, { dir, raw, fill, code });
  const out = {};
  let pool = await SlotPool.open(name, { spare: 4 });
  const a = pool.create(FILE, '/a.sst');
  pool.write(a, fill(5000, 1), 0);
  const b = pool.create(FILE, '/b.sst');
  pool.write(b, fill(3000, 2), 0);
  const log = pool.create(FILE, '/x.log');
  pool.write(log, fill(100, 3), 0);
  pool.flush();
  out.files = { a: a.file, b: b.file };
  pool.close();

  pool = await SlotPool.open(name, { spare: 4 });
  out.reopened = pool.stats();
  out.sizes = [pool.size(pool.get(FILE, '/a.sst')), pool.size(pool.get(FILE, '/b.sst')), pool.size(pool.get(FILE, '/x.log'))];
  out.logRead = code(() => pool.readAll(pool.get(FILE, '/x.log')));
  out.first = code(() => pool.readAll(pool.get(FILE, '/a.sst')));
  out.wants = pool.wantsFiles;
  await pool.openWanted();
  const got = pool.readAll(pool.get(FILE, '/a.sst'));
  out.second = [got.length, got.every((x) => x === 1)];
  // Appended to and flushed, then the worker killed: the map on disk no longer
  // records its size, so the next open opens it.
  pool.write(pool.get(FILE, '/a.sst'), fill(10, 9), 5000);
  pool.flush();
  return out; // the page kills this worker now, the pool open
}

async function lazyAfterKill(name, files, { dir, raw, fill, code }) {
  const out = {};
  let pool = await SlotPool.open(name, { spare: 4 });
  out.afterKill = [pool.stats().opfsFilesClosed, pool.size(pool.get(FILE, '/a.sst'))];
  pool.close();

  // b grows behind the map: its claimed size is wrong, caught when it opens.
  await raw(files.b, (h) => h.write(fill(7, 5), { at: h.getSize() }));
  pool = await SlotPool.open(name, { spare: 4 });
  out.staleSize = code(() => pool.readAll(pool.get(FILE, '/b.sst')));
  await pool.openWanted();
  out.sorted = [pool.stats().opfsFullOpens, pool.stats().opfsFilesClosed, pool.size(pool.get(FILE, '/b.sst'))];
  pool.close();

  // a is freed behind the map (an empty file is a free slot).
  await raw(files.a, (h) => h.truncate(0));
  pool = await SlotPool.open(name, { spare: 4 });
  out.freedClaimed = pool.get(FILE, '/a.sst') !== undefined;
  out.freedRead = code(() => pool.readAll(pool.get(FILE, '/a.sst')));
  await pool.openWanted();
  out.freedAfter = [pool.get(FILE, '/a.sst') === undefined, pool.stats().opfsFullOpens];
  pool.close();

  // A torn map: every handle is asked for, and the map written again.
  await raw('map', (h) => h.write(fill(1, 0xff), { at: 20 }));
  pool = await SlotPool.open(name, { spare: 4 });
  out.torn = pool.stats();
  pool.close();
  pool = await SlotPool.open(name, { spare: 4 });
  out.mapAgain = pool.stats().opfsFilesClosed;
  pool.close();
  let spare; // a free slot's file (an empty one)
  for await (const [f, h] of (await dir()).entries()) if (!spare && /^s[0-9]+$/.test(f) && (await h.getFile()).size === 0) spare = f;

  // A slot the map calls free holds b.sst too (made after the map): two
  // slots name one file, and the headers decide.
  await raw(spare, (h) => {
    h.truncate(4096);
    h.write(fileHeader('/b.sst'), { at: 0 });
  });
  pool = await SlotPool.open(name, { spare: 4 });
  out.clash = [pool.stats().opfsFullOpens, pool.stats().opfsFilesClosed, pool.get(FILE, '/b.sst') !== undefined];
  const logFile = pool.get(FILE, '/x.log').file;
  pool.close();

  // A writer that keeps no map (an earlier version) puts a file in a new
  // slot file and frees a slot the map names: the open lists and sorts all.
  await (await dir()).getFileHandle('s900', { create: true });
  await raw('s900', (h) => {
    h.truncate(4096);
    h.write(fileHeader('/c.log'), { at: 0 });
  });
  await raw(logFile, (h) => h.truncate(0));
  pool = await SlotPool.open(name, { spare: 4 });
  out.foreign = [pool.stats().opfsFullOpens, pool.get(FILE, '/c.log')?.file ?? null, pool.get(FILE, '/x.log') === undefined];
  pool.close();
  return out;
}

// The segments a session's calls opened first open with the other handles
// at the next open, and at the one after a session that opened none.
async function hot() {
  const name = 'hot-' + Math.random().toString(36).slice(2);
  let pool = await SlotPool.open(name, { spare: 4 });
  for (const f of ['/h1.sst', '/h2.sst', '/h3.sst']) pool.write(pool.create(FILE, f), new Uint8Array(100).fill(7), 0);
  pool.flush();
  pool.close();
  const out = [];
  // Which handles the open opened (reading nothing).
  const open = () => ['/h1.sst', '/h2.sst', '/h3.sst'].map((f) => pool.get(FILE, f).access !== null);
  pool = await SlotPool.open(name, { spare: 4 });
  try {
    pool.readAll(pool.get(FILE, '/h2.sst'));
  } catch {}
  await pool.openWanted(); // the call read h2 first
  pool.close();
  // The next open has h2 open; a session that read nothing keeps it so.
  pool = await SlotPool.open(name, { spare: 4 });
  out.push(open());
  pool.close();
  pool = await SlotPool.open(name, { spare: 4 });
  out.push(open());
  // This one reads h3, then h1: they are the next open's.
  for (const f of ['/h3.sst', '/h1.sst']) {
    try {
      pool.readAll(pool.get(FILE, f));
    } catch {}
  }
  pool.close();
  pool = await SlotPool.open(name, { spare: 4 });
  out.push(open());
  pool.close();
  return out;
}

// A slot file the map does not name where the pool would make its next
// spare (a writer that keeps no map made it) is not taken as an empty spare:
// every slot is sorted, and its file is there.
async function unnamed() {
  const name = 'unnamed-' + Math.random().toString(36).slice(2);
  let pool = await SlotPool.open(name, { spare: 4 });
  for (const f of ['/u1.sst', '/u2.sst', '/u3.sst']) pool.write(pool.create(FILE, f), new Uint8Array(10).fill(1), 0);
  pool.flush();
  const next = 's' + pool.stats().opfsFiles;
  pool.close();
  const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('minibase')).getDirectoryHandle(name);
  const h = await (await dir.getFileHandle(next, { create: true })).createSyncAccessHandle();
  h.truncate(4096 + 3);
  h.write(fileHeader('/u9.log'), { at: 0 });
  h.close();
  pool = await SlotPool.open(name, { spare: 4 });
  const out = { next, fullOpens: pool.stats().opfsFullOpens, file: pool.get(FILE, '/u9.log')?.file ?? null, size: pool.get(FILE, '/u9.log') ? pool.size(pool.get(FILE, '/u9.log')) : -1 };
  pool.close();
  return out;
}

self.onmessage = async (e) => {
  if (e.data === 'unnamed') return self.postMessage(await unnamed().catch((err) => ({ error: String(err?.stack ?? err) })));
  if (e.data === 'hot') return self.postMessage(await hot().catch((err) => ({ error: String(err?.stack ?? err) })));
  if (e.data[0] === 'lazy') return self.postMessage(await lazy(e.data[1], e.data[2], e.data[3]).catch((err) => ({ error: String(err?.stack ?? err) })));
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
        // Then the worker is killed, whatever it holds open.
        w.onmessage = (e) => (resolve(e.data), w.terminate());
        w.onerror = (e) => (resolve({ error: String(e.message) }), w.terminate());
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

test('an opfs pool reopens with the segments its map knows closed, and catches a map that no longer tells the truth', { skip }, async () => {
  const name = 'lazy-' + Math.random().toString(36).slice(2);
  const before = await inWorker(['lazy', name, 1]);
  assert.equal(before.error, undefined, before.error);
  const after = await inWorker(['lazy', name, 2, before.files]);
  assert.equal(after.error, undefined, after.error);
  const r = { ...before, ...after };
  // Two segments left closed; the log and the one spare left opened, 3 spares made.
  assert.equal(r.reopened.opfsFilesClosed, 2);
  assert.equal(r.reopened.opfsFullOpens, 0);
  assert.equal(r.reopened.opfsFilesLeftClosed, 2);
  assert.equal(r.reopened.opfsFiles, 7);
  assert.deepEqual(r.sizes, [5000, 3000, 100]);
  assert.equal(r.logRead, 'read');
  assert.equal(r.first, 'ENOTRESIDENT');
  assert.equal(r.wants, true);
  assert.deepEqual(r.second, [5000, true]);
  assert.deepEqual(r.afterKill, [1, 5010], 'a segment written since the map was last written opens at the next open');
  assert.equal(r.staleSize, 'ENOTRESIDENT');
  assert.deepEqual(r.sorted, [1, 0, 3007], 'a slot whose size differs from the map: every slot sorted by its header');
  assert.equal(r.freedClaimed, true);
  assert.equal(r.freedRead, 'ENOTRESIDENT');
  assert.deepEqual(r.freedAfter, [true, 1]);
  assert.equal(r.torn.opfsFilesClosed, 0, 'a torn map: every handle');
  assert.equal(r.torn.opfsFilesLeftClosed, 0);
  assert.equal(r.torn.opfsFullOpens, 0);
  assert.equal(r.mapAgain, 1, 'the map written again: b.sst closed at the next open');
  assert.deepEqual(r.clash, [1, 0, true]);
  assert.deepEqual(r.foreign, [1, 's900', true]);
});

test('an opfs pool opens the segments the last session read first with the other handles', { skip }, async () => {
  const r = await inWorker('hot');
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(r, [
    [false, true, false],
    [false, true, false],
    [true, false, true],
  ]);
});

test("an opfs pool does not take a slot file its map does not name for a new spare", { skip }, async () => {
  const r = await inWorker('unnamed');
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(r, { next: r.next, fullOpens: 1, file: r.next, size: 3 });
});
