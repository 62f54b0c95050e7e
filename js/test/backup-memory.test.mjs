// An import holds one batch at a time: importing far more data than the
// engine's memory budget leaves wasm memory (which never shrinks) below the
// size of the input. Not a timing test: memory only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'minibase-db';

test('importing 120 MB keeps wasm memory under 100 MB', { timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-import-memory-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rows = 30_000;
  const body = 'y'.repeat(4000);
  const header = {
    format: 'minibase-export', version: 1,
    tables: [{ database: 'd', table: 't', rows, schema: { name: 't', columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'body', type: 'string' }], indexes: [], primaryKey: ['id'] } }],
  };
  let bytes = 0;
  async function* source() {
    const line = (v) => {
      const s = JSON.stringify(v) + '\n';
      bytes += s.length;
      return s;
    };
    yield line(header);
    for (let i = 0; i < rows; i++) yield line({ t: 0, r: { id: i, body } });
    yield line({ end: true, rows });
  }
  const conn = await connect({ adapter: 'node', root: path.join(dir, 'db') });
  const res = await conn.import(source());
  assert.equal(res.rows, rows);
  const { wasmMemoryBytes } = await conn.stats();
  assert.ok(bytes > 120e6, `input ${bytes}`);
  assert.ok(wasmMemoryBytes < 100 * 2 ** 20, `wasm memory ${(wasmMemoryBytes / 2 ** 20).toFixed(1)} MB after importing ${(bytes / 2 ** 20).toFixed(0)} MB`);
  await conn.useDatabase('d');
  assert.equal(await conn.table('t').count(), rows);
  await conn.close();
});
