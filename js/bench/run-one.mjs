// One run of the peers benchmark for one system, in its own process (so that
// memory numbers and garbage collection belong to that system alone).
//
//   node js/bench/run-one.mjs SYSTEM warm DIR   all workloads, then saves its data to DIR
//   node js/bench/run-one.mjs SYSTEM cold DIR   a fresh process: load + first query
//
// Prints one line: RESULT {json}. Normally started by bench.mjs. The
// workloads themselves are in workloads.mjs (shared with the Chromium run).

import { performance } from 'node:perf_hooks';

const T0 = performance.now(); // before any library is loaded: the cold start clock
const { SYSTEMS, loadMinibase } = await import('./systems.mjs');
const { runTableWorkloads, runKv, recorder, makeRow, randomInts, LOOKUPS, SMALL_ROWS } = await import('./workloads.mjs');
const { default: path } = await import('node:path');

const [name, mode, dir] = process.argv.slice(2);
const ROWS = Number(process.env.ROWS ?? 100_000);
const sys = SYSTEMS[name]();
const now = () => performance.now();

function check(cond, msg) { if (!cond) throw new Error(`${sys.name}: ${msg}`); }

const out = { system: name, name: sys.name, note: sys.note, mode, ms: {}, ops: {} };
const { rec } = recorder(now, out);

async function kv() {
  // key-value workload 8: 10,000 sets then 10,000 gets of ~1 KB JSON values (sync twins)
  if (name === 'map') {
    const m = new Map();
    await runKv('plain', { set: (k, v) => { m.set(k, JSON.stringify(v)); }, get: (k) => JSON.parse(m.get(k)) }, { now, out });
  } else if (name.startsWith('minibase')) {
    const adapter = name.slice('minibase-'.length);
    const { openStorage } = await loadMinibase(adapter, dir);
    const secret = new Uint8Array(32).fill(7); // a raw key: no PBKDF2 in the measurement
    const root = { node: `${dir}/kv`, wx: 'kv' }[adapter] ?? `kv-${process.pid}`;
    const st = await openStorage({ adapter, root, secret, limitSize: 1 << 30, sweepInterval: 0 });
    await runKv('plain', { set: (k, v) => { st.setSync(k, v); }, get: (k) => st.getSync(k) }, { now, out });
    await runKv('enc', { set: (k, v) => { st.setSync(`e${k}`, v, { encrypt: true, compress: true }); }, get: (k) => st.getSync(`e${k}`) }, { now, out });
    await st.close();
  }
}

/**
 * Workload 3c: unique-key lookups on a table of a few thousand rows, the
 * size at which the JavaScript libraries minibase replaces (arrays of
 * objects with a Map per key) answer from memory. Only the systems that can
 * open a second, fresh table in this process run it: minibase on disk, and
 * the in-memory map-based peers.
 */
async function smallTable() {
  if (!['minibase-node', 'lokijs', 'map'].includes(name)) return;
  const small = SYSTEMS[name]();
  await small.setup(path.join(dir, 'small'));
  const rows = Array.from({ length: SMALL_ROWS }, (_, i) => makeRow(i, SMALL_ROWS));
  check((await small.bulkInsert(rows)) === SMALL_ROWS, 'small bulk count');
  for (const i of randomInts(SMALL_ROWS, 1000, 7)) await small.getByKey(`user${i}`);
  const t0 = now();
  for (const i of randomInts(SMALL_ROWS, LOOKUPS)) check((await small.getByKey(`user${i}`))?.id === i + 1, `small get ${i}`);
  rec('small-unique', now() - t0, LOOKUPS);
  await small.close();
}

if (mode === 'cold') {
  const first = await sys.coldOpen(dir);
  const ms = performance.now() - T0;
  check(first && first.id === 1, `cold open: first row ${JSON.stringify(first)}`);
  rec('reopen', ms, 1);
  await sys.close();
} else {
  await sys.setup(dir);
  let before;
  await runTableWorkloads(sys, {
    rows: ROWS,
    now,
    out,
    // after each workload: the process's resident set, and minibase's wasm
    // memory and block-cache misses so far (reads of a block from storage)
    async memory() {
      const st = sys.stats ? await sys.stats() : undefined;
      return { rss: process.memoryUsage().rss, wasm: st?.wasmMemoryBytes, misses: st?.cacheMisses };
    },
    beforeBulk() {
      global.gc?.();
      before = process.resourceUsage().maxRSS * 1024;
    },
    async afterBulk() {
      const mem = process.memoryUsage();
      out.memory = { rssBefore: before, peakRss: process.resourceUsage().maxRSS * 1024, rssAfter: mem.rss, heapUsed: mem.heapUsed };
      if (sys.stats) {
        const st = await sys.stats();
        out.memory.wasmHeapTotal = st.heapTotalBytes;
        out.memory.wasmAfterBulk = st.wasmMemoryBytes;
      }
    },
  });
  if (sys.stats) out.memory.wasmAfterTable = (await sys.stats()).wasmMemoryBytes;
  await sys.save(dir);
  await sys.close();
  if (sys.coldInProcess) {
    const t0 = performance.now();
    const first = await sys.coldOpen(dir);
    rec('reopen', performance.now() - t0, 1);
    check(first?.id === 1, 'reopen: first row');
    await sys.close();
  }
  await smallTable();
  await kv();
  if (name.startsWith('minibase')) {
    // the engine's wasm memory once everything ran (it never shrinks)
    const { connect } = await loadMinibase(name.slice('minibase-'.length), dir);
    const probe = await connect({ adapter: 'memory', root: `probe-${process.pid}` });
    out.memory.wasmAtEnd = (await probe.stats()).wasmMemoryBytes;
    await probe.close();
  }
}

console.log(`RESULT ${JSON.stringify(out)}`);
