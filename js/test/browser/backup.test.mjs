// Export/import and backup/restore in Chromium on IndexedDB: the backup is a
// Blob the page can offer for download; a damaged one is refused with
// CORRUPT and nothing changes; a page that does not own the database exports
// and imports through the owner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser } from './helpers.mjs';

const env = useBrowser();

const page = () => env.page();

test('backup to a Blob, restore into another database, export and import, on IndexedDB', { skip }, async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const { connect, restore } = window.minibase;
    const snapshot = async (conn) => {
      await conn.useDatabase('shop');
      return JSON.stringify(await conn.table('items').select({ orderBy: 'id' }));
    };
    const conn = await connect({ adapter: 'indexeddb', name: 'bk-src' });
    await conn.createDatabase('shop');
    await conn.useDatabase('shop');
    await conn.createTable('items', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'name', type: 'string', unique: true }, { name: 'raw', type: 'bytes' }], indexes: [{ columns: ['name'] }] });
    await conn.table('items').insertMany(Array.from({ length: 3000 }, (_, i) => ({ name: `item ${i}`, raw: new Uint8Array([i & 255, 9]) })));
    const st = await conn.storage({ prefix: 'p_' });
    await st.set('theme', 'dark');
    const want = await snapshot(conn);
    const progress = [];
    const { blob, bytes } = await conn.backup(undefined, { onProgress: (x) => progress.push(x.bytes) });
    let text = '';
    for await (const line of conn.export()) text += line;
    await st.close();
    await conn.close();

    const res = await restore(blob, { name: 'bk-dst' });
    const back = await connect({ adapter: 'indexeddb', name: 'bk-dst' });
    await back.checkIntegrity();
    const got = await snapshot(back);
    const theme = await (await back.storage({ prefix: 'p_' })).get('theme');
    await back.close();

    // A damaged Blob: CORRUPT, the database untouched.
    const buf = new Uint8Array(await blob.arrayBuffer());
    buf[buf.length >> 1] ^= 2;
    const err = await restore(new Blob([buf]), { name: 'bk-dst' }).catch((e) => e);
    const still = await connect({ adapter: 'indexeddb', name: 'bk-dst' });
    const after = await snapshot(still);
    // An open database is not restored over.
    const locked = await restore(blob, { name: 'bk-dst' }).catch((e) => e.code);
    await still.close();

    const imp = await connect({ adapter: 'indexeddb', name: 'bk-imp' });
    const ir = await imp.import(blob.constructor === Blob ? new Blob([text]) : text);
    const imported = await snapshot(imp);
    await imp.close();
    return { isBlob: blob instanceof Blob, size: blob.size, bytes, progress: progress.length, keys: res.keys, same: got === want, theme, code: err.code, unchanged: after === want, locked, rows: ir.rows, importSame: imported === want };
  });
  assert.equal(r.isBlob, true);
  assert.equal(r.size, r.bytes);
  assert.ok(r.progress > 0);
  assert.ok(r.keys > 3000);
  assert.equal(r.same, true, 'restored rows are identical');
  assert.equal(r.theme, 'dark');
  assert.equal(r.code, 'CORRUPT');
  assert.equal(r.unchanged, true);
  assert.equal(r.locked, 'LOCKED');
  assert.equal(r.rows, 3000);
  assert.equal(r.importSame, true);
  assert.deepEqual(p.errors, []);
});

test('a page that does not own the database exports and imports through the owner', { skip }, async () => {
  const owner = await page();
  const other = await page();
  await owner.evaluate(async () => {
    const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'bk-shared' });
    await conn.createDatabase('d');
    await conn.useDatabase('d');
    await conn.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }, { name: 'v', type: 'number' }] });
    await conn.table('t').insertMany(Array.from({ length: 2500 }, (_, i) => ({ k: `k${String(i).padStart(5, '0')}`, v: i })));
    window.keep = conn;
  });
  const r = await other.evaluate(async () => {
    const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'bk-shared' });
    let text = '';
    for await (const line of conn.export()) text += line;
    await conn.useDatabase('d');
    await conn.table('t').delete({ where: { v: { '<': 1000 } } });
    const res = await conn.import(text);
    const n = await conn.table('t').count();
    const { blob } = await conn.backup();
    return { lines: text.trimEnd().split('\n').length, rows: res.rows, n, size: blob.size };
  });
  assert.deepEqual({ lines: r.lines, rows: r.rows, n: r.n }, { lines: 2502, rows: 2500, n: 2500 });
  assert.ok(r.size > 2500 * 10);
  assert.deepEqual(owner.errors, []);
  assert.deepEqual(other.errors, []);
});
