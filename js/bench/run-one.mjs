// One run of the peers benchmark for one system, in its own process (so that
// memory numbers and garbage collection belong to that system alone).
//
//   node js/bench/run-one.mjs SYSTEM warm DIR   all workloads, then saves its data to DIR
//   node js/bench/run-one.mjs SYSTEM cold DIR   a fresh process: load + first query
//
// Prints one line: RESULT {json}. Normally started by bench.mjs.

import { performance } from 'node:perf_hooks';

const T0 = performance.now(); // before any library is loaded: the cold start clock
const { SYSTEMS } = await import('./systems.mjs');

const [name, mode, dir] = process.argv.slice(2);
const ROWS = Number(process.env.ROWS ?? 100_000);
const AGES = Math.max(10, Math.floor(ROWS / 100)); // every age value is held by ~100 rows
const SINGLES = 1000;
const LOOKUPS = 10_000;
const RANGES = 100;
const KV_OPS = 10_000;
const sys = SYSTEMS[name]();

function makeRow(i, prefix = 'user') {
  return {
    id: i + 1,
    username: `${prefix}${i}`,
    age: i % AGES,
    city: `city${i % 37}`,
    score: (i * 7919) % ROWS,
    profile: { plan: i % 3 ? 'free' : 'pro', tags: ['a', 'b'], verified: i % 2 === 0 },
  };
}

/** Deterministic pseudo-random integers in [0, n). */
function* randomInts(n, count, seed = 42) {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield x % n;
  }
}

function check(cond, msg) { if (!cond) throw new Error(`${sys.name}: ${msg}`); }

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const out = { system: name, name: sys.name, note: sys.note, mode, ms: {}, ops: {} };
const rec = (key, ms, ops) => { out.ms[key] = ms; out.ops[key] = ops; };

async function kv() {
  // key-value workload 8: 10,000 sets then 10,000 gets of ~1 KB JSON values (sync twins)
  const value = (i) => {
    const items = [];
    for (let j = 0; JSON.stringify(items).length < 950; j++) items.push({ id: i * 100 + j, name: `item ${j}`, ok: j % 2 === 0 });
    return { page: i, items };
  };
  const vals = Array.from({ length: 1000 }, (_, i) => value(i));
  const run = async (label, set, get) => {
    rec(`kv-set-${label}`, await time(() => { for (let i = 0; i < KV_OPS; i++) set(`k${i}`, vals[i % 1000]); }), KV_OPS);
    rec(`kv-get-${label}`, await time(() => { for (let i = 0; i < KV_OPS; i++) check(get(`k${i}`) !== undefined, 'kv get'); }), KV_OPS);
  };
  if (name === 'map') {
    const m = new Map();
    await run('plain', (k, v) => m.set(k, JSON.stringify(v)), (k) => JSON.parse(m.get(k)));
  } else if (name.startsWith('minibase')) {
    const { openStorage } = await import('minibase');
    const adapter = name === 'minibase-node' ? 'node' : 'memory';
    const secret = new Uint8Array(32).fill(7); // a raw key: no PBKDF2 in the measurement
    const st = await openStorage({ adapter, root: adapter === 'node' ? `${dir}/kv` : `kv-${process.pid}`, secret, limitSize: 1 << 30, sweepInterval: 0 });
    await run('plain', (k, v) => st.setSync(k, v), (k) => st.getSync(k));
    await run('enc', (k, v) => st.setSync(`e${k}`, v, { encrypt: true, compress: true }), (k) => st.getSync(`e${k}`));
    await st.close();
  }
}

if (mode === 'cold') {
  const first = await sys.coldOpen(dir);
  const ms = performance.now() - T0;
  check(first && first.id === 1, `cold open: first row ${JSON.stringify(first)}`);
  rec('reopen', ms, 1);
  await sys.close();
} else {
  const rows = Array.from({ length: ROWS }, (_, i) => makeRow(i));
  await sys.setup(dir);
  global.gc?.();
  const before = process.resourceUsage().maxRSS * 1024;
  rec('bulk', await time(async () => check((await sys.bulkInsert(rows)) === ROWS, 'bulk count')), ROWS);
  const mem = process.memoryUsage();
  out.memory = { rssBefore: before, peakRss: process.resourceUsage().maxRSS * 1024, rssAfter: mem.rss, heapUsed: mem.heapUsed };
  if (sys.stats) out.memory.wasmHeapTotal = (await sys.stats()).heapTotalBytes;

  rec('single', await time(async () => {
    for (let j = 0; j < SINGLES; j++) await sys.insertOne(makeRow(ROWS + j, 'new'));
  }), SINGLES);
  const N = ROWS + SINGLES;

  for (const i of randomInts(N, 1000, 7)) await sys.getById(i + 1);
  rec('get-pk', await time(async () => {
    for (const i of randomInts(N, LOOKUPS)) check((await sys.getById(i + 1))?.id === i + 1, `get ${i + 1}`);
  }), LOOKUPS);
  const uname = (i) => (i < ROWS ? `user${i}` : `new${i}`);
  for (const i of randomInts(N, 1000, 7)) await sys.getByKey(uname(i));
  rec('get-unique', await time(async () => {
    for (const i of randomInts(N, LOOKUPS)) check((await sys.getByKey(uname(i)))?.id === i + 1, `by key ${uname(i)}`);
  }), LOOKUPS);

  for (const a of randomInts(AGES - 2, 10, 7)) await sys.range(a, a + 2, 100);
  rec('range', await time(async () => {
    for (const a of randomInts(AGES - 2, RANGES)) {
      const found = await sys.range(a, a + 2, 100);
      check(found.length === 100 && found[0].age === a && found[99].age <= a + 1, `range ${a}: ${found.length} rows`);
    }
  }), RANGES);

  const maxScore = Math.floor(ROWS / 100);
  let scanned;
  rec('scan', await time(async () => { scanned = (await sys.scan(maxScore)).length; }), N);
  check(scanned >= maxScore, `scan found ${scanned}`);

  const tenth = Math.floor(AGES / 10);
  let updated, deleted;
  rec('update', await time(async () => { updated = await sys.update(tenth); }), 0);
  rec('delete', await time(async () => { deleted = await sys.delete(AGES - tenth); }), 0);
  check(updated >= ROWS / 10 && deleted >= ROWS / 10, `update ${updated}, delete ${deleted}`);
  out.ops.update = updated;
  out.ops.delete = deleted;

  if (sys.explain) {
    const plan = async (q) => { const p = await sys.explain(q); return `${p.kind} on ${p.index}`; };
    out.plans = {
      range: await plan({ where: { age: { '>=': 1, '<': 3 } }, orderBy: ['age'], limit: 100 }),
      scan: await plan({ where: { score: { '<': maxScore } } }),
    };
  }

  await sys.save(dir);
  await sys.close();
  if (sys.coldInProcess) {
    const t0 = performance.now();
    const first = await sys.coldOpen(dir);
    rec('reopen', performance.now() - t0, 1);
    check(first?.id === 1, 'reopen: first row');
    await sys.close();
  }
  await kv();
}

console.log(`RESULT ${JSON.stringify(out)}`);
