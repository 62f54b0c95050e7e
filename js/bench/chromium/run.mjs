// The Chromium half of the peers benchmark: the workloads of
// ../workloads.mjs on raw IndexedDB, Dexie 4, LokiJS + IndexedDB and
// minibase's IndexedDB adapter, in headless Debian Chromium driven by
// playwright-core (never a downloaded browser). Every run of every system
// gets a fresh browser profile; its cold reopen is a new page in that
// profile. Writes bench/chromium-runs.json and, through report.mjs,
// bench/report-chromium.md and bench/ratios-chromium.svg.
//
//   make bench-chromium            (= node js/bench/chromium/run.mjs)
//   ROWS=20000 RUNS=1 SYSTEMS=dexie,idb node js/bench/chromium/run.mjs
//   LARGE_ROWS=500000 (default: ~100 MB of minibase files, built in ~1–4 min per system here) the large-database phase; 0 skips it
//   REPORT=0 ...                   print only
//   ISOLATED=1 ...                 pages served cross-origin isolated (COOP + COEP): minibase-opfs
//                                  then calls its worker through a SharedArrayBuffer (print only)
//   REPLOT=1 node js/bench/chromium/run.mjs   re-render from bench/chromium-runs.json

import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { machine, writeChromiumReport } from '../report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const ROWS = Number(process.env.ROWS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 3);
const ISOLATED = process.env.ISOLATED === '1';
const ALL = ['minibase-idb', 'minibase-opfs', 'idb', 'dexie', 'loki'];
const KV = ['minibase-idb', 'localforage', 'idb-keyval'];
const hasMinibase = fs.existsSync(path.join(root, 'js/dist/browser.mjs'));
const wanted = (process.env.SYSTEMS ?? [...ALL, ...KV].join(',')).split(',');
const usable = (n) => !n.startsWith('minibase-') || hasMinibase;
const names = ALL.filter((n) => wanted.includes(n) && usable(n));
const kvNames = KV.filter((n) => wanted.includes(n) && usable(n));
const CHROME = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];

if (process.env.REPLOT === '1') {
  // re-render the report from the runs of the last full run
  const saved = JSON.parse(fs.readFileSync(path.join(root, 'bench', 'chromium-runs.json'), 'utf8'));
  console.log(writeChromiumReport({ ...saved, write: true }));
  process.exit(0);
}
if (!fs.existsSync(CHROME)) {
  console.error(`${CHROME} is missing: install Debian's chromium (apt-get install -y chromium); this benchmark never downloads a browser`);
  process.exit(1);
}
if (!hasMinibase) console.error('js/dist/browser.mjs is missing: minibase\'s browser build is not there; running the peers only');

// the page bundle: systems + workloads, each library in its own chunk
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-chromium-bench-'));
const www = path.join(tmp, 'www');
await build({
  entryPoints: [path.join(here, 'page.mjs')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  outdir: www,
  logLevel: 'error',
});
fs.writeFileSync(path.join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><title>minibase bench</title><script type="module" src="/page.js"></script>\n');

const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.br': 'application/octet-stream' };
const server = http.createServer((rq, rs) => {
  const url = new URL(rq.url, 'http://x');
  const file = url.pathname.startsWith('/dist/')
    ? path.join(root, 'js', url.pathname)
    : path.join(www, url.pathname === '/' ? 'index.html' : url.pathname);
  fs.readFile(file, (err, data) => {
    if (err) { rs.writeHead(404); rs.end(); return; }
    rs.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...(ISOLATED ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}) });
    rs.end(data);
  });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

/** Loads the page in ctx for one system and mode; returns its result. */
async function visit(ctx, system, mode, rows = ROWS) {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${origin}/index.html?system=${system}&mode=${mode}&rows=${rows}`);
    await page.waitForFunction(() => window.__result, null, { timeout: 1_800_000, polling: 200 });
    const r = await page.evaluate(() => window.__result);
    if (!r.ok) throw new Error(`${system} ${mode}: ${r.error}`);
    return r.result;
  } catch (e) {
    throw new Error(`${system} ${mode}: ${e.message}${errors.length ? `\npage errors: ${errors.join('\n')}` : ''}`);
  } finally {
    await page.close();
  }
}

const started = Date.now();
const LARGE_ROWS = Number(process.env.LARGE_ROWS ?? 500_000);
const LARGE_SYSTEMS = LARGE_ROWS > 0 ? ['minibase-idb', 'minibase-opfs', 'dexie'].filter((n) => wanted.includes(n) && usable(n)) : [];
const large = [];
const runs = Object.fromEntries([...new Set([...names, ...kvNames])].map((n) => [n, []]));
try {
  for (let r = 0; r < RUNS; r++) {
    for (const name of Object.keys(runs)) {
      const t0 = Date.now();
      const profile = path.join(tmp, `profile-${name}-${r}`);
      const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, args: FLAGS, headless: true });
      try {
        const res = { system: name, mode: 'warm', ms: {}, ops: {} };
        if (names.includes(name)) {
          Object.assign(res, await visit(ctx, name, 'warm'));
          const cold = await visit(ctx, name, 'cold');
          res.ms.reopen = cold.ms.reopen;
          res.ops.reopen = 1;
        }
        if (kvNames.includes(name)) {
          const kv = await visit(ctx, name, 'kv');
          res.name ??= kv.name;
          Object.assign(res.ms, kv.ms);
          Object.assign(res.ops, kv.ops);
        }
        runs[name].push(res);
      } finally {
        await ctx.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
      console.error(`run ${r + 1}/${RUNS} ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  // The large database: open + first query, reads and memory at LARGE_ROWS
  // rows, on each minibase backend and Dexie. A new page in the same profile
  // opens it (as the cold start above); LARGE_ROWS=0 skips it.
  for (const name of LARGE_SYSTEMS) {
    const t0 = Date.now();
    const profile = path.join(tmp, `profile-large-${name}`);
    const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROME, args: [...FLAGS, '--enable-precise-memory-info'], headless: true });
    try {
      const built = await visit(ctx, name, 'large-build', LARGE_ROWS);
      const opened = await visit(ctx, name, 'large-open', LARGE_ROWS);
      large.push({ system: name, name: built.name, rows: LARGE_ROWS, ...built, ms: { ...built.ms, ...opened.ms }, ops: { ...built.ops, ...opened.ops }, memory: opened.memory });
    } finally {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
    console.error(`large ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
} finally {
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

const browserVersion = (() => {
  try { return execFileSync(CHROME, ['--version'], { encoding: 'utf8' }).trim(); } catch { return ''; }
})();
const result = { runs, large, rows: ROWS, runCount: RUNS, seconds: (Date.now() - started) / 1000, machine: { ...machine(), browser: browserVersion || 'Debian chromium' } };
const write = process.env.REPORT !== '0' && !ISOLATED; // an isolated run is not the committed report's
const benchDir = path.join(root, 'bench');
if (write) fs.writeFileSync(path.join(benchDir, 'chromium-runs.json'), JSON.stringify(result) + '\n');
console.log(writeChromiumReport({ ...result, write }));
