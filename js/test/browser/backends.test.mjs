// The cases every browser backend must pass, run once per backend
// (indexeddb: the engine in the page on IndexedDB; opfs: the engine in the
// loader's Worker on OPFS files): a reload and a browser restart, a second
// page, release and reconnect, the app's own Worker on the same database,
// and the browser SIGKILLed right after an acknowledgment and in the middle
// of a stream of writes. What only one backend has is in persist.test.mjs
// (a Service Worker: IndexedDB only), opfs.test.mjs, evict.test.mjs,
// quota.test.mjs and chunks.test.mjs; two tabs with an owner hand-over are in
// tabs.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, ready, skip, useBrowser, withProfile } from './helpers.mjs';

const BACKENDS = ['indexeddb', 'opfs'];

const WORKER = `// An app's dedicated module Worker using minibase: answers { adapter, name, op } messages.
import { connect } from '/js/dist/browser.mjs';

let conn;
self.onmessage = async (e) => {
  const { adapter, name, op, row } = e.data;
  try {
    conn ??= await connect({ adapter, name });
    await conn.useDatabase('app');
    const notes = conn.table('notes');
    if (op === 'insert') self.postMessage({ ok: await notes.insert(row) });
    else self.postMessage({ ok: await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] }) });
  } catch (err) {
    self.postMessage({ error: \`\${err.code}: \${err.message}\` });
  }
};
`;

// One server for the file; each test starts its browsers on a profile of its own.
const env = useBrowser({ browser: false, files: { 'worker.js': WORKER } });

const texts = (p, adapter, name) =>
  inPage(p, async (open, name) => (await (await open(name)).table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text), name, { adapter });

for (const adapter of BACKENDS) {
  const other = adapter === 'opfs' ? 'indexeddb' : 'opfs';

  test(`${adapter}: writes survive a reload and a browser restart`, { skip }, () =>
    withProfile(async (profile) => {
      let ctx = await profile.launch();
      let p = await env.page(ctx);
      const count = await inPage(p, async (open) => {
        const conn = await open('persist', { durability: 'strict' });
        const notes = conn.table('notes');
        await notes.insert({ text: 'first', n: 1 });
        await notes.insertMany(Array.from({ length: 5000 }, (_, i) => ({ text: `bulk ${i}`, n: i })));
        await conn.transaction(async (tx) => {
          await tx.table('notes').insert({ text: 'in tx', n: 7 });
          await tx.table('notes').update({ n: 2 }, { where: { text: 'first' } });
        });
        await notes.delete({ where: { n: { '>=': 400 } } });
        const st = await conn.stats();
        return { n: await notes.count(), files: st.files, usage: st.storageUsageBytes };
      }, undefined, { adapter });
      assert.equal(count.n, 402);
      assert.ok(count.files > 0);
      assert.equal(typeof count.usage, 'number');
      assert.equal(await p.evaluate((a) => window.minibase.isOwner('persist', a), adapter), true);
      const want = await texts(p, adapter, 'persist');
      assert.equal(want.length, 402);
      assert.equal(want[0], 'first');

      await p.reload();
      await ready(p);
      assert.deepEqual(await texts(p, adapter, 'persist'), want, 'after a reload');
      // A second page sees the same data, through the first page's engine.
      const p2 = await env.page(ctx);
      assert.deepEqual(await texts(p2, adapter, 'persist'), want, 'in a second page');
      assert.equal(await p2.evaluate((a) => window.minibase.isOwner('persist', a), adapter), false);
      // The other backend's database of the same name is another database.
      assert.deepEqual(await p2.evaluate(async (a) => (await window.minibase.connect({ adapter: a, name: 'persist' })).showDatabases(), other), []);
      assert.deepEqual([...p.errors, ...p2.errors], []);
      await ctx.close();

      ctx = await profile.launch();
      p = await env.page(ctx);
      assert.deepEqual(await texts(p, adapter, 'persist'), want, 'after a browser restart');
      const n = await inPage(p, async (open) => (await (await open('persist')).table('notes').get(1)).n, undefined, { adapter });
      assert.equal(n, 2, 'the transaction committed');
      // Closing every connection, releasing, connecting again; then deleting.
      const again = await p.evaluate(async (adapter) => {
        const c1 = await window.minibase.connect({ adapter, name: 'reopen' });
        await c1.createDatabase('app');
        await c1.useDatabase('app');
        await c1.createTable('t', { columns: [{ name: 'k', type: 'string', primaryKey: true }] });
        await c1.table('t').insertMany([{ k: 'a' }, { k: 'b' }]);
        await c1.close();
        const c2 = await window.minibase.connect({ adapter, name: 'reopen' });
        await c2.useDatabase('app');
        await c2.table('t').insert({ k: 'c' });
        await c2.close();
        await window.minibase.release('reopen', adapter);
        const c3 = await window.minibase.connect({ adapter, name: 'reopen' });
        await c3.useDatabase('app');
        const rows = (await c3.table('t').select({})).map((r) => r.k);
        await c3.close();
        await window.minibase.deleteDatabase('reopen', adapter);
        const c4 = await window.minibase.connect({ adapter, name: 'reopen' });
        return { rows, afterDelete: await c4.showDatabases() };
      }, adapter);
      assert.deepEqual(again, { rows: ['a', 'b', 'c'], afterDelete: [] });
      assert.deepEqual(await p.evaluate(() => window.evictions), [], 'a deleted database is not an evicted one');
    }));

  test(`${adapter}: the app's own dedicated Worker uses the same database`, { skip }, () =>
    withProfile(async (profile) => {
      const p = await env.page(await profile.launch());
      const result = await inPage(
        p,
        async (open, adapter) => {
          const conn = await open('shared');
          await conn.table('notes').insert({ text: 'from the page', n: 1 });
          const worker = new Worker('/build/worker.js', { type: 'module' });
          const ask = (msg) =>
            new Promise((resolve) => {
              worker.onmessage = (e) => resolve(e.data);
              worker.postMessage({ adapter, name: 'shared', ...msg });
            });
          const fromWorker = await ask({ op: 'insert', row: { text: 'from the worker', n: 2 } });
          const seenByWorker = await ask({ op: 'select' });
          const seenByPage = (await conn.table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.text);
          worker.terminate();
          return { fromWorker, seenByWorker, seenByPage };
        },
        adapter,
        { adapter },
      );
      assert.deepEqual(result.fromWorker, { ok: { id: 2 } });
      assert.deepEqual(result.seenByWorker.ok.map((r) => r.text), ['from the page', 'from the worker']);
      assert.deepEqual(result.seenByPage, ['from the page', 'from the worker']);
    }));

  test(`${adapter}: acknowledged writes survive the browser being killed`, { skip }, () =>
    withProfile(async (profile) => {
      let p = await env.page(await profile.launch());
      const acked = await inPage(p, async (open) => {
        const notes = (await open('killed')).table('notes');
        for (let i = 0; i < 50; i++) await notes.insert({ text: `one ${i}`, n: i });
        await notes.insertMany(Array.from({ length: 1000 }, (_, i) => ({ text: `many ${i}`, n: i })));
        return notes.count();
      }, undefined, { adapter });
      assert.equal(acked, 1050);
      // No graceful shutdown: SIGKILL the browser process right after the acknowledgment.
      await profile.kill();
      p = await env.page(await profile.launch());
      const got = await texts(p, adapter, 'killed');
      assert.equal(got.length, 1050);
      assert.equal(got[49], 'one 49');
      assert.deepEqual(await p.evaluate(() => window.evictions), []);
    }));

  test(`${adapter}: a SIGKILL in the middle of writes loses no acknowledged write`, { skip }, () =>
    withProfile(async (profile) => {
      let p = await env.page(await profile.launch());
      let acked = -1;
      await p.exposeFunction('acked', (i) => {
        acked = Math.max(acked, i);
      });
      // Not awaited: the page writes until the browser dies. Single rows and
      // batches, so the kill lands in log writes, flushes and compactions.
      inPage(p, async (open) => {
        const notes = (await open('midwrite')).table('notes');
        for (let i = 0; ; i += 100) {
          await notes.insert({ text: `row ${i}`, n: i });
          await notes.insertMany(Array.from({ length: 99 }, (_, j) => ({ text: `row ${i + j + 1}`, n: i + j + 1 })));
          window.acked(i + 99);
        }
      }, undefined, { adapter }).catch(() => {});
      const deadline = Date.now() + 60_000;
      while (acked < 3000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(acked >= 3000, `the page acknowledged ${acked + 1} rows in a minute`);
      const sure = acked;
      await profile.kill();
      p = await env.page(await profile.launch());
      const got = await texts(p, adapter, 'midwrite');
      assert.ok(got.length >= sure + 1, `${got.length} rows after the kill, ${sure + 1} were acknowledged`);
      assert.deepEqual(got.slice(0, sure + 1), Array.from({ length: sure + 1 }, (_, i) => `row ${i}`), 'every acknowledged row, in order');
      // A commit is all or nothing: the rows after the acknowledged ones are whole batches.
      assert.ok([0, 1].includes(got.length % 100), `${got.length} rows: a torn batch`);
      assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => `row ${i}`));
      assert.deepEqual(await p.evaluate(() => window.evictions), []);
    }));
}

// A tab's log is checkpointed (flushed to a segment) once its writes go quiet
// and when the page is hidden, so a browser killed after that reopens with
// next to nothing to replay (on OPFS the engine logs its call records after
// the checkpoint); with neither, the reopen replays the whole log.
for (const adapter of BACKENDS) {
  test(`${adapter}: a log checkpointed after quiet writes or a hidden page leaves nothing to replay after a kill`, { skip }, () =>
    withProfile(async (profile) => {
      for (const how of ['idle', 'hidden', 'neither']) {
        let p = await env.page(await profile.launch());
        const seen = await inPage(p, async (open, how) => {
          const conn = await open(`quiet-${how}`, { checkpointIdleMs: how === 'idle' ? 1500 : 0 });
          const notes = conn.table('notes');
          // Commits of 100 rows: on IndexedDB every commit is a log file of
          // its own, and the store flushes once it has a few hundred.
          for (let i = 0; i < 3000; i += 100) await notes.insertMany(Array.from({ length: 100 }, (_, j) => ({ text: `note ${i + j} `.padEnd(100, '.'), n: i + j })));
          const logged = (await conn.stats()).logBytes;
          if (how === 'hidden') {
            Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
            document.dispatchEvent(new Event('visibilitychange'));
          }
          let left = (await conn.stats()).logBytes;
          for (let i = 0; how !== 'neither' && left > 0 && i < 400; i++) {
            await new Promise((r) => setTimeout(r, 50));
            left = (await conn.stats()).logBytes;
          }
          return { logged, left };
        }, how, { adapter });
        // (Idle checkpoints may also run between writes, should one take 1.5 s.)
        if (how !== 'idle') assert.ok(seen.logged >= 256 << 10, `${how}: ${seen.logged} bytes of log written`);
        assert.equal(seen.left > 0, how === 'neither', `${how}: ${seen.left} bytes of log left`);
        await profile.kill();
        p = await env.page(await profile.launch());
        const reopened = await inPage(p, async (open, how) => {
          const conn = await open(`quiet-${how}`, { checkpointIdleMs: 0 });
          return { log: (await conn.stats()).logBytes, n: await conn.table('notes').count() };
        }, how, { adapter });
        assert.equal(reopened.n, 3000, how);
        assert.equal(reopened.log >= 64 << 10, how === 'neither', `${how}: ${reopened.log} bytes of log replayed at the reopen`);
        await profile.kill();
      }
    }));
}
