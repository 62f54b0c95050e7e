// No acknowledged write is lost on the wx adapter when the app is killed:
// a child process runs the mini-program stand-in, inserts in a loop and
// prints each id once its insert (or transaction) has resolved; it is
// SIGKILLed mid-loop, and a fresh runtime on the same user data must find
// every printed id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');
const runtimePath = require.resolve('./wx-standin/runtime.cjs');

const WRITER = `
const fs = require('node:fs');
const { createRuntime } = require(process.env.RUNTIME);
(async () => {
  const rt = createRuntime({ dataDir: process.env.DATA, packageDir: process.env.PKG });
  const mb = rt.require('minibase-db');
  const run = Number(process.env.RUN);
  const conn = await mb.connect({ root: 'db' });
  await conn.createDatabase('d', { ifNotExists: true });
  await conn.useDatabase('d');
  await conn.createTable('log', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'run', type: 'number', notNull: true },
      { name: 'payload', type: 'string' },
    ],
    indexes: [{ columns: ['run'] }],
    ifNotExists: true,
  });
  const log = conn.table('log');
  for (let i = 0; i < 100000; i++) {
    if (i % 10 === 9) {
      const ids = await conn.transaction(async (tx) => {
        const t = tx.table('log');
        return [await t.insert({ run, payload: 'tx' }), await t.insert({ run, payload: 'tx' })].map((r) => r.id);
      });
      fs.writeSync(1, ids.join('\\n') + '\\n');
    } else {
      const { id } = await log.insert({ run, payload: 'p'.repeat(i % 200) });
      fs.writeSync(1, id + '\\n');
    }
  }
})().catch((e) => { console.error(e); process.exit(1); });
`;

function writeUntilKilled(dirs, run, acks) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', WRITER], {
      env: { ...process.env, RUNTIME: runtimePath, DATA: dirs.data, PKG: dirs.pkg, RUN: String(run) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (!killed && out.split('\n').length - 1 >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer ended by itself (code ${code}): ${err}`));
        return;
      }
      const lines = out.split('\n');
      lines.pop(); // a line cut short by the kill was never fully acknowledged
      resolve(lines.map(Number));
    });
  });
}

test('a mini-program killed with SIGKILL mid-write loses no acknowledged insert (wx adapter)', { timeout: 300_000 }, async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-kill-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const dirs = { data: path.join(base, 'usr'), pkg: path.join(base, 'package') };
  const acked = new Map(); // id -> run
  for (const [run, acks] of [[1, 200], [2, 700], [3, 1500]]) {
    const ids = await writeUntilKilled(dirs, run, acks);
    assert.ok(ids.length >= acks, `run ${run}: ${ids.length} acks`);
    for (const id of ids) {
      assert.ok(Number.isInteger(id) && id > 0, `bad ack line ${id}`);
      assert.equal(acked.has(id), false, `id ${id} acknowledged twice`);
      acked.set(id, run);
    }

    const rt = createRuntime({ dataDir: dirs.data, packageDir: dirs.pkg });
    const mb = rt.require('minibase-db');
    const conn = await mb.connect({ root: 'db' });
    await conn.useDatabase('d');
    const log = conn.table('log');
    const rows = await log.select({ columns: ['id', 'run'] });
    const stored = new Map(rows.map((r) => [r.id, r.run]));
    const missing = [...acked.keys()].filter((id) => stored.get(id) !== acked.get(id));
    assert.deepEqual(missing, [], `run ${run}: acknowledged ids missing after the kill`);
    assert.equal(await log.count(), rows.length);
    assert.equal(await log.count({ where: { run } }), rows.filter((r) => r.run === run).length, 'index agrees with rows');
    await conn.close();
  }
  assert.ok(fs.readdirSync(path.join(dirs.data, 'db')).some((f) => f.endsWith('.log')), 'the log lives under the user-data path');
});
