// The storage manager against the real wasm engine: every method and error
// code, expiry with a pinned clock (never sleeping), encryption on disk,
// compression, batch atomicity, the memory LRU and the single-flight loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, openStorage, Storage, MinibaseError } from 'minibase-db';

let roots = 0;
const freshRoot = () => `storage-test-${process.pid}-${++roots}`;
const FAST = { kdfIterations: 1000 }; // cheap key derivation in tests

/** A store on a fresh in-memory root. */
const memStore = (options = {}) => openStorage({ adapter: 'memory', root: freshRoot(), ...FAST, ...options });

/** Asserts that fn (sync or async) fails with a MinibaseError of code. */
async function rejectsWith(fn, code) {
  await assert.rejects(async () => fn(), (err) => {
    assert.ok(err instanceof MinibaseError, `expected MinibaseError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

test('set / get / has / remove / keys / clear / info', async () => {
  const st = await memStore();
  assert.ok(st instanceof Storage);
  assert.equal(st.prefix, 'mp_');
  const values = {
    str: 'héllo', num: 3.5, int: 7, bool: false, nul: null,
    arr: [1, 'two', { three: 3 }], obj: { a: { b: [true] } },
    bin: new Uint8Array([0, 1, 254, 255]),
  };
  for (const [k, v] of Object.entries(values)) await st.set(k, v);
  for (const [k, v] of Object.entries(values)) assert.deepEqual(await st.get(k), v, k);
  // ArrayBuffer is kept as binary and read back as Uint8Array.
  await st.set('buf', new Uint8Array([9, 8]).buffer);
  assert.deepEqual(await st.get('buf'), new Uint8Array([9, 8]));

  assert.equal(await st.get('missing'), null);
  assert.equal(await st.get('missing', 'dflt'), 'dflt');
  assert.equal(await st.get('nul', 'dflt'), null, 'a stored null is not missing');
  assert.equal(await st.has('str'), true);
  assert.equal(await st.has('missing'), false);
  assert.deepEqual(await st.keys(), [...Object.keys(values), 'buf'].sort());
  assert.equal(await st.remove('str'), true);
  assert.equal(await st.remove('str'), false);
  const info = await st.info();
  const left = [...Object.keys(values), 'buf'].filter((k) => k !== 'str').sort();
  assert.deepEqual(info.keys, left, 'key names without the prefix, like wx.getStorageInfo');
  assert.equal(info.keyCount, Object.keys(values).length);
  assert.equal(info.limitSize, 10240);
  assert.ok(info.currentSize > 0);
  assert.match(info.usage, /^\d+\.\d\d%$/);
  await st.clear();
  assert.deepEqual(await st.keys(), []);
  assert.equal((await st.info()).currentSize, 0);
  await st.close();
  await rejectsWith(() => st.get('x'), 'CLOSED');
  await st.close(); // twice is fine
});

test('clear only touches its own prefix; conn.storage shares a connection', async () => {
  const conn = await connect({ adapter: 'memory', root: freshRoot() });
  const a = await conn.storage({ prefix: 'a_' });
  const b = await conn.storage({ prefix: 'b_' });
  await a.set('k', 1);
  await b.set('k', 2);
  await a.clear();
  assert.deepEqual(await a.keys(), []);
  assert.equal(await b.get('k'), 2);
  await rejectsWith(() => conn.storage({ prefix: 'a_x' }), 'BAD_VALUE'); // overlaps a_
  // The system database is not visible as a user database.
  assert.ok(!(await conn.showDatabases()).some((d) => d.includes('storage')));
  await conn.close();
  await rejectsWith(() => b.get('k'), 'CLOSED');
});

test('expiry is exact, before any sweep, with a pinned clock', async () => {
  const st = await memStore({ sweepInterval: 0 });
  const t0 = Date.UTC(2030, 0, 1);
  st.setClock(t0);
  await st.set('ttl', 'v', { expire: 60 });
  await st.set('at', 'v', { expireAt: new Date(t0 + 120_000) });
  await st.set('atms', 'v', { expireAt: t0 + 120_000 });
  await st.set('forever', 'v');
  const live = async () => ({
    keys: await st.keys(),
    has: await st.has('ttl'),
    get: await st.get('ttl', 'gone'),
    batch: await st.batch([{ type: 'get', key: 'ttl', defaultValue: 'gone' }]),
    info: (await st.info()).keyCount,
  });
  assert.deepEqual(await live(), { keys: ['at', 'atms', 'forever', 'ttl'], has: true, get: 'v', batch: ['v'], info: 4 });
  st.setClock(t0 + 59_999);
  assert.equal(await st.get('ttl'), 'v');
  st.setClock(t0 + 60_000);
  assert.deepEqual(await live(), { keys: ['at', 'atms', 'forever'], has: false, get: 'gone', batch: ['gone'], info: 3 });
  st.setClock(t0 + 120_000);
  assert.deepEqual(await st.keys(), ['forever']);
  assert.equal(await st.cleanExpired(), 3);
  assert.equal(await st.cleanExpired(), 0);
  st.setClock(null);
  await rejectsWith(() => st.set('k', 1, { expire: -1 }), 'BAD_VALUE');
  await rejectsWith(() => st.set('k', 1, { expire: 'soon' }), 'BAD_VALUE');
  await rejectsWith(() => st.set('k', 1, { ttl: 5 }), 'BAD_QUERY');
  await st.close();
});

test('encryption: round trip, wrong secret, raw key, no secret, nothing readable on disk', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-storage-'));
  try {
    const secret = 'TOP-SECRET-PLAINTEXT-' + 'x'.repeat(50);
    let st = await openStorage({ adapter: 'node', root, secret: 'correct horse', ...FAST });
    await st.set('token', secret, { encrypt: true });
    await st.set('both', { secret }, { encrypt: true, compress: true });
    await st.set('plain', 'PLAIN-MARKER');
    assert.equal(await st.get('token'), secret);
    assert.equal(st.getSync('token'), secret, 'sync twins work on node');
    await st.close();

    await rejectsWith(() => openStorage({ adapter: 'node', root, secret: 'wrong', ...FAST }), 'WRONG_SECRET');
    await rejectsWith(() => openStorage({ adapter: 'node', root, secret: new Uint8Array(32) }), 'WRONG_SECRET');
    await rejectsWith(() => openStorage({ adapter: 'node', root, prefix: 'raw_', secret: new Uint8Array(5) }), 'BAD_VALUE');

    st = await openStorage({ adapter: 'node', root });
    await rejectsWith(() => st.get('token'), 'NO_SECRET');
    await rejectsWith(() => st.set('x', 1, { encrypt: true }), 'NO_SECRET');
    assert.equal(await st.get('plain'), 'PLAIN-MARKER');
    await st.close();

    st = await openStorage({ adapter: 'node', root, secret: 'correct horse', ...FAST });
    assert.deepEqual(await st.get('both'), { secret });
    await st.close();

    const all = Buffer.concat(fs.readdirSync(root, { recursive: true })
      .map((f) => path.join(root, f)).filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f)));
    assert.ok(all.includes('PLAIN-MARKER'), 'the grep finds plain values');
    assert.ok(!all.includes('TOP-SECRET'), 'no plaintext of an encrypted value on disk');

    // A raw 32-byte key works too.
    const key = new Uint8Array(32).fill(7);
    st = await openStorage({ adapter: 'node', root, prefix: 'raw_', secret: key });
    await st.set('k', 'v', { encrypt: true });
    await st.close();
    st = await openStorage({ adapter: 'node', root, prefix: 'raw_', secret: key });
    assert.equal(await st.get('k'), 'v');
    await st.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('compression: a 1 MB repetitive JSON value stores under 15%', async () => {
  const st = await memStore({ limitSize: 100 << 20 });
  const rows = [];
  for (let i = 0; JSON.stringify(rows).length < 1 << 20; i++) rows.push({ id: i, name: `user ${i}`, email: `user${i}@example.com`, active: i % 2 === 0 });
  const size = JSON.stringify(rows).length;
  await st.set('big', rows, { compress: true });
  const stored = (await st.info()).currentSize * 1024;
  assert.ok(stored < 0.15 * size, `stored ${stored} of ${size}`);
  assert.deepEqual(await st.get('big'), rows);
  await st.close();
});

test('limits and bad input change nothing', async () => {
  const st = await memStore({ limitSize: 2000 });
  await rejectsWith(() => st.set('big', 'x'.repeat(3000)), 'QUOTA_EXCEEDED');
  await rejectsWith(() => st.set('', 1), 'BAD_VALUE');
  await rejectsWith(() => st.set(42, 1), 'BAD_VALUE');
  await rejectsWith(() => st.get('k'.repeat(1025)), 'TOO_LARGE');
  await rejectsWith(() => st.set('nan', NaN), 'BAD_VALUE');
  await rejectsWith(() => st.batch('nope'), 'BAD_QUERY');
  assert.deepEqual(await st.keys(), []);
  await st.close();
  await rejectsWith(() => memStore({ limitSize: -5 }), 'BAD_QUERY');
  await rejectsWith(() => memStore({ prefx: 'x' }), 'BAD_QUERY');
});

test('batch: results in order, writes atomic', async () => {
  const st = await memStore({ limitSize: 4000 });
  await st.set('keep', 'k');
  assert.deepEqual(await st.batch([
    { type: 'set', key: 'a', data: { n: 1 }, options: { encrypt: false, compress: true } },
    { type: 'get', key: 'a' },
    { type: 'get', key: 'nope', defaultValue: 0 },
    { type: 'has', key: 'keep' },
    { type: 'remove', key: 'keep' },
  ]), [null, { n: 1 }, 0, true, true]);
  await rejectsWith(() => st.batch([
    { type: 'set', key: 'b', data: 1 },
    { type: 'remove', key: 'a' },
    { type: 'set', key: 'c', data: 'x'.repeat(5000) },
  ]), 'QUOTA_EXCEEDED');
  await rejectsWith(() => st.batch([{ type: 'set', key: 'b', data: 1 }, { type: 'frob', key: 'a' }]), 'BAD_VALUE');
  await rejectsWith(() => st.batch([{ type: 'set', key: 'b', data: 1, options: { encrypt: true } }]), 'NO_SECRET');
  assert.deepEqual(await st.keys(), ['a'], 'nothing of a failed batch stays');
  await st.close();
});

test('sync twins on the memory adapter', async () => {
  const st = await memStore();
  st.setSync('k', [1, 2]);
  assert.deepEqual(st.getSync('k'), [1, 2]);
  assert.equal(st.getSync('nope', 'd'), 'd');
  assert.equal(st.hasSync('k'), true);
  assert.deepEqual(st.keysSync(), ['k']);
  assert.deepEqual(st.infoSync().keys, ['k']);
  assert.equal(st.removeSync('k'), true);
  assert.throws(() => st.setSync('', 1), (e) => e.code === 'BAD_VALUE');
  await st.close();
  assert.throws(() => st.getSync('k'), (e) => e.code === 'CLOSED');
});

test('cached: memory LRU, stored value, single-flight loader', async () => {
  const st = await memStore({ cache: { maxEntries: 3, maxBytes: 10_000 }, sweepInterval: 0 });
  const t0 = Date.UTC(2030, 0, 1);
  st.setClock(t0);
  let calls = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const loader = async () => {
    calls++;
    await gate;
    return { answer: 42 };
  };
  const all = Promise.all([st.cached('q', loader, { ttl: 10 }), st.cached('q', loader, { ttl: 10 }), st.cached('q', loader)]);
  release();
  assert.deepEqual(await all, [{ answer: 42 }, { answer: 42 }, { answer: 42 }]);
  assert.equal(calls, 1, 'concurrent callers share one loader call');
  assert.deepEqual(await st.get('q'), { answer: 42 }, 'the loaded value is stored');
  assert.deepEqual(await st.cached('q', loader), { answer: 42 });
  assert.equal(calls, 1);

  // The memory entry expires with the ttl, and so does the stored one.
  st.setClock(t0 + 10_000);
  assert.deepEqual(await st.cached('q', async () => 'fresh', { ttl: 10 }), 'fresh');

  // A set through the store invalidates the memory entry.
  await st.set('q', 'changed');
  assert.equal(await st.cached('q', loader), 'changed');

  // Entry bound: 3 entries at most.
  for (const k of ['a', 'b', 'c', 'd']) await st.cached(k, () => k);
  assert.equal(st.stats().memory.entries, 3);
  // Byte bound: a value larger than the cache is served but not kept in memory.
  const huge = 'x'.repeat(20_000);
  assert.equal(await st.cached('huge', () => huge), huge);
  assert.ok(st.stats().memory.bytes <= 10_000);

  // A loader that throws stores nothing and lets the next caller retry.
  await assert.rejects(st.cached('bad', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await st.has('bad'), false);
  assert.equal(await st.cached('bad', () => 'ok'), 'ok');

  const s = st.stats();
  assert.ok(s.hits > 0 && s.misses > 0 && s.reads >= s.hits);
  assert.equal(s.hitRate, s.hits / (s.hits + s.misses));
  assert.ok(s.writes >= 1);
  assert.equal(s.hottest[0].key, 'q');
  await st.close();
});

test('the memory cache returns the stored value without a bridge call', async () => {
  const st = await memStore();
  await st.cached('k', () => 1);
  const before = st.stats().hits;
  assert.equal(await st.cached('k', () => 2), 1);
  assert.equal(st.stats().hits, before + 1);
  await st.close();
});

test('a store opened without the secret cannot replace an encrypted value with plaintext', async () => {
  const root = freshRoot();
  const owner = await openStorage({ adapter: 'memory', root, secret: 'owner pass', ...FAST });
  await owner.set('tok', 'OWNER', { encrypt: true });
  const intruder = await openStorage({ adapter: 'memory', root });
  await rejectsWith(() => intruder.set('tok', 'ATTACKER'), 'NO_SECRET');
  await rejectsWith(() => intruder.batch([{ type: 'set', key: 'tok', data: 'ATTACKER' }]), 'NO_SECRET');
  assert.equal(await owner.get('tok'), 'OWNER');
  await intruder.close();
  await owner.close();
});

test('a passphrase is stretched once per engine: opening the store again reuses the key', async () => {
  const root = freshRoot();
  const conn = await connect({ adapter: 'memory', root });
  const derivations = async () => (await conn.stats()).keyDerivations;
  const start = await derivations();
  let st = await conn.storage({ secret: 'pass', ...FAST });
  await st.set('tok', 'v', { encrypt: true });
  assert.equal(await derivations(), start + 1);
  st = await conn.storage({ prefix: 'mp_', secret: 'pass', ...FAST });
  assert.equal(await st.get('tok'), 'v');
  assert.equal(await derivations(), start + 1, 'the second open reused the derived key');
  st = await conn.storage({ secret: 'pass', cacheKey: false, ...FAST });
  assert.equal(await st.get('tok'), 'v');
  assert.equal(await derivations(), start + 1, 'cacheKey: false derives outside the cache');
  await rejectsWith(() => conn.storage({ secret: 'pass', cacheKey: 'yes' }), 'BAD_QUERY');
  await conn.close();
});
