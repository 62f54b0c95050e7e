// Turns the runs of bench.mjs into bench/report.md and bench/ratios.svg
// (a hand-drawn SVG: no chart library).

import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { median } from './workloads.mjs';

const BASE = 'minibase-node';

const WORKLOADS = [
  { key: 'bulk', title: '1. Bulk insert (one call / one transaction)', unit: 'rows/s' },
  { key: 'single', title: '2. 1,000 single-row inserts, each its own commit', unit: 'inserts/s' },
  { key: 'get-pk', title: '3a. 10,000 point lookups by primary key', unit: 'lookups/s', perOp: 'µs' },
  { key: 'get-pk-sync', title: '3a\'. 10,000 point lookups by primary key, synchronous (getSync)', unit: 'lookups/s', perOp: 'µs' },
  { key: 'get-unique', title: '3b. 10,000 point lookups by unique key', unit: 'lookups/s', perOp: 'µs' },
  { key: 'small-unique', title: '3c. 10,000 unique-key lookups on a 5,000-row table', unit: 'lookups/s', perOp: 'µs' },
  { key: 'range', title: '4. 100 indexed range queries (age in [a, a+2), ordered by age, limit 100)', unit: 'queries/s', perOp: 'ms' },
  { key: 'scan', title: '5. Scan query, no usable index (score < n, ~1% of rows returned)', unit: 'rows scanned/s' },
  { key: 'count', title: '5b. Count with the same unindexed filter', unit: 'rows scanned/s' },
  { key: 'topk', title: '5c. orderBy score desc, limit 10, where score < a third (no index orders or narrows score)', unit: 'candidate rows/s' },
  { key: 'update', title: '6a. Update 10% of rows by an indexed condition (age < n)', unit: 'rows/s' },
  { key: 'delete', title: '6b. Delete 10% of rows by an indexed condition (age ≥ n)', unit: 'rows/s' },
  { key: 'update-again', title: '6c. The update again, on as many other rows (n ≤ age < 2n)', unit: 'rows/s' },
  { key: 'reopen', title: '7. Reopen (cold start) and the first query', unit: '' },
  { key: 'kv-set-plain', title: '8a. Key-value: 10,000 sets of 1 KB values, plain', unit: 'sets/s', perOp: 'µs', kv: true },
  { key: 'kv-get-plain', title: '8b. Key-value: 10,000 gets of 1 KB values, plain', unit: 'gets/s', perOp: 'µs', kv: true },
  { key: 'kv-set-enc', title: '8c. Key-value: 10,000 sets, encrypt + compress', unit: 'sets/s', perOp: 'µs', kv: true },
  { key: 'kv-get-enc', title: '8d. Key-value: 10,000 gets, encrypt + compress', unit: 'gets/s', perOp: 'µs', kv: true },
];

/** Why minibase loses where it does (shown only for workloads it loses). */
const WHY = {
  bulk: 'every row crosses the JS→wasm boundary encoded and is decoded in Go; its row and index entries are sorted apart and written as checksummed segment files (a bulk load skips the log); the in-memory peers keep the JS objects (LokiJS) or write SQLite pages in C compiled to wasm, in memory.',
  single: 'each insert is a durable commit (a write-ahead log record handed to the filesystem on the node adapter) plus a JS→wasm round trip; the in-memory peers persist nothing.',
  'get-pk': 'a lookup is an async call into wasm (encode the request, Go B-tree lookup, encode the row, decode it in JS); LokiJS returns the object it already holds, the Map floor parses one JSON string.',
  'get-pk-sync': 'the same call into wasm as an async get, without the promise: encode the request, look the row up in Go, encode it, decode it in JS; LokiJS and the floor read what they hold in JS.',
  'get-unique': 'two lookups (index, then row), each in the memtable and then in segment blocks (read from the file when not cached, checksummed and searched in wasm), plus the wasm round trip and row decoding.',
  'small-unique': 'the table fits in memory in every system, so this is the call itself: an async call into wasm that encodes the request, finds the index entry and the row and encodes it, then a JS decode into a new object; LokiJS returns the object it holds, the floor parses one JSON string.',
  range: 'each of the 100 rows is encoded in Go, copied out of wasm and decoded into a fresh JS object; the floor walks two age buckets it holds in JS and parses 100 JSON strings.',
  scan: 'every row is read and its filter evaluated in Go under wasm (slower allocator and collector than V8); sql.js does the same in C compiled to wasm, LokiJS over JS objects in place.',
  count: 'every row is read and its filter checked in Go under wasm, from the stored bytes; sql.js counts in C compiled to wasm.',
  topk: 'every candidate row is read and checked in Go under wasm; the ten best are kept in a heap, as SQLite does with its sorter.',
  update: 'the index names the rows, which are read in key order through one seeking iterator, their set column rewritten in their stored bytes as the scan reaches them, and logged durably and put in the memtable; most of the call runs in code V8 has not optimized yet (the first update of the process); sql.js rewrites pages in place in C with no log, the floor re-serializes JSON strings.',
  delete: 'deleted rows and their index entries become logged tombstones; LokiJS and the Map drop references.',
  'update-again': 'as the first update, once V8 has compiled its path: the rows are read in key order, their set column rewritten in their stored bytes, logged durably and put in the memtable; sql.js rewrites pages in place in C with no log.',
  reopen: 'a cold start of the node adapter compiles and instantiates the 7 MB wasm module and starts the Go runtime; the store itself opens its manifest and replays the log left after the last flush (none here: the warm run closed its connection, and a close flushes a log of 256 KB or more). The memory adapter\'s in-process reopen (wasm already running) shows the store\'s part alone. Dexie\'s reopen reads nothing: fake-indexeddb\'s data stays in JS objects.',
  'kv-set-plain': 'a set is a durable transaction (read the old entry and the store\'s size total, write both); the floor keeps nothing.',
  'kv-get-plain': 'a get is a call into wasm and a decode; the floor is one JSON.parse.',
  'kv-set-enc': 'AES-GCM and deflate run in software under wasm, on top of the durable transaction.',
  'kv-get-enc': 'decrypt and inflate in software under wasm.',
};

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const fmtMs = (ms) => (ms >= 100 ? fmt(ms, 0) : ms >= 10 ? fmt(ms, 1) : ms >= 1 ? fmt(ms, 2) : fmt(ms, 3));
const mb = (b) => `${fmt(b / 1024 / 1024, 0)} MB`;
const ratioText = (r) => (r >= 10 ? `${fmt(r, 0)}×` : r >= 1 ? `${fmt(r, 1)}×` : r >= 0.01 ? `${fmt(r, 2)}×` : `${r.toPrecision(1)}×`);

export function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    mem: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().slice(0, 10),
  };
}

function wasmSizes() {
  const file = fileURLToPath(new URL('../dist/minibase.wasm', import.meta.url));
  const raw = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
  const gz = zlib.gzipSync(raw, { level: 9 });
  return { raw: raw.length, brotli: br.length, gzip: gz.length };
}

/** Median results per system: { name, note, ms: {key: ms}, ops: {key: n}, memory }. */
function summarize(runs) {
  const out = {};
  for (const [sys, rs] of Object.entries(runs)) {
    if (!rs.length) continue;
    const ms = {}, ops = {};
    // Every key timed, a table's or not (scan-first, topk-first, single-first: the process's first scan, top-k and inserts).
    for (const w of [...WORKLOADS, { key: 'scan-first' }, { key: 'topk-first' }, { key: 'single-first' }]) {
      const xs = rs.map((r) => r.ms[w.key]).filter((x) => x !== undefined);
      if (xs.length) { ms[w.key] = median(xs); ops[w.key] = median(rs.map((r) => r.ops[w.key])); }
    }
    const memory = {};
    for (const k of Object.keys(rs[0].memory ?? {})) memory[k] = median(rs.map((r) => r.memory[k]));
    const mem = {}; // per workload: median resident set and wasm memory after it
    for (const w of WORKLOADS) {
      const at = rs.map((r) => r.mem?.[w.key]).filter(Boolean);
      if (!at.length) continue;
      const pick = (k) => { const xs = at.map((m) => m[k]).filter((x) => x !== undefined); return xs.length ? median(xs) : undefined; };
      mem[w.key] = { rss: pick('rss'), wasm: pick('wasm'), misses: pick('misses') };
    }
    const medians = {};
    for (const k of Object.keys(rs[0].median ?? {})) medians[k] = median(rs.map((r) => r.median?.[k]).filter((x) => x !== undefined));
    out[sys] = { name: rs[0].name, note: rs[0].note, plans: rs[0].plans, ms, ops, memory, median: medians, mem };
  }
  return out;
}

function svgChart(sum, systems, BASE = 'minibase-node') {
  // horizontal bars on a log axis centred on 1×: right = slower than the base system
  const peers = systems.filter((s) => s !== BASE);
  const colors = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];
  const rows = WORKLOADS.filter((w) => sum[BASE]?.ms[w.key] !== undefined);
  const barH = 9, gap = 10, left = 300, width = 460, top = 60;
  const groupH = peers.length * barH + gap;
  const height = top + rows.length * groupH + 40 + 20 * Math.ceil(peers.length / 3);
  const lo = -3, hi = 3; // 0.001× … 1000×
  const x = (r) => left + ((Math.min(hi, Math.max(lo, Math.log10(r))) - lo) / (hi - lo)) * width;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 40}" height="${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="18" font-size="14" font-weight="bold">Time relative to ${esc(sum[BASE].name)}, log scale — median of runs</text>`);
  parts.push(`<text x="${x(1) - 6}" y="40" text-anchor="end">← peer faster</text><text x="${x(1) + 6}" y="40">${esc(sum[BASE].name)} faster →</text>`);
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e);
    parts.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${top + rows.length * groupH}" stroke="${e === 0 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${gx}" y="${top + rows.length * groupH + 14}" text-anchor="middle">${10 ** e >= 1 ? fmt(10 ** e) : 10 ** e}×</text>`);
  }
  rows.forEach((w, i) => {
    const y0 = top + i * groupH;
    parts.push(`<text x="${left - 8}" y="${y0 + (peers.length * barH) / 2 + 4}" text-anchor="end">${esc(w.title.replace(/ \(.*\)$/, '').slice(0, 48))}</text>`);
    peers.forEach((s, j) => {
      const t = sum[s]?.ms[w.key];
      const y = y0 + j * barH;
      if (t === undefined) return;
      const r = t / sum[BASE].ms[w.key];
      const a = x(1), b = x(r);
      parts.push(`<rect x="${Math.min(a, b)}" y="${y}" width="${Math.max(1, Math.abs(b - a))}" height="${barH - 1}" fill="${colors[j % colors.length]}"><title>${esc(sum[s].name)}: ${ratioText(r)}</title></rect>`);
    });
  });
  const ly = top + rows.length * groupH + 30;
  peers.forEach((s, j) => {
    const lx = 10 + (j % 3) * 260, yy = ly + Math.floor(j / 3) * 20;
    parts.push(`<rect x="${lx}" y="${yy - 9}" width="12" height="10" fill="${colors[j % colors.length]}"/><text x="${lx + 16}" y="${yy}">${esc(sum[s].name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writeReport({ runs, rows, runCount, seconds, write, machine: saved }) {
  const sum = summarize(runs);
  const systems = Object.keys(sum);
  const m = saved ?? machine();
  const wasm = wasmSizes();
  const base = sum[BASE];
  const L = [];
  L.push('# minibase against its peers (Node)', '');
  L.push(`Generated by \`make bench\` (\`node js/bench/bench.mjs\`); do not edit by hand. ${fmt(rows)} rows, median of ${runCount} run${runCount === 1 ? '' : 's'} per system, every run in a fresh process, the systems interleaved; the whole benchmark took ${fmt(seconds, 0)} s.`, '');
  L.push(`**Machine:** Node ${m.node}, ${m.cpu}, ${m.cores} cores, ${fmt(m.mem / 2 ** 30, 1)} GB RAM, ${m.os}; ${m.date}. A shared machine: runs vary by ±10–15%.`, '');
  L.push('**Ratio** = the system\'s time ÷ minibase (node adapter)\'s time for the same work: above 1× minibase is faster, below 1× the peer is.', '');
  L.push('![time relative to minibase, per workload](ratios.svg)', '');
  L.push('## Systems', '');
  L.push('| system | what it is, and what "reopen" measured |', '|---|---|');
  const notes = {
    'minibase-node': 'minibase 0.1 (this repo), `adapter: \'node\'`, files in a temp dir, default durability (a write survives the process being killed); reopen = a fresh process: import, compile the wasm, connect, first `get`',
    'minibase-memory': 'minibase, `adapter: \'memory\'` (same engine, in-memory filesystem); reopen = close and `connect` again in the same process (the memory filesystem does not outlive the process)',
    'minibase-wx': 'minibase\'s mini-program build (CJS bundle, brotli wasm) in the headless wx stand-in (js/test/wx-standin: a vm context without TextEncoder/TextDecoder/crypto/performance/WebAssembly, so the loader\'s JS polyfills run; the wx FileSystemManager over node\'s fs); reopen = a fresh process. Not a phone: a mini-program\'s JS engine (and iOS without JIT) will be slower',
  };
  for (const s of systems) L.push(`| ${sum[s].name} | ${notes[s] ?? sum[s].note}${s === 'map' ? '' : ''} |`);
  L.push('');
  L.push('Peers: LokiJS 1.5.12, sql.js 1.16.0, Dexie 4.4.7 on fake-indexeddb 6.2.8 (pinned in js/bench/package.json and package.json). Dexie on fake-indexeddb measures **CPU overhead only**: fake-indexeddb is a JavaScript IndexedDB kept in memory, much slower than a browser\'s, and nothing is written; these are not Dexie-in-a-browser numbers. Cold starts (7) of the node adapter, LokiJS, sql.js and the Map floor are timed in a fresh process from before the library is imported (Node\'s own start-up, ~40 ms, is not counted); LokiJS, sql.js and the floor load what they serialized to a file at the end of the warm run (`serialize()`, `export()`, one JSON array).', '');
  L.push('Schema (the same rows for all): `users(id number primary key, username string unique, age number indexed, city string indexed, score number, profile object)`, ~110 bytes of JSON per row, e.g. `{"id":1,"username":"user0","age":0,"city":"city0","score":0,"profile":{"plan":"pro","tags":["a","b"],"verified":true}}`. Each age value is held by ~100 rows; `score` has no index. Workloads 2–6 run on the table after the bulk insert, in order. This schema is heavier than the one of the foundation benchmark quoted in the README (js/bench/foundation.mjs: ~60-byte rows, no object column, one secondary index), so minibase\'s own numbers here are lower than those.', '');
  if (base?.plans) L.push(`minibase's plans (\`explain\`): range query → ${base.plans.range}; scan query → ${base.plans.scan}.`, '');

  // bench/notes.md, when present: what the person who ran it knows about the
  // run that the numbers cannot say (a slow machine, an A/B behind a change).
  const notesFile = fileURLToPath(new URL('../../bench/notes.md', import.meta.url));
  if (fs.existsSync(notesFile)) L.push('## About this run', '', fs.readFileSync(notesFile, 'utf8').trim(), '');

  L.push('## Summary: ratio to minibase (node)', '');
  L.push(`| workload | ${systems.map((s) => sum[s].name).join(' | ')} |`, `|---|${systems.map(() => '---:').join('|')}|`);
  for (const w of WORKLOADS) {
    if (!systems.some((s) => sum[s].ms[w.key] !== undefined)) continue;
    const cells = systems.map((s) => {
      const t = sum[s].ms[w.key];
      if (t === undefined) return 'n/a';
      if (!base?.ms[w.key]) return `${fmtMs(t)} ms`;
      return ratioText(t / base.ms[w.key]);
    });
    L.push(`| ${w.title.replace(/ \(.*\)$/, '')} | ${cells.join(' | ')} |`);
  }
  L.push('', 'n/a: the key-value workload (8) has no counterpart in the table stores; only minibase\'s `openStorage` (sync twins `setSync`/`getSync`, 10,000 distinct keys, a raw 32-byte key so no PBKDF2) and a `Map` + `JSON.stringify`/`JSON.parse` floor (a localStorage-like store that keeps nothing) run it.', '');

  L.push('## Targets (engine speed and memory, Node, disk backend)', '');
  const sql = sum.sqljs;
  if (base) {
    const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**');
    const speed = (k) => (sql?.ms[k] && base.ms[k] ? sql.ms[k] / base.ms[k] : undefined); // minibase speed ÷ sql.js speed
    const perOp = (s, k) => (s?.ms[k] !== undefined ? (s.ms[k] * 1000) / s.ops[k] : undefined);
    const mb = (x) => (x === undefined ? '—' : `${fmt(x / 2 ** 20, 1)} MB`);
    const rowsX = (k, want, what = '') => {
      const r = speed(k);
      L.push(`| ${WORKLOADS.find((w) => w.key === k).title.replace(/^\S+ /, '').replace(/ \(.*\)$/, '')}${what}: ≥ ${want}× sql.js's speed | ${r === undefined ? '—' : `${fmt(r, 2)}×`} | ${verdict(r === undefined ? undefined : r >= want)} |`);
    };
    L.push('| target | measured | |', '|---|---:|---|');
    rowsX('scan', 0.3);
    if (base.ms['scan-first'] !== undefined && sql?.ms['scan-first'] !== undefined) {
      L.push(`| (the same scan as the process's first, before V8 has optimized the loop: not a target) | ${fmt(sql.ms['scan-first'] / base.ms['scan-first'], 2)}×, ${fmtMs(base.ms['scan-first'])} ms against sql.js's ${fmtMs(sql.ms['scan-first'])} ms | — |`);
    }
    if (base.ms.count !== undefined) {
      const r = speed('count');
      L.push(`| count with the same filter: ≥ 0.3× sql.js and no slower than the scan | ${r === undefined ? '—' : `${fmt(r, 2)}×`}, ${fmtMs(base.ms.count)} ms against the scan's ${fmtMs(base.ms.scan)} ms | ${verdict(r === undefined ? undefined : r >= 0.3 && base.ms.count <= base.ms.scan * 1.05)} |`);
    }
    rowsX('bulk', 1);
    rowsX('range', 1.5);
    rowsX('update', 0.5);
    if (base.ms['update-again'] !== undefined && sql?.ms['update-again'] !== undefined) {
      L.push(`| (the update again, on as many other rows, once V8 has compiled its path: not a target) | ${fmt(sql.ms['update-again'] / base.ms['update-again'], 2)}×, ${fmtMs(base.ms['update-again'])} ms against sql.js's ${fmtMs(sql.ms['update-again'])} ms | — |`);
    }
    rowsX('delete', 0.5);
    const pk = perOp(base, 'get-pk'), uq = perOp(base, 'get-unique');
    // How many of the lookups (the 1,000 of the warm-up and the timed ones)
    // read a block from storage: the bulk load leaves the block cache empty.
    const missed = (from, to) => {
      const a = base.mem?.[from]?.misses, b = base.mem?.[to]?.misses;
      return a === undefined || b === undefined ? '' : `; ${fmt(b - a)} blocks read from storage during its ${fmt(base.ops[to] + 1000)} lookups with the warm-up`;
    };
    L.push(`| point read by primary key ≤ 5 µs from JS | ${fmt(pk, 2)} µs${missed('single', 'get-pk')} | ${verdict(pk <= 5)} |`);
    const pks = perOp(base, 'get-pk-sync');
    if (pks !== undefined) L.push(`| getSync by primary key ≤ 4 µs | ${fmt(pks, 2)} µs | ${verdict(pks <= 4)} |`);
    L.push(`| unique-key lookup ≤ 5 µs from JS | ${fmt(uq, 2)} µs${missed('get-pk', 'get-unique')} | ${verdict(uq <= 5)} |`);
    const sm = perOp(base, 'small-unique');
    if (sm !== undefined) {
      // the issue's reference: an in-memory JavaScript map-based library (the floor: a Map per key; LokiJS: binary indexes)
      const refs = ['map', 'lokijs'].map((k) => [sum[k]?.name, perOp(sum[k], 'small-unique')]).filter(([, x]) => x !== undefined);
      const best = Math.min(...refs.map(([, x]) => x));
      L.push(`| unique-key lookup on a 5,000-row table faster than an in-memory map-based JS library | ${fmt(sm, 2)} µs against ${refs.map(([n, x]) => `${n} ${fmt(x, 2)} µs`).join(', ')} | ${verdict(refs.length ? sm < best : undefined)} |`);
    }
    const one = perOp(base, 'single'), oneMem = perOp(sum['minibase-memory'], 'single');
    // The verdict is on the mean; the median insert says how much of it is stalls.
    const med = (s) => (s?.median?.single === undefined ? '' : ` (median insert ${fmt(s.median.single * 1000, 1)} µs)`);
    L.push(`| one autocommit insert ≤ 30 µs (node adapter) | ${fmt(one, 1)} µs${med(base)} | ${verdict(one <= 30)} |`);
    L.push(`| one autocommit insert ≤ 15 µs (memory adapter) | ${oneMem === undefined ? '—' : `${fmt(oneMem, 1)} µs${med(sum['minibase-memory'])}`} | ${verdict(oneMem === undefined ? undefined : oneMem <= 15)} |`);
    const first = perOp(base, 'single-first'), firstMem = perOp(sum['minibase-memory'], 'single-first');
    if (first !== undefined) {
      L.push(`| (the process's first 1,000 inserts, while V8 still compiles the insert path: not a target) | ${fmt(first, 1)} µs node adapter${firstMem === undefined ? '' : `, ${fmt(firstMem, 1)} µs memory adapter`} | — |`);
    }
    if (base.ms.topk !== undefined) {
      // the query reads every row of the table (no index narrows it): scale to a 33,000-row table
      const per33k = (base.ms.topk / base.ops.scan) * 33_000;
      L.push(`| orderBy + limit without a usable index ≤ 3 ms over 33,000 rows | ${fmt(per33k, 1)} ms (${fmtMs(base.ms.topk)} ms over ${fmt(base.ops.scan)} rows, a bounded heap of k) | ${verdict(per33k <= 3)} |`);
      if (base.ms['topk-first'] !== undefined) {
        const first33k = (base.ms['topk-first'] / base.ops.scan) * 33_000;
        L.push(`| (the process's first top-k, a quarter of the rows, while V8 still compiles its path: not a target) | ${fmt(first33k, 1)} ms (${fmtMs(base.ms['topk-first'])} ms over ${fmt(base.ops.scan)} rows) | — |`);
      }
    }
    const m = base.memory ?? {};
    L.push(`| wasm memory after the whole benchmark ≤ 96 MB (node defaults) | ${mb(m.wasmAtEnd)} | ${verdict(m.wasmAtEnd === undefined ? undefined : m.wasmAtEnd <= 96 * 2 ** 20)} |`);
    L.push(`| wasm memory peak while the 100,000-row insertMany runs ≤ 64 MB | ${mb(m.wasmAfterBulk)} (memory never shrinks: after = peak) | ${verdict(m.wasmAfterBulk === undefined ? undefined : m.wasmAfterBulk <= 64 * 2 ** 20)} |`);
    const wx = sum['minibase-wx'];
    if (wx) {
      const worst = Math.max(...['get-pk', 'get-unique', 'range', 'scan', 'bulk'].map((k) => wx.ms[k] / base.ms[k]));
      L.push(`| the wx stand-in within 1.5× of the node adapter (worst of bulk, lookups, range, scan) | ${fmt(worst, 2)}× | ${verdict(worst <= 1.5)} |`);
    }
    L.push('', 'Speed ratios are sql.js\'s time ÷ minibase\'s for the same work in this run (above 1× minibase is faster). The small-device memory target (≤ 48 MB with the wx/IndexedDB defaults) and the 1,000,000-row targets are measured by `js/bench/lsm-bench.mjs`; the browser targets (IndexedDB against Dexie) are in the Chromium report: [report-chromium.md](report-chromium.md).', '');
  }

  L.push('## Per workload', '', 'Memory columns, where a table shows them: the process\'s resident set and, for minibase, its wasm memory (which never shrinks) right after the workload, median of runs; the workloads run in order in one process per system, so each figure includes what the ones before it left.', '');
  for (const w of WORKLOADS) {
    const have = systems.filter((s) => sum[s].ms[w.key] !== undefined);
    if (!have.length) continue;
    L.push(`### ${w.title}`, '');
    const perOp = w.perOp ? ` | per op (${w.perOp})` : '';
    // Memory after the workload, where the run read it (Node's table workloads).
    const memCols = have.some((s) => sum[s].mem?.[w.key]);
    const mbOr = (x) => (x === undefined ? '—' : fmt(x / 2 ** 20, 1));
    L.push(`| system | median time (ms)${perOp} | ${w.unit || 'ops/s'} | ratio to minibase (node) |${memCols ? ' RSS after (MB) | wasm memory after (MB) |' : ''}`, `|---|---:|${w.perOp ? '---:|' : ''}---:|---:|${memCols ? '---:|---:|' : ''}`);
    for (const s of have) {
      const t = sum[s].ms[w.key], n = sum[s].ops[w.key];
      const p = w.perOp ? ` | ${fmt((t * (w.perOp === 'µs' ? 1000 : 1)) / n, w.perOp === 'µs' ? 2 : 3)}` : '';
      const rate = w.key === 'reopen' ? '—' : fmt(n / (t / 1000));
      const r = base?.ms[w.key] ? ratioText(t / base.ms[w.key]) : 'n/a';
      const m = sum[s].mem?.[w.key];
      L.push(`| ${sum[s].name} | ${fmtMs(t)}${p} | ${rate} | ${r} |${memCols ? ` ${mbOr(m?.rss)} | ${mbOr(m?.wasm)} |` : ''}`);
    }
    const losers = have.filter((s) => !s.startsWith('minibase') && base?.ms[w.key] && sum[s].ms[w.key] < base.ms[w.key]);
    if (losers.length) L.push('', `minibase loses to ${losers.map((s) => sum[s].name).join(', ')} here: ${WHY[w.key]}`);
    L.push('');
  }

  L.push('## Memory during the bulk insert', '');
  L.push(`Per system, in its own process, median of runs: resident set before the bulk insert (the ${fmt(rows)} input rows are already built), the process's peak resident set after it (\`process.resourceUsage().maxRSS\`), the V8 heap in use after it, and for minibase the memory the Go runtime holds (\`conn.stats().heapTotalBytes\`, inside the wasm memory; wasm memory never shrinks).`, '');
  L.push('| system | RSS before | peak RSS | peak − before | JS heap used after | minibase Go heap | wasm memory after the bulk insert | after workloads 2–7 | at the end (after 8) |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of systems) {
    const mm = sum[s].memory;
    if (!mm.peakRss) continue;
    const w = (x) => (x ? mb(x) : '—');
    L.push(`| ${sum[s].name} | ${mb(mm.rssBefore)} | ${mb(mm.peakRss)} | ${mb(mm.peakRss - mm.rssBefore)} | ${mb(mm.heapUsed)} | ${w(mm.wasmHeapTotal)} | ${w(mm.wasmAfterBulk)} | ${w(mm.wasmAfterTable)} | ${w(mm.wasmAtEnd)} |`);
  }
  L.push('', 'minibase\'s resident set includes its wasm linear memory, which holds the Go heap (the table, its indexes, the write-ahead log\'s buffers and the garbage not yet collected) and never shrinks; the in-memory peers hold the rows as V8 objects or SQLite pages.', '');
  L.push('## Wasm binary', '');
  L.push(`\`js/dist/minibase.wasm\`: ${fmt(wasm.raw / 2 ** 20, 2)} MB raw, ${fmt(wasm.brotli / 2 ** 20, 2)} MB brotli (quality 11), ${fmt(wasm.gzip / 2 ** 20, 2)} MB gzip (level 9). For comparison sql.js's \`sql-wasm.wasm\`: ${(() => { try { const b = fs.readFileSync(fileURLToPath(new URL('../node_modules/sql.js/dist/sql-wasm.wasm', import.meta.url))); return `${fmt(b.length / 2 ** 20, 2)} MB raw, ${fmt(zlib.brotliCompressSync(b).length / 2 ** 20, 2)} MB brotli`; } catch { return 'not found'; } })()}.`, '');
  L.push('## Elsewhere', '');
  L.push('- The same workloads in headless Chromium on IndexedDB (minibase, raw IndexedDB, Dexie 4, LokiJS + IndexedDB, localforage, idb-keyval): [report-chromium.md](report-chromium.md) (`make bench-chromium`).');
  L.push('- Not run: `@sqlite.org/sqlite-wasm` on OPFS (it needs a cross-origin-isolated worker; the npm registry here serves only its 3.41 line), and minibase on a real phone (the wx row above is the headless stand-in on this machine).', '');
  const md = L.join('\n') + '\n';
  if (write) {
    const dir = fileURLToPath(new URL('../../bench/', import.meta.url));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}report.md`, md);
    fs.writeFileSync(`${dir}ratios.svg`, svgChart(sum, systems));
  }
  return md;
}

/** Why minibase loses in Chromium where it does (shown only for workloads it loses). */
const WHY_CHROMIUM = {
  bulk: 'LokiJS keeps the rows as the JS objects it was given and saves them as a few large chunks; minibase encodes every row, decodes it in wasm, sorts it and its three index entries into segment files, and writes them in one IndexedDB transaction.',
  single: 'each minibase insert is its own IndexedDB transaction (one write-once log file) plus a wasm round trip; IndexedDB transactions dominate both.',
  'get-pk': 'the row is encoded in Go, copied out of wasm and decoded in JS; LokiJS returns an object it holds in memory.',
  'get-unique': 'two B-tree lookups in wasm plus the boundary crossing; LokiJS reads a JS object it holds.',
  range: 'each row is encoded in Go, copied out of wasm and decoded into a fresh JS object; LokiJS returns objects it holds.',
  scan: 'every row is read and filtered in Go under wasm; LokiJS filters JS objects in place.',
  update: 'updated rows are rewritten in the engine and logged; LokiJS mutates objects in place and saves changed chunks.',
  delete: 'deleted rows become logged tombstones; LokiJS drops references and saves changed chunks.',
  reopen: 'a cold start fetches, compiles and instantiates the wasm module, starts the Go runtime and reads the database\'s files back from IndexedDB.',
  'kv-set-plain': 'a set is a durable engine transaction plus an IndexedDB commit.',
  'kv-get-plain': 'a get is a call into wasm and a decode.',
  'kv-set-enc': 'AES-GCM and deflate run in software under wasm on top of the durable transaction.',
  'kv-get-enc': 'decrypt and inflate in software under wasm.',
};

/** Writes bench/report-chromium.md and bench/ratios-chromium.svg from the runs of chromium/run.mjs. */
export function writeChromiumReport({ runs, large = [], rows, runCount, seconds, write, machine: m }) {
  const sum = summarize(runs);
  const systems = Object.keys(sum);
  const BASE = sum['minibase-idb'] ? 'minibase-idb' : 'dexie';
  const base = sum[BASE];
  const L = [];
  L.push('# minibase against its peers (headless Chromium, IndexedDB)', '');
  L.push(`Generated by \`make bench-chromium\` (\`node js/bench/chromium/run.mjs\`); do not edit by hand. ${fmt(rows)} rows, median of ${runCount} run${runCount === 1 ? '' : 's'} per system; every run in a fresh browser profile, the systems interleaved; the whole benchmark took ${fmt(seconds, 0)} s. The workloads are the same code as the Node report\'s (js/bench/workloads.mjs).`, '');
  L.push(`**Machine:** ${m.browser} (Debian), headless, driven by playwright-core; ${m.cpu}, ${m.cores} cores, ${fmt(m.mem / 2 ** 30, 1)} GB RAM, ${m.os}; ${m.date}. A shared machine: runs vary by ±10–15%.`, '');
  if (BASE !== 'minibase-idb') L.push('**minibase did not run**: its browser build (js/dist/browser.mjs) was missing, so ratios are to Dexie.', '');
  L.push(`**Ratio** = the system's time ÷ ${base.name}'s time for the same work: above 1× ${base.name} is faster, below 1× the peer is.`, '');
  L.push('![time relative to minibase, per workload](ratios-chromium.svg)', '');
  L.push('## Systems', '', '| system | what it is |', '|---|---|');
  for (const s of systems) L.push(`| ${sum[s].name} | ${sum[s].note ?? 'key-value workload only (its default IndexedDB driver)'} |`);
  L.push('');
  L.push('Every system persists to the page\'s IndexedDB. Cold start (7) = a new page in the same browser profile, timed from navigation start (page load, library load and, for minibase, fetching and compiling the wasm) to the first row. Peers pinned in js/bench/package.json: Dexie 4.4.7, LokiJS 1.5.12, localforage 1.10.0, idb-keyval 6.3.0. `@sqlite.org/sqlite-wasm` on OPFS was not run: it needs a cross-origin-isolated worker and the npm registry here serves only its 3.41 line.', '');
  L.push(`## Summary: ratio to ${base.name}`, '');
  L.push(`| workload | ${systems.map((s) => sum[s].name).join(' | ')} |`, `|---|${systems.map(() => '---:').join('|')}|`);
  for (const w of WORKLOADS) {
    if (!systems.some((s) => sum[s].ms[w.key] !== undefined)) continue;
    const cells = systems.map((s) => {
      const t = sum[s].ms[w.key];
      if (t === undefined) return 'n/a';
      if (!base.ms[w.key]) return `${fmtMs(t)} ms`;
      return ratioText(t / base.ms[w.key]);
    });
    L.push(`| ${w.title.replace(/ \(.*\)$/, '')} | ${cells.join(' | ')} |`);
  }
  L.push('');
  L.push('## Targets (Chromium: IndexedDB page and OPFS worker side by side)', '');
  const dx = sum.dexie;
  const backends = ['minibase-idb', 'minibase-opfs'].filter((s) => sum[s]);
  if (backends.length && dx) {
    const vs = (s, k) => dx.ms[k] / sum[s].ms[k];
    const verdict = (ok) => (ok ? 'met' : 'missed');
    const cell = (k, goal) => backends.map((s) => `${ratioText(vs(s, k))} (${verdict(vs(s, k) >= goal)})`).join(' | ');
    L.push(`| target (Dexie time ÷ minibase time) | ${backends.map((s) => sum[s].name).join(' | ')} |`, `|---|${backends.map(() => '---:').join('|')}|`);
    L.push(`| bulk insert ≥ 10× Dexie's bulkAdd | ${cell('bulk', 10)} |`);
    L.push(`| indexed range query ≥ 2× Dexie | ${cell('range', 2)} |`);
    L.push(`| point lookup by primary key ≥ 10× Dexie | ${cell('get-pk', 10)} |`);
    L.push(`| point lookup by unique key ≥ 10× Dexie | ${cell('get-unique', 10)} |`);
    L.push(`| cold start (reopen + first query) | ${cell('reopen', 1)} |`);
  } else {
    L.push('Not measured: minibase or Dexie did not run.');
  }
  L.push('', '## Per workload', '');
  for (const w of WORKLOADS) {
    const have = systems.filter((s) => sum[s].ms[w.key] !== undefined);
    if (!have.length) continue;
    L.push(`### ${w.title}`, '');
    const perOp = w.perOp ? ` | per op (${w.perOp})` : '';
    L.push(`| system | median time (ms)${perOp} | ${w.unit || 'ops/s'} | ratio to ${base.name} |`, `|---|---:|${w.perOp ? '---:|' : ''}---:|---:|`);
    for (const s of have) {
      const t = sum[s].ms[w.key], n = sum[s].ops[w.key];
      const p = w.perOp ? ` | ${fmt((t * (w.perOp === 'µs' ? 1000 : 1)) / n, w.perOp === 'µs' ? 2 : 3)}` : '';
      const rate = w.key === 'reopen' ? '—' : fmt(n / (t / 1000));
      const r = base.ms[w.key] ? ratioText(t / base.ms[w.key]) : 'n/a';
      L.push(`| ${sum[s].name} | ${fmtMs(t)}${p} | ${rate} | ${r} |`);
    }
    const losers = BASE === 'minibase-idb' ? have.filter((s) => s !== BASE && base.ms[w.key] && sum[s].ms[w.key] < base.ms[w.key]) : [];
    if (losers.length) L.push('', `minibase loses to ${losers.map((s) => sum[s].name).join(', ')} here: ${WHY_CHROMIUM[w.key]}`);
    L.push('');
  }
  if (large.length) {
    L.push(`## A large database: ${fmt(large[0].rows)} rows`, '');
    L.push('Built in chunks of 50,000 rows (one bulk insert each), then opened by a new page in the same profile: **open** is navigation start → the first row (page, library and engine load, open, `get(1)`); then 1,000 random point reads and 20 indexed range queries of 100 rows. Memory is measured after those queries: the page\'s JS heap (`performance.memory`, precise) and the engine\'s wasm linear memory (`stats().wasmMemoryBytes`; on OPFS it lives in the engine\'s worker). One run.', '');
    L.push('| system | build (s) | on disk | open + first row (ms) | point read (µs) | range query (ms) | page JS heap | engine wasm memory |', '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of large) {
      L.push(`| ${r.name} | ${fmt(r.ms.build / 1000, 1)} | ${mb(r.diskBytes ?? r.usage)} | ${fmt(r.ms.open, 0)} | ${fmt((r.ms.points * 1000) / r.ops.points, 0)} | ${fmt(r.ms.ranges / r.ops.ranges, 2)} | ${mb(r.memory.jsHeap)} | ${r.memory.wasm ? mb(r.memory.wasm) : '—'} |`);
    }
    L.push('', 'On disk: minibase\'s `stats().diskBytes`; Dexie: the origin\'s `navigator.storage.estimate().usage`.', '');
  }
  L.push('## Memory after the bulk insert', '', `Chromium's \`performance.memory.usedJSHeapSize\` after the bulk insert (median), and for minibase the Go heap inside its wasm memory (\`conn.stats().heapTotalBytes\`).`, '');
  L.push('| system | JS heap used | minibase wasm heap |', '|---|---:|---:|');
  for (const s of systems) {
    const mm = sum[s].memory;
    if (!mm?.heapUsed) continue;
    L.push(`| ${sum[s].name} | ${mb(mm.heapUsed)} | ${mm.wasmHeapTotal ? mb(mm.wasmHeapTotal) : '—'} |`);
  }
  L.push('');
  const md = L.join('\n') + '\n';
  if (write) {
    const dir = fileURLToPath(new URL('../../bench/', import.meta.url));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}report-chromium.md`, md);
    fs.writeFileSync(`${dir}ratios-chromium.svg`, svgChart(sum, systems.filter((s) => sum[s].ms.bulk !== undefined || s === BASE), BASE));
  }
  return md;
}
