// The storage manager benchmark: set and get of 1 KB values from JS, plain
// and encrypt+compress, on the memory and node adapters, against the floor
// of a localStorage-style in-memory Map + JSON.stringify / JSON.parse.
//
//   make build && node js/bench/storage-bench.mjs      (OPS=5000 for a quick run)
//
// Prints a markdown table of ops/s (median of RUNS runs).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStorage } from 'minibase-db';
import { median } from './workloads.mjs';

const OPS = Number(process.env.OPS ?? 20_000);
const KEYS = 1000; // sets overwrite a working set of this many keys
const RUNS = Number(process.env.RUNS ?? 3);

/** A ~1 KB JSON object, like a cached API response. */
function value(i) {
  const items = [];
  for (let j = 0; JSON.stringify(items).length < 950; j++) items.push({ id: i * 100 + j, name: `item ${j}`, ok: j % 2 === 0 });
  return { page: i, items };
}


function rate(fn) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < OPS; i++) fn(i);
    runs.push(OPS / ((performance.now() - t0) / 1000));
  }
  return median(runs);
}

async function measure(label, st, opts) {
  const vals = Array.from({ length: KEYS }, (_, i) => value(i));
  const set = rate((i) => st.setSync(`k${i % KEYS}`, vals[i % KEYS], opts));
  const get = rate((i) => st.getSync(`k${i % KEYS}`));
  return { label, set, get };
}

const rows = [];
{
  const map = new Map();
  const vals = Array.from({ length: KEYS }, (_, i) => value(i));
  rows.push({
    label: 'floor: Map + JSON.stringify/parse',
    set: rate((i) => map.set(`k${i % KEYS}`, JSON.stringify(vals[i % KEYS]))),
    get: rate((i) => JSON.parse(map.get(`k${i % KEYS}`))),
  });
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-storage-bench-'));
try {
  for (const adapter of ['memory', 'node']) {
    const st = await openStorage({ adapter, root: adapter === 'node' ? root : 'bench', secret: 'bench passphrase', limitSize: 1 << 30, sweepInterval: 0 });
    rows.push(await measure(`${adapter}: plain`, st, {}));
    rows.push(await measure(`${adapter}: encrypt + compress`, st, { encrypt: true, compress: true }));
    await st.close();
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}

console.log(`\n1 KB values, ${OPS} ops per run over ${KEYS} keys, median of ${RUNS} runs (Node ${process.version})\n`);
console.log('| store | set (ops/s) | get (ops/s) |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.label} | ${Math.round(r.set).toLocaleString('en-US')} | ${Math.round(r.get).toLocaleString('en-US')} |`);
