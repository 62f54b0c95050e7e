// The key-value store (openStorage, conn.storage) on the IndexedDB adapter:
// the async API, expiry, encryption and compression, the *Sync twins
// refusing, data surviving a reload and the browser being killed, and two
// pages sharing one store (one owns the database, the other forwards).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ready, skip, useBrowser, withProfile } from './helpers.mjs';

const env = useBrowser();

const page = (ctx) => env.page(ctx);

// A raw 32-byte key: no PBKDF2 (600,000 iterations by default) in the tests.
const SECRET = Array.from({ length: 32 }, (_, i) => i + 1);

test('the storage API on IndexedDB', { skip }, async () => {
  const p = await page();
  const r = await p.evaluate(async (secret) => {
    const { openStorage, Storage } = window.minibase;
    const st = await openStorage({ adapter: 'indexeddb', name: 'kv', secret: new Uint8Array(secret), sweepInterval: 0 });
    const out = { isStorage: st instanceof Storage };
    await st.set('a', { n: 1, tags: ['x'] });
    await st.set('b', 'two');
    await st.set('bytes', new Uint8Array([1, 2, 3]));
    out.a = await st.get('a');
    out.bytes = Array.from(await st.get('bytes'));
    out.missing = await st.get('nope', 'dflt');
    out.has = [await st.has('a'), await st.has('nope')];
    out.keys1 = await st.keys();
    out.removed = [await st.remove('b'), await st.remove('b')];
    out.keys2 = await st.keys();

    // Encrypted and compressed (a value that compresses well).
    const big = 'minibase '.repeat(5000);
    await st.set('secret', { big }, { encrypt: true, compress: true });
    out.secretOk = (await st.get('secret')).big === big;
    out.info = await st.info();

    // Expiry, with the engine's clock pinned instead of sleeping.
    const t0 = Date.UTC(2030, 0, 1);
    await st.setClock(t0);
    await st.set('short', 1, { expire: 10 });
    await st.set('at', 2, { expireAt: new Date(t0 + 20_000) });
    out.beforeExpiry = [await st.get('short'), await st.get('at')];
    await st.setClock(t0 + 15_000);
    out.midway = [await st.get('short'), await st.has('short'), await st.get('at')];
    await st.setClock(t0 + 25_000);
    out.afterExpiry = [await st.get('at'), (await st.keys()).includes('at')];
    out.cleaned = await st.cleanExpired();
    await st.setClock(null);

    // batch: atomic writes, results in order.
    out.batch = await st.batch([
      { type: 'set', key: 'k1', data: 1 },
      { type: 'get', key: 'k1' },
      { type: 'has', key: 'nope' },
      { type: 'remove', key: 'k1' },
      { type: 'get', key: 'k1', defaultValue: 'gone' },
    ]);

    // cached: one loader call for concurrent callers, then the stored value.
    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { loaded: true };
    };
    out.cached = await Promise.all([st.cached('c', loader), st.cached('c', loader), st.cached('c', loader)]);
    out.cachedAgain = await st.cached('c', loader, { memory: false });
    out.loads = loads;

    // The *Sync twins cannot wait for IndexedDB.
    out.sync = [];
    for (const f of [() => st.getSync('a'), () => st.setSync('a', 1), () => st.hasSync('a'), () => st.keysSync(), () => st.removeSync('a'), () => st.infoSync()]) {
      try {
        f();
        out.sync.push('returned');
      } catch (err) {
        out.sync.push(err.code);
      }
    }
    await st.close();
    out.closedCode = await st.get('a').then(() => 'ok', (e) => e.code);

    // Quota, on a store of its own prefix.
    const q = await openStorage({ adapter: 'indexeddb', name: 'kv', prefix: 'q_', limitSize: 4096, sweepInterval: 0 });
    await q.set('fits', 'x'.repeat(100));
    out.quota = await q.set('big', 'y'.repeat(10_000)).then(() => 'ok', (e) => e.code);
    out.quotaKeys = await q.keys();
    await q.clear();
    out.afterClear = await q.keys();
    await q.close();
    return out;
  }, SECRET);

  assert.equal(r.isStorage, true);
  assert.deepEqual(r.a, { n: 1, tags: ['x'] });
  assert.deepEqual(r.bytes, [1, 2, 3]);
  assert.equal(r.missing, 'dflt');
  assert.deepEqual(r.has, [true, false]);
  assert.deepEqual(r.keys1, ['a', 'b', 'bytes']);
  assert.deepEqual(r.removed, [true, false]);
  assert.deepEqual(r.keys2, ['a', 'bytes']);
  assert.equal(r.secretOk, true);
  assert.deepEqual(r.info.keys, ['a', 'bytes', 'secret']); // key names, as wx.getStorageInfo gives them
  assert.equal(r.info.keyCount, 3);
  assert.ok(r.info.currentSize < 45_000 / 1024, `compressed: ${r.info.currentSize} KB for a 45 KB value`);
  assert.deepEqual(r.beforeExpiry, [1, 2]);
  assert.deepEqual(r.midway, [null, false, 2]);
  assert.deepEqual(r.afterExpiry, [null, false]);
  assert.equal(r.cleaned, 2);
  assert.deepEqual(r.batch, [null, 1, false, true, 'gone']);
  assert.deepEqual(r.cached, [{ loaded: true }, { loaded: true }, { loaded: true }]);
  assert.deepEqual(r.cachedAgain, { loaded: true });
  assert.equal(r.loads, 1);
  assert.deepEqual(r.sync, Array(6).fill('SYNC_UNSUPPORTED'));
  assert.equal(r.closedCode, 'CLOSED');
  assert.equal(r.quota, 'QUOTA_EXCEEDED');
  assert.deepEqual(r.quotaKeys, ['fits']);
  assert.deepEqual(r.afterClear, []);
  assert.deepEqual(p.errors, []);

  // Written data survives a reload; the encrypted value needs the secret.
  await p.reload();
  await ready(p);
  const again = await p.evaluate(async (secret) => {
    const { openStorage } = window.minibase;
    const st = await openStorage({ adapter: 'indexeddb', name: 'kv', secret: new Uint8Array(secret), sweepInterval: 0 });
    const out = { keys: await st.keys(), a: await st.get('a'), c: await st.get('c'), secretLen: (await st.get('secret')).big.length };
    await st.close();
    const wrong = new Uint8Array(secret).map((b) => b ^ 0xff);
    out.wrong = await openStorage({ adapter: 'indexeddb', name: 'kv', secret: wrong, sweepInterval: 0 }).then(
      async (s) => {
        const code = await s.get('secret').then(() => 'read', (e) => e.code);
        await s.close();
        return code;
      },
      (e) => e.code,
    );
    return out;
  }, SECRET);
  assert.deepEqual(again.keys, ['a', 'bytes', 'c', 'secret']);
  assert.deepEqual(again.a, { n: 1, tags: ['x'] });
  assert.deepEqual(again.c, { loaded: true });
  assert.equal(again.secretLen, 'minibase '.length * 5000);
  assert.ok(['WRONG_SECRET', 'DECRYPT_FAILED'].includes(again.wrong), again.wrong);
  await p.close();
});

test("the browser build's memory adapter keeps the *Sync twins", { skip }, async () => {
  const p = await page();
  const r = await p.evaluate(async () => {
    const st = await window.minibase.openStorage({ adapter: 'memory', name: 'kv-mem', sweepInterval: 0 });
    st.setSync('a', [1, 2]);
    const out = { sync: st.getSync('a'), async: await st.get('a'), keys: st.keysSync() };
    await st.close();
    return out;
  });
  assert.deepEqual(r, { sync: [1, 2], async: [1, 2], keys: ['a'] });
  await p.close();
});

test('acknowledged storage writes survive the browser being killed', { skip }, () =>
  withProfile(async (profile) => {
    let p = await page(await profile.launch());
    const n = await p.evaluate(async () => {
      const st = await window.minibase.openStorage({ adapter: 'indexeddb', name: 'kill', sweepInterval: 0 });
      for (let i = 0; i < 100; i++) await st.set(`k${i}`, { i });
      await st.remove('k0');
      await st.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'set', key: `b${i}`, data: i })));
      return (await st.keys()).length;
    });
    assert.equal(n, 149);
    // No graceful shutdown: SIGKILL right after the acknowledgment.
    await profile.kill();
    p = await page(await profile.launch());
    const got = await p.evaluate(async () => {
      const st = await window.minibase.openStorage({ adapter: 'indexeddb', name: 'kill', sweepInterval: 0 });
      return { n: (await st.keys()).length, k99: await st.get('k99'), k0: await st.has('k0'), b49: await st.get('b49') };
    });
    assert.deepEqual(got, { n: 149, k99: { i: 99 }, k0: false, b49: 49 });
  }));

test('two pages share one store: one owns the database, the other forwards', { skip }, async () => {
  // In the page: open store 'shared' and keep it as window.st.
  const open = async () => {
    window.st = await window.minibase.openStorage({ adapter: 'indexeddb', name: 'shared', prefix: 's_', sweepInterval: 0 });
    return window.minibase.isOwner('shared');
  };
  const a = await page();
  const b = await page();
  assert.equal(await a.evaluate(open), true, 'the first page owns the database');
  assert.equal(await b.evaluate(open), false, 'the second forwards');

  await a.evaluate(() => window.st.set('from-a', 'A'));
  await b.evaluate(() => window.st.set('from-b', { by: 'B' }));
  const seen = (p) => p.evaluate(async () => ({ keys: await window.st.keys(), a: await window.st.get('from-a'), b: await window.st.get('from-b') }));
  const want = { keys: ['from-a', 'from-b'], a: 'A', b: { by: 'B' } };
  assert.deepEqual(await seen(a), want);
  assert.deepEqual(await seen(b), want);

  // Concurrent writers from both pages: every acknowledged write is there once.
  const write = (p, tab) =>
    p.evaluate(async (tab) => {
      for (let i = 0; i < 100; i++) await window.st.set(`${tab}-${i}`, i);
      return (await window.st.remove(`${tab}-0`)) && (await window.st.batch([{ type: 'set', key: `${tab}-batch`, data: tab }]));
    }, tab);
  assert.deepEqual(await Promise.all([write(a, 'a'), write(b, 'b')]), [[null], [null]]);
  const keys = await b.evaluate(() => window.st.keys());
  assert.equal(keys.length, 2 + 2 * 100);
  assert.deepEqual((await b.evaluate(() => window.st.info())).keys, keys);

  // The owner goes away while b writes: b's store is reopened on b, which owns the database now.
  await b.evaluate(() => {
    window.acked = [];
    window.failed = [];
    window.writing = (async () => {
      for (let i = 0; i < 200; i++) {
        try {
          await window.st.set(`late-${i}`, i);
          window.acked.push(i);
        } catch (err) {
          window.failed.push(`${i}: ${err.code} ${err.message}`);
        }
      }
    })();
  });
  await b.waitForFunction(() => window.acked.length >= 20);
  await a.close();
  await b.evaluate(() => window.writing);
  assert.deepEqual(await b.evaluate(() => window.failed), []);
  assert.equal(await b.evaluate(() => window.minibase.isOwner('shared')), true);
  const after = await b.evaluate(async () => ({
    late: (await window.st.keys()).filter((k) => k.startsWith('late-')).length,
    a: await window.st.get('from-a'),
    last: await window.st.get('late-199'),
  }));
  assert.deepEqual(after, { late: 200, a: 'A', last: 199 });

  // A third page sees it all, through b.
  const c = await page();
  assert.equal(await c.evaluate(open), false);
  assert.equal((await c.evaluate(() => window.st.keys())).length, 2 + 2 * 100 + 200);
  assert.deepEqual([...b.errors, ...c.errors], []);
  await b.close();
  await c.close();
});
