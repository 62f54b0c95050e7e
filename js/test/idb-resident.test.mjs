// The chunk cache of the IndexedDB adapter (js/src/browser-idb.js) on
// fake-indexeddb, with a stand-in for the engine: a call reads ranges of a
// chunked file synchronously, goes on reading after a miss (as the engine
// does, a bounded number of reads) and fails when it missed, and run()
// loads what it noted and runs it again. The bound of the loaded chunks
// holds during calls, not only between them; answers stay right after
// evictions; a call needing more than the budget completes within
// callBytes, and one needing more than that fails with TOO_LARGE, without
// running again and again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { CHUNK_BYTES, FileStore, idbName } from '../src/browser-idb.js';

// browser-idb.js uses the page's IDBKeyRange (a factory is passed in).
globalThis.IDBKeyRange ??= IDBKeyRange;

const KB = 1024;

/** A file of n pseudo-random bytes (seeded). */
function bytes(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A store whose file `path` (`data`) is committed and read back: nothing of it loaded. */
async function storeWith(path, data, options) {
  const factory = new IDBFactory();
  const writer = await FileStore.open('t', factory);
  writer.put(path, data);
  await writer.flush();
  writer.close();
  return FileStore.open('t', factory, options);
}

class NotResident extends Error {}

/**
 * An engine call reading `ranges` of path: on a miss it reads on (up to
 * `pending` more misses) so one run names several chunks, then fails.
 */
function call(store, path, ranges, { pending = Infinity, runs } = {}) {
  return () => {
    if (runs) runs.n++;
    const out = [];
    let missed = 0;
    for (const [off, n] of ranges) {
      const b = store.read(path, off, n);
      if (b === null) {
        if (++missed > pending) break;
        continue;
      }
      if (typeof b === 'string') throw new Error(b);
      if (!missed) out.push(b.slice());
    }
    if (missed) throw new NotResident('not resident');
    return out;
  };
}

// The bytes of the distinct chunks ranges touch.
function chunkBytesOf(ranges, size) {
  const chunks = new Set();
  for (const [off, n] of ranges) {
    for (let i = Math.floor(off / CHUNK_BYTES); i <= Math.floor((off + n - 1) / CHUNK_BYTES); i++) chunks.add(i);
  }
  let total = 0;
  for (const i of chunks) total += Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES);
  return total;
}

test('random reads over a file 8× the budget: loaded chunks within the budget between calls, past it only by the call in progress, answers right', async () => {
  const size = 2 * 1024 * KB + 1234; // 33 chunks, the last one short
  const data = bytes(size);
  const budget = 4 * CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget });
  let seed = 7;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let most = 0; // the most one call touched
  for (let c = 0; c < 300; c++) {
    // 1 to 6 ranges, some crossing a chunk boundary; every 25th call reads 6 chunks (past the budget).
    const ranges = [];
    const count = c % 25 === 24 ? 6 : 1 + rand(3);
    for (let r = 0; r < count; r++) {
      const n = 1 + rand(12 * KB);
      const off = c % 25 === 24 ? (r * 5 + c) % 33 * CHUNK_BYTES : rand(size - n);
      ranges.push([off, Math.min(n, size - off)]);
    }
    most = Math.max(most, chunkBytesOf(ranges, size));
    const got = await store.run(call(store, 'seg.sst', ranges));
    assert.deepEqual(got, ranges.map(([off, n]) => data.slice(off, off + n)), `call ${c}`);
    const s = store.stats();
    assert.ok(s.residentBytes <= budget, `after call ${c}: ${s.residentBytes} bytes loaded, budget ${budget}`);
  }
  const s = store.stats();
  assert.ok(most > budget, 'some calls needed more than the budget');
  assert.ok(s.peakResidentBytes <= Math.max(budget, most), `peak ${s.peakResidentBytes}: past the budget by more than one call (${most})`);
  assert.ok(s.peakCallBytes <= most, `one call held ${s.peakCallBytes}, it touched at most ${most}`);
  assert.ok(s.evictions > 0 && s.chunkLoads > 33, JSON.stringify(s));
  store.close();
});

test('a call keeps the chunks it found loaded while it loads more: one run per miss, no chunk loaded twice', async () => {
  const size = 1024 * KB;
  const data = bytes(size, 13);
  const budget = 2 * CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget });
  const warm = [[10, 10], [CHUNK_BYTES + 10, 10]];
  await store.run(call(store, 'seg.sst', warm)); // chunks 0 and 1 loaded, the whole budget
  const before = store.stats().chunkLoads;
  const ranges = [...warm, [5 * CHUNK_BYTES, 10], [9 * CHUNK_BYTES, 10]];
  const runs = { n: 0 };
  const got = await store.run(call(store, 'seg.sst', ranges, { pending: 0, runs }));
  assert.deepEqual(got, ranges.map(([o, n]) => data.slice(o, o + n)));
  assert.equal(runs.n, 3, 'a run for chunk 5, one for chunk 9, one that answers');
  assert.equal(store.stats().chunkLoads - before, 2, 'chunks 0 and 1 were kept, not let go and loaded again');
  assert.ok(store.stats().residentBytes <= budget);
  store.close();
});

test('reads while another call waits for its chunks: neither loses the chunks it read', async () => {
  const size = 1024 * KB;
  const data = bytes(size, 3);
  const budget = 2 * CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget });
  const a = [[0, 10], [3 * CHUNK_BYTES + 5, 100], [9 * CHUNK_BYTES, 70 * KB]];
  const b = [[15 * CHUNK_BYTES + 1, 9], [5 * CHUNK_BYTES, 64], [12 * CHUNK_BYTES - 10, 20]];
  const runsA = { n: 0 };
  const runsB = { n: 0 };
  const [ga, gb] = await Promise.all([
    store.run(call(store, 'seg.sst', a, { pending: 0, runs: runsA })),
    store.run(call(store, 'seg.sst', b, { pending: 0, runs: runsB })),
  ]);
  assert.deepEqual(ga, a.map(([o, n]) => data.slice(o, o + n)));
  assert.deepEqual(gb, b.map(([o, n]) => data.slice(o, o + n)));
  // One run per miss (one miss noted a run), and no run lost a chunk to the other call.
  assert.ok(runsA.n <= 5 && runsB.n <= 5, `${runsA.n} and ${runsB.n} runs`);
  assert.ok(store.stats().residentBytes <= budget);
  store.close();
});

test('a scan of 16× the budget in one call completes (its chunks stay loaded until it ends, read ahead), then the budget holds', async () => {
  const size = 1024 * KB;
  const data = bytes(size, 5);
  const budget = CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget, callBytes: 2 * size });
  const ranges = [];
  for (let off = 0; off < size; off += 4 * KB) ranges.push([off, 4 * KB]);
  const runs = { n: 0 };
  const got = await store.run(call(store, 'seg.sst', ranges, { pending: 8, runs }));
  assert.equal(got.length, ranges.length);
  assert.deepEqual(Buffer.concat(got), Buffer.from(data));
  // Without reading ahead, 16 runs at least; without keeping its chunks, it never ends (64 runs, then IO).
  assert.ok(runs.n <= 8, `${runs.n} runs`);
  const s = store.stats();
  assert.ok(s.peakCallBytes >= size, JSON.stringify(s));
  assert.ok(s.residentBytes <= budget, `after the call: ${s.residentBytes}`);
  store.close();
});

test('a call needing more than callBytes fails with TOO_LARGE after a few runs, changes nothing, and the next calls work', async () => {
  const size = 1024 * KB;
  const data = bytes(size, 9);
  const budget = CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget, callBytes: 4 * CHUNK_BYTES });
  const ranges = [];
  for (let off = 0; off < size; off += 4 * KB) ranges.push([off, 4 * KB]);
  const runs = { n: 0 };
  await assert.rejects(store.run(call(store, 'seg.sst', ranges, { pending: 8, runs })), (err) => {
    assert.equal(err.code, 'TOO_LARGE');
    assert.match(err.message, /reads more than 0\.3 MB of segment files at once.*residentBytes/);
    return true;
  });
  assert.ok(runs.n <= 6, `${runs.n} runs before giving up`);
  let s = store.stats();
  assert.ok(s.peakResidentBytes <= 4 * CHUNK_BYTES, `never past callBytes: ${JSON.stringify(s)}`);
  assert.ok(s.residentBytes <= budget);
  // A scan within callBytes, and a point read, still work.
  const small = [[0, 100], [3 * CHUNK_BYTES - 50, 100]];
  assert.deepEqual(await store.run(call(store, 'seg.sst', small)), small.map(([o, n]) => data.slice(o, o + n)));
  assert.deepEqual(await store.run(call(store, 'seg.sst', [[size - 10, 10]])), [data.slice(size - 10)]);
  s = store.stats();
  assert.ok(s.residentBytes <= budget);
  store.close();
});

test('a budget of 0 keeps nothing loaded between calls, and every call still answers', async () => {
  const size = 300 * KB;
  const data = bytes(size, 11);
  const store = await storeWith('seg.sst', data, { residentBytes: 0 });
  for (const off of [0, 100 * KB, 299 * KB, 64 * KB - 3]) {
    assert.deepEqual(await store.run(call(store, 'seg.sst', [[off, 1000]])), [data.slice(off, off + 1000)]);
    assert.equal(store.stats().residentBytes, 0);
  }
  store.close();
});

// A compaction step as the engine runs one (lsm.Store.CompactStep): it reads
// on from where the last step stopped and, at the first chunk not loaded,
// stops and succeeds; the owner then calls the next step.
function step(store, path, size, at, out) {
  return () => {
    while (at.off < size) {
      const n = Math.min(4 * KB, size - at.off);
      const b = store.read(path, at.off, n);
      if (b === null) return 'more';
      if (typeof b === 'string') throw new Error(b);
      out.push(b.slice());
      at.off += n;
    }
    return 'done';
  };
}

test('steps that stop at chunks not loaded read a file 16× the budget within the budget: what a step missed is loaded for the next, read ahead, each chunk once', async () => {
  const size = 1024 * KB;
  const data = bytes(size, 21);
  const budget = 4 * CHUNK_BYTES;
  const store = await storeWith('seg.sst', data, { residentBytes: budget, callBytes: 2 * size });
  const at = { off: 0 };
  const out = [];
  let steps = 0;
  for (let r = 'more'; r === 'more'; steps++) {
    assert.ok(steps < 100, 'the steps never end');
    r = await store.run(step(store, 'seg.sst', size, at, out), { merging: true });
    const s = store.stats();
    assert.ok(s.residentBytes <= budget, `after step ${steps}: ${JSON.stringify(s)}`);
  }
  assert.deepEqual(Buffer.concat(out), Buffer.from(data));
  const s = store.stats();
  // Loaded up to the budget, never up to callBytes (what a compaction's inputs could take before steps).
  assert.ok(s.peakResidentBytes <= budget, JSON.stringify(s));
  assert.equal(s.chunkLoads, size / CHUNK_BYTES, `each chunk loaded once: ${JSON.stringify(s)}`);
  assert.ok(steps <= 8, `${steps} steps: read ahead`);
  assert.equal(s.compactSteps, steps);
  assert.equal(s.reruns, 0, 'a step that stopped is not run again');
  store.close();
});

test("a compaction step's output is not kept loaded after its commit; a flush's is, within the budget", async () => {
  const store = await storeWith('seg.sst', bytes(4 * CHUNK_BYTES, 3), { residentBytes: 8 * CHUNK_BYTES });
  const out = bytes(3 * CHUNK_BYTES, 4);
  await store.run(() => store.put('merged.sst', out), { merging: true });
  await store.flush();
  assert.equal(store.stats().residentBytes, 0, 'the merge output went to IndexedDB only');
  await store.run(() => store.put('flushed.sst', out));
  await store.flush();
  assert.equal(store.stats().residentBytes, 3 * CHUNK_BYTES, "the flush's output stays loaded for the reads after it");
  // Both read back right.
  for (const path of ['merged.sst', 'flushed.sst']) {
    const got = await store.run(call(store, path, [[0, out.length]]));
    assert.deepEqual(got, [out]);
  }
  store.close();
});

test('an open names the chunks it read: the next load reads them with the files, and the open runs once; a stale or malformed hint changes no answer', async () => {
  const factory = new IDBFactory();
  const commit = async (files) => {
    const w = await FileStore.open('t', factory);
    for (const [path, data] of Object.entries(files)) w.put(path, data);
    await w.flush();
    w.close();
  };
  let data = bytes(8 * CHUNK_BYTES + 100, 21);
  await commit({ 'seg.sst': data, 'other.sst': bytes(3 * CHUNK_BYTES, 5) });
  let ranges = [[10, 10], [5 * CHUNK_BYTES + 3, 20], [8 * CHUNK_BYTES + 50, 50]];
  const open = async ({ opening = true } = {}) => {
    const s = await FileStore.open('t', factory);
    const runs = { n: 0 };
    const got = await s.run(call(s, 'seg.sst', ranges, { runs }), { opening });
    assert.deepEqual(got, ranges.map(([o, n]) => data.slice(o, o + n)));
    const { openPrefetched, chunkLoads, reruns } = s.stats();
    s.close(); // after the hint's write, which was asked for first
    return { runs: runs.n, openPrefetched, chunkLoads, reruns };
  };
  assert.deepEqual(await open(), { runs: 2, openPrefetched: 0, chunkLoads: 3, reruns: 1 }, 'no hint yet: one run misses all three');
  assert.deepEqual(await open(), { runs: 1, openPrefetched: 3, chunkLoads: 3, reruns: 0 }, 'the hint loads them with the files');
  // A call that is not an open leaves the hint as it was.
  ranges = [[2 * CHUNK_BYTES, 10]];
  assert.deepEqual(await open({ opening: false }), { runs: 2, openPrefetched: 3, chunkLoads: 4, reruns: 1 });
  ranges = [[10, 10], [5 * CHUNK_BYTES + 3, 20], [8 * CHUNK_BYTES + 50, 50]];
  assert.equal((await open()).openPrefetched, 3);

  // The file is rewritten shorter: the hint names chunks it no longer has
  // and one it has with new bytes; the new ones are read.
  data = bytes(2 * CHUNK_BYTES + 7, 99);
  await commit({ 'seg.sst': data });
  ranges = [[10, 10], [CHUNK_BYTES + 5, 30]];
  const stale = await open();
  assert.equal(stale.openPrefetched, 1, 'chunk 0 of the new file only');
  assert.equal(stale.runs, 2);
  assert.deepEqual(await open(), { runs: 1, openPrefetched: 2, chunkLoads: 2, reruns: 0 });

  // Whatever else META holds under the hint's key is no hint.
  for (const junk of ['x', [[1, 2], ['seg.sst', -1], ['seg.sst'], null], { 0: ['seg.sst', 0] }]) {
    const db = await new Promise((resolve, reject) => {
      const r = factory.open(idbName('t'));
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction(['meta'], 'readwrite');
    tx.objectStore('meta').put(junk, 'openChunks');
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
    const got = await open();
    assert.equal(got.openPrefetched, 0, JSON.stringify(junk));
    assert.equal(got.runs, 2);
  }
});

test('the calls right after an open name the chunks they read for the next open (an open itself reads none); a merge step is none of them', async () => {
  const factory = new IDBFactory();
  const w = await FileStore.open('t', factory);
  w.put('seg.sst', bytes(8 * CHUNK_BYTES, 3));
  await w.flush();
  w.close();
  // One session: an open that reads nothing, then calls reading the given
  // ranges ({ merging } marks a merge step).
  const session = async (calls) => {
    const s = await FileStore.open('t', factory);
    await s.run(() => 'opened', { opening: true });
    for (const { ranges, merging = false } of calls) await s.run(call(s, 'seg.sst', ranges), { merging });
    const { openPrefetched, reruns } = s.stats();
    s.close(); // after the hint's write, which was asked for first
    return { openPrefetched, reruns };
  };
  const chunk = (n) => ({ ranges: [[n * CHUNK_BYTES + 10, 10]] });
  const none = { ranges: [] };
  // Four calls after the open (chunks 0 and 3 read), a merge step among
  // them (chunk 5), and a fifth call past them (chunk 6).
  const calls = [chunk(0), none, { ...chunk(5), merging: true }, chunk(3), none, chunk(6)];
  assert.deepEqual(await session(calls), { openPrefetched: 0, reruns: 4 });
  assert.deepEqual(await session(calls), { openPrefetched: 2, reruns: 2 }, 'chunks 0 and 3 load with the files; 5 and 6 do not');
  // A session with fewer calls than the window leaves the hint as it was.
  assert.deepEqual(await session([chunk(7)]), { openPrefetched: 2, reruns: 1 });
  assert.deepEqual(await session([]), { openPrefetched: 2, reruns: 0 });
});
