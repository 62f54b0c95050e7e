// Wasm memory a bulk call grew is never given back; the engine lends part of
// it to the block cache, for the blocks it evicts. These run against the real
// .wasm on the small-device defaults (4 MB memtable, 8 MB cache), where a
// 100,000-row insertMany takes wasm memory to ~47 MB against a 24 MB limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'minibase-db';

const MB = 2 ** 20;
const CACHE = 8 * MB;
const ROWS = 100_000;
const row = (i, t) => ({ id: i + 1, name: `${t}${i}`, n: (i * 7919) % ROWS, pad: 'x'.repeat(150) });
const columns = [
  { name: 'id', type: 'number', primaryKey: true },
  { name: 'name', type: 'string', unique: true },
  { name: 'n', type: 'number' },
  { name: 'pad', type: 'string' },
];

test('a bulk load lends the block cache idle wasm memory, which reads use and memory does not grow for', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-loan-'));
  const conn = await connect({ adapter: 'node', root: dir, memtableBytes: 4 * MB, cacheBytes: CACHE, checkpointIdleMs: 0 });
  try {
    await conn.createDatabase('d');
    await conn.useDatabase('d');
    await conn.createTable('a', { columns });
    const a = conn.table('a');
    assert.equal((await conn.stats()).cacheLimit, CACHE, 'nothing lent before a bulk call');

    await a.insertMany(Array.from({ length: ROWS }, (_, i) => row(i, 'a')));
    const loaded = await conn.stats();
    const mem = `wasm memory ${(loaded.wasmMemoryBytes / MB).toFixed(1)} MB`;
    assert.ok(loaded.cacheLimit > CACHE, `lent after the load: limit ${(loaded.cacheLimit / MB).toFixed(1)} MB, ${mem}`);
    assert.ok(loaded.cacheLimit <= 4 * CACHE, 'at most three times the cache more');
    assert.equal(loaded.cacheLimit % MB, 0, 'in whole chunks');

    // Reads keep what the cache evicts in the loan, and read it from there.
    const keys = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % ROWS);
    for (const k of keys) assert.equal((await a.get(k + 1))?.name, `a${k}`);
    const read = await conn.stats();
    assert.ok(read.cacheBytes > CACHE, `reads kept ${(read.cacheBytes / MB).toFixed(1)} MB`);
    assert.ok(read.cacheBytes <= read.cacheLimit);

    // Writes leave the loan as it is; a write's room is what it was.
    await a.insert(row(ROWS, 'a'));
    assert.ok((await a.update({ n: -1 }, { where: { n: { '<': ROWS / 10 } } })) >= ROWS / 10);
    assert.ok((await a.delete({ where: { n: { '>=': ROWS * 0.9 } } })) >= ROWS / 10);
    const wrote = await conn.stats();
    assert.equal(wrote.cacheLimit, loaded.cacheLimit);
    // The loan lives in memory the load already took (45.0 and 45.3 MB
    // measured here, with or without a loan).
    assert.ok(
      wrote.wasmMemoryBytes <= loaded.wasmMemoryBytes + 2 * MB,
      `wasm memory ${(wrote.wasmMemoryBytes / MB).toFixed(1)} MB after reads and writes, ${(loaded.wasmMemoryBytes / MB).toFixed(1)} MB after the load`,
    );
  } finally {
    await conn.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('opening another root takes the loan back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-loan-'));
  const conn = await connect({ adapter: 'node', root: path.join(dir, 'one'), memtableBytes: 4 * MB, cacheBytes: CACHE, checkpointIdleMs: 0 });
  let other;
  try {
    await conn.createDatabase('d');
    await conn.useDatabase('d');
    await conn.createTable('a', { columns });
    await conn.table('a').insertMany(Array.from({ length: ROWS }, (_, i) => row(i, 'a')));
    assert.ok((await conn.stats()).cacheLimit > CACHE);
    other = await connect({ adapter: 'node', root: path.join(dir, 'two'), memtableBytes: 4 * MB, cacheBytes: CACHE, checkpointIdleMs: 0 });
    assert.equal((await conn.stats()).cacheLimit, CACHE);
  } finally {
    await other?.close();
    await conn.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
