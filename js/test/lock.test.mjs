// One root, one writer — also inside one process. A worker thread and a
// second copy of the module (the ESM and the CJS build) each run their own
// engine instance with the same pid; before the lock named instances, each
// took the other's lock for a stale one of its own and both wrote the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { connect } from 'minibase-db';

const require = createRequire(import.meta.url);

function tempRoot(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-lock-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'data');
}

async function ask(worker, msg) {
  worker.postMessage(msg);
  const [reply] = await once(worker, 'message');
  return reply;
}

test('a root open on the main thread is LOCKED to a worker thread until it is closed', async (t) => {
  const root = tempRoot(t);
  const conn = await connect({ adapter: 'node', root });
  await conn.createDatabase('main');
  const worker = new Worker(new URL('./lock-peer.mjs', import.meta.url));
  t.after(() => worker.terminate());

  const refused = await ask(worker, { root });
  assert.equal(refused.code, 'LOCKED', refused.message);
  assert.match(refused.message, /another minibase engine in this process/);

  await conn.close();
  assert.deepEqual(await ask(worker, { root }), { ok: true });
  await assert.rejects(connect({ adapter: 'node', root }), (err) => err.code === 'LOCKED');
  assert.deepEqual(await ask(worker, { close: true }), { ok: true });

  const again = await connect({ adapter: 'node', root });
  assert.deepEqual((await again.showDatabases()).sort(), ['from_worker', 'main']);
  await again.close();
});

test('a root open through import is LOCKED through require (two copies of the module)', async (t) => {
  const root = tempRoot(t);
  const cjs = require('minibase-db');
  assert.notEqual(cjs.connect, connect, 'two module instances, two engines');

  const esmConn = await connect({ adapter: 'node', root });
  await esmConn.createDatabase('esm');
  await assert.rejects(cjs.connect({ adapter: 'node', root }), (err) => {
    assert.equal(err.code, 'LOCKED', err.message);
    assert.equal(err.message.split(root).length, 2, `the message names the root once: ${err.message}`);
    assert.doesNotMatch(err.message, /open: open/);
    return true;
  });
  await esmConn.close();

  const cjsConn = await cjs.connect({ adapter: 'node', root });
  await cjsConn.createDatabase('cjs');
  await assert.rejects(connect({ adapter: 'node', root }), (err) => err.code === 'LOCKED');
  await cjsConn.close();

  // Both wrote in turn, and the files read back whole.
  const check = await connect({ adapter: 'node', root });
  assert.deepEqual((await check.showDatabases()).sort(), ['cjs', 'esm']);
  await check.close();
});

test('a lock left by a dead earlier process that had this pid is taken over', async (t) => {
  const root = tempRoot(t);
  let conn = await connect({ adapter: 'node', root });
  await conn.createDatabase('kept');
  await conn.close();
  // What a container restart leaves: our pid, an earlier start, another instance.
  fs.writeFileSync(path.join(root, 'LOCK'), `minibase-lock 2\npid ${process.pid}\nstart proc:1\ninstance deadbeef\n`);
  conn = await connect({ adapter: 'node', root });
  assert.deepEqual(await conn.showDatabases(), ['kept']);
  assert.match(fs.readFileSync(path.join(root, 'LOCK'), 'latin1'), new RegExp(`pid ${process.pid}\n`));
  await conn.close();
  assert.equal(fs.existsSync(path.join(root, 'LOCK')), false, 'close removes the lock');
});

test('the lock of an engine instance that died is released for the rest of the process', async (t) => {
  const root = tempRoot(t);
  const worker = new Worker(new URL('./lock-peer.mjs', import.meta.url));
  t.after(() => worker.terminate());
  assert.deepEqual(await ask(worker, { root }), { ok: true });
  await assert.rejects(connect({ adapter: 'node', root }), (err) => err.code === 'LOCKED');
  // Go ends the worker's instance (as a fatal error would); thread and process live on.
  assert.deepEqual(await ask(worker, { die: true }), { ok: true });
  const conn = await connect({ adapter: 'node', root });
  assert.deepEqual(await conn.showDatabases(), ['from_worker']);
  await conn.close();
});

test('the lock of a worker thread that exits without closing is released', async (t) => {
  const root = tempRoot(t);
  const worker = new Worker(new URL('./lock-peer.mjs', import.meta.url));
  assert.deepEqual(await ask(worker, { root }), { ok: true });
  worker.postMessage({ exit: true });
  await once(worker, 'exit');
  const conn = await connect({ adapter: 'node', root });
  assert.deepEqual(await conn.showDatabases(), ['from_worker']);
  await conn.close();
});
