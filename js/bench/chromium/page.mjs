// The page side of the Chromium peers benchmark: runs one system's workloads
// (or its cold reopen, or the key-value workload) as the query string says,
// and leaves the result in window.__result for the runner (run.mjs).
//
//   /index.html?system=dexie&mode=warm&rows=100000
//   mode = warm (workloads 1–6) | cold (reopen + first query) | kv (workload 8)

import { SYSTEMS, KV_SYSTEMS } from './systems.mjs';
import { runTableWorkloads, runKv, recorder } from '../workloads.mjs';

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
