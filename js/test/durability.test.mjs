// On-disk behaviour with the 'node' adapter: data persists across close() and
// a new connect(), and no acknowledged write is lost when the process is
// killed with SIGKILL in the middle of a write loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'minibase-db';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function tempRoot(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'data');
}

test('data, schema and autoIncrement persist across close() and connect()', async (t) => {
  const root = tempRoot(t);
  let conn = await connect({ adapter: 'node', root });
  await conn.createDatabase('shop');
  await conn.createDatabase('other');
  await conn.useDatabase('shop');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number', default: 0 },
    ],
    indexes: [{ columns: ['age'] }],
    comment: 'kept',
  });
  const users = conn.table('users');
  await users.insertMany(Array.from({ length: 500 }, (_, i) => ({ username: `u${i}`, age: i % 70 })));
  await users.insert({ username: 'last' }); // id 501
  await users.delete({ where: { username: 'last' } });
  await users.update({ age: 99 }, { where: { username: 'u7' } });
  await users.addColumn({ name: 'email', type: 'string', default: 'none' });
  await conn.transaction(async (tx) => tx.table('users').insert({ username: 'in-tx', age: 1 })); // id 502
  const tx = await conn.begin();
  await tx.table('users').insert({ username: 'rolled-back' });
  await tx.rollback();
  const schema = await conn.describeTable('users');
  await conn.close();

  conn = await connect({ adapter: 'node', root });
  assert.deepEqual((await conn.showDatabases()).sort(), ['other', 'shop']);
  await conn.useDatabase('shop');
  assert.deepEqual(await conn.describeTable('users'), schema);
  const again = conn.table('users');
  assert.equal(await again.count(), 501);
  assert.equal((await again.select({ where: { username: 'u7' } }))[0].age, 99);
  assert.equal((await again.get(3)).email, 'none');
  assert.equal((await again.select({ where: { username: 'in-tx' } }))[0].id, 502);
  assert.equal((await again.select({ where: { username: 'rolled-back' } })).length, 0);
  assert.equal((await again.explain({ where: { age: 5 } })).kind, 'range');
  assert.equal(await again.count({ where: { age: 5 } }), 8);
  const { id } = await again.insert({ username: 'next' });
  assert.ok(id > 502, `autoIncrement never reuses ids (got ${id})`);
  await conn.close();

  // a third open sees the write made by the second
  conn = await connect({ adapter: 'node', root });
  await conn.useDatabase('shop');
  assert.equal((await conn.table('users').get(id)).username, 'next');
  await conn.close();
});

// The child inserts in a loop and prints each id once its insert (or its
// transaction) has resolved, i.e. once it is acknowledged.
const WRITER = `
import fs from 'node:fs';
import { connect } from 'minibase-db';
const run = Number(process.env.RUN);
// A small memtable, so the kills land in flushes and compactions too.
const conn = await connect({ adapter: 'node', root: process.env.ROOT, memtableBytes: 16384 });
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
`;

/**
 * Runs `script` (an ES module) in a child process until `enough(stdout)`
 * says so, then SIGKILLs it; resolves with what it printed.
 */
function runUntilKilled(script, env, enough) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (!killed && enough(out)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer ended by itself (code ${code}): ${err}`));
      else resolve(out);
    });
  });
}

/** Runs the writer until it has acknowledged at least `acks` ids, then SIGKILLs it. */
async function writeUntilKilled(root, run, acks) {
  const out = await runUntilKilled(WRITER, { ROOT: root, RUN: String(run) }, (o) => o.split('\n').length - 1 >= acks);
  const lines = out.split('\n');
  lines.pop(); // a line cut short by the kill was never fully acknowledged
  return lines.map(Number);
}

test('a writer killed with SIGKILL loses no acknowledged insert', { timeout: 300_000 }, async (t) => {
  const root = tempRoot(t);
  const acked = new Map(); // id -> run
  for (const [run, acks] of [[1, 250], [2, 900], [3, 1700]]) {
    const ids = await writeUntilKilled(root, run, acks);
    assert.ok(ids.length >= acks, `run ${run}: ${ids.length} acks`);
    for (const id of ids) {
      assert.ok(Number.isInteger(id) && id > 0, `bad ack line ${id}`);
      assert.equal(acked.has(id), false, `id ${id} acknowledged twice`);
      acked.set(id, run);
    }

    const conn = await connect({ adapter: 'node', root });
    await conn.useDatabase('d');
    const log = conn.table('log');
    const rows = await log.select({ columns: ['id', 'run'] });
    const stored = new Map(rows.map((r) => [r.id, r.run]));
    const missing = [...acked.keys()].filter((id) => stored.get(id) !== acked.get(id));
    assert.deepEqual(missing, [], `run ${run}: acknowledged ids missing after the kill`);
    assert.equal(await log.count(), rows.length);
    assert.equal(await log.count({ where: { run } }), rows.filter((r) => r.run === run).length, 'index agrees with rows');
    assert.ok((await conn.stats()).segments > 0, 'the writer flushed to segment files');
    await conn.close();
  }
});

test("durability: 'strict' works the same from the API and persists", async (t) => {
  const root = tempRoot(t);
  let conn = await connect({ adapter: 'node', root, durability: 'strict' });
  await conn.createDatabase('d');
  await conn.useDatabase('d');
  await conn.createTable('kv', { columns: [{ name: 'k', type: 'string', primaryKey: true }, { name: 'v', type: 'any' }] });
  for (let i = 0; i < 20; i++) await conn.table('kv').upsert({ k: `key${i % 5}`, v: i });
  await conn.close();
  conn = await connect({ adapter: 'node', root });
  await conn.useDatabase('d');
  assert.deepEqual(await conn.table('kv').select({ orderBy: 'k' }), [0, 1, 2, 3, 4].map((i) => ({ k: `key${i}`, v: 15 + i })));
  await conn.close();
});

test('a root another live process has open is LOCKED; once that process dies it opens', async (t) => {
  const root = tempRoot(t);
  const holder = `
    import { connect } from 'minibase-db';
    const conn = await connect({ adapter: 'node', root: process.argv[1] });
    await conn.createDatabase('held');
    console.log('open');
    setInterval(() => {}, 1000); // stay alive, holding the database
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', holder, root], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('open') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  await assert.rejects(connect({ adapter: 'node', root }), (err) => err.code === 'LOCKED' && /process \d+/.test(err.message));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const conn = await connect({ adapter: 'node', root }); // the dead holder's lock is taken over
  assert.deepEqual(await conn.showDatabases(), ['held']);
  await conn.close();
});

// The child writes ~400 KB of log, prints 'written', and with idle
// checkpoints on waits until its connection has checkpointed (the log
// flushed, polled, bounded), prints 'quiet', and waits to be killed.
const QUIET_WRITER = `
import fs from 'node:fs';
import { connect } from 'minibase-db';
const idle = Number(process.env.IDLE);
const conn = await connect({ adapter: 'node', root: process.env.ROOT, checkpointIdleMs: idle });
await conn.createDatabase('d');
await conn.useDatabase('d');
await conn.createTable('t', { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'v', type: 'string' }] });
for (let i = 0; i < 3000; i++) await conn.table('t').insert({ id: i, v: 'v'.repeat(100) });
fs.writeSync(1, 'written ' + (await conn.stats()).logBytes + '\\n');
if (idle > 0) {
  for (let i = 0; i < 600 && (await conn.stats()).logBytes > 0; i++) await new Promise((r) => setTimeout(r, 50));
  fs.writeSync(1, 'quiet ' + (await conn.stats()).logBytes + '\\n');
}
setInterval(() => {}, 1000);
`;

/** Runs QUIET_WRITER until it printed `until`, then SIGKILLs it; resolves with its lines. */
async function quietWriterKilled(root, idle, until) {
  return (await runUntilKilled(QUIET_WRITER, { ROOT: root, IDLE: String(idle) }, (o) => o.includes(until))).trim().split('\n');
}

test('a process killed after its writes went quiet leaves no log to replay; with idle checkpoints off it does', { timeout: 120_000 }, async (t) => {
  for (const [idle, until, replays] of [[100, 'quiet', false], [0, 'written', true]]) {
    const root = tempRoot(t);
    const lines = await quietWriterKilled(root, idle, until);
    assert.ok(Number(lines[0].split(' ')[1]) >= 256 << 10, `the writer logged ${lines[0]}`);
    if (idle > 0) assert.equal(lines[1], 'quiet 0', 'the idle checkpoint flushed the log');
    const conn = await connect({ adapter: 'node', root, checkpointIdleMs: 0 });
    await conn.useDatabase('d');
    const st = await conn.stats();
    assert.equal(st.logBytes > 0, replays, `checkpointIdleMs ${idle}: ${st.logBytes} bytes of log at the reopen`);
    assert.equal(await conn.table('t').count(), 3000);
    // An explicit checkpoint flushes what the reopen replayed, and only a log worth it.
    assert.deepEqual(await conn.checkpoint(), { flushed: replays });
    assert.equal((await conn.stats()).logBytes, 0);
    assert.deepEqual(await conn.checkpoint(), { flushed: false });
    await conn.close();
  }
});

test('checkpointIdleMs must be a whole number of milliseconds', async (t) => {
  for (const bad of [-1, 1.5, '2000', Infinity, null]) {
    await assert.rejects(connect({ adapter: 'node', root: tempRoot(t), checkpointIdleMs: bad }), (err) => err.code === 'BAD_QUERY', String(bad));
  }
});
