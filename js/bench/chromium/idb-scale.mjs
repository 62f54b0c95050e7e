// How the IndexedDB adapter scales with the database: for each size, a
// fresh Chromium profile gets a database of about that many MB of rows
// (the page's own insertMany), the browser is restarted (cold), and a new
// page measures connect + the first point read, then 200 point reads and
// an index range, and the tab's memory: the JS heap (DevTools'
// Runtime.getHeapUsage), the engine's wasm memory (stats()), the chunks
// loaded (ArrayBuffers, outside the heap's count) and the renderer
// processes' RSS.
//
//   nice -n 15 node js/bench/chromium/idb-scale.mjs
//   SIZES=10,100 DIST=/path/to/other/js/dist RESIDENT=33554432 node js/bench/chromium/idb-scale.mjs
//
// DIST serves another build (e.g. one from before chunked files) in place of
// js/dist, to compare the two in one run. Figures go to stdout as JSON lines.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot, startServer } from '../../test/browser/server.mjs';

const SIZES = (process.env.SIZES ?? '10,100').split(',').map(Number);
const DIST = path.resolve(process.env.DIST ?? path.join(repoRoot, 'js/dist'));
const RESIDENT = process.env.RESIDENT ? Number(process.env.RESIDENT) : undefined;
const CHROME = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const ROW_BYTES = 260; // about what one row below costs in the files
const BATCH = 2000;

const server = await startServer({ mounts: { '/': repoRoot, '/dist/': DIST } });
const launch = (dir) => chromium.launchPersistentContext(dir, { executablePath: CHROME, headless: true, args: FLAGS });
const url = `${server.url}/js/test/browser/pages/blank.html`;

async function page(ctx) {
  const p = await ctx.newPage();
  await p.goto(url);
  await p.evaluate(async () => {
    window.minibase = await import('/dist/browser.mjs');
  });
  return p;
}

const heapMB = async (p) => {
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize / 2 ** 20;
};

// KB of resident memory of the renderer processes of the browser on profile
// dir (the tab; chunks are ArrayBuffers, outside the JS heap's count).
function rendererRSS(dir) {
  const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const procs = ps.map((l) => {
    const [pid, ppid, rss, ...args] = l.trim().split(/\s+/);
    return { pid: +pid, ppid: +ppid, rss: +rss, args: args.join(' ') };
  });
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const browser = procs.find((p) => p.args.includes(`--user-data-dir=${dir}`) && !p.args.includes('--type='));
  const under = (p) => {
    for (let q = p; q; q = byPid.get(q.ppid)) if (q.pid === browser.pid) return true;
    return false;
  };
  return procs.filter((p) => p.args.includes('--type=renderer') && under(p)).reduce((a, p) => a + p.rss, 0);
}

for (const mb of SIZES) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-idb-scale-'));
  try {
    const rows = Math.round((mb * 2 ** 20) / ROW_BYTES);
    let ctx = await launch(dir);
    let p = await page(ctx);
    const built = Date.now();
    const builtStats = await p.evaluate(
      async ({ rows, BATCH, RESIDENT }) => {
        const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'scale', residentBytes: RESIDENT });
        await conn.createDatabase('app');
        await conn.useDatabase('app');
        await conn.createTable('items', {
          columns: [
            { name: 'id', type: 'number', primaryKey: true },
            { name: 'n', type: 'number' },
            { name: 'text', type: 'string' },
          ],
          indexes: [{ columns: ['n'] }],
        });
        const items = conn.table('items');
        // Text that does not compress: 200 pseudo-random letters a row.
        let x = 88172645;
        const text = () => {
          let t = '';
          for (let k = 0; k < 200; k++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            t += String.fromCharCode(97 + ((x >>> 0) % 26));
          }
          return t;
        };
        for (let i = 0; i < rows; i += BATCH) {
          const n = Math.min(BATCH, rows - i);
          await items.insertMany(Array.from({ length: n }, (_, j) => ({ id: i + j, n: (i + j) % 10007, text: text() })));
        }
        const s = await conn.stats();
        await conn.close();
        return { disk: s.diskBytes, runs: s.runs, segments: s.segments, compactions: s.compactions, wasmMB: s.wasmMemoryBytes / 2 ** 20 };
      },
      { rows, BATCH, RESIDENT },
    );
    const buildS = (Date.now() - built) / 1000;
    await ctx.close();

    // Cold: a new browser on the same profile.
    ctx = await launch(dir);
    p = await page(ctx);
    const r = await p.evaluate(
      async ({ rows, RESIDENT }) => {
        // The engine itself (fetch, compile, start) is the same at any size: started first.
        const te = performance.now();
        await (await window.minibase.connect({ adapter: 'memory', name: 'warm' })).close();
        const engineStart = performance.now() - te;
        const t0 = performance.now();
        const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'scale', residentBytes: RESIDENT });
        await conn.useDatabase('app');
        const opened = performance.now() - t0;
        const so = await conn.stats();
        const atOpen = { reruns: so.chunkReruns, chunkLoads: so.chunkLoads, indexKB: Math.round(so.indexBytes / 1024), heapLiveMB: Math.round(so.heapLiveBytes / 2 ** 20), wasmMB: Math.round(so.wasmMemoryBytes / 2 ** 20), runs: so.runs, segments: so.segments, memtableKB: Math.round(so.memtableBytes / 1024) };
        const items = conn.table('items');
        const first = await items.get(Math.floor(rows / 2));
        const openFirst = performance.now() - t0;
        if (!first) throw new Error('the first read found nothing');
        const t1 = performance.now();
        for (let i = 0; i < 200; i++) await items.get((i * 7919 * 13) % rows);
        const pointUs = ((performance.now() - t1) / 200) * 1000;
        const tw = performance.now();
        for (let i = 0; i < 200; i++) await items.get((i * 7919 * 13) % rows);
        const warmPointUs = ((performance.now() - tw) / 200) * 1000;
        const t2 = performance.now();
        const range = await items.select({ where: { n: { '>=': 500, '<': 510 } } });
        const rangeMs = performance.now() - t2;
        const s = await conn.stats();
        return { atOpen, engineStart, opened, openFirst, pointUs, warmPointUs, loadMs: s.filesLoadMs, rangeMs, rangeRows: range.length, wasmMB: s.wasmMemoryBytes / 2 ** 20, residentMB: (s.residentChunkBytes ?? 0) / 2 ** 20, chunkLoads: s.chunkLoads, reruns: s.chunkReruns };
      },
      { rows, RESIDENT },
    );
    const jsMB = await heapMB(p);
    const rssMB = rendererRSS(dir) / 1024;
    console.log(JSON.stringify({
      dist: DIST, targetMB: mb, rows, filesMB: +(builtStats.disk / 2 ** 20).toFixed(1), built: { ...builtStats, disk: undefined }, buildS: +buildS.toFixed(1),
      atOpen: r.atOpen, engineStartMs: +r.engineStart.toFixed(0), openMs: +r.opened.toFixed(0), openFirstMs: +r.openFirst.toFixed(0), filesLoadMs: r.loadMs, pointUs: +r.pointUs.toFixed(0), warmPointUs: +r.warmPointUs.toFixed(0), range10Ms: +r.rangeMs.toFixed(1), rangeRows: r.rangeRows,
      jsHeapMB: +jsMB.toFixed(1), wasmMB: +r.wasmMB.toFixed(1), residentChunkMB: +r.residentMB.toFixed(1), rendererRssMB: +rssMB.toFixed(0), chunkLoads: r.chunkLoads, reruns: r.reruns,
    }));
    await ctx.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
await server.close();
