// What a declared schema costs on connect (node adapter, real wasm):
// creating TABLES declared tables on a new root, the check on every later
// connect, and a migration step that retypes a column and rewrites ROWS rows.
//
//   make build && node js/bench/schema-bench.mjs
//   TABLES=300 ROWS=100000 node js/bench/schema-bench.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../dist/index.mjs';

const TABLES = Number(process.env.TABLES ?? 100);
const ROWS = Number(process.env.ROWS ?? 50_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-schema-bench-'));
const root = path.join(dir, 'data');

const tables = {};
for (let i = 0; i < TABLES; i++) {
  tables[`t${i}`] = {
    columns: Array.from({ length: 10 }, (_, j) => ({ name: `c${j}`, type: 'string', ...(j === 0 ? { primaryKey: true } : {}) })),
    indexes: [{ columns: ['c1', 'c2'] }],
  };
}
tables.items = { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'n', type: 'number' }, { name: 'label', type: 'string' }], indexes: [{ columns: ['n'] }] };
const v1 = { version: 1, database: 'app', tables };

const ms = (t0) => `${(performance.now() - t0).toFixed(0)} ms`;
try {
  let t0 = performance.now();
  let conn = await connect({ adapter: 'node', root, schema: v1 });
  console.log(`new root, ${TABLES + 1} declared tables: ${ms(t0)}`);
  await conn.table('items').insertMany(Array.from({ length: ROWS }, (_, i) => ({ id: i, n: i % 1000, label: `x${i}` })));
  await conn.close();

  t0 = performance.now();
  conn = await connect({ adapter: 'node', root });
  console.log(`connect without a schema (baseline): ${ms(t0)}`);
  await conn.close();
  t0 = performance.now();
  conn = await connect({ adapter: 'node', root, schema: v1 });
  console.log(`connect at the current version (check only): ${ms(t0)}`);
  await conn.close();

  const v2 = structuredClone(v1);
  v2.version = 2;
  v2.tables.items.columns[1] = { name: 'n', type: 'string' };
  v2.tables.items.columns.push({ name: 'even', type: 'boolean', notNull: true, default: false });
  v2.migrations = {
    2: async (tx) => {
      await tx.table('items').modifyColumn('n', { type: 'string' });
      await tx.table('items').addColumn({ name: 'even', type: 'boolean', notNull: true, default: false });
      await tx.table('items').update({ even: true }, { where: { n: '0' } });
    },
  };
  t0 = performance.now();
  conn = await connect({ adapter: 'node', root, schema: v2 });
  console.log(`migration step over ${ROWS} rows (retype + column + update), one commit: ${ms(t0)}`);
  console.log(`wasm memory after: ${((await conn.stats()).wasmMemoryBytes / 2 ** 20).toFixed(0)} MiB`);
  await conn.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
