// Offline sync from a mini-program: the wx build in the stand-in (no fetch,
// no TextEncoder, no crypto) syncs through wx.request — the loader's default
// transport — with the native server; two mini-program installs converge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startNative } from './sync-server.mjs';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');

/** Values from the vm context, as plain host values. */
const plain = (v) => JSON.parse(JSON.stringify(v));

/** Two installs on one server, each in the stand-in's device profile. */
async function twoInstalls(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-sync-'));
  const srv = await startNative();
  t.after(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const install = async (name) => {
    const rt = createRuntime({ dataDir: path.join(dir, name, 'usr'), packageDir: path.join(dir, name, 'package') });
    assert.equal(rt.context.fetch, undefined, 'the stand-in has no fetch');
    const conn = await rt.require('minibase-db').connect({ root: 'notes' });
    await conn.createDatabase('app', { ifNotExists: true });
    await conn.useDatabase('app');
    await conn.createTable('notes', {
      ifNotExists: true,
      sync: true,
      columns: [{ name: 'id', type: 'string', primaryKey: true }, { name: 'text', type: 'string' }],
    });
    return { conn, sync: conn.sync({ url: srv.url, auth: srv.token('wx') }) };
  };
  return { a: await install('a'), b: await install('b') };
}

test('two mini-program installs sync through wx.request', async (t) => {
  const { a, b } = await twoInstalls(t);
  await a.conn.table('notes').insertMany([{ id: 'n1', text: 'buy milk' }, { id: 'n2', text: 'call mum' }]);
  assert.equal(await a.sync.pending(), 2);
  await a.sync.now();
  assert.equal(await a.sync.pending(), 0);
  await b.sync.now();
  assert.deepEqual(plain(await b.conn.table('notes').select({ orderBy: ['id'] })), [
    { id: 'n1', text: 'buy milk' },
    { id: 'n2', text: 'call mum' },
  ]);
  await b.conn.table('notes').update({ text: 'call mum tonight' }, { where: { id: 'n2' } });
  await b.sync.now();
  await a.sync.now();
  assert.equal(plain(await a.conn.table('notes').get('n2')).text, 'call mum tonight');
  assert.equal(plain(b.sync.status()).lastError ?? null, null);
  await a.conn.close();
  await b.conn.close();
});

// A phone's logic layer has no AbortController: realtime sync must start
// without one and long-poll over wx.request.
test('realtime sync runs on a phone: a change reaches the other install through the long poll', { timeout: 60_000 }, async (t) => {
  const { a, b } = await twoInstalls(t);
  const firstRound = new Promise((resolve) => {
    const off = b.sync.on('status', () => { off(); resolve(); });
  });
  const received = new Promise((resolve) => b.sync.on('change', resolve));
  const errors = [];
  b.sync.on('error', (e) => errors.push(e));
  // The timer fires once at start, then not for an hour: only the realtime
  // stream can bring the change in.
  b.sync.start({ realtime: true, interval: 3_600_000 });
  await firstRound;
  await a.conn.table('notes').insert({ id: 'live', text: 'pushed while b listens' });
  await a.sync.now();
  await received;
  assert.equal(plain(await b.conn.table('notes').get('live')).text, 'pushed while b listens');
  b.sync.stop();
  assert.deepEqual(errors.map(String), []);
  await a.conn.close();
  await b.conn.close();
});
