// minibase in a mini-program, headlessly: the loader and the wx adapter run
// in the stand-in (js/test/wx-standin), a runtime without TextEncoder,
// TextDecoder, crypto, performance or WebAssembly, whose FileSystemManager
// works on a temporary directory with the storage cap enforced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { createRuntime, DIST } = require('./wx-standin/runtime.cjs');
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stand-in runtime on dir (data in dir/usr, code package in dir/package); a phone's unless told. */
function runtime(dir, capBytes, more = {}) {
  return createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package'), capBytes, ...more });
}

/** Values from the vm context, as plain host values (other realm's prototypes). */
const plain = (v) => JSON.parse(JSON.stringify(v));

async function codeOf(promise) {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return err?.code ?? String(err);
  }
}

const NOTES = {
  columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'title', type: 'string', notNull: true, unique: true },
    { name: 'body', type: 'string' },
  ],
};

test('the foundation API suite (api.test.mjs) passes on the wx adapter, its files under USER_DATA_PATH', { timeout: 300_000 }, (t) => {
  const dir = tempDir(t);
  const usr = path.join(dir, 'usr');
  fs.mkdirSync(usr);
  const out = spawnSync(process.execPath, ['--import', './js/test/wx-standin/api-preload.mjs', 'js/test/api.test.mjs'], {
    cwd: repoRoot,
    // Without NODE_TEST_CONTEXT the child reports in TAP, not to this runner.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), WX_DATA_DIR: usr, WX_PACKAGE_DIR: path.join(dir, 'package') },
    encoding: 'utf8',
  });
  assert.equal(out.status, 0, `${out.stdout}\n${out.stderr}`);
  const pass = Number(/^# pass (\d+)/m.exec(out.stdout)?.[1]);
  assert.ok(pass >= 19, `api.test.mjs ran ${pass} tests`);
  assert.match(out.stdout, /^# fail 0$/m);
  const roots = fs.readdirSync(usr).filter((d) => d.startsWith('api-test-'));
  assert.ok(roots.length >= 10, `one directory per connection root under the user-data path, got ${roots}`);
  const logs = roots.flatMap((r) => fs.readdirSync(path.join(usr, r))).filter((f) => f.endsWith('.log'));
  assert.ok(logs.length > 0, 'the engine wrote its log files there');
});

test('the loader installs the missing globals and data persists under wx.env.USER_DATA_PATH', async (t) => {
  const dir = tempDir(t);
  let rt = runtime(dir);
  const before = rt.run('Object.getOwnPropertyNames(globalThis).sort().join()');
  let mb = rt.require('minibase-db');
  assert.equal(rt.run('Object.getOwnPropertyNames(globalThis).sort().join()'), before, 'loading the package changes no global');
  assert.deepEqual(plain(mb.polyfills), []);
  let conn = await mb.connect(); // adapter 'wx', root 'minibase'
  assert.deepEqual(plain(mb.polyfills), ['TextEncoder', 'TextDecoder', 'crypto.getRandomValues', 'performance']);
  assert.equal(rt.run('typeof WebAssembly'), 'undefined', 'no WebAssembly global aliased for wasm_exec.js');
  await conn.createDatabase('notes');
  await conn.useDatabase('notes');
  await conn.createTable('notes', NOTES);
  const text = 'héllo wörld ✓ 😀 — 你好 \u0000 end';
  await conn.table('notes').insert({ title: 'unicode', body: text });
  const err = await conn.table('notes').insert({ title: 'unicode' }).catch((e) => e);
  assert.equal(err.code, 'UNIQUE_VIOLATION', err.message);
  assert.equal(err instanceof mb.MinibaseError, true);
  const storage = await conn.storage({ prefix: 'mp_' });
  await storage.set('settings', { theme: 'dark', 'язык': '中文' }, { expire: 3600 });
  await conn.close();
  assert.ok(fs.readdirSync(path.join(dir, 'usr', 'minibase')).length > 0, 'files under USER_DATA_PATH/minibase');

  // A new runtime (the app started again) on the same user data.
  rt = runtime(dir);
  mb = rt.require('minibase-db');
  conn = await mb.connect({ root: 'wxfile://usr/minibase' }); // a full user-data path works too
  await conn.useDatabase('notes');
  assert.deepEqual(plain(await conn.table('notes').select()), [{ id: 1, title: 'unicode', body: text }]);
  const again = await conn.storage({ prefix: 'mp_' });
  assert.deepEqual(plain(await again.get('settings')), { theme: 'dark', 'язык': '中文' });
  await conn.close();

  const store = await mb.openStorage({ root: 'kv', prefix: 'app_' });
  await store.set('token', 'abc', { expire: 60 });
  assert.equal(await store.get('token'), 'abc');
  await store.close();
  assert.ok(fs.existsSync(path.join(dir, 'usr', 'kv')));
});

test('when the app goes to the background (wx.onAppHide), a connection that wrote flushes its log: the next start replays nothing', async (t) => {
  // Node 20 can deadlock in NodePlatform::DrainTasks when its event loop
  // runs empty while V8 compiles wasm in the background (nodejs/node#36616's
  // family); this test hung that way in one of ~12 runs, twice in the stand-in's
  // second instantiation. A pending timer keeps the loop from running empty.
  const keepAlive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(keepAlive));
  const dir = tempDir(t);
  let rt = runtime(dir);
  let mb = rt.require('minibase-db');
  let conn = await mb.connect({ checkpointIdleMs: 0 });
  await conn.createDatabase('notes');
  await conn.useDatabase('notes');
  await conn.createTable('notes', NOTES);
  for (let i = 0; i < 3000; i += 100) {
    await conn.table('notes').insertMany(Array.from({ length: 100 }, (_, j) => ({ title: `t${i + j}`, body: 'b'.repeat(100) })));
  }
  assert.ok((await conn.stats()).logBytes >= 256 << 10);
  rt.hide();
  assert.equal((await conn.stats()).logBytes, 0, 'the log was flushed when the app was hidden');
  // The app is killed in the background (no close): a new start on the same data.
  rt = runtime(dir);
  mb = rt.require('minibase-db');
  conn = await mb.connect({ checkpointIdleMs: 0 });
  await conn.useDatabase('notes');
  assert.equal((await conn.stats()).logBytes, 0, 'nothing to replay');
  assert.equal(await conn.table('notes').count(), 3000);
  rt.hide(); // nothing written since: nothing to do
  await conn.close();
});

test('the runtime API object can be passed in (Alipay my, Douyin tt shape)', async (t) => {
  const dir = tempDir(t);
  const rt = runtime(dir);
  const mb = rt.require('minibase-db');
  // A runtime with tt instead of wx: same shape, passed explicitly.
  const tt = { env: { USER_DATA_PATH: 'wxfile://usr' }, getFileSystemManager: rt.wx.getFileSystemManager, getRandomValues: rt.wx.getRandomValues };
  rt.run('delete globalThis.wx');
  const conn = await mb.connect({ api: tt, root: 'tt-data' });
  await conn.createDatabase('d');
  assert.deepEqual(plain(await conn.showDatabases()), ['d']);
  await conn.close();
  assert.ok(fs.existsSync(path.join(dir, 'usr', 'tt-data')));
  await assert.rejects(mb.connect({ root: 'x', api: {} }), (e) => e.code === 'BAD_QUERY');
  // the whole user-data directory (shared with the app's own files) is never a root
  for (const root of ['', '/', tt.env.USER_DATA_PATH]) {
    await assert.rejects(mb.connect({ api: tt, root }), (e) => e.code === 'BAD_QUERY', `root ${JSON.stringify(root)}`);
  }
});

test('below the minimum base library, or without what the engine needs, connect fails with UNSUPPORTED_RUNTIME', async (t) => {
  const old = runtime(tempDir(t), undefined, { SDKVersion: '2.16.0' });
  const err = await old.require('minibase-db').connect().catch((e) => e);
  assert.equal(err.code, 'UNSUPPORTED_RUNTIME', err.message);
  assert.match(err.message, /2\.16\.1/);
  assert.match(err.message, /2\.16\.0/);
  assert.equal(old.run('typeof TextEncoder'), 'undefined', 'nothing was installed');

  // Inside a plugin there is no wx.getRandomValues.
  const plugin = runtime(tempDir(t));
  plugin.run('delete wx.getRandomValues');
  const noRandom = await plugin.require('minibase-db').connect().catch((e) => e);
  assert.equal(noRandom.code, 'UNSUPPORTED_RUNTIME', noRandom.message);
  assert.match(noRandom.message, /getRandomValues/);

  const noTruncate = runtime(tempDir(t));
  noTruncate.run('delete wx.getFileSystemManager().truncateSync');
  const e3 = await noTruncate.require('minibase-db').connect().catch((e) => e);
  assert.equal(e3.code, 'UNSUPPORTED_RUNTIME', e3.message);
  assert.match(e3.message, /truncateSync/);

  const noLoader = runtime(tempDir(t));
  noLoader.run('delete globalThis.WXWebAssembly');
  const e4 = await noLoader.require('minibase-db').connect().catch((e) => e);
  assert.equal(e4.code, 'UNSUPPORTED_RUNTIME', e4.message);
  assert.match(e4.message, /WXWebAssembly/);

  // At the minimum it runs.
  const min = runtime(tempDir(t), undefined, { SDKVersion: '2.16.1' });
  const conn = await min.require('minibase-db').connect();
  await conn.close();
});

test('Alipay (my, no globalThis, no WebAssembly outside a Worker): the package loads and connect says why it cannot run', async (t) => {
  const rt = runtime(tempDir(t), undefined, { profile: 'alipay' });
  assert.equal(rt.run('typeof globalThis'), 'undefined');
  const mb = rt.require('minibase-db');
  const err = await mb.connect().catch((e) => e);
  assert.equal(err.code, 'UNSUPPORTED_RUNTIME', err.message);
  assert.match(err.message, /Alipay/);
  assert.equal((await mb.openStorage().catch((e) => e)).code, 'UNSUPPORTED_RUNTIME');
});

test('Douyin (tt): TTWebAssembly found by itself, data under ttfile://user, its storage limit is QUOTA_EXCEEDED', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  let rt = runtime(dir, 512 << 10, { profile: 'douyin' });
  assert.equal(rt.run('typeof wx + typeof WXWebAssembly + typeof TTWebAssembly'), 'undefinedundefinedobject');
  let mb = rt.require('minibase-db');
  let conn = await mb.connect({ root: 'db' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', NOTES);
  const notes = conn.table('notes');
  const acked = [];
  let failure = null;
  for (let i = 0; i < 500 && !failure; i++) {
    try {
      acked.push((await notes.insert({ title: `n${i}`, body: 'y'.repeat(8 << 10) })).id);
    } catch (err) {
      failure = err;
    }
  }
  assert.equal(failure?.code, 'QUOTA_EXCEEDED', failure?.message);
  await conn.close();
  assert.ok(fs.readdirSync(path.join(dir, 'usr', 'db')).length > 0, 'files under ttfile://user/db');

  rt = runtime(dir, 512 << 10, { profile: 'douyin' });
  mb = rt.require('minibase-db');
  conn = await mb.connect({ root: 'ttfile://user/db' });
  await conn.useDatabase('d');
  assert.equal(await conn.table('notes').count(), acked.length, 'every acknowledged insert is there');
  await conn.close();
});

test('the DevTools simulator (http://usr, Chromium globals) runs the same code', async (t) => {
  const dir = tempDir(t);
  const rt = runtime(dir, undefined, { profile: 'devtools' });
  const mb = rt.require('minibase-db');
  const conn = await mb.connect();
  assert.deepEqual(plain(mb.polyfills), [], 'the simulator has every global the engine needs');
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', NOTES);
  await conn.table('notes').insert({ title: 'sim', body: 'http://usr' });
  await conn.close();
  assert.ok(fs.readdirSync(path.join(dir, 'usr', 'minibase')).length > 0, 'files under http://usr/minibase');
});

test("adapter 'memory' works in the mini-program build (its own compact backend)", async (t) => {
  const rt = runtime(tempDir(t));
  const conn = await rt.require('minibase-db').connect({ adapter: 'memory', root: 'scratch' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', NOTES);
  await conn.table('notes').insertMany([{ title: 'a' }, { title: 'b' }]);
  assert.deepEqual(plain(await conn.table('notes').select({ columns: ['title'], orderBy: ['title'] })), [{ title: 'a' }, { title: 'b' }]);
  await conn.close();
  assert.deepEqual(fs.readdirSync(path.join(rt.dataDir)), [], 'nothing written to the user-data directory');
});

test('the mini-program engine carries only the wx and memory adapters', async (t) => {
  const rt = runtime(tempDir(t));
  const err = await rt.require('minibase-db').connect({ adapter: 'node', root: 'x' }).catch((e) => e);
  assert.match(err.message, /not in this build of the engine \(it has memory, wx\)/);
});

/** A phone's stand-in with a copy of the engine in its subpackage 'engine' (/engine/minibase.wasm.br). */
function engineInSubpackage(t) {
  const rt = runtime(tempDir(t), undefined, { subpackages: { engine: 'engine' } });
  fs.mkdirSync(path.join(rt.packageDir, 'engine'));
  fs.copyFileSync(path.join(DIST, 'minibase.wasm.br'), path.join(rt.packageDir, 'engine', 'minibase.wasm.br'));
  return rt;
}

test('the engine in a subpackage: connect({ wasm, subpackage }) loads the subpackage first', async (t) => {
  const mb = engineInSubpackage(t).require('minibase-db');
  const notLoaded = await mb.connect({ wasm: '/engine/minibase.wasm.br' }).catch((e) => e);
  assert.equal(notLoaded.code, 'INTERNAL');
  assert.match(notLoaded.message, /not loaded/, 'WXWebAssembly cannot read a subpackage before it is loaded');
  const wrong = await mb.connect({ wasm: '/engine/minibase.wasm.br', subpackage: 'nope' }).catch((e) => e);
  assert.equal(wrong.code, 'IO', wrong.message);
  const conn = await mb.connect({ wasm: '/engine/minibase.wasm.br', subpackage: 'engine', root: 'sub' });
  await conn.createDatabase('d');
  assert.deepEqual(plain(await conn.showDatabases()), ['d']);
  await conn.close();
});

test('a missing or wrong wasm path is a clear error', async (t) => {
  const rt = runtime(tempDir(t));
  const mb = rt.require('minibase-db');
  await assert.rejects(mb.connect({ wasm: '/nowhere/minibase.wasm.br' }), (e) => e.code === 'INTERNAL' && /nowhere/.test(e.message));
});

test('preload in App onLaunch: the engine (from its subpackage) starts before the first connect, which finds it started', async (t) => {
  const mb = engineInSubpackage(t).require('minibase-db');
  // A failed start is not kept: the next one tries again.
  assert.equal(await codeOf(mb.preload({ wasm: '/nowhere/minibase.wasm.br' })), 'INTERNAL');
  assert.equal(await codeOf(mb.preload({ wasm: '/engine/minibase.wasm.br', subpackage: 'engine' })), 'resolved');
  // Started: the first start decided, so a path that holds no engine (a
  // failed connect on its own, as the test above shows) is not looked at.
  assert.equal(await codeOf(mb.preload({ wasm: '/nowhere/minibase.wasm.br' })), 'resolved');
  const conn = await mb.connect({ wasm: '/nowhere/minibase.wasm.br', root: 'pre' });
  await conn.createDatabase('d');
  assert.deepEqual(plain(await conn.showDatabases()), ['d']);
  await conn.close();
});

test('without the engine at the default path, the error says where it looked and how to point elsewhere', async (t) => {
  const dir = tempDir(t);
  // What a project gets when its build did not copy minibase.wasm.br: the
  // package's code in miniprogram_npm/minibase-db, no engine next to it.
  const npm = path.join(dir, 'package', 'miniprogram_npm', 'minibase-db');
  fs.mkdirSync(npm, { recursive: true });
  fs.copyFileSync(path.join(DIST, 'index.js'), path.join(npm, 'index.js'));
  const err = await runtime(dir).require('minibase-db').connect().catch((e) => e);
  assert.equal(err.code, 'INTERNAL', err.message);
  assert.ok(err.message.includes('/miniprogram_npm/minibase-db/minibase.wasm.br'), err.message);
  assert.match(err.message, /connect\(\{ wasm: /);
  assert.doesNotMatch(err.message, /make build/);
});

test('over the storage cap: QUOTA_EXCEEDED, nothing acknowledged is lost, usable again once space is freed', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const cap = 1 << 20;
  let rt = runtime(dir, cap);
  const mgr = rt.wx.getFileSystemManager();
  // The app's own file, which it can delete to make room.
  mgr.writeFileSync('wxfile://usr/cache.bin', new ArrayBuffer(256 << 10));
  let mb = rt.require('minibase-db');
  let conn = await mb.connect({ root: 'db' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', NOTES);
  const notes = conn.table('notes');
  const body = 'x'.repeat(8 << 10);
  const acked = [];
  let failure = null;
  for (let i = 0; i < 500 && !failure; i++) {
    try {
      const { id } = await notes.insert({ title: `n${i}`, body });
      acked.push(id);
    } catch (err) {
      failure = err;
    }
  }
  assert.ok(failure, 'the cap was reached');
  assert.equal(failure.code, 'QUOTA_EXCEEDED', failure.message);
  assert.ok(acked.length > 10, `${acked.length} inserts before the cap`);
  assert.ok(mgr.usedBytes <= cap);

  // Reads work at the cap; writes fail cleanly (or fit in what is left).
  assert.equal(await notes.count(), acked.length);
  assert.equal(plain(await notes.get(acked[0])).title, 'n0');
  assert.deepEqual(plain(await notes.select({ columns: ['id'], orderBy: [{ name: 'id', type: 'desc' }], limit: 1 })), [{ id: acked.at(-1) }]);
  assert.ok(['resolved', 'QUOTA_EXCEEDED'].includes(await codeOf(notes.insert({ title: 'more', body }))));

  // The app frees space; deletes and inserts work again.
  mgr.unlinkSync('wxfile://usr/cache.bin');
  await notes.delete({ where: { title: 'more' } });
  assert.equal(await notes.delete({ where: { id: acked[1] } }), 1);
  const { id } = await notes.insert({ title: 'after', body: 'room again' });
  await conn.close();

  // Restarted, everything acknowledged is there.
  rt = runtime(dir, cap);
  mb = rt.require('minibase-db');
  conn = await mb.connect({ root: 'db' });
  await conn.useDatabase('d');
  const ids = plain(await conn.table('notes').select({ columns: ['id'] })).map((r) => r.id);
  assert.deepEqual(ids, [...acked.filter((x) => x !== acked[1]), id]);
  await conn.close();
});

test('js/wx.d.ts type-checks against its usage', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'js/test/wx-types'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stdout + out.stderr);
});

test('synchronous twins of the hot reads work on wx (tables and storage), not on async adapters', async (t) => {
  const rt = runtime(tempDir(t));
  const mb = rt.require('minibase-db');
  const conn = await mb.connect({ root: 'sync' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('notes', { ...NOTES, indexes: [{ columns: ['body'] }] });
  const notes = conn.table('notes');
  await notes.insertMany([{ title: 'a', body: 'x' }, { title: 'b', body: 'y' }, { title: 'c', body: 'x' }]);
  assert.deepEqual(plain(notes.getSync(2)), { id: 2, title: 'b', body: 'y' });
  assert.equal(notes.getSync(99), null);
  assert.deepEqual(plain(notes.selectSync({ where: { body: 'x' } })).map((r) => r.title), ['a', 'c']);
  assert.deepEqual(plain(notes.selectSync({ orderBy: [{ name: 'title', type: 'desc' }], limit: 2 })).map((r) => r.title), ['c', 'b']);
  assert.equal(notes.countSync({ where: { body: 'x' } }), 2);
  assert.throws(() => notes.selectSync({ where: { nope: 1 } }), (e) => e instanceof mb.MinibaseError && typeof e.code === 'string');
  const tx = await conn.begin();
  await tx.table('notes').insert({ title: 'd', body: 'z' });
  assert.equal(tx.table('notes').countSync(), 4, 'inside a transaction it sees the transaction');
  assert.equal(notes.countSync(), 3);
  await tx.rollback();

  const store = await conn.storage({ prefix: 's_', sweepInterval: 0 });
  store.setSync('k', { v: 1 }, { expire: 60 });
  assert.deepEqual(plain(store.getSync('k')), { v: 1 });
  assert.equal(store.hasSync('k'), true);
  await conn.close();

  const { Connection } = await import('minibase-db');
  assert.throws(() => new Connection(null, 0, 'indexeddb').table('t').getSync(1), (e) => e.code === 'SYNC_UNSUPPORTED');
});

test('a declared schema migrates in the mini-program runtime (wx adapter), across app restarts', async (t) => {
  const dir = tempDir(t);
  const notes = (extra) => ({ columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'title', type: 'string' }, ...extra] });
  let mb = runtime(dir).require('minibase-db');
  let conn = await mb.connect({ root: 'app', schema: { version: 1, database: 'app', tables: { notes: notes([]) } } });
  await conn.table('notes').insertMany([{ title: 'a' }, { title: 'b' }]);
  await conn.close();

  mb = runtime(dir).require('minibase-db'); // the next app version starts
  const v2 = {
    version: 2,
    database: 'app',
    tables: { notes: notes([{ name: 'done', type: 'boolean', notNull: true, default: false }]) },
    migrations: { 2: async (tx) => {
      await tx.table('notes').addColumn({ name: 'done', type: 'boolean', notNull: true, default: false });
      await tx.table('notes').update({ done: true }, { where: { title: 'a' } });
    } },
  };
  conn = await mb.connect({ root: 'app', schema: v2 });
  assert.equal(await conn.schemaVersion(), 2);
  assert.deepEqual(plain(await conn.table('notes').select({ orderBy: 'id' })), [{ id: 1, title: 'a', done: true }, { id: 2, title: 'b', done: false }]);
  await conn.close();

  mb = runtime(dir).require('minibase-db'); // an old build again
  assert.equal(await codeOf(mb.connect({ root: 'app', schema: { version: 1, database: 'app', tables: { notes: notes([]) } } })), 'VERSION_TOO_NEW');
});
