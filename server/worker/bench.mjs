// Push and pull of 10,000 changes against the Worker build under wrangler dev
// (local D1), the Workers counterpart of BenchmarkPush10k/BenchmarkPull10k.
//   node server/worker/bench.mjs
import { startWorker } from './dev.mjs';
const w = await startWorker();
try {
  const tk = w.token('bench');
  const N = 10000;
  let t0 = performance.now();
  for (let s = 0; s < N; s += 1000) {
    const changes = [];
    for (let i = s; i < s + 1000; i++) changes.push({ op: `b${i}`, table: 'todos', key: i, row: { id: i, title: `todo number ${i}`, done: i % 2 === 0 }, hlc: String(1732370000000 + i).padStart(15, '0') + '-00000', origin: 'bench' });
    const r = await fetch(w.url + '/v1/push', { method: 'POST', headers: { authorization: 'Bearer ' + tk }, body: JSON.stringify({ changes }) });
    if (r.status !== 200) throw new Error(await r.text());
    await r.arrayBuffer();
  }
  const push = performance.now() - t0;
  t0 = performance.now();
  let since = 0, got = 0;
  for (let i = 0; i < 100; i++) {
    const r = await (await fetch(`${w.url}/v1/pull?since=${since}&limit=1000`, { headers: { authorization: 'Bearer ' + tk } })).json();
    got += r.changes.length; since = r.cursor; if (!r.more) break;
  }
  const pull = performance.now() - t0;
  console.log(`worker (wrangler dev, local D1): push ${N} in ${push.toFixed(0)} ms = ${(N / push * 1000).toFixed(0)} changes/s; pull ${got} in ${pull.toFixed(0)} ms = ${(got / pull * 1000).toFixed(0)} changes/s`);
} finally { await w.stop(); }
