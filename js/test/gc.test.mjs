// The engine's heap is collected while an app makes many small calls. Under
// GOOS=js no goroutine runs between calls, so a collection needs the calls
// themselves to yield to its workers; when they did not, no cycle finished
// and wasm memory (which is never returned) grew with every write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'minibase-db';

// Measured: 4.5–10.5 MB; a heap that is never collected grows by more than
// the 40 MB written.
test('many small writes leave wasm memory near the live data, not the data written', async () => {
  const conn = await connect({ adapter: 'memory', root: `gc-${process.pid}`, memtableBytes: 1 << 20, cacheBytes: 1 << 20 });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'body', type: 'string' }] });
  const notes = conn.table('notes');
  const before = (await conn.stats()).wasmMemoryBytes;
  // 40 MB written in 20,000 calls, over 500 rows (~1 MB live)
  for (let i = 0; i < 20_000; i++) {
    await notes.upsert({ id: i % 500, body: `${i}`.padEnd(2048, 'x') });
  }
  const after = (await conn.stats()).wasmMemoryBytes;
  const grewMB = (after - before) / 2 ** 20;
  assert.ok(grewMB <= 24, `wasm memory grew by ${grewMB.toFixed(1)} MB while ~1 MB stayed live`);
  assert.equal(await notes.count(), 500);
  await conn.close();
});
