// The foundation benchmark: Node, wasm build, a table with a unique and a
// secondary index, on the 'node' adapter (a temp dir) and the memory adapter.
//
//   make build && node js/bench/foundation.mjs   (ROWS=20000 for a quick run)
//
// Prints a markdown table: insertMany throughput, point lookups by unique key
// (select) and by primary key (get), and indexed range queries of 100 rows.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connect } from 'minibase-db';
import { randomInts } from './workloads.mjs';

const ROWS = Number(process.env.ROWS ?? 100_000);
const LOOKUPS = 10_000;
const RANGES = 100;
const AGES = ROWS / 100; // every age value is held by 100 rows

function makeRows() {
  const rows = new Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    rows[i] = { username: `user${i}`, age: i % AGES, city: `city${i % 37}`, score: i * 0.5 };
  }
  return rows;
}

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function bench(adapter, root) {
  const conn = await connect({ adapter, root });
  await conn.createDatabase('bench');
  await conn.useDatabase('bench');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number' },
      { name: 'city', type: 'string' },
      { name: 'score', type: 'number' },
    ],
    indexes: [{ columns: ['age'] }],
  });
  const users = conn.table('users');
  const rows = makeRows();

  const insertMs = await time(async () => {
    const n = await users.insertMany(rows);
    if (n !== ROWS) throw new Error(`inserted ${n}`);
  });

  // warm up each path, then measure
  for (const i of randomInts(ROWS, 1000, 7)) await users.select({ where: { username: `user${i}` } });
  const uniqueMs = await time(async () => {
    for (const i of randomInts(ROWS, LOOKUPS)) {
      const found = await users.select({ where: { username: `user${i}` } });
      if (found.length !== 1) throw new Error(`user${i}: ${found.length} rows`);
    }
  });

  for (const i of randomInts(ROWS, 1000, 7)) await users.get(i + 1);
  const getMs = await time(async () => {
    for (const i of randomInts(ROWS, LOOKUPS)) {
      const row = await users.get(i + 1);
      if (row === null) throw new Error(`id ${i + 1} missing`);
    }
  });

  const plan = await users.explain({ where: { age: { '>=': 1, '<': 2 } } });
  for (const a of randomInts(AGES, 10, 7)) await users.select({ where: { age: { '>=': a, '<': a + 1 } } });
  const rangeMs = await time(async () => {
    for (const a of randomInts(AGES, RANGES)) {
      const found = await users.select({ where: { age: { '>=': a, '<': a + 1 } } });
      if (found.length !== 100) throw new Error(`age ${a}: ${found.length} rows`);
    }
  });

  const stats = await conn.stats();
  await conn.close();
  return {
    heapMB: stats.heapTotalBytes / 1024 / 1024,
    adapter,
    insertRowsPerSec: ROWS / (insertMs / 1000),
    uniqueUs: (uniqueMs * 1000) / LOOKUPS,
    getUs: (getMs * 1000) / LOOKUPS,
    rangeMs: rangeMs / RANGES,
    plan: `${plan.kind} on ${plan.index}`,
  };
}

function wasmSizes() {
  const wasm = fileURLToPath(new URL('../dist/minibase.wasm', import.meta.url));
  const raw = fs.readFileSync(wasm);
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
  const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  return `${mb(raw.length)} raw, ${mb(br.length)} brotli`;
}

const RUNS = Number(process.env.RUNS ?? 3);

/** Runs the benchmark RUNS times and keeps the median of every number. */
async function median(adapter, root) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await bench(adapter, `${root}-${i}`));
  const mid = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  return { ...runs[0], insertRowsPerSec: mid('insertRowsPerSec'), uniqueUs: mid('uniqueUs'), getUs: mid('getUs'),
    rangeMs: mid('rangeMs'), heapMB: Math.max(...runs.map((r) => r.heapMB)) };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-bench-'));
try {
  const results = [await median('node', path.join(dir, 'data')), await median('memory', `bench-${process.pid}`)];
  const fmt = (n, digits) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  console.log(`minibase benchmark — Node ${process.version}, ${ROWS.toLocaleString('en-US')} rows, median of ${RUNS} runs, wasm ${wasmSizes()}\n`);
  console.log('| adapter | insertMany (rows/s) | select by unique key (µs) | get by primary key (µs) | range query, 100 rows (ms) | range plan | wasm memory (MB) |');
  console.log('|---|---:|---:|---:|---:|---|---:|');
  for (const r of results) {
    console.log(`| ${r.adapter} | ${fmt(r.insertRowsPerSec, 0)} | ${fmt(r.uniqueUs, 2)} | ${fmt(r.getUs, 2)} | ${fmt(r.rangeMs, 3)} | ${r.plan} | ${fmt(r.heapMB, 0)} |`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
