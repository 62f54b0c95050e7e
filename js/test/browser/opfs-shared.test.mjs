// The 'opfs' adapter on cross-origin-isolated pages, where the engine's calls
// reach its worker through a SharedArrayBuffer (js/src/opfs-channel.js)
// instead of by message: what travels that way and what does not, the
// `channel` option, and a buffer written by another script. (The worker's
// deaths and an owner hand-over on the channel are in opfs.test.mjs and
// tabs.test.mjs, run there on isolated pages too.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, skip, useBrowser, withProfile } from './helpers.mjs';

const env = useBrowser({ browser: false, isolated: true });
const plain = useBrowser({ browser: false }); // pages that are not isolated
const OPFS = { adapter: 'opfs' };

test('opfs shared: calls take the buffer by default; large ones go by message, in order; transactions and live queries work; channel option', { skip }, () =>
  withProfile(async (profile) => {
    const ctx = await profile.launch();
    const p = await env.page(ctx);
    const r = await inPage(
      p,
      async (open) => {
        const conn = await open('shared');
        const notes = conn.table('notes');
        const chan = globalThis[Symbol.for('minibase.opfsChannel')];
        const sent = () => Atomics.load(chan.cells, 0); // REQ: calls sent through the buffer
        const first = sent();
        const watched = [];
        notes.watch({ where: { n: 7 } }, (rows) => watched.push(rows.map((x) => x.text).join()));
        await notes.insert({ text: 'a', n: 1 });
        // Not awaited one by one: a 10 MB insertMany (one call, past the 1 MB
        // buffer) between small calls, each run in the order made.
        const big = Array.from({ length: 4000 }, (_, i) => ({ text: `big-${i}-${'x'.repeat(2500)}`, n: 2 }));
        const results = await Promise.all([
          notes.insert({ text: 'b', n: 7 }),
          notes.count(),
          notes.insertMany(big),
          notes.count({ where: { n: 2 } }),
          notes.insert({ text: 'c', n: 7 }),
          notes.count(),
        ]);
        // An answer past the buffer (10 MB of rows), then small calls again.
        const all = await notes.select({ where: { n: 2 }, columns: ['text'] });
        const tx = await conn.begin();
        await tx.table('notes').insert({ text: 'rolled back', n: 9 });
        const inside = await tx.table('notes').count({ where: { n: 9 } });
        await tx.rollback();
        await conn.transaction(async (t) => {
          await t.table('notes').insert({ text: 'd', n: 7 });
          await t.table('notes').update({ n: 8 }, { where: { text: 'a' } });
        });
        for (let i = 0; i < 200 && watched.at(-1) !== 'b,c,d'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
        return {
          counts: [results[1], results[2], results[3], results[5]],
          selected: all.length,
          lastText: all.at(-1).text.slice(0, 10),
          inside,
          after: await notes.count({ where: { n: 9 } }),
          a: (await notes.get(1)).n,
          watched: watched.at(-1),
          throughBuffer: sent() - first,
        };
      },
      undefined,
      OPFS,
    );
    assert.deepEqual(r.counts, [2, 4000, 4000, 4003]);
    assert.equal(r.selected, 4000);
    assert.equal(r.lastText, 'big-3999-x');
    assert.equal(r.inside, 1);
    assert.equal(r.after, 0, 'the rolled-back insert left nothing');
    assert.equal(r.a, 8, 'the committed transaction is there');
    assert.equal(r.watched, 'b,c,d', 'the live query followed the writes');
    assert.ok(r.throughBuffer >= 10, `calls went through the buffer (${r.throughBuffer})`);
    // channel: 'message' on an isolated page: no buffer, the same answers.
    const m = await env.page(ctx);
    const viaMessage = await inPage(
      m,
      async (open) => {
        const notes = (await open('shared-message', { channel: 'message' })).table('notes');
        await notes.insertMany([{ text: 'x', n: 1 }, { text: 'y', n: 2 }]);
        return { count: await notes.count(), channel: globalThis[Symbol.for('minibase.opfsChannel')] === undefined ? 'none' : 'buffer' };
      },
      undefined,
      OPFS,
    );
    assert.deepEqual(viaMessage, { count: 2, channel: 'none' });
    // channel: 'shared' where the page is not isolated: refused, and 'auto' there takes messages.
    const q = await plain.page(ctx);
    const refused = await q.evaluate(async () => {
      const code = await window.minibase.connect({ adapter: 'opfs', name: 'plain', channel: 'shared' }).then(() => 'open', (err) => err.code);
      const bad = await window.minibase.connect({ adapter: 'opfs', name: 'plain', channel: 'fast' }).then(() => 'open', (err) => err.code);
      const conn = await window.minibase.connect({ adapter: 'opfs', name: 'plain' });
      return { code, bad, isolated: globalThis.crossOriginIsolated, dbs: await conn.showDatabases(), buffer: globalThis[Symbol.for('minibase.opfsChannel')] !== undefined };
    });
    assert.deepEqual(refused, { code: 'BAD_QUERY', bad: 'BAD_QUERY', isolated: false, dbs: [], buffer: false });
    assert.deepEqual([...p.errors, ...m.errors, ...q.errors], []);
  }));

// Another script of the page writes into the shared buffer: lengths out of
// range, bytes that decode to nothing or to the wrong shape, a database that
// is not open, requests the engine refuses, a kick count that never comes
// down. Each is answered in the buffer with an error (or served anyway), the
// worker is the same one after, and the page's own calls go on.
test('opfs shared: hostile contents of the shared buffer are answered with errors; the worker goes on serving', { skip }, () =>
  withProfile(async (profile) => {
    const p = await env.page(await profile.launch());
    const r = await inPage(
      p,
      async (open) => {
        const conn = await open('hostile-shared');
        const notes = conn.table('notes');
        await notes.insertMany([{ text: 'a', n: 1 }, { text: 'b', n: 2 }]);
        const worker = globalThis[Symbol.for('minibase.opfsWorker')];
        const { cells, data } = globalThis[Symbol.for('minibase.opfsChannel')];
        const [REQ, ANS, REQ_LEN, META_LEN, ANS_KIND, ANS_LEN, KICK, BELL] = [0, 1, 2, 3, 4, 5, 6, 7];
        const within = (promise, ms = 10_000) => Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('no answer'), ms))]);
        // Writes a request as `write` says, rings, and reads the answer: the
        // error codes its bytes name, 'answered' when they name none.
        const raw = async (write) => {
          write();
          const seq = (Atomics.load(cells, REQ) + 1) | 0 || 1;
          Atomics.store(cells, REQ, seq);
          Atomics.add(cells, BELL, 1);
          Atomics.notify(cells, BELL);
          const answered = (async () => {
            while (Atomics.load(cells, ANS) !== seq) {
              const w = Atomics.waitAsync(cells, ANS, Atomics.load(cells, ANS), 100);
              if (w.async) await w.value;
            }
          })();
          if ((await within(answered)) === 'no answer') return 'no answer';
          if (Atomics.load(cells, ANS_KIND) !== 0) return 'by message';
          const text = new TextDecoder().decode(data.slice(0, Atomics.load(cells, ANS_LEN)));
          return (text.match(/[A-Z][A-Z_]{3,}/g) ?? ['answered']).join(' ');
        };
        const put = (bytes, n, m) => () => {
          data.set(bytes, 0);
          Atomics.store(cells, REQ_LEN, n);
          Atomics.store(cells, META_LEN, m);
        };
        const str = (s) => [0x05, s.length, ...new TextEncoder().encode(s)];
        // [null, name, 'get', null, null] after `req`, as codec.js encodes it.
        const request = (req, name) => {
          const meta = [0x07, 0x05, 0x00, ...str(name), ...str('get'), 0x00, 0x00];
          return put(new Uint8Array([...req, ...meta]), req.length, meta.length);
        };
        const answers = {
          negative: await raw(put(new Uint8Array(8), -1, 5)),
          huge: await raw(put(new Uint8Array(8), 0x7fffffff, 5)),
          noMeta: await raw(put(new Uint8Array(8), 8, 0)),
          garbage: await raw(put(new Uint8Array(64).fill(0xff), 32, 32)),
          notArray: await raw(put(new Uint8Array([0x05, 0x01, 0x78]), 0, 3)),
          shortArray: await raw(put(new Uint8Array([0x07, 0x01, 0x00]), 0, 3)),
          otherDatabase: await raw(request([0x07, 0x01, ...str('get')], 'not-open')),
          badRequest: await raw(request([0xff, 0xfe], 'hostile-shared')),
          emptyRequest: await raw(request([], 'hostile-shared')),
        };
        // A kick that never comes down (rung, so that the worker sees it
        // before the next call): the worker polls the buffer meanwhile.
        Atomics.store(cells, KICK, 1000);
        Atomics.add(cells, BELL, 1);
        Atomics.notify(cells, BELL);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const kicked = await within(notes.count());
        Atomics.store(cells, KICK, 0);
        const texts = await within(notes.select({ orderBy: [{ name: 'id', type: 'asc' }] }).then((rows) => rows.map((x) => x.text)));
        await notes.insert({ text: 'c', n: 3 });
        return { answers, kicked, texts, count: await notes.count(), same: globalThis[Symbol.for('minibase.opfsWorker')] === worker };
      },
      undefined,
      OPFS,
    );
    assert.deepEqual(r.answers, {
      negative: 'BAD_VALUE',
      huge: 'BAD_VALUE',
      noMeta: 'BAD_VALUE',
      garbage: 'BAD_VALUE',
      notArray: 'BAD_VALUE',
      shortArray: 'BAD_VALUE',
      otherDatabase: 'CLOSED',
      badRequest: 'BAD_VALUE', // the engine's refusal, in its answer bytes
      emptyRequest: 'BAD_VALUE',
    });
    assert.equal(r.kicked, 2, 'a call is served while a kick is outstanding');
    assert.deepEqual(r.texts, ['a', 'b']);
    assert.equal(r.count, 3);
    assert.ok(r.same, 'the same worker serves on');
    assert.deepEqual(p.errors, []);
  }));
