// The benchmark side by side with minibase's peers in Node:
// the same workloads, schema and rows on minibase (node and memory adapters),
// LokiJS, sql.js, Dexie 4 on fake-indexeddb and a Map + JSON floor.
//
//   make bench                     (= make build && node js/bench/bench.mjs)
//   ROWS=20000 RUNS=1 node js/bench/bench.mjs      a quick run
//   SYSTEMS=minibase-node,sqljs node js/bench/bench.mjs
//   REPORT=0 ...                   print only; do not rewrite bench/report.md
//   REPLOT=1 node js/bench/bench.mjs   re-render the report from bench/runs.json
//
// Every system runs in its own child process (js/bench/run-one.mjs), RUNS
// times, the runs of the systems interleaved; the report keeps the median.
// Writes bench/report.md, bench/ratios.svg (js/bench/report.mjs) and the raw
// runs, bench/runs.json.
// The older single-system tables: js/bench/foundation.mjs, storage-bench.mjs.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYSTEMS } from './systems.mjs';
import { machine, writeReport } from './report.mjs';

const ROWS = Number(process.env.ROWS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 3);
const names = (process.env.SYSTEMS ?? Object.keys(SYSTEMS).join(',')).split(',');
const runner = fileURLToPath(new URL('./run-one.mjs', import.meta.url));
const COLD_IN_PROCESS = new Set(['minibase-memory', 'dexie']);

function child(name, mode, dir) {
  const stdout = execFileSync(process.execPath, ['--expose-gc', runner, name, mode, dir], {
    env: { ...process.env, ROWS: String(ROWS) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${name} ${mode}: no result`);
  return JSON.parse(line.slice(7));
}

const benchDir = fileURLToPath(new URL('../../bench/', import.meta.url));
if (process.env.REPLOT === '1') {
  // re-render bench/report.md and the chart from the runs of the last full run
  const saved = JSON.parse(fs.readFileSync(path.join(benchDir, 'runs.json'), 'utf8'));
  console.log(writeReport({ ...saved, write: true }));
  process.exit(0);
}

const started = Date.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-peers-'));
const runs = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let r = 0; r < RUNS; r++) {
    for (const name of names) {
      const dir = path.join(tmp, `${name}-${r}`);
      fs.mkdirSync(dir, { recursive: true });
      const t0 = Date.now();
      const res = child(name, 'warm', dir);
      if (!COLD_IN_PROCESS.has(name)) {
        res.ms.reopen = child(name, 'cold', dir).ms.reopen;
        res.ops.reopen = 1;
      }
      runs[name].push(res);
      fs.rmSync(dir, { recursive: true, force: true });
      console.error(`run ${r + 1}/${RUNS} ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const result = { runs, rows: ROWS, runCount: RUNS, seconds: (Date.now() - started) / 1000, machine: machine() };
const write = process.env.REPORT !== '0';
if (write) {
  fs.mkdirSync(benchDir, { recursive: true });
  fs.writeFileSync(path.join(benchDir, 'runs.json'), JSON.stringify(result) + '\n');
}
const md = writeReport({ ...result, write });
console.log(md);
