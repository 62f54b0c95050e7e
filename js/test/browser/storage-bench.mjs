// Latency of the key-value store on IndexedDB in Chromium, from the page
// that owns the database and from a second page forwarding its calls to it
// (1 KB JSON values; mean per awaited call; the batch is 500 sets in one
// transaction). Not a test: run it by hand after `make build`:
//
//   node js/test/browser/storage-bench.mjs
import fs from 'node:fs';
import { launch, openPage, ready, startServer, tempProfile } from './helpers.mjs';

// `node --test js/test/` loads every file below js/test: nothing to do there.
if (process.env.NODE_TEST_CONTEXT) process.exit(0);

const server = await startServer();
const dir = tempProfile();
const ctx = await launch(dir);
const page = async () => { const p = await openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`); await ready(p); return p; };
const run = (p) => p.evaluate(async () => {
  const st = window.st ??= await window.minibase.openStorage({ adapter: 'indexeddb', name: 'bench', sweepInterval: 0 });
  const v = { text: 'x'.repeat(1000) };
  const N = 500;
  let t = performance.now();
  for (let i = 0; i < N; i++) await st.set(`k${i}`, v);
  const set = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) await st.get(`k${i}`);
  const get = (performance.now() - t) / N;
  t = performance.now();
  await st.batch(Array.from({ length: N }, (_, i) => ({ type: 'set', key: `b${i}`, data: v })));
  const batch = performance.now() - t;
  return { setMs: set.toFixed(3), getMs: get.toFixed(3), batch500Ms: batch.toFixed(1), owner: window.minibase.isOwner('bench') };
});
const a = await page();
console.log('owner', await run(a));
const b = await page();
console.log('forwarding', await run(b));
await ctx.close(); await server.close(); fs.rmSync(dir, { recursive: true, force: true });
