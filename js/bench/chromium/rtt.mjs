// The cost of a call forwarded to the OPFS worker, against the floor the
// browser sets: in headless Chromium, N sequential round trips of a raw
// postMessage ping-pong between the page and a dedicated worker (a number;
// an object shaped like a forwarded call; a 64-byte buffer transferred,
// copied, or in an array shaped like the exec message; a MessageChannel
// port), then sequential point reads by primary key (N) and indexed range
// queries of 100 rows (N/10) on minibase's 'opfs' adapter (engine in the
// worker) and its 'indexeddb' one (engine in the page), over ROWS rows. A
// measurement, not a test: nothing is asserted.
//
//   nice -n 15 node js/bench/chromium/rtt.mjs          (N=10000 ROWS=10000 ROUNDS=3)
//   BUILDS=before=/tmp/old-dist,after=js/dist ADAPTERS=opfs ROWS=100000 N=5000 ROUNDS=5 ...
//     builds of js/dist (browser.mjs + minibase.wasm) measured side by side,
//     interleaved round by round (the machine's load moves); medians
//   ISOLATED=1 ...      pages served cross-origin isolated (COOP + COEP), which adds
//     the floor of a SharedArrayBuffer + Atomics round trip (no message)
//   WORKLOADS=get,range,bulk (bulk: insertMany of BULK=20000 rows into a new table, µs per row)
//   CACHE=33554432 ...  the engine's cacheBytes (BUILDS=a=js/dist@33554432,b=js/dist: per build)
//   PROFILE=1 ...       a CPU profile (CDP Profiler) of the page during N OPFS
//     point reads, by self time per function (playwright cannot profile a worker)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const N = Number(process.env.N ?? 10_000);
const ROWS = Number(process.env.ROWS ?? 10_000);
const PROFILE = process.env.PROFILE === '1';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ISOLATED = process.env.ISOLATED === '1';
const WORKLOADS = (process.env.WORKLOADS ?? 'get,range,bulk').split(',');
const BULK = Number(process.env.BULK ?? 20_000);
const ADAPTERS = (process.env.ADAPTERS ?? 'opfs,indexeddb').split(',');
// BUILDS=label=dir,...: builds of js/dist to compare (default: this one's).
// A build given as dir@bytes opens its databases with that cacheBytes.
const builds = {};
const caches = {};
for (const [k, d] of (process.env.BUILDS ?? 'this=js/dist').split(',').map((b) => b.split('='))) {
  const [dir, cache] = d.split('@');
  builds[k] = path.resolve(repoRoot, dir);
  if (cache) caches[k] = Number(cache);
}
const CHROME = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-rtt-'));
const www = path.join(tmp, 'www');
fs.mkdirSync(www);
fs.writeFileSync(path.join(www, 'echo.js'), `
onmessage = (e) => {
  const d = e.data;
  if (typeof d === 'number') postMessage(d);
  else if (d instanceof Uint8Array) postMessage(d, e.data.buffer.byteLength === 64 && d[1] === 1 ? [d.buffer] : []);
  else if (Array.isArray(d)) { const b = new Uint8Array(80); postMessage([d[0], b, false, null, undefined]); }
  else if (d && d.sab) {
    // Atomics: wait for the page's number in cell 0, answer it in cell 1.
    const cells = new Int32Array(d.sab);
    for (let last = 0; ; ) {
      Atomics.wait(cells, 0, last);
      last = Atomics.load(cells, 0);
      if (last < 0) return;
      Atomics.store(cells, 1, last);
      Atomics.notify(cells, 1);
    }
  }
  else if (d && d.port) { const p = d.port; p.onmessage = (m) => p.postMessage(m.data); }
  else postMessage({ rid: d.rid, result: { reply: { result: { id: 7, username: 'user7', email: 'u7@example.com', age: 33, score: 0.5, active: true } }, wrote: false, changes: null } });
};
`);
fs.writeFileSync(path.join(www, 'index.html'), `<!doctype html><meta charset="utf-8"><script type="module">
const N = ${N}, ROWS = ${ROWS}, CACHE = ${Number(process.env.CACHE ?? 0)}, CACHES = ${JSON.stringify(caches)};
const out = {};
async function loop(label, send) {
  for (let i = 0; i < 500; i++) await send(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < N; i++) await send(i);
  out[label] = ((performance.now() - t) * 1000) / N;
}
function pinger(target, source = target) {
  let pending = null;
  source.onmessage = (e) => { const r = pending; pending = null; r(e.data); };
  return (msg, transfer) => new Promise((resolve) => { pending = resolve; target.postMessage(msg, transfer ?? []); });
}
window.rawFloor = async () => {
  const w = new Worker('/bench/echo.js');
  const ping = pinger(w);
  await loop('raw postMessage, a number', (i) => ping(i));
  await loop('raw postMessage, a call-shaped object', (i) => ping({ rid: i, type: 'exec', name: 'bench', op: 'get', args: [1, 'users', i], id: 'x:' + i, take: undefined }));
  await loop('raw postMessage, a transferred 64-byte buffer', (i) => { const b = new Uint8Array(64); b[0] = i; b[1] = 1; return ping(b, [b.buffer]); });
  await loop('raw postMessage, a copied 64-byte Uint8Array', (i) => { const b = new Uint8Array(64); b[0] = i; return ping(b); });
  await loop('raw postMessage, [rid, name, op, id, bytes, take]', (i) => { const b = new Uint8Array(64); b[0] = i; return ping([i, 'bench', 'get', undefined, b, undefined]); });
  const ch = new MessageChannel();
  w.postMessage({ port: ch.port2 }, [ch.port2]);
  const pp = pinger(ch.port1);
  await loop('raw MessageChannel port, a number', (i) => pp(i));
  w.terminate();
  if (globalThis.crossOriginIsolated && typeof Atomics.waitAsync === 'function') {
    // Cross-origin isolated only: a SharedArrayBuffer, the worker blocked in
    // Atomics.wait, the page in Atomics.waitAsync (no message at all).
    const aw = new Worker('/bench/echo.js');
    const cells = new Int32Array(new SharedArrayBuffer(8));
    aw.postMessage({ sab: cells.buffer });
    let seq = 0;
    let slept = 0;
    await loop('Atomics.waitAsync + Atomics.wait (isolated only)', async () => {
      const next = ++seq;
      const old = Atomics.load(cells, 1);
      Atomics.store(cells, 0, next);
      Atomics.notify(cells, 0);
      for (;;) {
        const w = Atomics.waitAsync(cells, 1, old);
        if (w.async) {
          slept++;
          await w.value;
        }
        if (Atomics.load(cells, 1) === next) return;
      }
    });
    out['  of which the page slept in waitAsync (%)'] = (100 * slept) / (N + 500);
    Atomics.store(cells, 0, -1);
    Atomics.notify(cells, 0);
  }
  return out;
};
const tables = {};
const conns = {};
let bulkN = 0;
window.setup = async (build, adapter) => {
  const { connect } = await import('/d/' + build + '/browser.mjs');
  const cacheBytes = CACHES[build] ?? CACHE;
  const conn = await connect({ adapter, name: 'rtt-' + adapter + '-' + build, ...(cacheBytes ? { cacheBytes } : {}) });
  await conn.createDatabase('bench', { ifNotExists: true });
  await conn.useDatabase('bench');
  await conn.createTable('users', { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'username', type: 'string', unique: true, notNull: true }, { name: 'age', type: 'number' }, { name: 'profile', type: 'object' }], indexes: [{ columns: ['age'] }] });
  const users = conn.table('users');
  for (let at = 1; at <= ROWS; at += 50000) {
    const rows = [];
    for (let i = at; i < at + 50000 && i <= ROWS; i++) rows.push({ id: i, username: 'user' + i, age: i % 90, profile: { city: 'c' + (i % 50), tags: ['a', 'b'] } });
    await users.insertMany(rows);
  }
  tables[build + ' ' + adapter] = users;
  conns[build + ' ' + adapter] = conn;
  if (adapter === 'opfs') window.users = users; // the OPFS one of the last build, for DECOMPOSE and PROFILE
};
window.measure = async (key, what, n) => {
  const users = tables[key];
  if (what === 'bulk') {
    // insertMany of n rows into a new table: µs per row.
    const conn = conns[key];
    const t0 = 'bulk' + ++bulkN;
    await conn.createTable(t0, { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'username', type: 'string' }, { name: 'age', type: 'number' }, { name: 'profile', type: 'object' }], indexes: [{ columns: ['age'] }] });
    const rows = [];
    for (let i = 1; i <= n; i++) rows.push({ id: i, username: 'user' + i, age: i % 90, profile: { city: 'c' + (i % 50), tags: ['a', 'b'] } });
    const t = performance.now();
    await conn.table(t0).insertMany(rows);
    const us = ((performance.now() - t) * 1000) / n;
    await conn.dropTable(t0);
    return us;
  }
  const one = what === 'range'
    ? async (i) => { const r = await users.select({ where: { age: { '>=': i % 88, '<': i % 88 + 2 } }, orderBy: ['age'], limit: 100 }); if (r.length !== 100) throw new Error('range ' + r.length); }
    : async (i) => { const r = await users.get((i * 7919) % ROWS + 1); if (!r) throw new Error('missing'); };
  for (let i = 0; i < 200; i++) await one(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) await one(i);
  return ((performance.now() - t) * 1000) / n;
};
window.readsOnly = async (n) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await window.users.get((i * 7919) % ROWS + 1);
  return ((performance.now() - t) * 1000) / n;
};
window.ready = true;
</script>`);

const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };
const httpServer = http.createServer((rq, rs) => {
  const p = new URL(rq.url, 'http://x').pathname;
  const m = /^\/d\/([^/]+)\/([^/]+)$/.exec(p);
  const file = m && builds[m[1]] ? path.join(builds[m[1]], m[2]) : path.join(www, path.basename(p));
  fs.readFile(file, (err, data) => {
    if (err) return rs.writeHead(404).end();
    const isolated = ISOLATED ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    rs.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', ...isolated });
    rs.end(data);
  });
});
await new Promise((ok) => httpServer.listen(0, '127.0.0.1', ok));
const server = { url: `http://127.0.0.1:${httpServer.address().port}`, close: () => new Promise((ok) => httpServer.close(ok)) };
const profileDir = path.join(tmp, 'profile');
const ctx = await chromium.launchPersistentContext(profileDir, { executablePath: CHROME, args: FLAGS, headless: true });
try {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  page.on('console', (m) => console.error('[page]', m.text()));
  await page.goto(`${server.url}/bench/index.html`);
  await page.waitForFunction(() => window.ready);
  const results = {};
  Object.assign(results, await page.evaluate(() => window.rawFloor()));
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(52)} ${v.toFixed(1).padStart(8)} ${k.includes('%') ? '%' : 'µs per round trip'}`);
  // Each build and adapter, interleaved round by round (the machine's load
  // moves): the median of ROUNDS measurements of each.
  const keys = [];
  for (const build of Object.keys(builds)) {
    for (const adapter of ADAPTERS) {
      await page.evaluate(([b, a]) => window.setup(b, a), [build, adapter]);
      keys.push(`${build} ${adapter}`);
    }
  }
  const got = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const what of WORKLOADS) {
      for (const key of keys) {
        const us = await page.evaluate(([k, w, n]) => window.measure(k, w, n), [key, what, what === 'range' ? Math.ceil(N / 10) : what === 'bulk' ? BULK : N]);
        (got[`${key}: ${what}`] ??= []).push(us);
      }
    }
  }
  for (const [k, xs] of Object.entries(got)) {
    xs.sort((a, b) => a - b);
    console.log(`${k.padEnd(52)} ${xs[xs.length >> 1].toFixed(1).padStart(8)} µs per call (median of ${xs.length}: ${xs.map((x) => x.toFixed(0)).join(' ')})`);
  }
  if (PROFILE) await profile(page, ctx);
} finally {
  await ctx.close();
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

// A CPU profile of the page during N OPFS point reads, by self time per
// function (top 25).
async function profile(page, ctx) {
  const cdp = await ctx.newCDPSession(page);
  const sessions = [['page', cdp]];
  for (const [, s] of sessions) {
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 50 });
    await s.send('Profiler.start');
  }
  const us = await page.evaluate((n) => window.readsOnly(n), N); // the OPFS table of the last build set up
  console.log(`\nprofiled: opfs table.get ${us.toFixed(1)} µs per read`);
  for (const [label, s] of sessions) {
    const { profile } = await s.send('Profiler.stop');
    summarise(label, profile);
  }
}

function summarise(label, prof) {
  const self = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = prof.timeDeltas;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
    total += dt[i] ?? 0;
  }
  console.log(`\n${label}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
