// The page side of the Chromium peers benchmark: runs one system's workloads
// (or its cold reopen, or the key-value workload) as the query string says,
// and leaves the result in window.__result for the runner (run.mjs).
//
//   /index.html?system=dexie&mode=warm&rows=100000
//   mode = warm (workloads 1–6) | cold (reopen + first query) | kv (workload 8)

import { SYSTEMS, KV_SYSTEMS } from './systems.mjs';
import { runTableWorkloads, runKv, recorder, makeRow, randomInts } from '../workloads.mjs';

const params = new URLSearchParams(location.search);
const name = params.get('system');
const mode = params.get('mode');
const rows = Number(params.get('rows') ?? 100_000);
const now = () => performance.now(); // since navigation start: a cold start includes the page load

async function main() {
  const out = { system: name, mode, ms: {}, ops: {} };
  if (mode === 'kv') {
    const kv = await KV_SYSTEMS[name]();
    out.name = kv.name;
    for (const [label, store] of kv.stores) await runKv(label, store, { now, out });
    await kv.close();
    return out;
  }
  const sys = SYSTEMS[name]();
  Object.assign(out, { name: sys.name, note: sys.note });
  if (mode === 'large-build') return largeBuild(sys, out);
  if (mode === 'large-open') return largeOpen(sys, out);
  if (mode === 'cold') {
    const first = await sys.coldOpen();
    recorder(now, out).rec('reopen', now(), 1);
    if (first?.id !== 1) throw new Error(`${sys.name}: cold open found ${JSON.stringify(first)}`);
    await sys.close();
    return out;
  }
  await sys.setup();
  await runTableWorkloads(sys, {
    rows,
    now,
    out,
    async afterBulk() {
      // Chromium's non-standard performance.memory: the JS heap in use
      out.memory = { heapUsed: performance.memory?.usedJSHeapSize ?? 0 };
      if (sys.stats) out.memory.wasmHeapTotal = (await sys.stats()).heapTotalBytes;
    },
  });
  await sys.close();
  return out;
}

main().then(
  (r) => { window.__result = { ok: true, result: r }; },
  (e) => { window.__result = { ok: false, error: String(e?.stack ?? e) }; },
);

// The large database: built in chunks of 50,000 rows (one bulk insert each),
// then opened by a fresh page, which times navigation → first row, point
// reads and range queries, and reports the memory it holds while querying.
const CHUNK = 50_000;

async function largeBuild(sys, out) {
  await sys.setup();
  const t0 = now();
  for (let i = 0; i < rows; i += CHUNK) {
    await sys.bulkInsert(Array.from({ length: Math.min(CHUNK, rows - i) }, (_, j) => makeRow(i + j, rows)));
  }
  out.ms.build = now() - t0;
  out.ops.build = rows;
  if (sys.stats) out.diskBytes = (await sys.stats()).diskBytes;
  out.usage = (await navigator.storage.estimate()).usage;
  await sys.close();
  return out;
}

async function largeOpen(sys, out) {
  const first = await sys.coldOpen();
  out.ms.open = now(); // since navigation start: page, library and engine load, open, first row
  if (first?.id !== 1) throw new Error(`${sys.name}: the large database's row 1 is ${JSON.stringify(first)}`);
  let t = now();
  for (const k of randomInts(rows, 1000, 7)) if (!(await sys.getById(k + 1))) throw new Error(`row ${k + 1} is missing`);
  out.ms.points = now() - t;
  out.ops.points = 1000;
  const ages = Math.max(10, Math.floor(rows / 100));
  t = now();
  for (const a of randomInts(ages, 20, 9)) await sys.range(a, a + 1, 100);
  out.ms.ranges = now() - t;
  out.ops.ranges = 20;
  out.memory = { jsHeap: performance.memory?.usedJSHeapSize ?? 0 };
  if (sys.stats) out.memory.wasm = (await sys.stats()).wasmMemoryBytes;
  await sys.close();
  return out;
}
