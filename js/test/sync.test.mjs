// Offline sync end to end: two JS connections through the real .wasm against
// the native sync server (go build ./server/cmd/minibase-server) on 127.0.0.1:
// offline writes, sync, conflicts, deletes, dead letters, a merge function,
// realtime notices; and a client process killed mid-sync loses and
// duplicates nothing. With MINIBASE_SYNC_WORKER=1 the same suite also runs
// against the Cloudflare Worker build under `wrangler dev`
// (server/worker/dev.mjs).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'minibase-db';
import { backoffDelay } from '../src/sync.js';
import { startNative, signToken, waitHealthy } from './sync-server.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

async function startWorkerServer() {
  const { startWorker } = await import('../../server/worker/dev.mjs');
  const w = await startWorker();
  return { url: w.url, token: (tenant) => w.token(tenant), log: () => '', stop: () => w.stop() };
}

const TODOS = {
  sync: true,
  columns: [
    { name: 'id', type: 'string', primaryKey: true },
    { name: 'title', type: 'string' },
    { name: 'done', type: 'boolean', default: false },
  ],
};

async function device(name) {
  const conn = await connect({ adapter: 'memory', root: `${name}-${randomBytes(4).toString('hex')}` });
  await conn.createDatabase('app');
  await conn.useDatabase('app');
  await conn.createTable('todos', TODOS);
  return conn;
}

async function rowsOf(conn) {
  const rows = await conn.table('todos').select({ orderBy: [{ name: 'id', type: 'asc' }] });
  return rows;
}

/** Resolves with the first event of `name` that satisfies pred (the test's own timeout bounds it). */
function nextEvent(sync, name, pred = () => true) {
  return new Promise((resolve) => {
    const off = sync.on(name, (e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

const offlineFetch = async () => {
  throw new TypeError('fetch failed: offline');
};

function suite(label, start) {
  describe(`sync against the ${label} server`, () => {
    let srv;
    let tenantN = 0;
    const tenant = () => `t${process.pid}-${tenantN++}-${label}`;
    before(async () => {
      srv = await start();
    });
    after(async () => {
      await srv?.stop();
    });

    test('offline writes are queued, then pushed and pulled; deletes travel', async () => {
      const auth = srv.token(tenant());
      const a = await device('a');
      const b = await device('b');
      const offline = a.sync({ url: srv.url, auth, fetch: offlineFetch });
      await a.table('todos').insert({ id: 'x', title: 'milk' });
      await a.table('todos').insert({ id: 'y', title: 'eggs' });
      assert.equal(await offline.pending(), 2);
      await assert.rejects(offline.now(), (e) => e.code === 'NETWORK');
      const st = await offline.status();
      assert.equal(st.online, false);
      assert.equal(st.pending, 2);
      assert.ok(st.lastError);

      const sa = a.sync({ url: srv.url, auth: async () => auth });
      const sb = b.sync({ url: srv.url, auth });
      await sa.now();
      assert.equal(await sa.pending(), 0);
      const changes = [];
      sb.on('change', (c) => changes.push(c));
      await sb.now();
      assert.deepEqual(await rowsOf(b), [{ id: 'x', title: 'milk', done: false }, { id: 'y', title: 'eggs', done: false }]);
      assert.deepEqual(changes.map((c) => c.key).sort(), ['x', 'y']);

      await b.table('todos').delete({ where: { id: 'y' } });
      await sb.now();
      const gone = nextEvent(sa, 'change', (c) => c.key === 'y');
      await sa.now();
      assert.equal((await gone).deleted, true);
      assert.deepEqual(await rowsOf(a), [{ id: 'x', title: 'milk', done: false }]);
      assert.equal((await sa.status()).online, true);
      await a.close();
      await b.close();
    });

    test('a conflict resolves by last writer wins and is reported', async () => {
      const auth = srv.token(tenant());
      const a = await device('a');
      const b = await device('b');
      const sa = a.sync({ url: srv.url, auth });
      const sb = b.sync({ url: srv.url, auth });
      await a.table('todos').insert({ id: 'x', title: 'base' });
      await sa.now();
      await sb.now();
      await a.table('todos').update({ title: 'from a' }, { where: { id: 'x' } });
      await new Promise((r) => setTimeout(r, 5)); // b's edit is the later one
      await b.table('todos').update({ title: 'from b' }, { where: { id: 'x' } });
      await sb.now();
      const conflict = nextEvent(sa, 'conflict');
      await sa.now();
      const c = await conflict;
      assert.equal(c.key, 'x');
      assert.equal(c.resolution, 'remote');
      assert.equal(c.local.title, 'from a');
      assert.equal(c.remote.title, 'from b');
      assert.equal(c.base.title, 'base');
      await sb.now();
      assert.deepEqual(await rowsOf(a), await rowsOf(b));
      assert.equal((await rowsOf(a))[0].title, 'from b');
      await a.close();
      await b.close();
    });

    test('a merge function decides, and its result syncs everywhere', async () => {
      const auth = srv.token(tenant());
      const a = await device('a');
      const b = await device('b');
      const calls = [];
      const sa = a.sync({
        url: srv.url, auth,
        conflict: (local, remote, base) => {
          calls.push({ local, remote, base });
          return { ...remote, title: `${local.title} & ${remote.title}`, done: local.done || remote.done };
        },
      });
      const sb = b.sync({ url: srv.url, auth, conflict: 'server-wins' });
      await a.table('todos').insert({ id: 'm', title: 'base' });
      await sa.now();
      await sb.now();
      await a.table('todos').update({ title: 'A', done: true }, { where: { id: 'm' } });
      await new Promise((r) => setTimeout(r, 5));
      await b.table('todos').update({ title: 'B' }, { where: { id: 'm' } });
      await sb.now();
      await sa.now();
      await sb.now();
      assert.equal(calls.length, 1);
      assert.equal(calls[0].base.title, 'base');
      const want = [{ id: 'm', title: 'A & B', done: true }];
      assert.deepEqual(await rowsOf(a), want);
      assert.deepEqual(await rowsOf(b), want);
      await a.close();
      await b.close();
    });

    test('a change the server rejects goes to the dead letters, never silently away', async () => {
      const auth = srv.token(tenant());
      const a = await device('a');
      // The server's default schema keys every table on "id": a table keyed
      // on "code" is refused with 422 VALIDATION.
      await a.createTable('notes', { sync: true, columns: [{ name: 'code', type: 'string', primaryKey: true }, { name: 'text', type: 'string' }] });
      const sa = a.sync({ url: srv.url, auth });
      await a.table('todos').insert({ id: 'ok', title: 'fine' });
      await a.table('notes').insert({ code: 'n1', text: 'refused' });
      await a.table('todos').insert({ id: 'ok2', title: 'fine too' });
      await sa.now();
      assert.equal(await sa.pending(), 0);
      const dl = await sa.deadLetters();
      assert.equal(dl.length, 1);
      assert.equal(dl[0].table, 'notes');
      assert.equal(dl[0].code, 'VALIDATION');
      assert.deepEqual(dl[0].row, { code: 'n1', text: 'refused' });
      await sa.retry(dl[0]);
      assert.equal(await sa.pending(), 1);
      await sa.now();
      assert.equal((await sa.deadLetters()).length, 1, 'still refused: back in the dead letters');
      await sa.discard(dl[0].op);
      assert.equal((await sa.deadLetters()).length, 0);
      const b = await device('b');
      await b.sync({ url: srv.url, auth }).now();
      assert.deepEqual((await rowsOf(b)).map((r) => r.id), ['ok', 'ok2']);
      await a.close();
      await b.close();
    });

    test('realtime: a commit on one device shows up on the other without polling', async () => {
      const auth = srv.token(tenant());
      const a = await device('a');
      const b = await device('b');
      const sa = a.sync({ url: srv.url, auth });
      const sb = b.sync({ url: srv.url, auth });
      sa.start({ interval: 3_600_000, realtime: true });
      sb.start({ interval: 3_600_000, realtime: true });
      await new Promise((r) => setTimeout(r, 300)); // both streams open
      const seen = nextEvent(sb, 'change', (c) => c.key === 'rt');
      await a.table('todos').insert({ id: 'rt', title: 'live' });
      const c = await seen;
      assert.equal(c.row.title, 'live');
      sa.stop();
      sb.stop();
      await a.close();
      await b.close();
    });

    test('realtime without a streaming fetch long-polls (wx.request-like hosts)', async () => {
      const auth = srv.token(tenant());
      const plainFetch = async (u, init) => {
        const r = await fetch(u, init);
        return { status: r.status, text: () => r.text() }; // no body stream
      };
      const a = await device('a');
      const b = await device('b');
      const sa = a.sync({ url: srv.url, auth, fetch: plainFetch });
      const sb = b.sync({ url: srv.url, auth, fetch: plainFetch });
      sa.start({ interval: 3_600_000, realtime: true });
      sb.start({ interval: 3_600_000, realtime: true });
      await new Promise((r) => setTimeout(r, 300));
      const seen = nextEvent(sb, 'change', (c) => c.key === 'lp');
      await a.table('todos').insert({ id: 'lp', title: 'polled' });
      assert.equal((await seen).row.title, 'polled');
      assert.throws(() => sa.start({ realtime: 'carrier-pigeon' }), (e) => e.code === 'BAD_QUERY');
      sa.stop();
      sb.stop();
      await a.close();
      await b.close();
    });

    test('bad options are refused', async () => {
      const a = await device('a');
      assert.throws(() => a.sync({}), (e) => e.code === 'BAD_QUERY');
      assert.throws(() => a.sync({ url: srv.url, conflict: 'newest' }), (e) => e.code === 'BAD_QUERY');
      await a.createTable('auto', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }] });
      const s = a.sync({ url: srv.url, tables: ['auto'] });
      await assert.rejects(s.pending(), (e) => e.code === 'BAD_QUERY', 'autoIncrement ids would collide across devices');
      // Naming an existing table opts it into sync; its rows are queued once.
      await a.createTable('plain', { columns: [{ name: 'id', type: 'string', primaryKey: true }] });
      await a.table('plain').insert({ id: 'p1' });
      const p = a.sync({ url: srv.url, tables: ['plain'] });
      assert.equal(await p.pending(), 1);
      assert.equal((await a.describeTable('plain')).sync, true);
      await a.close();
    });
  });
}

suite('native', startNative);
if (process.env.MINIBASE_SYNC_WORKER === '1' && fs.existsSync(path.join(repoRoot, 'server/worker/dev.mjs'))) {
  suite('worker', startWorkerServer);
}

test('retry delays grow exponentially, stay bounded and are jittered', () => {
  const bounds = { min: 1000, max: 60000 };
  const rows = [
    // failures, random, delay
    [1, 0, 500], [1, 0.999999, 1000], [2, 0, 1000], [3, 0.5, 3000], [6, 0, 16000],
    [7, 0.999999, 60000], [8, 0, 30000], [50, 0.5, 45000], [1e9, 0.999999, 60000],
  ];
  for (const [failures, r, want] of rows) {
    assert.equal(backoffDelay(failures, bounds, () => r), want, `failures ${failures}, random ${r}`);
  }
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4, bounds)));
  assert.ok(seen.size > 1, 'two clients failing together do not retry in lockstep');
  for (const d of seen) assert.ok(d >= 4000 && d <= 8000);
});

// The child opens a database on disk, writes N rows to a synced table and
// syncs in small batches; the parent kills it (SIGKILL) after a few pushes
// were answered, then syncs the same database in-process. Every row must be
// on the server exactly once: the tenant's sequence equals N.
const CHILD = `
import { connect } from 'minibase-db';
const [root, url, auth, n] = process.argv.slice(2);
const conn = await connect({ adapter: 'node', root });
await conn.createDatabase('app', { ifNotExists: true });
await conn.useDatabase('app');
await conn.createTable('todos', { ifNotExists: true, sync: true, columns: [
  { name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' } ] });
const rows = Array.from({ length: Number(n) }, (_, i) => ({ id: 'r' + String(i).padStart(5, '0'), title: 't' + i }));
for (let i = 0; i < rows.length; i += 100) await conn.table('todos').insertMany(rows.slice(i, i + 100));
let pushes = 0;
const sync = conn.sync({ url, auth, batchSize: 50, fetch: async (u, init) => {
  const r = await fetch(u, init);
  if (init.method === 'POST' && ++pushes === 3) process.stdout.write('mid-sync\\n');
  return r;
} });
process.stdout.write('ready\\n');
await sync.now();
process.stdout.write('done\\n');
`;

test('a client killed mid-sync loses and duplicates nothing', async (t) => {
  const srv = await startNative();
  t.after(() => srv.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-synckill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(repoRoot, 'js/test', `.sync-child-${process.pid}.mjs`);
  fs.writeFileSync(script, CHILD);
  t.after(() => fs.rmSync(script, { force: true }));
  const root = path.join(dir, 'data');
  const auth = srv.token('killed');
  const N = 1000;
  const child = spawn(process.execPath, [script, root, srv.url, auth, String(N)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  await new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('mid-sync')) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.once('exit', resolve);
  });
  const ex = await exited;
  assert.equal(ex.signal, 'SIGKILL', `the child was killed mid-sync (stdout ${out}, stderr ${err})`);
  assert.ok(!out.includes('done'));

  const conn = await connect({ adapter: 'node', root });
  await conn.useDatabase('app');
  assert.equal(await conn.table('todos').count(), N, 'every acknowledged write survived');
  const sync = conn.sync({ url: srv.url, auth });
  const before = await sync.pending();
  assert.ok(before > 0 && before < N, `some changes were pushed before the kill (${before} pending)`);
  await sync.now();
  assert.equal(await sync.pending(), 0);
  await conn.close();

  // The server holds every row once, and applied every op once: its
  // sequence counts exactly N changes.
  const r = await fetch(`${srv.url}/v1/pull?since=0&limit=1000`, { headers: { Authorization: `Bearer ${auth}` } });
  const body = await r.json();
  assert.equal(body.changes.length, N);
  assert.equal(body.cursor, N, 'no op was applied twice');
  assert.equal(new Set(body.changes.map((c) => c.key)).size, N);
});
