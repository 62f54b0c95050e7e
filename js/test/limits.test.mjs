// Requests and answers that would not fit the engine's memory are refused
// with TOO_LARGE, and the engine (every connection of the process) keeps
// running: running out of wasm memory is fatal to the Go runtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'minibase-db';

const DOCS = {
  columns: [
    { name: 'id', type: 'number', primaryKey: true },
    { name: 'title', type: 'string' },
    { name: 'body', type: 'string' },
  ],
};

test('a select larger than the answer cap is TOO_LARGE, a projection of it is answered, and the engine lives on', async () => {
  const conn = await connect({ adapter: 'memory', root: `limits-${process.pid}-a` });
  const other = await connect({ adapter: 'memory', root: `limits-${process.pid}-b` });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('docs', DOCS);
  const docs = conn.table('docs');
  const body = 'x'.repeat(1 << 20);
  for (let i = 0; i < 34; i += 10) {
    await docs.insertMany(Array.from({ length: Math.min(10, 34 - i) }, (_, j) => ({ id: i + j, title: `t${i + j}`, body })));
  }
  await assert.rejects(docs.select(), (e) => e.code === 'TOO_LARGE' && /limit/.test(e.message));
  await assert.rejects(docs.select({ orderBy: [{ name: 'title', type: 'desc' }] }), (e) => e.code === 'TOO_LARGE');
  const ids = await docs.select({ columns: ['id'] });
  assert.equal(ids.length, 34);
  assert.deepEqual(Object.keys(ids[0]), ['id']);
  assert.equal((await docs.select({ limit: 3 })).length, 3);
  assert.equal(await docs.count(), 34);
  // the other connection (and the engine under both) is fine
  await other.createDatabase('e');
  assert.deepEqual(await other.showDatabases(), ['e']);
  await conn.close();
  await other.close();
});

test('a request larger than the engine takes is TOO_LARGE before anything is allocated for it', async () => {
  const conn = await connect({ adapter: 'memory', root: `limits-${process.pid}-c` });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('docs', DOCS);
  const docs = conn.table('docs');
  await assert.rejects(docs.insert({ id: 1, body: 'y'.repeat(70 << 20) }), (e) => e.code === 'TOO_LARGE' && /64 MB/.test(e.message));
  await docs.insert({ id: 2, body: 'fits' });
  assert.deepEqual(await docs.get(2), { id: 2, title: null, body: 'fits' });
  await conn.close();
});
