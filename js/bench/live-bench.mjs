// Live queries in Node (memory adapter, the wasm engine):
//
//   make build && node js/bench/live-bench.mjs
//   ROWS=20000 node js/bench/live-bench.mjs        a quick run
//
// 1. commit → callback: an autocommit update of a watched row, from the call
//    to the subscriber's callback (median, p95).
// 2. 1,000 subscribers on 10 distinct queries: the re-evaluations one commit
//    touching one of them costs (stats().live), and its commit → last callback time.
// 3. 100 live queries on a ROWS-row table: what an insert outside every
//    query's ranges costs more than with nothing watched (same table, and
//    another table).
// Prints a markdown table.

import { performance } from 'node:perf_hooks';
import { connect } from 'minibase-db';
import { median } from './workloads.mjs';

const ROWS = Number(process.env.ROWS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 1000);
const INSERTS = Number(process.env.INSERTS ?? 5000);

const settle = () => new Promise((resolve) => setImmediate(resolve));
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;

async function open() {
  const conn = await connect({ adapter: 'memory', root: `live-bench-${process.pid}-${Math.random()}` });
  await conn.createDatabase('b');
  await conn.useDatabase('b');
  await conn.createTable('items', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'grp', type: 'number' },
      { name: 'title', type: 'string' },
      { name: 'n', type: 'number' },
    ],
    indexes: [{ columns: ['grp'] }],
  });
  await conn.createTable('other', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'x', type: 'number' }] });
  return conn;
}

const rows = [];

async function commitToCallback() {
  const conn = await open();
  const t = conn.table('items');
  await t.insertMany(Array.from({ length: 100 }, (_, i) => ({ grp: i % 10, title: `t${i}`, n: 0 })));
  let resolve = null;
  t.watch({ where: { grp: 3 } }, () => resolve?.());
  await settle();
  const lat = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const seen = new Promise((r) => (resolve = r));
    const t0 = performance.now();
    await t.update({ n: i }, { where: { id: 4 } }); // id 4 is in grp 3
    await seen;
    lat.push(performance.now() - t0);
  }
  // The same update with nothing watched: the write alone.
  const conn2 = await open();
  const t2 = conn2.table('items');
  await t2.insertMany(Array.from({ length: 100 }, (_, i) => ({ grp: i % 10, title: `t${i}`, n: 0 })));
  const plain = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const t0 = performance.now();
    await t2.update({ n: i }, { where: { id: 4 } });
    plain.push(performance.now() - t0);
  }
  rows.push(['commit → callback, same process (update of a watched row)', `median ${us(median(lat))}, p95 ${us(p95(lat))}`, `the update alone: median ${us(median(plain))}`]);
  await conn.close();
  await conn2.close();
}

async function shared() {
  const conn = await open();
  const t = conn.table('items');
  await t.insertMany(Array.from({ length: 1000 }, (_, i) => ({ grp: i % 10, title: `t${i}`, n: 0 })));
  let pending = 0;
  let done = null;
  for (let s = 0; s < 1000; s++) {
    const q = { where: { grp: s % 10 }, orderBy: 'id' };
    t.watch(q, () => {
      if (--pending === 0) done?.();
    });
  }
  await settle();
  await settle();
  const before = (await conn.stats()).live;
  const times = [];
  for (let i = 1; i <= 100; i++) {
    pending = 100; // the subscribers of grp 3
    const all = new Promise((r) => (done = r));
    const t0 = performance.now();
    await t.update({ n: i }, { where: { id: 4 } });
    await all;
    times.push(performance.now() - t0);
  }
  const after = (await conn.stats()).live;
  rows.push([
    '1,000 subscribers on 10 queries, one commit touching 1 query',
    `${(after.reevaluations - before.reevaluations) / 100} re-evaluation(s) per commit, ${(after.notifications - before.notifications) / 100} callbacks`,
    `commit → 100th callback median ${us(median(times))}; ${after.queries} shared evaluations for ${after.subscribers} subscribers`,
  ]);
  await conn.close();
}

// Two connections, one watched and one not, measured in alternating blocks;
// each figure is the fastest block (the least disturbed by other load).
async function unrelated() {
  const make = async (watch) => {
    const conn = await open();
    const t = conn.table('items');
    for (let at = 0; at < ROWS; at += 10_000) {
      await t.insertMany(Array.from({ length: Math.min(10_000, ROWS - at) }, (_, i) => ({ grp: (at + i) % 100, title: `t${at + i}`, n: 0 })));
    }
    if (watch) {
      for (let g = 0; g < 100; g++) t.watch({ where: { grp: g }, limit: 20 }, () => {});
      await settle();
      await settle();
    }
    return { conn, t, other: conn.table('other'), same: Infinity, another: Infinity, next: 0 };
  };
  // CPU time of the process (user + system), not wall time: on a loaded
  // machine it is what the work costs, not how long it waited for a core.
  const block = async (fn) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < INSERTS / 5; i++) await fn(i);
    await settle();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / (INSERTS / 5);
  };
  const base = await make(false);
  const live = await make(true);
  for (let rep = 0; rep < 7; rep++) {
    for (const c of rep % 2 ? [live, base] : [base, live]) {
      c.same = Math.min(c.same, await block(() => c.t.insert({ grp: 1000 + c.next++, title: 'x', n: 0 }))); // grp outside every query
      c.another = Math.min(c.another, await block((i) => c.other.insert({ x: i })));
    }
  }
  const ev = (await live.conn.stats()).live.reevaluations;
  await base.conn.close();
  await live.conn.close();
  rows.push([
    `100 live queries on ${ROWS.toLocaleString('en')} rows: an unrelated insert (same table)`,
    `+${us(live.same - base.same)} per insert`,
    `${us(base.same)} → ${us(live.same)} (CPU time, fastest of 7 blocks of ${INSERTS / 5}); re-evaluations caused: ${ev}`,
  ]);
  rows.push([
    '… an insert into another table',
    `+${us(live.another - base.another)} per insert`,
    `${us(base.another)} → ${us(live.another)}`,
  ]);
}

await commitToCallback();
await shared();
await unrelated();
console.log(`Live queries, Node ${process.version}, memory adapter\n`);
console.log('| what | result | detail |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
