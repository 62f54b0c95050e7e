// The large database on the IndexedDB adapter (or OPFS: ADAPTER=opfs),
// measured apart: for each size, the benchmark's table (../workloads.mjs) built in bulk inserts of
// 50,000 rows in a browser profile kept between runs (KEEP), then a NEW
// browser on that profile opens it cold (and OPENS-1 more times, each in a
// new page of the same browser, as an app opened again while the browser
// runs) and times each step of open + first row, runs 1,000 point reads
// and 20 range queries (as chromium/page.mjs's
// large phase), and reports the tab's memory: performance.memory (precise),
// the V8 heap after a collection (DevTools), the engine's wasm memory, the
// chunks the adapter holds, and with SNAPSHOT=1 what a heap snapshot says
// holds the rest.
//
//   nice -n 15 node js/bench/chromium/large.mjs
//   SIZES=500000,2000000 KEEP=/tmp/idb-large RESIDENT=16777216 SNAPSHOT=1 node js/bench/chromium/large.mjs
//   ADAPTER=opfs SIZES=5000000 KEEP=/tmp/opfs-large OPENS=5 node js/bench/chromium/large.mjs
//
// The engine is started first (preload: on OPFS the worker and its engine),
// as an app does as its page loads, and timed apart: the open is timed from
// connect to the first row, and from navigation. NOPRELOAD=1 times the open
// with the engine's start in it (on OPFS the worker's start, the engine's
// compile and start, the files' handles). RESIDENT is IndexedDB's.
//
// KEEP: a folder for the built profiles (reused when the same size is asked
// again, so that two builds of js/dist can be compared on the same data);
// without it each run builds in a temporary folder. A kept profile's
// origin is http://127.0.0.1:PORT (default 8797). DIST serves another build
// in place of js/dist. Figures go to stdout as JSON lines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot, startServer } from '../../test/browser/server.mjs';

const SIZES = (process.env.SIZES ?? '500000').split(',').map(Number);
const ADAPTER = process.env.ADAPTER ?? 'indexeddb';
if (ADAPTER !== 'indexeddb' && ADAPTER !== 'opfs') throw new Error(`ADAPTER=${ADAPTER}: indexeddb or opfs`);
const DIST = path.resolve(process.env.DIST ?? path.join(repoRoot, 'js/dist'));
const RESIDENT = process.env.RESIDENT ? Number(process.env.RESIDENT) : undefined;
const SNAPSHOT = process.env.SNAPSHOT === '1';
const PROFILE = process.env.PROFILE === '1';
const OPENS = Number(process.env.OPENS ?? 1);
const NOPRELOAD = process.env.NOPRELOAD === '1';
const KEEP = process.env.KEEP ? path.resolve(process.env.KEEP) : null;
const CHROME = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--enable-precise-memory-info'];

// IndexedDB belongs to an origin: a kept profile is served from the same port each time.
const server = await startServer({ mounts: { '/': repoRoot, '/dist/': DIST }, port: KEEP ? Number(process.env.PORT ?? 8797) : 0 });
const launch = (dir) => chromium.launchPersistentContext(dir, { executablePath: CHROME, headless: true, args: FLAGS });
const url = `${server.url}/js/test/browser/pages/blank.html`;

async function build(dir, rows) {
  const ctx = await launch(dir);
  try {
    const p = await ctx.newPage();
    await p.goto(url);
    return await p.evaluate(async ({ rows, ADAPTER }) => {
      const { TABLE, makeRow } = await import('/js/bench/workloads.mjs');
      const { connect, release } = await import('/dist/browser.mjs');
      const conn = await connect({ adapter: ADAPTER, name: 'bench' });
      await conn.createDatabase('bench', { ifNotExists: true });
      await conn.useDatabase('bench');
      await conn.createTable('users', TABLE);
      const users = conn.table('users');
      const t0 = performance.now();
      for (let i = 0; i < rows; i += 50_000) {
        await users.insertMany(Array.from({ length: Math.min(50_000, rows - i) }, (_, j) => makeRow(i + j, rows)));
      }
      const buildMs = performance.now() - t0;
      const loaded = await conn.stats();
      // Merges run in steps after the writes (where the build reports
      // `compacting`): the time until they are done is reported apart.
      const t1 = performance.now();
      for (let s = loaded; s.compacting; s = await conn.stats()) await new Promise((r) => setTimeout(r, 50));
      const settleMs = performance.now() - t1;
      const s = await conn.stats();
      await conn.close();
      if (ADAPTER === 'opfs') await release('bench', 'opfs'); // the worker closes the files
      return { buildMs, settleMs, diskBytes: s.diskBytes, segments: s.segments, runs: s.runs, runsAtLastWrite: loaded.runs, compactions: s.compactions, compactSteps: s.compactSteps, peakResident: s.peakResidentChunkBytes, peakCall: s.peakCallChunkBytes, jsHeap: performance.memory?.usedJSHeapSize, wasm: s.wasmMemoryBytes };
    }, { rows, ADAPTER });
  } finally {
    await ctx.close();
  }
}

// Self sizes of a heap snapshot's nodes, by type and name, largest first.
function summarize(snapshot) {
  const { meta } = snapshot.snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const by = new Map();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + iType]];
    let name = snapshot.strings[snapshot.nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code') name = '';
    const key = `${type}:${name.slice(0, 60)}`;
    const size = snapshot.nodes[i + iSize];
    total += size;
    const e = by.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size;
    by.set(key, e);
  }
  const top = [...by].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20)
    .map(([k, e]) => ({ what: k, count: e.count, MB: +(e.bytes / 2 ** 20).toFixed(2) }));
  return { totalMB: +(total / 2 ** 20).toFixed(1), top };
}

// Self time of a CPU profile's functions, largest first.
function summarizeProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url ? f.url.split('/').pop() : ''}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return { totalMs: +(total / 1000).toFixed(0), top: [...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, us]) => [k, +(us / 1000).toFixed(1)]) };
}

async function heapSnapshot(cdp) {
  const parts = [];
  const onChunk = (e) => parts.push(e.chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  return summarize(JSON.parse(parts.join('')));
}

// One cold open in a new page of `ctx` (a browser on the profile), timed
// from navigation as well as from connect.
async function open(ctx, rows) {
  const p = await ctx.newPage();
  try {
    await p.goto(url);
    const cdp = await ctx.newCDPSession(p);
    const ms = await p.evaluate(async ({ ADAPTER, NOPRELOAD }) => {
      const t0 = performance.now();
      window.minibase = await import('/dist/browser.mjs');
      const tImport = performance.now();
      if (NOPRELOAD) return { import: +(tImport - t0).toFixed(0) };
      // The engine alone (fetch, compile, start; on OPFS the worker's too): the same at any size.
      await window.minibase.preload({ adapter: ADAPTER });
      return { import: +(tImport - t0).toFixed(0), engine: +(performance.now() - tImport).toFixed(0) };
    }, { ADAPTER, NOPRELOAD });
    if (PROFILE) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    Object.assign(ms, await p.evaluate(async ({ RESIDENT, ADAPTER }) => {
      const t0 = performance.now();
      const conn = await window.minibase.connect({ adapter: ADAPTER, name: 'bench', residentBytes: RESIDENT });
      const tConnect = performance.now();
      await conn.useDatabase('bench');
      const tUse = performance.now();
      const first = await conn.table('users').get(1);
      const tFirst = performance.now();
      if (first?.id !== 1) throw new Error(`row 1 is ${JSON.stringify(first)}`);
      window.__conn = conn; // kept open for the queries and the heap snapshot
      return { connect: +(tConnect - t0).toFixed(0), use: +(tUse - tConnect).toFixed(0), firstRow: +(tFirst - tUse).toFixed(0), openFirst: +(tFirst - t0).toFixed(0), sinceNavigation: +tFirst.toFixed(0) };
    }, { RESIDENT, ADAPTER }));
    const trace = await p.evaluate(() => { const t = globalThis.__trace; globalThis.__trace = []; return t; });
    const profile = PROFILE ? summarizeProfile((await cdp.send('Profiler.stop')).profile) : undefined;
    const r = await p.evaluate(async ({ rows, ADAPTER }) => {
      const { randomInts } = await import('/js/bench/workloads.mjs');
      const mb = (n) => +(n / 2 ** 20).toFixed(1);
      const conn = window.__conn;
      const users = conn.table('users');
      const atOpen = await conn.stats();
      // The JS heap as the page sees it (garbage included), after every call.
      let peak = 0;
      const sample = () => { peak = Math.max(peak, performance.memory?.usedJSHeapSize ?? 0); };
      let t = performance.now();
      for (const k of randomInts(rows, 1000, 7)) {
        if (!(await users.get(k + 1))) throw new Error(`row ${k + 1} is missing`);
        sample();
      }
      const points = performance.now() - t;
      const ages = Math.max(10, Math.floor(rows / 100));
      t = performance.now();
      for (const a of randomInts(ages, 20, 9)) {
        await users.select({ where: { age: { '>=': a, '<': a + 1 } }, orderBy: ['age'], limit: 100 });
        sample();
      }
      const ranges = performance.now() - t;
      const s = await conn.stats();
      return {
        ms: { filesLoad: atOpen.filesLoadMs, pointUs: +((points / 1000) * 1000).toFixed(0), rangeMs: +(ranges / 20).toFixed(2) },
        ...(ADAPTER === 'opfs' ? { files: { atOpen: { files: atOpen.opfsFiles, leftClosed: atOpen.opfsFilesLeftClosed, closed: atOpen.opfsFilesClosed, reruns: atOpen.opfsReruns, fullOpens: atOpen.opfsFullOpens }, after: { closed: s.opfsFilesClosed, openedLater: s.opfsFilesOpenedLater, reruns: s.opfsReruns, fullOpens: s.opfsFullOpens } } } : {}),
        atOpen: { chunkLoads: atOpen.chunkLoads, reruns: atOpen.chunkReruns, residentMB: mb(atOpen.residentChunkBytes ?? 0), wasmMB: mb(atOpen.wasmMemoryBytes), segments: atOpen.segments, runs: atOpen.runs, indexKB: Math.round((atOpen.indexBytes ?? 0) / 1024) },
        memory: { perfMemoryMB: mb(performance.memory?.usedJSHeapSize ?? 0), perfMemoryPeakMB: mb(peak), wasmMB: mb(s.wasmMemoryBytes), residentChunkMB: mb(s.residentChunkBytes ?? 0), chunkLoads: s.chunkLoads, chunkLoadMB: mb(s.chunkLoadBytes ?? 0), evictions: s.chunkEvictions, reruns: s.chunkReruns, indexKB: Math.round((s.indexBytes ?? 0) / 1024) },
        stats: s,
      };
    }, { rows, ADAPTER });
    r.ms = { ...ms, ...r.ms };
    if (profile) r.profile = profile;
    if (trace) r.trace = trace;
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    r.memory.v8HeapAfterGcMB = +(usedSize / 2 ** 20).toFixed(1);
    r.memory.perfMemoryAfterGcMB = +((await p.evaluate(() => performance.memory.usedJSHeapSize)) / 2 ** 20).toFixed(1);
    if (SNAPSHOT) r.snapshot = await heapSnapshot(cdp);
    await p.evaluate(() => window.__conn.close());
    if (ADAPTER === 'opfs') await p.evaluate(() => window.minibase.release('bench', 'opfs'));
    return r;
  } finally {
    // The page's engine worker lets go of the files before the next page opens them.
    const workers = p.workers();
    const gone = workers.length ? new Promise((resolve) => workers[0].once('close', resolve)) : null;
    await p.close();
    if (gone) await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
}

try {
  for (const rows of SIZES) {
    const dir = KEEP ? path.join(KEEP, `profile-${rows}`) : fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-large-'));
    try {
      const stamp = path.join(dir, '..', `built-${rows}.json`);
      let built;
      if (KEEP && fs.existsSync(stamp)) built = JSON.parse(fs.readFileSync(stamp, 'utf8'));
      else {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        built = await build(dir, rows);
        if (KEEP) fs.writeFileSync(stamp, JSON.stringify(built));
      }
      // The first open in a new browser, then more in new pages of the same
      // browser (an app opened again while the browser runs).
      const ctx = await launch(dir);
      for (let i = 0; i < OPENS; i++) {
        const r = await open(ctx, rows).catch(async (err) => {
          await ctx.close();
          throw err;
        });
        r.browser = i === 0 ? 'new' : 'running';
        const { stats, ...rest } = r;
        console.log(JSON.stringify({ dist: DIST, adapter: ADAPTER, rows, resident: RESIDENT ?? 'default', built: { buildS: +(built.buildMs / 1000).toFixed(1), settleS: +((built.settleMs ?? 0) / 1000).toFixed(1), diskMB: +(built.diskBytes / 2 ** 20).toFixed(1), runs: built.runs, runsAtLastWrite: built.runsAtLastWrite, compactions: built.compactions, compactSteps: built.compactSteps, peakResidentMB: +((built.peakResident ?? 0) / 2 ** 20).toFixed(1), peakCallMB: +((built.peakCall ?? 0) / 2 ** 20).toFixed(1), jsHeapMB: +((built.jsHeap ?? 0) / 2 ** 20).toFixed(1), wasmMB: +((built.wasm ?? 0) / 2 ** 20).toFixed(1) }, ...rest, ...(process.env.STATS === '1' ? { stats } : {}) }));
      }
      await ctx.close();
    } finally {
      if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await server.close();
}
