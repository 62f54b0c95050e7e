// Export/import (NDJSON) and backup/restore (one checksummed file) against
// the real engine: round trips give identical results, and every bad input
// is a coded error that leaves the target as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, restore, verify, createAbortSignal } from 'minibase-db';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-backup-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** CRC-32C, to forge a well-formed header of a newer format version. */
function crc32c(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

let roots = 0;
const memRoot = () => `backup-test-${process.pid}-${roots++}`;

async function seed(conn, n = 300) {
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number', default: 0 },
      { name: 'profile', type: 'object' },
      { name: 'avatar', type: 'bytes' },
    ],
    indexes: [{ columns: ['age'] }],
  });
  await conn.createTable('pairs', {
    columns: [
      { name: 'a', type: 'string' },
      { name: 'b', type: 'number' },
      { name: 'v', type: 'any' },
    ],
    primaryKey: ['a', 'b'],
  });
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({ username: `user${i}`, age: i % 70, profile: { tags: ['x', i], nested: { ok: i % 2 === 0 } }, avatar: new Uint8Array([i & 255, 0, 255, 7]) });
  }
  await conn.table('users').insertMany(rows);
  await conn.table('pairs').insertMany([{ a: 'k', b: 2, v: 'two' }, { a: 'k', b: 1, v: [1, 2] }, { a: 'é✓', b: -1.5, v: null }]);
  await conn.createDatabase('other');
  await conn.useDatabase('other');
  await conn.createTable('empty', { columns: [{ name: 'id', type: 'string', primaryKey: true }] });
}

/** Everything a reader can see: every table's schema and rows, by database. */
async function snapshot(conn) {
  const out = {};
  const was = conn.database;
  for (const db of await conn.showDatabases()) {
    await conn.useDatabase(db);
    for (const t of await conn.showTables()) {
      const d = await conn.describeTable(t);
      out[`${db}.${t}`] = { schema: d, rows: await conn.table(t).select({ orderBy: d.primaryKey }) };
    }
  }
  if (was) await conn.useDatabase(was);
  return out;
}

async function collect(iter) {
  let s = '';
  for await (const line of iter) s += line;
  return s;
}

test('export then import into an empty root gives identical query results', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src);
  const progress = [];
  const text = await collect(src.export({ onProgress: (p) => progress.push(p) }));
  const lines = text.trimEnd().split('\n');
  const header = JSON.parse(lines[0]);
  assert.equal(header.format, 'minibase-export');
  assert.equal(header.version, 1);
  assert.deepEqual(header.tables.map((t) => [t.database, t.table, t.rows]), [['other', 'empty', 0], ['shop', 'pairs', 3], ['shop', 'users', 300]]);
  assert.deepEqual(JSON.parse(lines.at(-1)), { end: true, rows: 303 });
  assert.equal(progress.at(-1).done, 303);
  assert.equal(progress.at(-1).total, 303);

  for (const mode of ['replace', 'merge']) {
    const dst = await connect({ adapter: 'memory', root: memRoot() });
    const res = await dst.import(text, { mode });
    assert.equal(res.rows, 303, mode);
    assert.deepEqual(await snapshot(dst), await snapshot(src), mode);
    await dst.checkIntegrity();
    // autoIncrement goes on where it was.
    await dst.useDatabase('shop');
    assert.deepEqual(await dst.table('users').insert({ username: 'next' }), { id: 301 });
    await dst.close();
  }
  await src.close();
});

test('export of chosen tables, from a snapshot', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 2500);
  const it = src.export({ tables: ['shop.users'] });
  let text = (await it.next()).value;
  await src.useDatabase('shop');
  await src.table('users').insert({ username: 'late' }); // after the snapshot
  await src.table('users').delete({ where: { username: 'user5' } });
  text += await collect(it);
  const header = JSON.parse(text.split('\n')[0]);
  assert.deepEqual(header.tables.map((t) => t.table), ['users']);
  assert.equal(text.trimEnd().split('\n').length, 2500 + 2);
  assert.match(text, /"user5"/);
  assert.doesNotMatch(text, /"late"/);
  await assert.rejects(collect(src.export({ tables: ['nope'] })), { code: 'NO_SUCH_TABLE' });
  await src.close();
});

test('import: bad input is a coded error and replace changes nothing', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 50);
  const good = await collect(src.export());
  const lines = good.trimEnd().split('\n');

  const dst = await connect({ adapter: 'memory', root: memRoot() });
  await dst.createDatabase('shop');
  await dst.useDatabase('shop');
  await dst.createTable('users', { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'keep', type: 'string' }] });
  await dst.table('users').insert({ id: 1, keep: 'mine' });
  const before = await snapshot(dst);

  const header = JSON.parse(lines[0]);
  const newer = JSON.stringify({ ...header, version: 2 });
  const row = (t, r) => JSON.stringify({ t, r });
  const users = header.tables.findIndex((t) => t.table === 'users');
  const dupLine = lines.findIndex((l) => l.includes('"user7"'));
  const withDup = lines.slice();
  withDup[dupLine + 3] = withDup[dupLine + 3].replace(/"user\d+"/, '"user7"');
  const badType = lines.slice();
  badType[dupLine] = row(users, { id: 999, username: 42 });
  const cases = [
    ['another format', '{"hello":"world"}\n', 'BAD_FORMAT', null],
    ['csv', 'id,name\n1,a\n', 'BAD_FORMAT', null],
    ['binary', new Uint8Array([0xff, 0xfe, 0x00, 0x01]), 'BAD_FORMAT', null],
    ['empty', '', 'BAD_FORMAT', null],
    ['newer version', [newer, ...lines.slice(1)].join('\n'), 'VERSION_TOO_NEW', null],
    ['truncated (no end line)', lines.slice(0, -1).join('\n'), 'CORRUPT', null],
    ['truncated mid line', good.slice(0, good.length - 200), 'BAD_FORMAT', null],
    ['a row lost', [...lines.slice(0, 5), ...lines.slice(6)].join('\n'), 'CORRUPT', null],
    ['duplicate unique value', withDup.join('\n'), 'UNIQUE_VIOLATION', dupLine + 3 + 1],
    ['wrong type', badType.join('\n'), 'TYPE_MISMATCH', dupLine + 1],
    ['not a row line', [...lines.slice(0, 3), '[1,2]', ...lines.slice(3)].join('\n'), 'BAD_FORMAT', 4],
  ];
  for (const [name, input, code, line] of cases) {
    await assert.rejects(dst.import(input, { mode: 'replace' }), (err) => {
      assert.equal(err.code, code, `${name}: ${err.message}`);
      if (line !== null) {
        assert.match(err.message, new RegExp(`line ${line}\\b`), name);
      }
      return true;
    }, name);
    assert.deepEqual(await snapshot(dst), before, `${name}: nothing changed`);
  }
  // Merge mode checks a re-readable source whole first: nothing changes either.
  for (const [name, input, code] of cases.slice(0, 8)) {
    await assert.rejects(dst.import(input, { mode: 'merge' }), { code }, `merge ${name}`);
    assert.deepEqual(await snapshot(dst), before, `merge ${name}: nothing changed`);
  }
  // The staging database stays invisible.
  assert.deepEqual(await dst.showDatabases(), ['shop']);
  await dst.close();
  await src.close();
});

test('merge reports rejected lines and applies the rest', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 20);
  const lines = (await collect(src.export({ tables: ['shop.users'] }))).trimEnd().split('\n');
  lines[3] = JSON.stringify({ t: 0, r: { id: 500, username: null } }); // notNull
  lines[5] = JSON.stringify({ t: 0, r: { id: 501, username: 'x', nope: 1 } }); // unknown column
  const dst = await connect({ adapter: 'memory', root: memRoot() });
  await dst.createDatabase('shop');
  await dst.useDatabase('shop');
  const res = await dst.import(lines.join('\n') + '\n', { mode: 'merge', batchRows: 4 });
  assert.equal(res.rejectedCount, 2);
  assert.deepEqual(res.rejected.map((r) => [r.line, r.code]), [[4, 'NOT_NULL_VIOLATION'], [6, 'NO_SUCH_COLUMN']]);
  assert.equal(res.rows, 18);
  assert.equal(await dst.table('users').count(), 18);
  // Merging again upserts: nothing doubles.
  await dst.import(lines.join('\n') + '\n', { mode: 'merge' });
  assert.equal(await dst.table('users').count(), 18);
  await dst.close();
  await src.close();
});

test('import streams a large file in bounded batches and can be cancelled', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 6000);
  const dst = await connect({ adapter: 'memory', root: memRoot() });
  // Straight from the export's stream, in bytes.
  const enc = new TextEncoder();
  async function* bytes() {
    for await (const l of src.export()) yield enc.encode(l);
  }
  const seen = [];
  await dst.import(bytes(), { onProgress: (p) => seen.push(p) });
  assert.ok(seen.length >= 6, 'progress per batch');
  assert.equal(seen.at(-1).done, 6003);
  assert.ok(seen.at(-1).bytes > 6000 * 50);
  assert.deepEqual(await snapshot(dst), await snapshot(src));

  const text = await collect(src.export());
  const fresh = await connect({ adapter: 'memory', root: memRoot() });
  const { signal, abort } = createAbortSignal();
  await assert.rejects(fresh.import(text, { signal, onProgress: (p) => p.done >= 2000 && abort() }), { code: 'ABORTED' });
  assert.deepEqual(await fresh.showDatabases(), [], 'a cancelled replace changes nothing');
  // An AbortController's signal works too.
  if (typeof AbortController === 'function') {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(fresh.import(text, { signal: ac.signal }), (err) => err.name === 'AbortError' || err.code === 'ABORTED');
  }
  await fresh.close();
  await dst.close();
  await src.close();
});

test('backup then restore gives identical rows and integrity, taken while writing', async (t) => {
  const dir = tempDir(t);
  const root = path.join(dir, 'db');
  const conn = await connect({ adapter: 'node', root });
  await seed(conn, 3000);
  const storage = await conn.storage({ prefix: 'app_' });
  await storage.set('token', { v: 'secret-ish' });
  const want = await snapshot(conn);
  const file = path.join(dir, 'app.mbbak');
  const progress = [];
  // Writers go on while the backup runs; the backup is the state when it began.
  const p = conn.backup(file, { onProgress: (x) => progress.push(x) });
  await conn.useDatabase('shop');
  await conn.table('users').insert({ username: 'during' });
  const { bytes } = await p;
  assert.equal(fs.statSync(file).size, bytes);
  assert.ok(progress.length > 0);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['app.mbbak', 'db'], 'no temporary file left');
  await conn.close();

  const checked = await verify(file);
  assert.ok(checked.keys > 3000);
  const into = path.join(dir, 'restored');
  const res = await restore(file, { adapter: 'node', root: into });
  assert.equal(res.keys, checked.keys);
  const back = await connect({ adapter: 'node', root: into });
  await back.checkIntegrity();
  assert.deepEqual(await snapshot(back), want);
  const st = await back.storage({ prefix: 'app_' });
  assert.deepEqual(await st.get('token'), { v: 'secret-ish' });
  await back.close();

  // Into a memory root, from bytes, over existing data.
  const mem = memRoot();
  const m = await connect({ adapter: 'memory', root: mem });
  await m.createDatabase('old');
  await assert.rejects(restore(fs.readFileSync(file), { adapter: 'memory', root: mem }), { code: 'LOCKED' }, 'an open root is not restored');
  await m.close();
  await restore(fs.readFileSync(file), { adapter: 'memory', root: mem });
  const m2 = await connect({ adapter: 'memory', root: mem });
  assert.deepEqual(await snapshot(m2), want);
  await m2.close();
});

test('a corrupt, truncated or foreign backup is refused with CORRUPT and nothing changes', async (t) => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 500);
  const { data, blob } = await src.backup();
  const good = data ?? new Uint8Array(await blob.arrayBuffer());
  await src.close();

  const target = memRoot();
  const c = await connect({ adapter: 'memory', root: target });
  await c.createDatabase('mine');
  const before = await snapshot(c);
  await c.close();
  const flip = good.slice();
  flip[Math.floor(flip.length / 2)] ^= 4;
  const newer = good.slice();
  newer[8] = 9; // the format version, with its header checksum made right again
  new DataView(newer.buffer).setUint32(12, crc32c(newer.subarray(0, 12)), true);
  const exportText = new TextEncoder().encode('{"format":"minibase-export","version":1}\n');
  for (const [name, bad, code] of [
    ['flipped bit', flip, 'CORRUPT'],
    ['truncated', good.slice(0, good.length - 5), 'CORRUPT'],
    ['empty', new Uint8Array(0), 'CORRUPT'],
    ['an export', exportText, 'CORRUPT'],
    ['newer', newer, 'VERSION_TOO_NEW'],
  ]) {
    await assert.rejects(restore(bad, { adapter: 'memory', root: target }), { code }, name);
    const again = await connect({ adapter: 'memory', root: target });
    assert.deepEqual(await snapshot(again), before, `${name}: nothing changed`);
    await again.close();
  }
  const dir = tempDir(t);
  await assert.rejects(verify(path.join(dir, 'missing.mbbak')), { code: 'IO' });
});

test('two imports into one root at once do not share staging tables', async () => {
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 3000);
  const users = await collect(src.export({ tables: ['shop.users'] }));
  const pairs = await collect(src.export({ tables: ['shop.pairs'] }));
  const root = memRoot();
  const a = await connect({ adapter: 'memory', root });
  const b = await connect({ adapter: 'memory', root });
  const res = await Promise.all([a.import(users, { batchRows: 100 }), b.import(pairs, { batchRows: 1 }), a.import(users, { batchRows: 250 })]);
  assert.deepEqual(res.map((r) => r.rows), [3000, 3, 3000]);
  const want = await snapshot(src);
  delete want['other.empty'];
  assert.deepEqual(await snapshot(a), want);
  await a.checkIntegrity();
  // A failed import in the middle of a good one leaves the good one whole.
  const bad = users.replace('"user9"', '"user8"');
  const out = await Promise.allSettled([a.import(users, { batchRows: 100 }), b.import(bad, { batchRows: 100 })]);
  assert.equal(out[0].status, 'fulfilled');
  assert.equal(out[1].reason.code, 'UNIQUE_VIOLATION');
  assert.deepEqual(await snapshot(a), want);
  await Promise.all([a.close(), b.close(), src.close()]);
});

test('an import cannot reach system databases, and a line without end is bounded', async () => {
  const conn = await connect({ adapter: 'memory', root: memRoot() });
  const st = await conn.storage({ prefix: 'x_' });
  await st.set('k', 'kept');
  const hostile = (database) => [
    JSON.stringify({ format: 'minibase-export', version: 1, tables: [{ database, table: 'kv', rows: 0, schema: { name: 'kv', columns: [{ name: 'k', type: 'string', primaryKey: true }] } }] }),
    JSON.stringify({ end: true, rows: 0 }),
  ].join('\n');
  for (const mode of ['replace', 'merge']) {
    await assert.rejects(conn.import(hostile('__storage'), { mode }), { code: 'BAD_QUERY' }, mode);
    await assert.rejects(conn.import(hostile('__import'), { mode }), { code: 'BAD_QUERY' }, mode);
  }
  assert.equal(await st.get('k'), 'kept');
  assert.deepEqual(await conn.showDatabases(), []);

  async function* endless() {
    const chunk = 'x'.repeat(1 << 20);
    for (let i = 0; i < 200; i++) yield chunk;
  }
  await assert.rejects(conn.import(endless()), { code: 'TOO_LARGE' }, 'no newline: refused after 64 MB, not buffered for ever');
  async function* headerThenEndless() {
    yield hostile('d').split('\n')[0] + '\n';
    yield* endless();
  }
  await assert.rejects(conn.import(headerThenEndless()), { code: 'TOO_LARGE' });
  // A cancelled export ends its snapshot and says why.
  const { signal, abort } = createAbortSignal();
  abort();
  await assert.rejects(collect(conn.export({ signal })), { code: 'ABORTED' });
  await conn.close();
});

test('a restore that fails midway leaves the root refusing to open until restored again', async (t) => {
  const dir = tempDir(t);
  const src = await connect({ adapter: 'memory', root: memRoot() });
  await seed(src, 4000);
  const want = await snapshot(src);
  const { data, blob } = await src.backup();
  const good = data ?? new Uint8Array(await blob.arrayBuffer());
  await src.close();
  const root = path.join(dir, 'db');
  const before = await connect({ adapter: 'node', root });
  await before.createDatabase('old');
  await before.close();

  // The source reads fine for the check, then fails halfway through the restore.
  let reads = 0;
  const flaky = () => (async function* () {
    reads++;
    const half = reads > 1;
    for (let at = 0; at < good.length; at += 64 << 10) {
      if (half && at > good.length / 2) throw new Error('the disk went away');
      yield good.subarray(at, at + (64 << 10));
    }
  })();
  await assert.rejects(restore(flaky, { adapter: 'node', root }), /the disk went away/);
  await assert.rejects(connect({ adapter: 'node', root }), { code: 'CORRUPT' });
  await restore(good, { adapter: 'node', root });
  const back = await connect({ adapter: 'node', root });
  assert.deepEqual(await snapshot(back), want);
  await back.close();
});
