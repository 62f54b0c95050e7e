// The storage-engine benchmark: Node, wasm build, 'node' adapter
// (a temp dir), a table with one unique and one secondary index, rows of
// about 100 bytes.
//
//   make build && node js/bench/lsm-bench.mjs
//   ROWS=100000 node js/bench/lsm-bench.mjs        a quick run
//   MEMTABLE=... CACHE=... set memtableBytes / cacheBytes (default: engine defaults)
//   WASM=/path/other.wasm                        another engine build (A/B)
//
// Prints a markdown table: insertMany throughput and peak memory, 1,000
// autocommit inserts (rows/s, bytes written per commit), point lookups by the
// unique key warm and cold (after reopen), reopen time, disk size against the
// raw data size after compaction.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'minibase-db';
import { randomInts } from './workloads.mjs';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const BATCH = Number(process.env.BATCH ?? 10_000);
const LOOKUPS = Number(process.env.LOOKUPS ?? 5_000);
const SINGLES = 1_000;
// No idle checkpoint: it would flush the log during the timed lookups (see systems.mjs).
const tuning = { checkpointIdleMs: 0, ...(process.env.WASM ? { wasm: process.env.WASM } : {}) };
if (process.env.MEMTABLE) tuning.memtableBytes = Number(process.env.MEMTABLE);
if (process.env.CACHE) tuning.cacheBytes = Number(process.env.CACHE);

function row(i) {
  // username is unique, age indexed; bio pads the row to about 100 bytes of JSON
  return { username: `user${String(i).padStart(8, '0')}`, age: i % 100, city: `city${i % 37}`, bio: `bio ${i} `.padEnd(40, 'x') };
}

function dirBytes(dir) {
  let n = 0;
  for (const name of fs.readdirSync(dir)) n += fs.statSync(path.join(dir, name)).size;
  return n;
}

let peakRss = 0;
let peakExt = 0;
let peakGo = 0;
let peakLive = 0;
let peakWasm = 0;
async function sample(conn) {
  const mu = process.memoryUsage();
  peakRss = Math.max(peakRss, mu.rss);
  peakExt = Math.max(peakExt, mu.arrayBuffers);
  const st = await conn.stats();
  peakGo = Math.max(peakGo, st.heapTotalBytes ?? 0);
  peakLive = Math.max(peakLive, st.heapLiveBytes ?? 0);
  peakWasm = Math.max(peakWasm, st.wasmMemoryBytes ?? 0);
  return st;
}

async function open(root) {
  const conn = await connect({ adapter: 'node', root, ...tuning });
  await conn.useDatabase('bench');
  return conn;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-lsm-bench-'));
const out = [];
const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;
try {
  let conn = await connect({ adapter: 'node', root, ...tuning });
  await conn.createDatabase('bench');
  await conn.useDatabase('bench');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number' },
      { name: 'city', type: 'string' },
      { name: 'bio', type: 'string' },
    ],
    indexes: [{ columns: ['age'] }],
  });
  let users = conn.table('users');

  // insertMany in batches
  let raw = 0;
  let worstBatch = 0;
  const t0 = performance.now();
  for (let start = 0; start < ROWS; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(start + BATCH, ROWS); i++) {
      const r = row(i);
      raw += JSON.stringify(r).length;
      rows.push(r);
    }
    const b0 = performance.now();
    await users.insertMany(rows);
    worstBatch = Math.max(worstBatch, performance.now() - b0);
    await sample(conn);
  }
  const insertMs = performance.now() - t0;
  let st = await sample(conn);
  out.push(['insertMany rows/s', Math.round(ROWS / (insertMs / 1000)).toLocaleString('en-US'), `${ROWS.toLocaleString('en-US')} rows in batches of ${BATCH}; slowest batch ${worstBatch.toFixed(0)} ms`]);
  out.push(['wasm memory during the load (never shrinks) [≤ 128 MB]', mb(peakWasm), `Go: ${mb(peakGo)} in /memory/classes/total, peak live heap after a collection ${mb(peakLive)}; process RSS peak ${mb(peakRss)} (ArrayBuffers ${mb(peakExt)})`]);
  out.push(['bytes written per row (insertMany)', Math.round(st.bytesWritten / ROWS), `${st.flushes} flushes, ${st.compactions} compactions; raw row ${Math.round(raw / ROWS)} B`]);

  // single-row autocommit inserts
  const w0 = st.bytesWritten;
  const s0 = performance.now();
  for (let i = 0; i < SINGLES; i++) await users.insert(row(ROWS + i));
  const singleMs = performance.now() - s0;
  st = await sample(conn);
  out.push(['autocommit insert rows/s', Math.round(SINGLES / (singleMs / 1000)).toLocaleString('en-US'), `${SINGLES} single-row inserts`]);
  out.push(['bytes written per autocommit insert', Math.round((st.bytesWritten - w0) / SINGLES), 'log record incl. both index entries, plus amortized flushes']);

  // warm point lookups by the unique key
  for (const i of randomInts(ROWS, LOOKUPS, 7)) await users.select({ where: { username: row(i).username } });
  const hits0 = st.cacheHits;
  const miss0 = st.cacheMisses;
  const l0 = performance.now();
  for (const i of randomInts(ROWS, LOOKUPS)) {
    const found = await users.select({ where: { username: row(i).username } });
    if (found.length !== 1) throw new Error(`user ${i}: ${found.length} rows`);
  }
  const warmUs = ((performance.now() - l0) * 1000) / LOOKUPS;
  st = await sample(conn);
  const rate = (st.cacheHits - hits0) / Math.max(1, st.cacheHits - hits0 + st.cacheMisses - miss0);
  out.push(['unique-key lookup, warm', `${warmUs.toFixed(1)} µs`, `${LOOKUPS} random keys of ${ROWS.toLocaleString('en-US')}; block cache hit rate ${(rate * 100).toFixed(0)}% (limit ${mb(st.cacheLimit)}); segment indexes held ${mb(st.indexBytes)}, ${st.indexCloses} segments closed to stay within the limit`]);

  // compaction and disk size
  const c0 = performance.now();
  await conn.compact();
  const compactMs = performance.now() - c0;
  st = await sample(conn);
  const disk = dirBytes(root);
  out.push(['compact()', `${compactMs.toFixed(0)} ms`, `${st.segments} segments after`]);
  out.push(['disk size / raw data after compaction', (disk / raw).toFixed(2), `${mb(disk)} on disk (stats: ${mb(st.diskBytes)}) for ${mb(raw)} of row JSON; indexes included`]);
  await conn.close();

  // reopen and cold lookups
  const o0 = performance.now();
  conn = await open(root);
  users = conn.table('users');
  const first = await users.select({ where: { username: row(12345 % ROWS).username } });
  const reopenMs = performance.now() - o0;
  if (first.length !== 1) throw new Error('row missing after reopen');
  out.push(['reopen (connect + first query)', `${reopenMs.toFixed(0)} ms`, '']);
  const k0 = performance.now();
  const COLD = Math.min(LOOKUPS, 1000);
  for (const i of randomInts(ROWS, COLD, 99)) {
    const found = await users.select({ where: { username: row(i).username } });
    if (found.length !== 1) throw new Error(`user ${i}: ${found.length} rows`);
  }
  const coldUs = ((performance.now() - k0) * 1000) / COLD;
  st = await conn.stats();
  out.push(['unique-key lookup, cold after reopen', `${coldUs.toFixed(1)} µs`, `first ${COLD} lookups after reopen; ${st.cacheMisses} block reads`]);
  await conn.close();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}

console.log(`\n| measure | value | notes |\n|---|---|---|`);
for (const [k, v, n] of out) console.log(`| ${k} | ${v} | ${n} |`);
