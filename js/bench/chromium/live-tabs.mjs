// Live queries across two tabs of headless Chromium (IndexedDB adapter): a
// commit in one page → the callback of a watcher in the other, both ways
// (the owner writing, and the other page writing through the owner).
// Timestamps are performance.timeOrigin + now() in each page (one clock).
//
//   make build && node js/bench/chromium/live-tabs.mjs
//   ROUNDS=50 node js/bench/chromium/live-tabs.mjs

import fs from 'node:fs';
import { launch, openPage, ready, startServer, tempProfile } from '../../test/browser/helpers.mjs';
import { median } from '../workloads.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 100);

async function setup() {
  const conn = await window.minibase.connect({ adapter: 'indexeddb', name: 'live-bench' });
  await conn.createDatabase('app', { ifNotExists: true });
  await conn.useDatabase('app');
  await conn.createTable('notes', {
    ifNotExists: true,
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'topic', type: 'string' },
      { name: 'n', type: 'number' },
    ],
    indexes: [{ columns: ['topic'] }],
  });
  window.conn = conn;
  window.heard = new Map(); // n → time the callback ran
  conn.table('notes').watch({ where: { topic: 'bench' }, orderBy: { id: 'desc' }, limit: 1 }, (rows) => {
    if (rows.length) window.heard.set(rows[0].n, performance.timeOrigin + performance.now());
  });
  await new Promise((r) => setTimeout(r, 50));
}

async function write(n) {
  const t0 = performance.timeOrigin + performance.now();
  await window.conn.table('notes').insert({ topic: 'bench', n });
  return t0;
}

const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

const server = await startServer();
const profile = tempProfile();
const ctx = await launch(profile);
try {
  const owner = await openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`);
  await ready(owner);
  await owner.evaluate(`(${setup})()`);
  const other = await openPage(ctx, `${server.url}/js/test/browser/pages/blank.html`);
  await ready(other);
  await other.evaluate(`(${setup})()`);
  const rows = [];
  let n = 0;
  for (const [label, writer, watcher] of [['owner writes → other tab hears', owner, other], ['other tab writes → owner hears', other, owner]]) {
    const lat = [];
    for (let i = 0; i < ROUNDS; i++) {
      const k = ++n;
      const t0 = await writer.evaluate(`(${write})(${k})`);
      await watcher.waitForFunction((x) => window.heard.has(x), k);
      lat.push((await watcher.evaluate((x) => window.heard.get(x), k)) - t0);
    }
    rows.push([label, `median ${median(lat).toFixed(2)} ms, p95 ${p95(lat).toFixed(2)} ms`]);
  }
  console.log(`Live queries across two Chromium tabs (IndexedDB, ${ROUNDS} commits each way)\n`);
  console.log('| direction | commit → watcher callback in the other tab |\n|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  await ctx.close();
  await server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
