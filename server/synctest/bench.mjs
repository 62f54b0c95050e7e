// Sync numbers through the real .wasm in Node, against the native server on
// 127.0.0.1: push and pull of 10,000 changes (changes/s each way)
// and realtime notice latency, commit on client A → change applied on
// client B (median, p99).
//
//   make build && node server/synctest/bench.mjs [changes=10000] [samples=200]
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from 'minibase-db';

const root = fileURLToPath(new URL('../..', import.meta.url));
const N = Number(process.argv[2] ?? 10000);
const SAMPLES = Number(process.argv[3] ?? 200);

const port = await new Promise((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-syncbench-'));
const bin = path.join(dir, 'minibase-server');
const b = spawnSync('go', ['build', '-o', bin, './server/cmd/minibase-server'], { cwd: root, stdio: 'inherit' });
if (b.status !== 0) process.exit(1);
const secret = randomBytes(16).toString('hex');
const server = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', path.join(dir, 'sync.db')], {
  stdio: 'ignore', env: { ...process.env, MINIBASE_SYNC_SECRET: secret },
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${url}/v1/health`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const token = (tenant) => {
  const head = Buffer.from(JSON.stringify({ tenant, sub: 'bench' })).toString('base64url');
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
};

async function device(name) {
  const conn = await connect({ adapter: 'memory', root: `${name}-${randomBytes(4).toString('hex')}` });
  await conn.createDatabase('app');
  await conn.useDatabase('app');
  await conn.createTable('todos', { sync: true, columns: [
    { name: 'id', type: 'string', primaryKey: true }, { name: 'title', type: 'string' }, { name: 'n', type: 'number' }] });
  return conn;
}

try {
  const auth = token('bench');
  const a = await device('a');
  const rows = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, title: `title ${i}`, n: i }));
  for (let i = 0; i < N; i += 1000) await a.table('todos').insertMany(rows.slice(i, i + 1000));
  const sa = a.sync({ url, auth });
  let t = performance.now();
  await sa.now();
  const push = (performance.now() - t) / 1000;
  const bConn = await device('b');
  const sb = bConn.sync({ url, auth, pullLimit: 1000 });
  t = performance.now();
  await sb.now();
  const pull = (performance.now() - t) / 1000;
  if ((await bConn.table('todos').count()) !== N) throw new Error('pull incomplete');
  console.log(`push ${N} changes: ${push.toFixed(2)} s = ${Math.round(N / push)} changes/s`);
  console.log(`pull ${N} changes: ${pull.toFixed(2)} s = ${Math.round(N / pull)} changes/s`);

  // Realtime latency on a fresh tenant (small cursors).
  const auth2 = token('latency');
  const c1 = await device('c1');
  const c2 = await device('c2');
  const s1 = c1.sync({ url, auth: auth2 });
  const s2 = c2.sync({ url, auth: auth2 });
  s1.start({ interval: 3600000, realtime: true });
  s2.start({ interval: 3600000, realtime: true });
  await new Promise((r) => setTimeout(r, 500));
  const waiters = new Map();
  s2.on('change', (c) => waiters.get(c.key)?.());
  const lat = [];
  for (let i = 0; i < SAMPLES; i++) {
    const key = `l${i}`;
    const seen = new Promise((r) => waiters.set(key, r));
    const t0 = performance.now();
    await c1.table('todos').insert({ id: key, title: 'x', n: i });
    await seen;
    lat.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  s1.stop();
  s2.stop();
  lat.sort((x, y) => x - y);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(`realtime notice latency over ${SAMPLES} commits: median ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms`);
  await a.close(); await bConn.close(); await c1.close(); await c2.close();
} finally {
  server.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
