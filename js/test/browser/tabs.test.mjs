// Two pages of one origin on one database: one owns it (Web Lock), the
// other forwards its calls; concurrent writers lose nothing and duplicate
// nothing; closing the owner hands the database to the other page. On both
// backends: IndexedDB (the owner's page runs the engine) and OPFS (the
// owner's worker does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ready, skip, useBrowser } from './helpers.mjs';

const env = useBrowser();
// Cross-origin-isolated pages, where the OPFS owner's calls take the shared channel (opfs-channel.js).
const isolated = useBrowser({ isolated: true });
const ISOLATED = ', cross-origin isolated: the shared channel';

const page = (served = env) => served.page();

// In the page: connect to database 'tabs' and make table 'log' exist.
async function setup(adapter, name = 'tabs') {
  const conn = await window.minibase.connect({ adapter, name });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('log', {
    ifNotExists: true,
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'label', type: 'string' }, // not unique: a call run twice would show twice
      { name: 'tab', type: 'string' },
    ],
    indexes: [{ columns: ['tab'] }],
  });
  window.conn = conn;
  window.acked = [];
  window.failed = [];
}

// In the page: n inserts, a read every 10th, collecting the acknowledged labels.
async function write({ tab, n, from = 0 }) {
  const log = window.conn.table('log');
  for (let i = from; i < from + n; i++) {
    const label = `${tab}-${i}`;
    try {
      await log.insert({ label, tab });
      window.acked.push(label);
    } catch (err) {
      window.failed.push(`${label}: ${err.code} ${err.message}`);
    }
    if (i % 10 === 0) await log.count({ where: { tab } });
  }
  return window.acked.length;
}

const labels = (p) => p.evaluate(async () => (await window.conn.table('log').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.label));
const owns = (p, adapter, name = 'tabs') => p.evaluate(([adapter, name]) => window.minibase.isOwner(name, adapter), [adapter, name]);

function exactlyOnce(all, acked) {
  const count = new Map();
  for (const l of all) count.set(l, (count.get(l) ?? 0) + 1);
  const dup = [...count].filter(([, c]) => c > 1);
  assert.deepEqual(dup, [], 'no row twice');
  const missing = acked.filter((l) => !count.has(l));
  assert.deepEqual(missing, [], 'every acknowledged write is there');
}

for (const adapter of ['indexeddb', 'opfs']) {
  test(`two pages write concurrently; closing the owner hands over (${adapter})`, { skip }, () => handOver(adapter));
}
test(`two pages write concurrently; closing the owner hands over (opfs${ISOLATED})`, { skip }, () => handOver('opfs', isolated));

test('a page that preloaded its OPFS engine forwards to the owner, then owns the database through that worker', { skip }, async () => {
  const adapter = 'opfs';
  const a = await page();
  await a.evaluate(`(${setup})('${adapter}', 'preloaded')`);
  await a.evaluate(`(${write})({ tab: 'a', n: 10 })`);
  const b = await page();
  await b.evaluate(() => window.minibase.preload({ adapter: 'opfs' }));
  assert.equal(b.workers().length, 1, "b's engine worker runs before b connects");
  await b.evaluate(`(${setup})('${adapter}', 'preloaded')`);
  assert.equal(await owns(b, adapter, 'preloaded'), false, 'a owns the database; b forwards');
  assert.equal(await b.evaluate(`(${write})({ tab: 'b', n: 10 })`), 10);
  await a.close();
  // b's next calls find the owner gone, and b takes the database in the worker it preloaded.
  assert.equal(await b.evaluate(`(${write})({ tab: 'b', n: 10, from: 10 })`), 20);
  assert.equal(await owns(b, adapter, 'preloaded'), true);
  assert.equal(b.workers().length, 1, 'the preloaded worker, not a second one');
  const all = await labels(b);
  assert.equal(all.length, 30);
  exactlyOnce(all, [...Array.from({ length: 10 }, (_, i) => `a-${i}`), ...(await b.evaluate(() => window.acked))]);
  assert.deepEqual(await b.evaluate(() => window.failed), []);
  assert.deepEqual(b.errors, []);
});

async function handOver(adapter, served = env) {
  const page = () => served.page();
  const a = await page();
  assert.equal(await a.evaluate(() => globalThis.crossOriginIsolated), served === isolated);
  await a.evaluate(`(${setup})('${adapter}')`);
  const b = await page();
  await b.evaluate(`(${setup})('${adapter}')`);
  assert.equal(await owns(a, adapter), true, 'the first page owns the database');
  assert.equal(await owns(b, adapter), false);

  const [na, nb] = await Promise.all([
    a.evaluate(`(${write})({ tab: 'a', n: 300 })`),
    b.evaluate(`(${write})({ tab: 'b', n: 300 })`),
  ]);
  assert.equal(na, 300);
  assert.equal(nb, 300);
  const [la, lb] = [await labels(a), await labels(b)];
  assert.deepEqual(la, lb, 'both pages see the same rows');
  assert.equal(la.length, 600);
  exactlyOnce(la, [...(await a.evaluate(() => window.acked)), ...(await b.evaluate(() => window.acked))]);

  // A transaction from the forwarding page runs on the owner.
  const txResult = await b.evaluate(async () => {
    const tx = await window.conn.begin();
    await tx.table('log').insert({ label: 'tx-1', tab: 'b' });
    const inside = await tx.table('log').count({ where: { tab: 'b' } });
    await tx.rollback();
    return [inside, await window.conn.table('log').count({ where: { tab: 'b' } })];
  });
  assert.deepEqual(txResult, [301, 300]);
  // A value that cannot cross to the owner is BAD_VALUE, as it is on the owner itself.
  const bad = (p) => p.evaluate(() => window.conn.table('log').insert({ label: () => 1, tab: 'x' }).then(() => 'ok', (e) => e.code));
  assert.equal(await bad(b), 'BAD_VALUE');
  assert.equal(await bad(a), 'BAD_VALUE');

  // Close the owner while b is writing: b's calls go to b itself once it owns the lock.
  const writing = b.evaluate(`(${write})({ tab: 'b', n: 200, from: 300 })`);
  await b.waitForFunction(() => window.acked.length >= 320);
  await a.close();
  assert.equal(await writing, 500);
  assert.deepEqual(await b.evaluate(() => window.failed), []);
  assert.equal(await owns(b, adapter), true, 'b owns the database now');
  const after = await labels(b);
  exactlyOnce(after, [...la, ...(await b.evaluate(() => window.acked))]);
  assert.equal(after.length, 800);

  // A new page sees everything, through b.
  const c = await page();
  await c.evaluate(`(${setup})('${adapter}')`);
  assert.deepEqual(await labels(c), after);
  assert.deepEqual([...b.errors, ...c.errors], []);
}

for (const adapter of ['indexeddb', 'opfs']) {
  test(`without Web Locks a second page gets LOCKED (${adapter})`, { skip }, () => exclusive(adapter));
}

async function exclusive(adapter) {
  const noLocks = await env.ctx.newPage();
  await noLocks.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
  });
  const open = async (p) => {
    await p.goto(`${env.server.url}/js/test/browser/pages/blank.html`);
    await ready(p);
    return p.evaluate(async (adapter) => {
      try {
        await window.minibase.connect({ adapter, name: 'exclusive' });
        return 'open';
      } catch (err) {
        return err.code;
      }
    }, adapter);
  };
  assert.equal(await open(noLocks), 'open');
  const second = await env.ctx.newPage();
  await second.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
  });
  assert.equal(await open(second), 'LOCKED');
}

// The owner's worker runs a forwarded insert (the engine appends the commit
// to its log at once) and stops right after, before it answers: the owner's
// page closes meanwhile. The forwarding page, owner next, sends the call
// again; the engine committed the call's answer with its row, so the call is
// answered with the first run's answer and the row is there once. (Had the
// answer been written after the call, as it once was, the call would run a
// second time: a second row.)
test('a forwarded write whose owner stopped right after it committed is answered, not run again (opfs)', { skip }, async () => {
  const adapter = 'opfs';
  const name = 'halted';
  const a = await page();
  await a.evaluate(`(${setup})('${adapter}', '${name}')`);
  const b = await page();
  await b.evaluate(`(${setup})('${adapter}', '${name}')`);
  assert.equal(await owns(a, adapter, name), true);
  await b.evaluate(() => window.conn.table('log').insert({ label: 'before', tab: 'b' }));
  const workers = a.workers();
  assert.equal(workers.length, 1, "the owner's page runs the engine's worker");
  await workers[0].evaluate(() => {
    globalThis[Symbol.for('minibase.opfsHaltAfterCall')] = (op, id) => {
      if (op === 'insert' && id) globalThis.halted = true;
      return globalThis.halted === true;
    };
  });
  await b.evaluate(() => {
    window.halted = window.conn.table('log').insert({ label: 'once', tab: 'b' });
  });
  // The call ran in the owner's worker: its row is in the files, unanswered.
  // Reading through the owner's worker would queue behind the halted call,
  // so close the owner now; b takes over and sends the call again.
  for (let i = 0; !(await workers[0].evaluate(() => globalThis.halted === true)); i++) {
    assert.ok(i < 500, 'the insert reached the owner');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await a.close();
  const answer = await b.evaluate(() => window.halted);
  const rows = await b.evaluate(() => window.conn.table('log').select({ where: { tab: 'b' }, orderBy: [{ name: 'id', type: 'asc' }] }));
  assert.deepEqual(rows.map((r) => r.label), ['before', 'once'], 'the forwarded write is there once');
  assert.deepEqual(answer, { id: rows[1].id }, "the answer is the first run's");
  assert.equal(await owns(b, adapter, name), true);
  assert.deepEqual(b.errors, []);
});

// The same stop, but the owner's page stays and its worker is killed: the
// owner starts a new worker and answers the forwarded call from the engine's
// record (before, it failed with WORKER_LOST, committed or not).
for (const [served, label] of [[env, ''], [isolated, ISOLATED]]) {
  test(`a forwarded write whose owner's worker died right after it committed is answered from the record (opfs${label})`, { skip }, () => diedAfterCommit(served));
}

async function diedAfterCommit(served) {
  const adapter = 'opfs';
  const name = 'halted-worker';
  const a = await page(served);
  assert.equal(await a.evaluate(() => globalThis.crossOriginIsolated), served === isolated);
  await a.evaluate(`(${setup})('${adapter}', '${name}')`);
  const b = await page(served);
  await b.evaluate(`(${setup})('${adapter}', '${name}')`);
  assert.equal(await owns(a, adapter, name), true);
  const [worker] = a.workers();
  await worker.evaluate(() => {
    globalThis[Symbol.for('minibase.opfsHaltAfterCall')] = (op, id) => {
      if (op === 'insert' && id) globalThis.halted = true;
      return globalThis.halted === true;
    };
  });
  await b.evaluate(() => {
    window.halted = window.conn.table('log').insert({ label: 'survivor', tab: 'w' });
  });
  for (let i = 0; !(await worker.evaluate(() => globalThis.halted === true)); i++) {
    assert.ok(i < 500, 'the insert reached the owner');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await a.evaluate(() => globalThis[Symbol.for('minibase.opfsWorker')].terminate());
  const answer = await b.evaluate(() => window.halted);
  const rows = await b.evaluate(() => window.conn.table('log').select({ where: { tab: 'w' } }));
  assert.deepEqual(rows.map((r) => r.label), ['survivor'], 'the write is there once');
  assert.deepEqual(answer, { id: rows[0].id }, "the answer is the first run's");
  // (A write that had not committed is sent again and runs once: opfs.test.mjs, the owner's worker dies.)
  assert.equal(await owns(a, adapter, name), true);
  assert.deepEqual([...a.errors, ...b.errors], []);
}
