// The sync server's Cloudflare Worker build (D1) under `wrangler dev`, checked
// over HTTP: health, auth, push statuses, pull, tenant isolation, validation,
// long-poll, events, and the retention purge from the cron trigger.
//
//   node --test server/worker/
//
// Skips (saying why) only when wrangler itself cannot start on this machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorker, startWorker, signToken } from './dev.mjs';

let w = null;
let skipReason = '';

before(async () => {
  buildWorker({ quiet: true }); // a build failure is a test failure, never a skip
  try {
    // Retention 1ms: the cron purge (triggered by hand at the end) drops every tombstone.
    w = await startWorker({ build: false, retention: '1ms', failTenant: 't-fault', countQueries: true });
  } catch (e) {
    if (/Ready on/.test(String(e.message))) throw e; // wrangler ran; our worker is broken
    skipReason = `wrangler dev cannot start here: ${String(e.message).split('\n').slice(0, 3).join(' | ')}`;
    console.log(`# SKIP worker tests: ${skipReason}`);
  }
});

after(async () => { if (w) await w.stop(); });

const hlc = (ms, n = 0) => `${String(ms).padStart(15, '0')}-${String(n).padStart(5, '0')}`;
const change = (op, key, row, ms, origin = 'dev-a', table = 'todos') => ({ op, table, key, row, hlc: hlc(ms), origin });

async function call(method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(w.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const push = (token, ...changes) => call('POST', '/v1/push', token, { client: 't', changes });
const pull = (token, q = 'since=0') => call('GET', `/v1/pull?${q}`, token);

function wtest(name, fn) {
  test(name, async (t) => {
    if (!w) { t.skip(skipReason); return; }
    await fn(t);
  });
}

wtest('health needs no token', async () => {
  const r = await call('GET', '/v1/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { ok: true, protocol: 1 });
});

wtest('missing, forged and expired tokens are 401', async () => {
  const forged = signToken('not-the-secret', 'a');
  const expired = signToken(w.secret, 'a', 'dev', Math.floor(Date.now() / 1000) - 10);
  for (const tk of [undefined, 'garbage', forged, expired]) {
    for (const [m, p, b] of [['GET', '/v1/pull?since=0'], ['POST', '/v1/push', { changes: [] }]]) {
      const r = await call(m, p, tk, b);
      assert.equal(r.status, 401, `${m} ${p} with ${tk}`);
      assert.equal(r.body.error.code, 'UNAUTHORIZED');
    }
  }
});

wtest('push: applied, duplicate, stale by (hlc, origin); pull in seq order', async () => {
  const tk = w.token('t-push');
  let r = await push(tk, change('p1', 1, { id: 1, title: 'one' }, 100), change('p2', 2, { id: 2, title: 'two' }, 100));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.results.map((x) => [x.status, x.seq]), [['applied', 1], ['applied', 2]]);
  assert.equal(r.body.cursor, 2);

  r = await push(tk, change('p1', 1, { id: 1, title: 'one' }, 100), change('p3', 1, { id: 1, title: 'old' }, 50));
  assert.equal(r.body.results[0].status, 'duplicate');
  assert.equal(r.body.results[0].seq, 1);
  assert.equal(r.body.results[1].status, 'stale');
  assert.equal(r.body.results[1].current.op, 'p1');
  assert.equal(r.body.results[1].current.row.title, 'one');

  r = await push(tk, change('p4', 1.0, null, 200)); // delete, key 1.0 is key 1
  assert.equal(r.body.results[0].status, 'applied');
  r = await pull(tk, 'since=0&limit=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.changes.length, 1);
  assert.equal(r.body.more, true);
  assert.equal(r.body.changes[0].key, 2);
  r = await pull(tk, `since=${r.body.cursor}`);
  assert.deepEqual(r.body.changes.map((c) => [c.key, c.row, c.seq]), [[1, null, 3]]);
  assert.equal(r.body.more, false);
});

wtest('a push that fails mid-batch keeps nothing (one D1 transaction)', async () => {
  // The worker runs with MINIBASE_SYNC_TEST_FAIL_TENANT=t-fault: its pushes get
  // a statement after their first write that fails only if that write is
  // visible, so the failure lands in the middle of the batch.
  const tk = w.token('t-fault');
  const r = await push(tk, change('f1', 1, { id: 1, title: 'a' }, 1), change('f2', 2, { id: 2, title: 'b' }, 1));
  assert.equal(r.status, 500, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'INTERNAL');
  const p = await pull(tk);
  assert.equal(p.status, 200);
  assert.deepEqual(p.body.changes, [], 'nothing of the failed push was kept');
  assert.equal(p.body.cursor, 0);
  // The same push on another tenant is stored whole, seqs from 1.
  const ok = await push(w.token('t-nofault'), change('f1', 1, { id: 1, title: 'a' }, 1), change('f2', 2, { id: 2, title: 'b' }, 1));
  assert.deepEqual(ok.body.results.map((x) => [x.status, x.seq]), [['applied', 1], ['applied', 2]]);
});

wtest('another tenant sees nothing', async () => {
  await push(w.token('t-iso-a'), change('i1', 1, { id: 1, secret: 'a' }, 1));
  const r = await pull(w.token('t-iso-b'));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.changes, []);
});

wtest('a bad change rejects the whole push (422, nothing applied)', async () => {
  const tk = w.token('t-bad');
  let r = await push(tk, change('g1', 1, { id: 1 }, 1), change('b1', 2, { id: 3 }, 1));
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'VALIDATION');
  assert.equal(r.body.error.index, 1);
  assert.equal(r.body.error.op, 'b1');
  r = await push(tk, change('g1', 1, { id: 1 }, 1), { ...change('b2', 2, { id: 2 }, 1), hlc: 'yesterday' });
  assert.equal(r.status, 422);
  r = await call('POST', '/v1/push', tk, undefined);
  assert.equal(r.status, 400);
  r = await push(tk, ...Array.from({ length: 1001 }, (_, i) => change(`m${i}`, i, { id: i }, 1)));
  assert.equal(r.status, 413);
  r = await pull(tk);
  assert.deepEqual(r.body.changes, []);
});

wtest('long-poll answers empty when the wait runs out, at once when data is there', async () => {
  const tk = w.token('t-lp');
  let r = await pull(tk, 'since=0&wait=1');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.changes, []);
  const waiting = pull(tk, 'since=0&wait=10');
  await push(tk, change('lp1', 1, { id: 1 }, 1));
  r = await waiting; // the worker polls D1 while it waits
  assert.equal(r.body.changes.length, 1);
});

const queryCount = async () => (await (await fetch(`${w.url}/__minibase/queries`)).json()).queries;
const hubStats = async (tenant) => (await fetch(`${w.url}/__minibase/hub?tenant=${encodeURIComponent(tenant)}`)).json();

// Resolves once the tenant's Durable Object holds n long-polls.
async function waitersHeld(tenant, n) {
  for (let i = 0; i < 600; i++) {
    if ((await hubStats(tenant)).waiters === n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the hub of ${tenant} never held ${n} long-polls (has ${(await hubStats(tenant)).waiters})`);
}

wtest('waiting long-polls are held by the Durable Object: no D1 query while they wait, one push wakes them all', async () => {
  const tenant = 't-lp-hub';
  const tk = w.token(tenant);
  await push(tk, change('w0', 1, { id: 1 }, 1));
  const polls = Array.from({ length: 5 }, () => pull(tk, 'since=1&wait=25'));
  await waitersHeld(tenant, 5);
  const before = await queryCount();
  await new Promise((r) => setTimeout(r, 3000)); // three of the Go server's poll intervals
  assert.equal(await queryCount(), before, 'no D1 statement while 5 long-polls waited');
  await push(tk, change('w1', 2, { id: 2 }, 2));
  for (const r of await Promise.all(polls)) {
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.changes.map((c) => [c.key, c.seq]), [[2, 2]]);
    assert.equal(r.body.cursor, 2);
  }
  assert.equal((await hubStats(tenant)).waiters, 0);
});

wtest('a long-poll on some tables sleeps through pushes to others, and its wait still ends', async () => {
  const tenant = 't-lp-tables';
  const tk = w.token(tenant);
  const poll = pull(tk, 'since=0&tables=todos&wait=25');
  await waitersHeld(tenant, 1);
  await push(tk, change('n1', 1, { id: 1 }, 1, 'dev-a', 'notes'));
  await waitersHeld(tenant, 1); // woken or not yet, it holds no change of todos
  await push(tk, change('t1', 1, { id: 1 }, 1));
  const r = await poll;
  assert.deepEqual(r.body.changes.map((c) => [c.table, c.seq]), [['todos', 2]]);
  // A wait that runs out answers empty, without the internal header.
  const res = await fetch(`${w.url}/v1/pull?since=2&tables=todos&wait=1`, { headers: { authorization: `Bearer ${tk}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-minibase-wait'), null);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.deepEqual((await res.json()).changes, []);
  const bad = await pull('garbage', 'since=0&wait=5');
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error.code, 'UNAUTHORIZED');
});

wtest('events stream starts with the current cursor', async () => {
  const tk = w.token('t-ev');
  await push(tk, change('e1', 1, { id: 1 }, 1));
  const ac = new AbortController();
  const res = await fetch(`${w.url}/v1/events`, { headers: { authorization: `Bearer ${tk}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const reader = res.body.getReader();
  let text = '';
  for (let i = 0; i < 50 && !text.includes('\n\n'); i++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ac.abort();
  assert.match(text, /event: change\ndata: \{"cursor": 1\}/);
});

// Reads SSE events from a fetch body: next() resolves with the next event's data.
function sse(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  return {
    async next() {
      for (let i = 0; i < 1000; i++) {
        const at = buf.indexOf('\n\n');
        if (at >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) return JSON.parse(data.slice(6));
          continue; // a comment (keep-alive)
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += dec.decode(value, { stream: true });
      }
      throw new Error('no event');
    },
  };
}

const openEvents = (tk, signal) => fetch(`${w.url}/v1/events`, { headers: { authorization: `Bearer ${tk}` }, signal });

wtest('events come from the tenant\'s Durable Object: one notice per push to every stream, none for other tenants', async () => {
  const tk = w.token('t-hub');
  await push(tk, change('h1', 1, { id: 1 }, 1));
  const ac = new AbortController();
  try {
    const streams = [];
    for (let i = 0; i < 5; i++) {
      const res = await openEvents(tk, ac.signal);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /text\/event-stream/);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const s = sse(res);
      assert.deepEqual(await s.next(), { cursor: 1 });
      streams.push(s);
    }
    await push(w.token('t-hub-other'), change('o1', 1, { id: 1 }, 1));
    await push(tk, change('h2', 2, { id: 2 }, 2));
    for (const s of streams) assert.deepEqual(await s.next(), { cursor: 2 });
    const stats = await fetch(`${w.url}/__minibase/ticket`, { headers: { authorization: `Bearer ${tk}` } });
    assert.equal(stats.status, 404, 'the internal ticket path is not reachable from outside');
    await stats.arrayBuffer();
    const bad = await openEvents('garbage');
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).error.code, 'UNAUTHORIZED');
  } finally {
    ac.abort();
  }
});

wtest('idle event streams cost no D1 query', async () => {
  const tk = w.token('t-idle');
  const ac = new AbortController();
  try {
    for (let i = 0; i < 10; i++) {
      const res = await openEvents(tk, ac.signal);
      await sse(res).next();
    }
    const count = async () => (await (await fetch(`${w.url}/__minibase/queries`)).json()).queries;
    const before = await count();
    assert.ok(before > 0, 'the counter counts');
    await new Promise((r) => setTimeout(r, 3000)); // three of the Go streams' poll intervals
    assert.equal(await count(), before, 'no D1 statement while 10 streams sat idle');
  } finally {
    ac.abort();
  }
});

wtest('cron purge advances the horizon: an old cursor must resync (410)', async () => {
  const tk = w.token('t-ret');
  await push(tk, change('r1', 1, { id: 1 }, 1), change('r2', 2, { id: 2 }, 1));
  await push(tk, change('r3', 2, null, 2)); // tombstone, seq 3
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled`);
  assert.equal(cron.status, 200, await cron.text());
  let r = await pull(tk, 'since=1');
  assert.equal(r.status, 410);
  assert.equal(r.body.error.code, 'RESYNC_REQUIRED');
  assert.equal(r.body.error.cursor, 3);
  r = await pull(tk, 'since=0');
  assert.deepEqual(r.body.changes.map((c) => c.key), [1]);
});
