// OpfsOwner (js/src/opfs-worker.js) against a stand-in for its worker that
// keeps call records as the engine does: which calls it runs under their id,
// which resent calls it answers from a record without running them, and
// when it tells the engine to forget records. (The real worker, engine and
// OPFS: js/test/browser/tabs.test.mjs and opfs.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpfsOwner } from '../src/opfs-worker.js';

const splitId = (id) => {
  const at = id.lastIndexOf(':');
  return [id.slice(0, at), Number(id.slice(at + 1))];
};

class FakeWorker {
  lost = false;
  requests = [];
  records = new Map(); // call id → reply, as the engine's call records
  rows = 0;
  #handles = 0;

  async request(type, msg) {
    this.requests.push({ type, ...msg });
    switch (type) {
      case 'exec': {
        if (msg.op === 'open') return { reply: { result: ++this.#handles }, wrote: false };
        if (msg.id && this.records.has(msg.id)) return { reply: this.records.get(msg.id), wrote: false };
        const reply = { result: { id: ++this.rows } };
        if (msg.id) this.records.set(msg.id, reply);
        return { reply, wrote: true };
      }
      case 'recorded': {
        const opened = msg.handle === undefined ? ++this.#handles : undefined;
        return { reply: this.records.get(msg.id) ?? null, opened };
      }
      case 'forget':
        for (const id of [...this.records.keys()]) {
          const [from, seq] = splitId(id);
          if (from === msg.from && seq < msg.floor) this.records.delete(id);
        }
        return undefined;
      default:
        throw new Error(`unexpected ${type}`);
    }
  }

  take(type) {
    const out = this.requests.filter((r) => r.type === type);
    this.requests = this.requests.filter((r) => r.type !== type);
    return out;
  }
}

const owner = (worker) => new OpfsOwner(worker, 'db', 'normal', [], {});
const insert = (h) => ['insert', [h, 0, 'app', 't', { v: 1 }]];

test('a forwarded call runs under its id; resent, it is answered and not run again', async () => {
  const w = new FakeWorker();
  const o = owner(w);
  const { result: h } = await o.exec(o.epoch, 'open', [{}]);
  const first = await o.exec(o.epoch, ...insert(h), 'tab:1');
  assert.deepEqual(first.result, { id: 1 });
  assert.equal(w.take('exec').at(-1).id, 'tab:1');
  // Resent to the same owner: from its memory.
  assert.deepEqual((await o.exec(o.epoch, ...insert(h), 'tab:1')).result, { id: 1 });
  assert.equal(w.take('exec').length, 0);
  assert.equal(w.rows, 1);

  // A new owner (another page) gets the call with the old owner's epoch:
  // the engine's record answers it; a call it has no record of is stale.
  const next = owner(w);
  const resent = await next.exec(o.epoch, ...insert(h), 'tab:1');
  assert.deepEqual(resent, { result: { id: 1 }, epoch: next.epoch });
  assert.deepEqual(await next.exec(o.epoch, ...insert(h), 'tab:2'), { stale: next.epoch });
  const asked = w.take('recorded');
  assert.equal(asked.length, 2);
  assert.equal(asked[0].handle, undefined, 'no connection open yet: the worker opens one');
  assert.notEqual(asked[1].handle, undefined, 'and it is used again');
  assert.equal(w.take('exec').length, 0, 'neither ran');
  assert.equal(w.rows, 1);
});

test('records are forgotten when a tab settles: the first time, then once 32 were made', async () => {
  const w = new FakeWorker();
  const o = owner(w);
  o.settle('tab', 1);
  assert.deepEqual(w.take('forget'), [], 'no connection open: nothing to settle through');
  const { result: h } = await o.exec(o.epoch, 'open', [{}]);
  o.settle('tab', 1);
  assert.deepEqual(
    w.take('forget').map((r) => [r.from, r.floor, r.handle]),
    [['tab', 1, h]],
    'the first settle of a tab goes to the engine (records of an earlier owner)',
  );
  for (let seq = 1; seq <= 40; seq++) {
    await o.exec(o.epoch, ...insert(h), `tab:${seq}`);
    o.settle('tab', seq); // its calls below seq are answered
  }
  const forgets = w.take('forget');
  assert.deepEqual(forgets.map((r) => r.floor), [32], 'one settle for 32 records');
  assert.equal(w.records.size, 9, 'calls 32 to 40 are still recorded');
  o.settle('tab', 32);
  assert.deepEqual(w.take('forget'), [], 'a floor not past the last one is no news');
});

test("the owner's own calls run under their id, unremembered, and settle as they finish", async () => {
  const w = new FakeWorker();
  const o = owner(w);
  const { result: h } = await o.exec(o.epoch, 'open', [{}], undefined, 'me:1');
  const calls = [];
  for (let seq = 2; seq <= 40; seq++) calls.push(o.exec(o.epoch, ...insert(h), undefined, `me:${seq}`));
  await Promise.all(calls);
  const runs = w.take('exec').filter((r) => r.op === 'insert');
  assert.equal(runs.length, 39);
  assert.ok(runs.every((r, i) => r.id === `me:${i + 2}`), 'each under its own id');
  const forgets = w.take('forget');
  assert.ok(forgets.length >= 1 && forgets.length <= 3, `settled in a few commits, not per call (${forgets.length})`);
  assert.ok(forgets.every((f) => f.from === 'me'));
  // No floor passes a call still under way: the last settles below 41 at most.
  assert.ok(forgets.every((f) => f.floor <= 41));
  // A resent own id is not answered from the owner's memory (the engine's record is the truth).
  await o.exec(o.epoch, ...insert(h), undefined, 'me:41');
  assert.equal(w.take('exec').length, 1);
});
