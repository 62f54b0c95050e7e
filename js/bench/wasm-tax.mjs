// What WebAssembly costs each engine: the same work run natively and in wasm.
//
// minibase: the bridge's workload benchmarks (wasm/bridge/workload_bench_test.go:
// the report's schema and queries, request bytes in, response bytes out, no
// JS), built once for the host and once with GOOS=js GOARCH=wasm, run in
// Node. SQLite: the same table and queries as one SQL script each, in the
// sqlite3 shell (skipped when it is not installed) and in sql.js, each loop
// of lookups inside one statement, so that no per-call JS is counted.
//
//   node js/bench/wasm-tax.mjs                 both
//   ONLY=go node js/bench/wasm-tax.mjs         one of them (go | sqlite)
//
// Prints markdown tables: per workload the native time, the wasm time and
// their ratio (the wasm tax). Go's is the gc compiler's wasm backend; sql.js
// is SQLite compiled by Emscripten (LLVM).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from './workloads.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const only = process.env.ONLY;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wasm-tax-'));
const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(2)} µs`);

// [benchmark, -test.benchtime, what it does]; the fixed counts load a table per op.
const GO = [
  ['Bulk', '3x', 'insertMany of 100,000 rows into an empty table'],
  ['InsertOne', '2s', 'one autocommit insert (memory adapter)'],
  ['Get', '2s', 'point read by primary key'],
  ['Unique', '2s', 'unique-key lookup'],
  ['Range', '2s', 'indexed range, order + limit 100'],
  ['Scan', '1s', 'scan with an unindexed filter, 100,000 rows'],
  ['Count', '1s', 'count with the same filter'],
  ['TopK', '1s', 'orderBy + limit 10 without a usable index'],
  ['Update10', '5x', 'update 10% of rows by an indexed condition'],
  ['Delete10', '5x', 'delete 10% of rows by an indexed condition'],
];

function goTax() {
  const go = process.env.GO ?? 'go';
  const native = path.join(tmp, 'bridge.test');
  const wasm = path.join(tmp, 'bridge.test.wasm');
  execFileSync(go, ['test', '-c', '-o', native, './wasm/bridge/'], { cwd: root, stdio: 'inherit' });
  execFileSync(go, ['test', '-c', '-o', wasm, './wasm/bridge/'], { cwd: root, stdio: 'inherit', env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' } });
  const run = (cmd, args, name, time) => {
    const out = execFileSync(cmd, [...args, '-test.run', '^$', '-test.bench', `^BenchmarkWorkload${name}$`, '-test.benchtime', time], { cwd: path.join(root, 'wasm/bridge'), encoding: 'utf8', maxBuffer: 1 << 24 });
    const m = out.match(/\s([\d.]+) ns\/op/);
    if (!m) throw new Error(`no ns/op for ${name}:\n${out}`);
    return Number(m[1]);
  };
  console.log('\n| minibase (Go) | native | wasm (Node) | wasm ÷ native |\n|---|---:|---:|---:|');
  for (const [name, time, what] of GO) {
    const n = run(native, [], name, time);
    const w = run(path.join(root, 'js/test/go-wasm-exec'), [wasm], name, time);
    console.log(`| ${what} | ${fmt(n)} | ${fmt(w)} | ${(w / n).toFixed(1)}× |`);
  }
}

// The report's table in SQL, and each workload as one statement.
const SETUP = `CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, age INTEGER,
  city TEXT, score INTEGER, profile TEXT);
CREATE INDEX idx_age ON users(age); CREATE INDEX idx_city ON users(city);`;
const LOAD = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99999)
INSERT INTO users SELECT i + 1, 'user' || i, i % 1000, 'city' || (i % 37), (i * 7919) % 100000,
  '{"plan":"free","tags":["a","b"],"verified":true}' FROM c;`;
const loop = (n, body) => `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ${n - 1}) SELECT sum(${body}) FROM c;`;
const SQL = [
  ['10,000 point reads by primary key', 10000, loop(10000, `(SELECT length(username) + length(profile) FROM users WHERE id = (c.i * 7919) % 100000 + 1)`)],
  ['10,000 unique-key lookups', 10000, loop(10000, `(SELECT length(profile) + age FROM users WHERE username = 'user' || ((c.i * 7919) % 100000))`)],
  ['100 indexed ranges, order + limit 100', 100, loop(100, `(SELECT sum(length(profile) + score) FROM (SELECT * FROM users WHERE age >= (c.i * 7) % 998 AND age < (c.i * 7) % 998 + 2 ORDER BY age LIMIT 100))`)],
  ['count with an unindexed filter, 100,000 rows', 1, 'SELECT COUNT(*) FROM users WHERE score < 1000;'],
  ['orderBy + limit 10 without a usable index', 1, 'SELECT sum(score) FROM (SELECT * FROM users WHERE score < 33000 ORDER BY score DESC LIMIT 10);'],
  ['update 10% of rows by an indexed condition', 1, 'UPDATE users SET score = -1 WHERE age < 100;'],
];
const REPS = 5;

async function sqliteTax() {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
  } catch {
    console.log('\nsqlite3 shell not installed (Debian: apt-get install sqlite3): SQLite skipped');
    return;
  }
  // The shell's .timer prints a "Run Time: real … user … sys …" line per
  // input it runs; its real time is in milliseconds, user and sys in
  // microseconds (the work is one thread's CPU, so their sum is used).
  const script = [SETUP, '.timer on', LOAD, ...SQL.flatMap(([, , q]) => Array(REPS).fill(q))].join('\n');
  const out = execFileSync('sqlite3', [':memory:'], { input: script, encoding: 'utf8' });
  const times = [...out.matchAll(/Run Time: real [\d.]+ user ([\d.]+) sys ([\d.]+)/g)].map((m) => (Number(m[1]) + Number(m[2])) * 1e9);
  if (times.length !== 1 + SQL.length * REPS) throw new Error(`sqlite3 timed ${times.length} statements, not ${1 + SQL.length * REPS}`);
  const nativeLoad = times[0];
  const native = SQL.map((_, k) => median(times.slice(1 + k * REPS, 1 + (k + 1) * REPS)));

  const { default: init } = await import('sql.js');
  const S = await init();
  const db = new S.Database();
  db.exec(SETUP);
  let t0 = performance.now();
  db.exec(LOAD);
  const wasmLoad = (performance.now() - t0) * 1e6;
  const wasm = SQL.map(([, , q]) => {
    const ts = [];
    for (let r = 0; r < REPS; r++) {
      t0 = performance.now();
      db.exec(q);
      ts.push((performance.now() - t0) * 1e6);
    }
    return median(ts);
  });
  db.close();
  console.log('\n| SQLite (C) | native (sqlite3 shell) | wasm (sql.js in Node) | wasm ÷ native |\n|---|---:|---:|---:|');
  console.log(`| load 100,000 rows (one INSERT … SELECT, indexes kept) | ${fmt(nativeLoad)} | ${fmt(wasmLoad)} | ${(wasmLoad / nativeLoad).toFixed(1)}× |`);
  SQL.forEach(([what, per], k) => {
    const each = per > 1 ? ` (${fmt(native[k] / per)} / ${fmt(wasm[k] / per)} each)` : '';
    console.log(`| ${what}${each} | ${fmt(native[k])} | ${fmt(wasm[k])} | ${(wasm[k] / native[k]).toFixed(1)}× |`);
  });
}

try {
  if (only !== 'sqlite') goTax();
  if (only !== 'go') await sqliteTax();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
