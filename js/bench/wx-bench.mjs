// The wx adapter and loader in the headless stand-in against the Node entry
// on node's fs: per-operation cost of inserts, point reads (async and sync)
// and an indexed query. The stand-in's FileSystemManager is node's fs, so
// this measures minibase's own overhead on the wx path (polyfilled
// TextEncoder/TextDecoder, one ArrayBuffer per write), not a phone.
//
//   node js/bench/wx-bench.mjs [rows]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import * as nodeEntry from 'minibase-db';

const require = createRequire(import.meta.url);
const { createRuntime } = require('../test/wx-standin/runtime.cjs');
const N = Number(process.argv[2]) || 2000;

async function run(label, mb, options) {
  const conn = await mb.connect(options);
  await conn.createDatabase('b');
  await conn.useDatabase('b');
  await conn.createTable('t', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'name', type: 'string' },
      { name: 'n', type: 'number' },
    ],
    indexes: [{ columns: ['n'] }],
  });
  const t = conn.table('t');
  const time = async (fn) => {
    const t0 = performance.now();
    for (let i = 1; i <= N; i++) await fn(i);
    return ((performance.now() - t0) * 1000) / N;
  };
  const insert = await time((i) => t.insert({ name: `item ${i}`, n: i % 100 }));
  const get = await time((i) => t.get(i));
  const getSync = await time((i) => t.getSync(i));
  const query = await time((i) => t.select({ where: { n: i % 100 }, limit: 10 }));
  await conn.close();
  console.log(`${label.padEnd(26)} insert ${insert.toFixed(1).padStart(6)} µs   get ${get.toFixed(1).padStart(5)} µs   getSync ${getSync.toFixed(1).padStart(5)} µs   indexed select(limit 10) ${query.toFixed(1).padStart(6)} µs`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-bench-'));
try {
  console.log(`${N} operations each, ${os.cpus().length} cores, Node ${process.version}`);
  await run('node adapter (Node entry)', nodeEntry, { adapter: 'node', root: path.join(dir, 'node') });
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package') });
  await run('wx adapter (stand-in)', rt.require('minibase-db'), { root: 'bench' });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
