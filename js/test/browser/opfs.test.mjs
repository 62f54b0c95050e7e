// What only the 'opfs' adapter (the engine in the loader's own Worker on OPFS
// files) has to show: eviction (the origin's OPFS cleared behind the app's
// back) and QUOTA_EXCEEDED. The cases of every backend (reload, restart, a
// second page, the app's Worker, SIGKILL) are in backends.test.mjs; two tabs
// with an owner hand-over are in tabs.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, ready, skip, useBrowser, withProfile } from './helpers.mjs';

// One server for the file; each test starts its browser on a profile of its own.
const env = useBrowser({ browser: false });
const OPFS = { adapter: 'opfs' };
// A second one serving cross-origin-isolated pages: there the engine's calls
// take the shared channel (opfs-channel.js), and the worker's deaths below run
// again on it.
const isolated = useBrowser({ browser: false, isolated: true });
const ISOLATED = ' (cross-origin isolated: the shared channel)';

test('opfs: the origin cleared behind the app: evicted, and an empty database', { skip }, () =>
  withProfile(async (profile) => {
    const ctx = await profile.launch();
    let p = await env.page(ctx);
    assert.equal(await inPage(p, async (open) => (await open('gone')).table('notes').insertMany([{ text: 'a', n: 1 }, { text: 'b', n: 2 }]), undefined, OPFS), 2);
    // The closed page's engine worker holds the files' access handles until
    // Chromium has torn it down, which in full CI runs took longer than the
    // next open's wait for them (past 5 s once, past 15 s twice): the page lets
    // go of the database first (its worker closes the files), and the test
    // waits for the worker to be gone. The eviction is what is tested here.
    await p.evaluate(() => window.minibase.release('gone', 'opfs'));
    const workers = p.workers();
    assert.equal(workers.length, 1, "the page runs the engine's worker");
    const gone = new Promise((resolve) => workers[0].once('close', resolve));
    await p.close();
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    const other = await ctx.newPage();
    const cdp = await ctx.newCDPSession(other);
    await cdp.send('Storage.clearDataForOrigin', { origin: env.server.url, storageTypes: 'file_systems' });
    await other.close();
    p = await env.page(ctx);
    const dbs = await p.evaluate(async () => (await window.minibase.connect({ adapter: 'opfs', name: 'gone' })).showDatabases());
    assert.deepEqual(dbs, []);
    assert.deepEqual(await p.evaluate(() => window.evictions.map((e) => [e.name, e.adapter])), [['gone', 'opfs']]);
    assert.deepEqual(p.errors, []);
  }));

test('opfs: QUOTA_EXCEEDED, then a usable database', { skip }, () =>
  withProfile(async (profile) => {
    const ctx = await profile.launch();
    const p = await env.page(ctx);
    const cdp = await ctx.newCDPSession(p);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.server.url, quotaSize: 8 * 1024 * 1024 });
    const BLOBS = { adapter: 'opfs', table: 'blobs' };
    const r = await inPage(p, async (open) => {
      const conn = await open('quota');
      const blobs = conn.table('blobs');
      await blobs.insertMany([1, 2, 3].map((id) => ({ id, body: 'small' })));
      const random = () => Array.from(crypto.getRandomValues(new Uint8Array(2048)), (x) => x.toString(16).padStart(2, '0')).join('');
      // 1 MB a call (random: nothing compresses it) until the quota refuses one.
      let code = 'acknowledged';
      let acked = 3;
      for (let round = 0; round < 16 && code === 'acknowledged'; round++) {
        try {
          await blobs.insertMany(Array.from({ length: 250 }, (_, i) => ({ id: 1000 * (round + 1) + i, body: random() })));
          acked += 250;
        } catch (err) {
          code = err.code;
          window.quotaError = err.message;
        }
      }
      window.conn = conn;
      return { code, message: window.quotaError, acked, afterRefused: await blobs.count() };
    }, undefined, BLOBS);
    assert.equal(r.code, 'QUOTA_EXCEEDED', r.message);
    assert.equal(r.afterRefused, r.acked, 'the refused insert left nothing');
    // More quota: the same connection takes writes again; freeing space works.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: env.server.url, quotaSize: 64 * 1024 * 1024 });
    const final = await p.evaluate(async () => {
      const blobs = window.conn.table('blobs');
      await blobs.insert({ id: 4, body: 'after' });
      await blobs.delete({ where: { id: { '>=': 1000 } } });
      await window.conn.compact();
      return blobs.count();
    });
    assert.equal(final, 4);
    await p.reload();
    await ready(p);
    const ids = await inPage(p, async (open) => (await (await open('quota')).table('blobs').select({ columns: ['id'] })).map((x) => x.id).sort((a, b) => a - b), undefined, BLOBS);
    assert.deepEqual(ids, [1, 2, 3, 4]);
  }));

// The engine's worker dies under the page (terminated as a crash would, or an
// uncaught error in it): the table writes it had are answered in a new
// worker, from the engine's record when they committed, else run there; the
// other calls it had fail with WORKER_LOST instead of hanging (here the
// large insert's transaction: its begin, or a chunk of it); the next call
// starts a new worker on the same files, and what was acknowledged before
// is there, after a reload too.
for (const [kill, served, label] of [['terminate', env, ''], ['error', env, ''], ['terminate', isolated, ISOLATED]]) {
  test(`opfs: the engine's worker dies (${kill}): pending writes are answered once, other calls fail, the next call reopens${label}`, { skip }, () =>
    withProfile(async (profile) => {
      const p = await served.page(await profile.launch());
      assert.equal(await p.evaluate(() => globalThis.crossOriginIsolated), served === isolated);
      const name = `killed-${kill}`;
      const r = await inPage(
        p,
        async (open, { name, kill }) => {
          const conn = await open(name);
          const notes = conn.table('notes');
          for (let i = 0; i < 5; i++) await notes.insert({ text: `before-${i}`, n: i });
          // A live query from before the death follows writes made after it.
          const watched = [];
          notes.watch({ where: { n: 1000 } }, (rows) => watched.push(rows.map((x) => x.text).join()));
          const tx = await conn.begin();
          await tx.table('notes').insert({ text: 'in-tx', n: -1 });
          const pending = Array.from({ length: 40 }, (_, i) => notes.insert({ text: `during-${i}`, n: 100 + i }));
          // A long call last, then a turn of the page's loop: the calls are in
          // the worker's queue, not all answered, when it dies. (Calls not
          // sent yet when it died would run on the next worker.)
          const big = notes.insertMany(Array.from({ length: 5000 }, (_, i) => ({ text: `big-${i}`, n: 10_000 + i })));
          await new Promise((resolve) => setTimeout(resolve, 0));
          const worker = globalThis[Symbol.for('minibase.opfsWorker')];
          if (kill === 'terminate') worker.terminate();
          else worker.dispatchEvent(new ErrorEvent('error', { message: 'a crash, simulated' }));
          const settled = await Promise.allSettled([...pending, big]);
          const acked = [];
          const codes = new Set();
          settled.forEach((s, i) => (s.status === 'fulfilled' ? acked.push(i < 40 ? `during-${i}` : 'big-0') : codes.add(s.reason.code)));
          const txCode = await tx.table('notes').insert({ text: 'in-tx-2', n: -2 }).then(() => 'acknowledged', (err) => err.code);
          const rows = (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text);
          await notes.insert({ text: 'after', n: 1000 });
          for (let i = 0; i < 200 && watched.at(-1) !== 'after'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
          const newWorker = globalThis[Symbol.for('minibase.opfsWorker')] !== worker;
          return { acked, codes: [...codes], failed: settled.length - acked.length, txCode, rows, newWorker, watched: watched.at(-1) };
        },
        { name, kill },
        OPFS,
      );
      assert.ok(r.failed > 0, 'calls were pending when the worker died');
      for (const c of r.codes) assert.ok(['WORKER_LOST', 'TX_CLOSED'].includes(c), c);
      for (let i = 0; i < 40; i++) assert.ok(r.acked.includes(`during-${i}`), `the pending insert during-${i} was answered`);
      assert.equal(new Set(r.rows).size, r.rows.length, 'no row twice');
      assert.equal(r.txCode, 'TX_CLOSED', 'a transaction of the dead worker is gone');
      assert.ok(r.newWorker, 'a new worker runs the engine');
      assert.equal(r.watched, 'after', 'the live query followed the new worker');
      const before = ['before-0', 'before-1', 'before-2', 'before-3', 'before-4'];
      assert.deepEqual(r.rows.slice(0, 5), before, 'rows committed before the death are intact');
      for (const a of r.acked) assert.ok(r.rows.includes(a), `acknowledged ${a} is there`);
      // A call that failed may have committed or not; nothing else is there.
      for (const t of r.rows.slice(5)) assert.match(t, /^(during|big)-\d+$/);
      assert.ok(!r.rows.includes('in-tx'), 'the uncommitted transaction left nothing');
      await p.reload();
      await ready(p);
      const reloaded = await inPage(p, async (open, name) => (await (await open(name)).table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text), name, OPFS);
      assert.deepEqual(reloaded, [...r.rows, 'after']);
      assert.deepEqual(p.errors, []);
    }));
}

test("opfs: the owner's worker dies: another tab's calls go on, and release and delete work with it dead", { skip }, () =>
  withProfile(async (profile) => {
    const ctx = await profile.launch();
    const owner = await env.page(ctx);
    const other = await env.page(ctx);
    const openAs = (p, text, n) =>
      inPage(p, async (open, { text, n }) => {
        window.conn = await open('shared-kill');
        await window.conn.table('notes').insert({ text, n });
      }, { text, n }, OPFS);
    await openAs(owner, 'owner', 1);
    await openAs(other, 'other', 2);
    assert.equal(await owner.evaluate(() => window.minibase.isOwner('shared-kill', 'opfs')), true);
    await owner.evaluate(() => globalThis[Symbol.for('minibase.opfsWorker')].terminate());
    // The other tab's forwarded calls reach the owner, which starts a new
    // worker. One sent before the owner's page saw the death fails
    // (WORKER_LOST: it was in flight); the next goes through, and the
    // unique text shows the failed one did not run as well.
    const seen = await other.evaluate(async () => {
      const notes = window.conn.table('notes');
      const codes = [];
      for (let i = 0; i < 2; i++) {
        const code = await notes.insert({ text: 'other after', n: 3 }).then(() => 'acknowledged', (err) => err.code);
        codes.push(code);
        if (code !== 'WORKER_LOST') break;
      }
      return { codes, texts: (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text) };
    });
    assert.equal(seen.codes.at(-1), 'acknowledged', String(seen.codes));
    assert.deepEqual(seen.texts, ['owner', 'other', 'other after']);
    // Dead again, with no call between: giving the database up and deleting it work.
    const after = await owner.evaluate(async () => {
      globalThis[Symbol.for('minibase.opfsWorker')].terminate();
      await window.minibase.release('shared-kill', 'opfs');
      return window.minibase.isOwner('shared-kill', 'opfs');
    });
    assert.equal(after, false);
    await owner.close();
    assert.deepEqual(await other.evaluate(async () => window.conn.table('notes').count()), 3, 'the other tab owns it now, with every row');
    const deleted = await other.evaluate(async () => {
      await window.conn.close();
      await window.minibase.deleteDatabase('shared-kill', 'opfs');
      return (await window.minibase.connect({ adapter: 'opfs', name: 'shared-kill' })).showDatabases();
    });
    assert.deepEqual(deleted, []);
    assert.deepEqual([...owner.errors, ...other.errors], []);
  }));

for (const [served, label] of [[env, ''], [isolated, ISOLATED]]) {
  test(`opfs: the worker killed again and again under writes, and as it starts: every write is answered, its row there once${label}`, { skip }, () =>
    withProfile(async (profile) => {
      const p = await served.page(await profile.launch());
      assert.equal(await p.evaluate(() => globalThis.crossOriginIsolated), served === isolated);
      const r = await inPage(
        p,
        async (open) => {
          const notes = (await open('rekilled')).table('notes');
          const acked = [];
          const codes = new Set();
          for (let round = 0; round < 6; round++) {
            // The worker runs: the kill lands in its queue. (When the last
            // round's calls were all answered before its kill landed, as on the
            // shared channel they can be, a read goes to the dead worker and
            // fails with WORKER_LOST, as any call it had does; the next one
            // runs in a new worker, and this round's kill lands on that.)
            for (let i = 0; !(await notes.count().then(() => true, (err) => (err.code === 'WORKER_LOST' && i < 100 ? false : Promise.reject(err)))); i++);
            const calls = Array.from({ length: 30 }, (_, i) => {
              const text = `r${round}-${i}`;
              return notes.insert({ text, n: round }).then(() => acked.push(text), (err) => codes.add(err.code));
            });
            await new Promise((resolve) => setTimeout(resolve, round)); // a different point in the queue each time
            globalThis[Symbol.for('minibase.opfsWorker')]?.terminate();
            await Promise.all(calls);
          }
          // Killed as it starts, before it took its lock of life: it counts as lost after a bound.
          // (The last round's writes were answered in a new worker: it goes too.)
          const hook = Symbol.for('minibase.opfsWorker');
          const last = globalThis[hook];
          Object.defineProperty(globalThis, hook, { configurable: true, set: (w) => w.terminate() });
          last?.terminate();
          // On the shared channel a worker blocked waiting for a call may
          // still answer one or two as it is terminated: the calls go on
          // until the page saw it die.
          let startCode = 'answered';
          for (let i = 0; i < 1000 && startCode === 'answered'; i++) {
            startCode = await notes.count().then(() => 'answered', (err) => err.code);
            if (startCode === 'answered') await new Promise((resolve) => setTimeout(resolve, 5));
          }
          delete globalThis[hook];
          const rows = (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text);
          return { acked, codes: [...codes], rows, startCode };
        },
        undefined,
        OPFS,
      );
      assert.deepEqual(r.codes, [], 'every insert was answered: from its record, or run again in a new worker');
      assert.equal(r.acked.length, 6 * 30);
      assert.equal(r.startCode, 'WORKER_LOST', 'a worker killed as it starts');
      for (const a of r.acked) assert.ok(r.rows.includes(a), `acknowledged ${a} is there`);
      assert.equal(new Set(r.rows).size, r.rows.length, 'no row twice');
      await p.reload();
      await ready(p);
      const again = await inPage(p, async (open) => (await (await open('rekilled')).table('notes').select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text), undefined, OPFS);
      assert.deepEqual(again, r.rows, 'the same rows after a reload');
      assert.deepEqual(p.errors, []);
    }));
}

// Messages the engine's worker does not expect (another script posting to
// it, a bug): each is answered with an error under its id, or dropped when it
// has none; none stops the worker or reaches the engine but as bytes it
// refuses, and the page's own calls go on in the same worker.
test('opfs: malformed and unknown messages to the worker are answered or dropped, and it goes on serving', { skip }, () =>
  withProfile(async (profile) => {
    const p = await env.page(await profile.launch());
    const r = await inPage(
      p,
      async (open) => {
        const conn = await open('hostile');
        const notes = conn.table('notes');
        await notes.insertMany([{ text: 'a', n: 1 }, { text: 'b', n: 2 }]);
        const hook = Symbol.for('minibase.opfsWorker');
        const worker = globalThis[hook];
        const seen = new Map();
        worker.addEventListener('message', (e) => {
          const rid = Array.isArray(e.data) ? e.data[0] : e.data?.rid;
          if (typeof rid === 'number' && rid < 0) seen.set(rid, e.data);
        });
        const bytes = (...b) => new Uint8Array(b);
        for (const m of [
          null, 42, 'exec', [], [undefined], {}, { rid: -1 }, { rid: -2, type: 'nope' }, { rid: -3, type: 'toString' },
          { rid: -4, type: '__proto__' }, { rid: -5, type: 'exec', name: 'hostile', op: 'get', args: [1, 0, 'app', 'notes', 1] },
          [-6, 'no such database', 'get', undefined, bytes(7, 0)],
          [-7, 'hostile', 'get', undefined, 'not bytes'],
          [-8, 'hostile', 'get', undefined, bytes(0xff, 0xfe, 0x07, 0x80)],
          [-9, 'hostile', 'insert', 'x:1', bytes()],
          [-10, 'hostile', 'count', undefined, bytes(0x07, 0x05, 0x05, 0x63, 0x6f, 0x75, 0x6e, 0x74)], // ['count'] with a bad length
          [-11, 'hostile', { op: 1 }, 7, bytes(0x07, 0x01, 0x05, 0x05, 0x73, 0x74, 0x61, 0x74, 0x73), 'take'], // ['stats']: no connection
          { rid: -12, type: 'start', wasm: 42, reserveMB: -1 }, // a preload's: the engine runs already
        ]) worker.postMessage(m);
        // Answered in order: this call's answer comes after theirs.
        const count = await notes.count();
        const answers = {};
        for (const [rid, d] of seen) {
          if (!Array.isArray(d)) answers[rid] = d.error?.code ?? 'result';
          else if (d[1] instanceof Uint8Array) answers[rid] = `engine status ${d[1][0]}`;
          else answers[rid] = d[1]?.code;
        }
        // The page's own calls with what cannot be encoded, or is too large for the engine.
        const refused = [];
        for (const row of [{ text: () => 'f', n: 4 }, { text: 'big', n: 1n }, { text: 'x'.repeat(65 << 20), n: 5 }]) {
          refused.push(await notes.insert(row).then(() => 'acknowledged', (err) => err.code));
        }
        await notes.insert({ text: 'c', n: 3 });
        return { count, answers, refused, same: globalThis[hook] === worker, texts: (await notes.select({ orderBy: [{ name: 'id', type: 'asc' }] })).map((x) => x.text) };
      },
      undefined,
      OPFS,
    );
    assert.equal(r.count, 2);
    assert.deepEqual(r.refused, ['BAD_VALUE', 'BAD_VALUE', 'TOO_LARGE']);
    assert.ok(r.same, 'the same worker serves on');
    assert.deepEqual(r.texts, ['a', 'b', 'c']);
    assert.deepEqual(r.answers, {
      '-1': 'BAD_VALUE',
      '-2': 'BAD_VALUE',
      '-3': 'BAD_VALUE',
      '-4': 'BAD_VALUE',
      '-5': 'BAD_VALUE', // exec travels as an array of bytes, never as an object
      '-6': 'CLOSED',
      '-7': 'BAD_VALUE',
      '-8': 'engine status 1',
      '-9': 'engine status 1',
      '-10': 'engine status 1',
      '-11': 'engine status 1',
      '-12': 'result',
    });
    assert.deepEqual(p.errors, []);
  }));

// A database of several segments, reopened by a new page: the open leaves
// the segments closed (the pool's map knows them), the first reads open
// those they need and run again, the rest open a few between calls, and
// every answer is the one the first page had.
test('opfs: a reopen leaves the segments closed until calls read them, and answers as before', { skip }, () =>
  withProfile(async (profile) => {
    const ctx = await profile.launch();
    const queries = async (conn) => {
      const notes = conn.table('notes');
      return {
        rows: await Promise.all([1, 7777, 20001, 39999].map(async (id) => (await notes.get(id))?.text.slice(0, 11) ?? null)),
        unique: (await notes.select({ where: { text: 'note-031337' + 'x'.repeat(300) } }))[0]?.id ?? null,
        range: (await notes.select({ where: { n: { '>=': 100, '<': 103 } }, orderBy: [{ name: 'id', type: 'asc' }] })).map((r) => r.id),
        count: await notes.count(),
      };
    };
    const src = `(${queries})`;
    let p = await env.page(ctx);
    const first = await inPage(
      p,
      async (open, src) => {
        const conn = await open('segments');
        // ~13 MB in four calls: flushes of the 4 MB memtable, so several segments.
        for (let at = 0; at < 40000; at += 10000) {
          await conn.table('notes').insertMany(Array.from({ length: 10000 }, (_, i) => ({ text: `note-${String(at + i + 1).padStart(6, '0')}${'x'.repeat(300)}`, n: (at + i) % 1000 })));
        }
        const answers = await (0, eval)(src)(conn); // eslint-disable-line no-eval
        return { answers, segments: (await conn.stats()).segments };
      },
      src,
      OPFS,
    );
    assert.ok(first.segments >= 2, `segments: ${first.segments}`);
    // Each page lets go of the database, and the next waits for its worker to be gone.
    const leave = async (p) => {
      await p.evaluate(() => window.minibase.release('segments', 'opfs'));
      const workers = p.workers();
      const gone = new Promise((resolve) => workers[0].once('close', resolve));
      await p.close();
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    };
    await leave(p);
    // A session that reads one row: the segments it read first are the ones
    // the next open asks for with the other handles; the rest stay closed.
    p = await env.page(ctx);
    assert.equal(await inPage(p, async (open) => (await (await open('segments')).table('notes').get(1)).id, undefined, OPFS), 1);
    await leave(p);

    p = await env.page(ctx);
    // The new worker opens no closed file in the background until the reads
    // are done (set as it starts, long before its open is): the reads open them.
    p.once('worker', (w) => w.evaluate(() => (globalThis[Symbol.for('minibase.opfsNoBackgroundOpen')] = true)).catch(() => {}));
    const again = await inPage(
      p,
      async (open, src) => {
        const conn = (window.conn = await open('segments'));
        const opened = await conn.stats();
        const answers = await (0, eval)(src)(conn); // eslint-disable-line no-eval
        return { opened, answers, after: await conn.stats() };
      },
      src,
      OPFS,
    );
    // Then the rest open in the background.
    await p.workers()[0].evaluate(() => delete globalThis[Symbol.for('minibase.opfsNoBackgroundOpen')]);
    const last = await p.evaluate(async () => {
      for (let i = 0; i < 200 && (await window.conn.stats()).opfsFilesClosed > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return window.conn.stats();
    });
    assert.deepEqual(again.answers, first.answers);
    assert.deepEqual(first.answers.rows, ['note-000001', 'note-007777', 'note-020001', 'note-039999']);
    assert.equal(first.answers.unique, 31337);
    assert.equal(first.answers.count, 40000);
    assert.equal(again.opened.opfsFullOpens, 0);
    assert.ok(again.opened.opfsFilesLeftClosed >= first.segments - 2, JSON.stringify(again.opened));
    assert.ok(again.opened.opfsFilesClosed > 0, JSON.stringify(again.opened));
    assert.ok(again.after.opfsFilesOpenedLater > 0 && again.after.opfsReruns > 0, JSON.stringify(again.after));
    assert.equal(last.opfsFilesClosed, 0, JSON.stringify(last));
    assert.equal(last.opfsFullOpens, 0);
    assert.deepEqual(p.errors, []);

    // A map that no longer names a segment's slot (as after a writer that
    // keeps no map): the engine's open finds the segment missing and fails,
    // and runs again on every slot sorted by its header, with every answer.
    await leave(p);
    p = await env.page(ctx);
    const dropped = await p.evaluate(async () => {
      const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('minibase')).getDirectoryHandle('segments');
      const b = new Uint8Array(await (await (await dir.getFileHandle('map')).getFile()).arrayBuffer());
      const v = new DataView(b.buffer);
      // The map's layout (browser-opfs.js): magic, count, entries (u32 slot,
      // u8 kind, f64 size, u16 length, path), FNV-1a of all before.
      const kept = [];
      let drop = null;
      for (let i = 0, at = 12; i < v.getUint32(8, true); i++) {
        const len = v.getUint16(at + 13, true);
        const path = new TextDecoder().decode(b.subarray(at + 15, at + 15 + len));
        if (!drop && path.endsWith('.sst') && b[at + 4] === 1) drop = path;
        else kept.push(b.subarray(at, at + 15 + len));
        at += 15 + len;
      }
      const n = 12 + kept.reduce((a, e) => a + e.length, 0) + 4;
      const out = new Uint8Array(n);
      out.set(b.subarray(0, 8));
      new DataView(out.buffer).setUint32(8, kept.length, true);
      let at = 12;
      for (const e of kept) {
        out.set(e, at);
        at += e.length;
      }
      let h = 0x811c9dc5;
      for (let i = 0; i < at; i++) h = Math.imul(h ^ out[i], 0x01000193);
      new DataView(out.buffer).setUint32(at, h >>> 0, true);
      const w = await (await dir.getFileHandle('map')).createWritable();
      await w.write(out);
      await w.close();
      return drop;
    });
    assert.match(dropped ?? '', /\.sst$/);
    const resorted = await inPage(
      p,
      async (open, src) => {
        const conn = await open('segments');
        const answers = await (0, eval)(src)(conn); // eslint-disable-line no-eval
        return { answers, stats: await conn.stats() };
      },
      src,
      OPFS,
    );
    assert.deepEqual(resorted.answers, first.answers);
    assert.equal(resorted.stats.opfsFullOpens, 1, JSON.stringify(resorted.stats));
    assert.deepEqual(p.errors, []);
  }));

for (const [label, served] of [['', env], [ISOLATED, isolated]]) {
  test(`opfs: preload starts the worker and its engine; a connect made meanwhile shares them; a failed start is tried again${label}`, { skip }, () =>
    withProfile(async (profile) => {
      const p = await served.page(await profile.launch());
      const r = await p.evaluate(async () => {
        const mb = window.minibase;
        const code = (pr) => pr.then(() => 'resolved', (e) => e.code);
        const refused = {
          wasm: await code(mb.preload({ adapter: 'opfs', wasm: '/nowhere.wasm' })),
          adapter: await code(mb.preload({ adapter: 'ftp' })),
          channel: await code(mb.preload({ adapter: 'opfs', channel: 'pigeon' })),
        };
        const pre = mb.preload({ adapter: 'opfs' });
        const conn = await mb.connect({ adapter: 'opfs', name: 'pre' }); // sent while the engine starts
        const preloaded = await code(pre);
        await conn.createDatabase('d');
        await conn.useDatabase('d');
        await conn.createTable('t', { columns: [{ name: 'id', type: 'number', primaryKey: true }] });
        await conn.table('t').insertMany([{ id: 1 }, { id: 2 }]);
        // Started: the first start decided, a module that is not there is not fetched.
        const again = await code(mb.preload({ adapter: 'opfs', wasm: '/nowhere.wasm' }));
        const page = await code(mb.preload());
        const mem = await mb.connect({ adapter: 'memory', name: 'm' });
        await mem.createDatabase('x');
        return { refused, preloaded, again, page, rows: await conn.table('t').count(), mem: await mem.showDatabases() };
      });
      assert.deepEqual(r, { refused: { wasm: 'IO', adapter: 'BAD_QUERY', channel: 'BAD_QUERY' }, preloaded: 'resolved', again: 'resolved', page: 'resolved', rows: 2, mem: ['x'] });
      assert.equal(p.workers().length, 1, 'one engine worker for the page, however many starts');
      assert.deepEqual(p.errors.filter((e) => !/404|nowhere/.test(e)), []);
    }));
}
