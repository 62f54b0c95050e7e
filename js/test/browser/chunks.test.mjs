// IndexedDB databases larger than what a tab keeps loaded: segment files
// live as chunks read on demand (browser-idb.js, fsadapter/idbfs) under a
// small residentBytes, and every query still answers right; a SIGKILL in the
// middle of writes loses no acknowledged one; a chunk gone from IndexedDB is
// a CORRUPT error, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, useBrowser, withProfile } from './helpers.mjs';

const env = useBrowser();
const page = (ctx) => env.page(ctx);

const ROWS = 6000;
// Small buffers, so a few MB of rows make many segments, compactions, and
// far more chunks than are kept loaded.
const OPTIONS = { residentBytes: 256 << 10, memtableBytes: 256 << 10, cacheBytes: 64 << 10 };

// Runs in the page: opens database name with the schema, creating it when new.
async function open(name, options) {
  const conn = await window.minibase.connect({ adapter: 'indexeddb', name, ...options });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('items', {
    ifNotExists: true,
    columns: [
      { name: 'id', type: 'number', primaryKey: true },
      { name: 'code', type: 'string', unique: true },
      { name: 'n', type: 'number' },
      { name: 'pad', type: 'string' },
    ],
    indexes: [{ columns: ['n'] }],
  });
  return conn;
}

const row = (i) => ({ id: i, code: `c${String(i).padStart(6, '0')}`, n: (i * 7919) % 1000, pad: `${i}`.repeat(40).slice(0, 300) });

test('a database larger than residentBytes answers point reads, scans and index ranges with chunks let go', { skip }, async () => {
  let p = await page();
  await p.evaluate(
    async ({ src, rowSrc, ROWS, OPTIONS }) => {
      const open = eval(`(${src})`);
      const row = eval(`(${rowSrc})`);
      const conn = await open('big', OPTIONS);
      const items = conn.table('items');
      for (let i = 0; i < ROWS; i += 500) await items.insertMany(Array.from({ length: 500 }, (_, j) => row(i + j)));
      // Updates and deletes leave older versions in older segments.
      await items.update({ pad: 'updated' }, { where: { n: { '<': 50 } } });
      await items.delete({ where: { id: { '>=': ROWS - 100 } } });
      await conn.close();
    },
    { src: open.toString(), rowSrc: row.toString(), ROWS, OPTIONS },
  );
  await p.close();
  // A new page: the files are read back from IndexedDB, only the chunks a query needs.
  p = await page();
  const got = await p.evaluate(
    async ({ src, OPTIONS }) => {
      const open = eval(`(${src})`);
      const conn = await open('big', OPTIONS);
      const items = conn.table('items');
      const points = [];
      for (const id of [0, 1, 777, 2500, 4999, 5899, 5900, 5999]) points.push(await items.get(id));
      const byCode = await items.select({ where: { code: 'c003141' } });
      const range = await items.select({ where: { n: { '>=': 10, '<': 13 } }, orderBy: [{ name: 'id', type: 'asc' }] });
      const all = await items.select({ orderBy: [{ name: 'id', type: 'asc' }] });
      const count = await items.count();
      const stats = await conn.stats();
      await conn.close();
      return { points, byCode, range: range.map((r) => [r.id, r.n, r.pad]), allIds: all.map((r) => r.id), allPads: all.map((r) => r.pad), count, stats };
    },
    { src: open.toString(), OPTIONS },
  );
  const live = (i) => i < ROWS - 100;
  const want = (i) => (live(i) ? { ...row(i), pad: row(i).n < 50 ? 'updated' : row(i).pad } : null);
  assert.deepEqual(got.points, [0, 1, 777, 2500, 4999, 5899, 5900, 5999].map(want));
  assert.deepEqual(got.byCode, [want(3141)]);
  const ids = Array.from({ length: ROWS }, (_, i) => i).filter(live);
  assert.deepEqual(
    got.range,
    ids.filter((i) => row(i).n >= 10 && row(i).n < 13).map((i) => [i, row(i).n, want(i).pad]),
  );
  assert.deepEqual(got.allIds, ids);
  assert.deepEqual(got.allPads, ids.map((i) => want(i).pad));
  assert.equal(got.count, ids.length);
  const s = got.stats;
  assert.ok(s.chunkLoads > 0, `chunks were read on demand: ${JSON.stringify(s)}`);
  assert.ok(s.chunkEvictions > 0, `chunks were let go: ${JSON.stringify(s)}`);
  assert.ok(s.chunkReruns > 0, `calls ran again after loading: ${JSON.stringify(s)}`);
  assert.ok(s.residentChunkBytes <= OPTIONS.residentBytes, `within the budget between calls: ${JSON.stringify(s)}`);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('random reads with chunks let go: within residentBytes after every call, past it during one only by that call\'s chunks, every answer right', { skip }, async () => {
  let p = await page();
  await p.evaluate(
    async ({ src, rowSrc, OPTIONS }) => {
      const open = eval(`(${src})`);
      const row = eval(`(${rowSrc})`);
      const conn = await open('random', OPTIONS);
      const items = conn.table('items');
      for (let i = 0; i < 4000; i += 500) await items.insertMany(Array.from({ length: 500 }, (_, j) => row(i + j)));
      await conn.close();
    },
    { src: open.toString(), rowSrc: row.toString(), OPTIONS },
  );
  await p.close();
  p = await page();
  const got = await p.evaluate(
    async ({ src, OPTIONS }) => {
      const open = eval(`(${src})`);
      const conn = await open('random', OPTIONS);
      const items = conn.table('items');
      const answers = [];
      const over = []; // calls after which more than the budget stayed loaded
      let x = 12345;
      for (let c = 0; c < 150; c++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        if (c % 10 === 9) {
          const n = x % 1000;
          answers.push(['range', n, (await items.select({ where: { n: { '>=': n, '<': n + 2 } }, orderBy: [{ name: 'id', type: 'asc' }], limit: 5 })).map((r) => r.id)]);
        } else {
          const id = x % 4200; // some past the last row
          answers.push(['get', id, await items.get(id)]);
        }
        const s = await conn.stats();
        if (s.residentChunkBytes > OPTIONS.residentBytes) over.push([c, s.residentChunkBytes]);
      }
      const stats = await conn.stats();
      await conn.close();
      return { answers, over, stats };
    },
    { src: open.toString(), OPTIONS },
  );
  for (const [kind, arg, answer] of got.answers) {
    if (kind === 'get') assert.deepEqual(answer, arg < 4000 ? row(arg) : null, `get ${arg}`);
    else {
      const want = Array.from({ length: 4000 }, (_, i) => i).filter((i) => row(i).n >= arg && row(i).n < arg + 2).slice(0, 5);
      assert.deepEqual(answer, want, `range ${arg}`);
    }
  }
  const s = got.stats;
  assert.deepEqual(got.over, [], 'within the budget after every call');
  assert.ok(s.chunkEvictions > 0 && s.chunkLoads > 0, JSON.stringify(s));
  assert.ok(s.peakResidentChunkBytes <= Math.max(OPTIONS.residentBytes, s.peakCallChunkBytes), `past the budget by more than one call: ${JSON.stringify(s)}`);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('merges run in steps after the writes, within residentBytes: the runs stay within the limit and every row is there', { skip }, async () => {
  const p = await page();
  const got = await p.evaluate(
    async ({ src, rowSrc, OPTIONS }) => {
      const open = eval(`(${src})`);
      const row = eval(`(${rowSrc})`);
      const conn = await open('merged', OPTIONS);
      const items = conn.table('items');
      let most = 0;
      for (let i = 0; i < 12_000; i += 600) {
        await items.insertMany(Array.from({ length: 600 }, (_, j) => row(i + j)));
        most = Math.max(most, (await conn.stats()).runs);
      }
      await items.update({ pad: 'updated' }, { where: { n: { '<': 20 } } });
      // The steps after the last write: until no merge is due.
      const t0 = Date.now();
      let s = await conn.stats();
      while (s.compacting && Date.now() - t0 < 60_000) {
        await new Promise((r) => setTimeout(r, 20));
        s = await conn.stats();
      }
      let integrity = null;
      try {
        await conn.checkIntegrity();
      } catch (err) {
        integrity = err.code;
      }
      const count = await items.count();
      const updated = await items.count({ where: { pad: 'updated' } });
      await conn.close();
      return { stats: s, most, integrity, count, updated };
    },
    { src: open.toString(), rowSrc: row.toString(), OPTIONS },
  );
  const s = got.stats;
  assert.equal(s.compacting, 0, `the merges finished: ${JSON.stringify(s)}`);
  assert.ok(s.compactSteps > 0 && s.compactions > 0, `merges ran in steps: ${JSON.stringify(s)}`);
  assert.ok(s.runs <= 12, `${s.runs} runs once merged: ${JSON.stringify(s)}`);
  // Steps go on from where they stopped: the merges' inputs are not loaded
  // again and again (a merge of more inputs than the budget has chunks once
  // loaded 11 GB of a 3.5 MB database).
  assert.ok(s.chunkLoadBytes < 50 * s.diskBytes, `chunks loaded: ${JSON.stringify(s)}`);
  assert.ok(got.most <= 13, `at most one run past the limit between steps: ${got.most}`);
  assert.ok(s.peakResidentChunkBytes <= Math.max(OPTIONS.residentBytes, s.peakCallChunkBytes), JSON.stringify(s));
  assert.equal(got.integrity, null);
  assert.equal(got.count, 12_000);
  assert.equal(got.updated, Array.from({ length: 12_000 }, (_, i) => row(i)).filter((r) => r.n < 20).length);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('a SIGKILL in the middle of writes (flushes, compactions, chunk loads) loses no acknowledged write', { skip }, () =>
  withProfile(async (profile) => {
    let p = await page(await profile.launch());
    let acked = -1;
    await p.exposeFunction('acked', (i) => {
      acked = Math.max(acked, i);
    });
    // Not awaited: the page writes until the browser dies.
    p.evaluate(
      async ({ src, rowSrc, OPTIONS }) => {
        const open = eval(`(${src})`);
        const row = eval(`(${rowSrc})`);
        const conn = await open('killed', OPTIONS);
        const items = conn.table('items');
        for (let i = 0; ; i += 50) {
          await items.insertMany(Array.from({ length: 50 }, (_, j) => row(i + j)));
          // Reads between writes load chunks that compactions then need.
          await items.get(Math.floor(i / 2));
          window.acked(i + 49);
        }
      },
      { src: open.toString(), rowSrc: row.toString(), OPTIONS },
    ).catch(() => {});
    // Far enough for several flushes and compactions (256 KB memtables).
    const deadline = Date.now() + 120_000;
    while (acked < 4000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(acked >= 4000, `the page wrote ${acked + 1} rows in two minutes`);
    const sure = acked;
    await profile.kill();

    p = await page(await profile.launch());
    const ids = await p.evaluate(
      async ({ src, OPTIONS }) => {
        const open = eval(`(${src})`);
        const conn = await open('killed', OPTIONS);
        // Every index agrees with the rows, whatever merge step the kill cut short.
        await conn.checkIntegrity();
        return (await conn.table('items').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.id);
      },
      { src: open.toString(), OPTIONS },
    );
    assert.ok(ids.length >= sure + 1, `${ids.length} rows after the kill, ${sure + 1} were acknowledged`);
    assert.deepEqual(ids.slice(0, sure + 1), Array.from({ length: sure + 1 }, (_, i) => i), 'every acknowledged row, in order');
    assert.equal(ids.length % 50, 0, 'whole batches only');
  }));

test('a chunk gone from IndexedDB is a CORRUPT error, and the page goes on', { skip }, async () => {
  const p = await page();
  const got = await p.evaluate(
    async ({ src, rowSrc, OPTIONS }) => {
      const open = eval(`(${src})`);
      const row = eval(`(${rowSrc})`);
      let conn = await open('damaged', OPTIONS);
      const items = conn.table('items');
      for (let i = 0; i < 3000; i += 500) await items.insertMany(Array.from({ length: 500 }, (_, j) => row(i + j)));
      await conn.close();
      await window.minibase.release('damaged');
      // Behind the library's back: delete the first chunk of the largest segment.
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open('minibase:damaged');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const keys = await new Promise((resolve) => {
        const req = db.transaction('chunks').objectStore('chunks').getAllKeys();
        req.onsuccess = () => resolve(req.result);
      });
      const [file] = keys.reduce((a, k) => (k[1] > a[1] ? k : a));
      await new Promise((resolve, reject) => {
        const tx = db.transaction('chunks', 'readwrite');
        tx.objectStore('chunks').delete([file, 0]);
        tx.oncomplete = resolve;
        tx.onabort = () => reject(tx.error);
      });
      db.close();
      let code = null;
      try {
        conn = await open('damaged', OPTIONS);
        await conn.table('items').select({});
      } catch (err) {
        code = err.code;
      }
      // The engine is still there for other databases.
      const other = await open('undamaged', OPTIONS);
      await other.table('items').insert(row(1));
      let badBudget = null;
      try {
        await window.minibase.connect({ adapter: 'indexeddb', name: 'other', residentBytes: -1 });
      } catch (err) {
        badBudget = err.code;
      }
      return { code, file, other: await other.table('items').count(), badBudget };
    },
    { src: open.toString(), rowSrc: row.toString(), OPTIONS },
  );
  assert.equal(got.code, 'CORRUPT', `reading ${got.file} without its first chunk`);
  assert.equal(got.other, 1);
  assert.equal(got.badBudget, 'BAD_QUERY', 'residentBytes: -1');
  assert.deepEqual(p.errors, []);
  await p.close();
});
