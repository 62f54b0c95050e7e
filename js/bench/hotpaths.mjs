// Per-operation cost of minibase's hot paths in one process, as CPU time
// (process.cpuUsage) beside wall time, so that runs on a busy machine still
// compare; for A/B of two engine builds run it once per build, several times
// each, and compare the minimums.
//
//   node js/bench/hotpaths.mjs                       100,000 rows, memory adapter
//   ADAPTER=node ROWS=20000 ONLY=getpk,unique node js/bench/hotpaths.mjs
//   WASM=/path/other.wasm PROF=1 ONLY=scan node js/bench/hotpaths.mjs   (writes scan.cpuprofile)
//   CACHE=33554432 ...                                a block cache of that many bytes
//   MEMTABLE=8388608 ...                              a memtable of that many bytes (CACHE=16777216 MEMTABLE=8388608: the node adapter's defaults)
//   ADAPTER=wx ...                                    the wx bundle in the mini-program stand-in
//   ADAPTER=wx WASM=/path/wx.wasm ...                 ... on another (-tags wx) engine build, .wasm or .wasm.br
// The bulk insert always runs (the other workloads need its rows); ONLY=bulk
// times and profiles it alone.
import fsx from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import inspector from 'node:inspector';
import { loadMinibase } from './systems.mjs';
import { TABLE, makeRow, randomInts } from './workloads.mjs';
const ROWS = Number(process.env.ROWS ?? 100000);
const only = (process.env.ONLY ?? '').split(',').filter(Boolean);
const adapter = process.env.ADAPTER ?? 'memory';
const dir = fsx.mkdtempSync(path.join(os.tmpdir(), 'minibase-hotpaths-'));
process.on('exit', () => fsx.rmSync(dir, { recursive: true, force: true }));
const { connect } = await loadMinibase(adapter, dir);
const root = adapter === 'node' ? dir : adapter === 'wx' ? 'data' : `m${process.pid}`;
// wx: WASM is copied into the stand-in's code package (WXWebAssembly takes a package path only).
let wxWasm;
if (adapter === 'wx' && process.env.WASM) { wxWasm = `/${path.basename(process.env.WASM)}`; fsx.copyFileSync(process.env.WASM, path.join(dir, 'package', wxWasm)); }
const conn = await connect({ ...(adapter === 'wx' ? (wxWasm ? { wasm: wxWasm } : {}) : { adapter, wasm: process.env.WASM }), root, ...(process.env.CACHE ? { cacheBytes: Number(process.env.CACHE) } : {}), ...(process.env.MEMTABLE ? { memtableBytes: Number(process.env.MEMTABLE) } : {}) });
await conn.createDatabase('b'); await conn.useDatabase('b');
await conn.createTable('users', TABLE);
const users = conn.table('users');
const rows = Array.from({ length: ROWS }, (_, i) => makeRow(i, ROWS));
const sess = new inspector.Session(); sess.connect(); const post = (m, a) => new Promise((res, rej) => sess.post(m, a, (e, r) => e ? rej(e) : res(r)));
const t = async (name, n, fn, always) => { const on = !only.length || only.includes(name); if (!on && !always) return; if (process.env.PROF && on) { await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 100 }); await post('Profiler.start'); } const t0 = performance.now(); const c0 = process.cpuUsage(); await fn(); const cu = process.cpuUsage(c0); const ms = (cu.user + cu.system) / 1000; const wall = performance.now() - t0; if (process.env.PROF && on) { const { profile } = await post('Profiler.stop'); fsx.writeFileSync(`${name}.cpuprofile`, JSON.stringify(profile)); } console.log(name.padEnd(8), ms.toFixed(1).padStart(8), 'ms', (ms * 1000 / n).toFixed(2).padStart(8), 'us/op cpu', (wall * 1000 / n).toFixed(2).padStart(8), 'us/op wall'); };
await t('bulk', ROWS, () => users.insertMany(rows), true);
const SINGLES = Number(process.env.SINGLES ?? 1000); await t('single', SINGLES, async () => { for (let j = 0; j < SINGLES; j++) await users.insert(makeRow(ROWS + j, ROWS, 'new')); });
const N = (only.length && !only.includes('single')) ? ROWS : ROWS + SINGLES;
await t('getpk', 10000, async () => { for (const i of randomInts(N, 10000)) { const r = await users.get(i + 1); if (r.id !== i + 1) throw 1; } });
const uname = (i) => (i < ROWS ? `user${i}` : `new${i}`);
await t('unique', 10000, async () => { for (const i of randomInts(N, 10000)) { const r = (await users.select({ where: { username: uname(i) } }))[0]; if (r.id !== i + 1) throw 1; } });
await t('range', 100, async () => { for (const a of randomInts(998, 100)) await users.select({ where: { age: { '>=': a, '<': a + 2 } }, orderBy: ['age'], limit: 100 }); });
await t('scan', N, async () => { await users.select({ where: { score: { '<': 1000 } } }); });
await t('count', N, async () => { await users.count({ where: { score: { '<': 1000 } } }); });
await t('topk', N, async () => { await users.select({ where: { score: { '<': N / 3 } }, orderBy: [{ name: 'score', type: 'desc' }], limit: 10 }); });
await t('scan2', N, async () => { await users.select({ where: { score: { '<': 1000 } } }); });
await t('update', 10100, async () => { await users.update({ score: -1 }, { where: { age: { '<': 100 } } }); });
await t('delete', 10100, async () => { await users.delete({ where: { age: { '>=': 900 } } }); });
await conn.close();
