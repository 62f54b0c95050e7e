// The workloads of the peers benchmark, written once for every
// environment: run-one.mjs runs them in a Node process, chromium/page.mjs in
// a browser page. A system is an adapter object (see systems.mjs); `now` is
// the environment's clock in milliseconds.

export const SINGLES = 1000;
export const LOOKUPS = 10_000;
/** Rows of the small table of workload 3c (run-one.mjs). */
export const SMALL_ROWS = 5_000;
export const RANGES = 100;
export const KV_OPS = 10_000;

/** The benchmark table in minibase's schema (the peers declare the same keys and indexes their way). */
export const TABLE = {
  columns: [
    { name: 'id', type: 'number', primaryKey: true },
    { name: 'username', type: 'string', unique: true, notNull: true },
    { name: 'age', type: 'number' },
    { name: 'city', type: 'string' },
    { name: 'score', type: 'number' },
    { name: 'profile', type: 'object' },
  ],
  indexes: [{ columns: ['age'] }, { columns: ['city'] }],
};

/** The row number i of the benchmark table (~110 bytes of JSON). */
export function makeRow(i, rows, prefix = 'user') {
  const ages = Math.max(10, Math.floor(rows / 100)); // every age value is held by ~100 rows
  return {
    id: i + 1,
    username: `${prefix}${i}`,
    age: i % ages,
    city: `city${i % 37}`,
    score: (i * 7919) % rows,
    profile: { plan: i % 3 ? 'free' : 'pro', tags: ['a', 'b'], verified: i % 2 === 0 },
  };
}

/** The median of numbers (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic pseudo-random integers in [0, n). */
export function* randomInts(n, count, seed = 42) {
  // xorshift32, exact in 32-bit integers. The LCG here before multiplied
  // past 2^53, lost the low bits and cycled: 10,000 draws of 100,000 keys
  // named 3,330 distinct ones, of 5,000 only 662.
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b); // the seed mixed: a small one would start small
  x = (x ^ (x >>> 13)) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield Math.floor((x / 2 ** 32) * n);
  }
}

/** A ~1 KB JSON value for the key-value workload. */
export function kvValue(i) {
  const items = [];
  for (let j = 0; JSON.stringify(items).length < 950; j++) items.push({ id: i * 100 + j, name: `item ${j}`, ok: j % 2 === 0 });
  return { page: i, items };
}

/**
 * A recorder of results: `rec(key, ms, ops)` and `time(fn)`.
 * @param {() => number} now
 */
export function recorder(now, out) {
  out.ms ??= {};
  out.ops ??= {};
  return {
    rec(key, ms, ops) { out.ms[key] = ms; out.ops[key] = ops; },
    async time(fn) { const t0 = now(); await fn(); return now() - t0; },
  };
}

/**
 * Workloads 1–6 on a system whose table is set up, in order.
 * `beforeBulk` runs once the input rows are built and `afterBulk` right after
 * the bulk insert (memory readings).
 */
export async function runTableWorkloads(sys, { rows: ROWS, now, out, beforeBulk, afterBulk, memory }) {
  const { rec: record, time } = recorder(now, out);
  // `memory`, when given, is read after each workload, outside its time:
  // the report's memory columns per workload (`out.mem[key]`, { rss, wasm }).
  const rec = async (key, ms, ops) => {
    record(key, ms, ops);
    if (memory) (out.mem ??= {})[key] = await memory();
  };
  const check = (cond, msg) => { if (!cond) throw new Error(`${sys.name}: ${msg}`); };
  const AGES = Math.max(10, Math.floor(ROWS / 100));
  const rows = Array.from({ length: ROWS }, (_, i) => makeRow(i, ROWS));
  await beforeBulk?.();
  await rec('bulk', await time(async () => check((await sys.bulkInsert(rows)) === ROWS, 'bulk count')), ROWS);
  await afterBulk?.();

  // Each insert is also timed alone: the mean carries the machine's stalls
  // (a preempted thread, a collection) that the median per insert does not.
  // The first SINGLES inserts of the process are timed on their own
  // ('single-first'), then SINGLES more go untimed, then the timed SINGLES:
  // as with the scan below, V8 compiles the insert path's wasm in the
  // background while those first inserts run (the process used 1.75 CPUs
  // per wall second through the first 3,000 inserts, 1.1–1.3 after), and
  // on 2 cores that compiler preempts the main thread in 4 ms slices.
  const each = new Float64Array(SINGLES);
  let next = 0;
  const inserts = async (timed) => {
    for (let j = 0; j < SINGLES; j++, next++) {
      const t0 = now();
      await sys.insertOne(makeRow(ROWS + next, ROWS, 'new'));
      if (timed) each[j] = now() - t0;
    }
  };
  await rec('single-first', await time(() => inserts(false)), SINGLES);
  await inserts(false);
  await rec('single', await time(() => inserts(true)), SINGLES);
  each.sort();
  (out.median ??= {}).single = each[SINGLES >> 1];
  const N = ROWS + next;

  for (const i of randomInts(N, 1000, 7)) await sys.getById(i + 1);
  await rec('get-pk', await time(async () => {
    for (const i of randomInts(N, LOOKUPS)) check((await sys.getById(i + 1))?.id === i + 1, `get ${i + 1}`);
  }), LOOKUPS);
  const uname = (i) => (i < ROWS ? `user${i}` : `new${i}`);
  for (const i of randomInts(N, 1000, 7)) await sys.getByKey(uname(i));
  await rec('get-unique', await time(async () => {
    for (const i of randomInts(N, LOOKUPS)) check((await sys.getByKey(uname(i)))?.id === i + 1, `by key ${uname(i)}`);
  }), LOOKUPS);

  for (const a of randomInts(AGES - 2, 10, 7)) await sys.range(a, a + 2, 100);
  await rec('range', await time(async () => {
    for (const a of randomInts(AGES - 2, RANGES)) {
      const found = await sys.range(a, a + 2, 100);
      check(found.length === 100 && found[0].age === a && found[99].age <= a + 1, `range ${a}: ${found.length} rows`);
    }
  }), RANGES);

  if (sys.getByIdSync) {
    // Point lookups without a promise (minibase's getSync on the adapters
    // that read synchronously; the peers' own lookups, which are
    // synchronous), after a warm-up of their own. After the ranges, so that
    // the lookups and ranges above run as they did before these existed.
    for (const i of randomInts(N, 1000, 11)) sys.getByIdSync(i + 1);
    await rec('get-pk-sync', await time(async () => {
      for (const i of randomInts(N, LOOKUPS, 13)) check(sys.getByIdSync(i + 1)?.id === i + 1, `getSync ${i + 1}`);
    }), LOOKUPS);
  }

  const maxScore = Math.floor(ROWS / 100);
  // The lookups and ranges above are timed after a warm-up; so is the scan.
  // The first scan of a process is timed on its own (another bound, so the
  // timed one repeats nothing): V8 runs a wasm function in its baseline
  // compiler's code until its optimizing compiler, in the background, has
  // compiled it, and the scan loop is new code at that point.
  await rec('scan-first', await time(async () => { await sys.scan(maxScore >> 1); }), N);
  let scanned;
  await rec('scan', await time(async () => { scanned = (await sys.scan(maxScore)).length; }), N);
  check(scanned >= maxScore, `scan found ${scanned}`);
  if (sys.count) {
    let counted;
    await rec('count', await time(async () => { counted = await sys.count(maxScore); }), N);
    check(counted === scanned, `count ${counted}, scan ${scanned}`);
  }
  if (sys.topk) {
    // orderBy + limit on a column no index orders, over a third of the rows;
    // timed after a first one as the scan is (another bound, a quarter).
    let top;
    await rec('topk-first', await time(async () => { await sys.topk(Math.floor(N / 4), 10); }), Math.floor(N / 4));
    await rec('topk', await time(async () => { top = await sys.topk(Math.floor(N / 3), 10); }), Math.floor(N / 3));
    check(top.length === 10 && top[0].score >= top[9].score, 'top-k order');
  }

  const tenth = Math.floor(AGES / 10);
  let updated, deleted;
  await rec('update', await time(async () => { updated = await sys.update(tenth); }), 0);
  await rec('delete', await time(async () => { deleted = await sys.delete(AGES - tenth); }), 0);
  check(updated >= ROWS / 10 && deleted >= ROWS / 10, `update ${updated}, delete ${deleted}`);
  out.ops.update = updated;
  out.ops.delete = deleted;
  if (sys.updateRange) {
    // The update again, on as many other rows (ages no statement has
    // touched): the first update of a process runs largely while V8 still
    // compiles its path, as the first scan does. Last, so that it changes
    // nothing the workloads above measure.
    let again;
    await rec('update-again', await time(async () => { again = await sys.updateRange(tenth, 2 * tenth); }), 0);
    check(again >= ROWS / 10 && again < 2 * updated, `update again ${again}, first update ${updated}`);
    out.ops['update-again'] = again;
  }

  if (sys.explain) {
    const plan = async (q) => { const p = await sys.explain(q); return `${p.kind} on ${p.index}`; };
    out.plans = {
      range: await plan({ where: { age: { '>=': 1, '<': 3 } }, orderBy: ['age'], limit: 100 }),
      scan: await plan({ where: { score: { '<': maxScore } } }),
    };
  }
}

/**
 * Workload 8 on one key-value store: KV_OPS sets, then KV_OPS gets, of ~1 KB
 * values. `set`/`get` may be sync or async.
 */
export async function runKv(label, { set, get }, { now, out }) {
  const { rec, time } = recorder(now, out);
  const vals = Array.from({ length: 1000 }, (_, i) => kvValue(i));
  // await only what is a promise: sync twins are measured without a microtask per call
  const settle = (r) => (r && typeof r.then === 'function' ? r : undefined);
  rec(`kv-set-${label}`, await time(async () => {
    for (let i = 0; i < KV_OPS; i++) { const p = settle(set(`k${i}`, vals[i % 1000])); if (p) await p; }
  }), KV_OPS);
  rec(`kv-get-${label}`, await time(async () => {
    for (let i = 0; i < KV_OPS; i++) {
      let v = get(`k${i}`);
      if (settle(v)) v = await v;
      if (v === undefined) throw new Error(`kv get k${i}`);
    }
  }), KV_OPS);
}
