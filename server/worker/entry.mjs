// The Worker's main module: the Go sync server (build/worker.mjs, from
// `node server/worker/dev.mjs` or workers-assets-gen + go build) for every
// request, except that GET /v1/events goes to the tenant's Durable Object
// (hub.mjs) when one is bound as HUB: the Go server checks the token and
// reads the cursor (one D1 query), the object holds the stream. A long-poll
// (GET /v1/pull?wait=) that finds nothing waits on the same object for the
// tenant's next notice, then pulls again: no Go instance is held and no D1
// query made while it waits. Without the binding the Go server serves
// streams and long-polls itself, polling D1.
import goWorker from './build/worker.mjs';

export { TenantHub } from './hub.mjs';

const TICKET = '/__minibase/ticket';
/** syncserver.WaitHeader: "<wait ms> <tenant cursor> <tenant, path-escaped>" on an empty long-poll answer. */
const WAIT_HEADER = 'X-Minibase-Wait';
const CORS = ['Access-Control-Allow-Origin', 'Access-Control-Allow-Headers', 'Access-Control-Allow-Methods', 'Access-Control-Max-Age'];

// Test hooks (MINIBASE_SYNC_TEST_COUNT_QUERIES): D1 statements this isolate
// has prepared, served at /__minibase/queries; a tenant's hub's streams and
// waiting long-polls at /__minibase/hub?tenant=.
let queries = 0;

function countingDB(db) {
  return new Proxy(db, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (prop === 'prepare') return (...a) => { queries++; return v.apply(target, a); };
      if (prop === 'exec') return (...a) => { queries++; return v.apply(target, a); };
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

// longPoll serves GET /v1/pull?wait=: the Go server pulls (token, query and
// the wait's cap are its business) and, finding nothing, answers at once with
// WAIT_HEADER; then the tenant's Durable Object holds the request until a
// push announces a cursor past the one read, and the Go server pulls again.
// A notice for rows the pull does not ask for (tables=) waits again, within
// the same deadline.
async function longPoll(request, env, ctx) {
  let deadline = 0;
  for (;;) {
    const res = await goWorker.fetch(new Request(request.url, { headers: request.headers }), env, ctx);
    const wait = res.headers.get(WAIT_HEADER);
    if (!wait) return res; // changes, an error, or no wait asked
    // Read now, while the Go instance that wrote it runs (a body left for
    // later cannot be cancelled once it has gone): an empty page, small.
    const body = await res.arrayBuffer();
    const headers = new Headers(res.headers);
    headers.delete(WAIT_HEADER);
    const answer = () => new Response(body, { status: res.status, headers });
    const [ms, after, tenant] = wait.split(' ');
    if (!deadline) deadline = Date.now() + Number(ms);
    const left = deadline - Date.now();
    if (left <= 0 || request.signal?.aborted) return answer();
    const hub = env.HUB.get(env.HUB.idFromName(decodeURIComponent(tenant)));
    let held;
    try {
      held = await hub.fetch(`https://hub/wait?after=${after}&ms=${left}`, { signal: request.signal });
    } catch (err) {
      if (request.signal?.aborted) return answer(); // the client left; nobody reads it
      // The object failed (reset, overloaded): the client backs off and asks again.
      console.error(`minibase-sync: long-poll wait on the hub: ${err}`);
      return Response.json({ error: { code: 'UNAVAILABLE', message: 'cannot wait for changes now; pull again later' } },
        { status: 503, headers: mergeCORS({ 'Retry-After': '5' }, res.headers) });
    }
    if (held.status !== 200) {
      return new Response(held.body, { status: held.status, headers: mergeCORS(held.headers, res.headers) });
    }
    const { notified } = await held.json();
    if (!notified) return answer();
  }
}

function mergeCORS(into, from) {
  const headers = new Headers(into);
  for (const h of CORS) if (from.has(h)) headers.set(h, from.get(h));
  return headers;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const counting = env.MINIBASE_SYNC_TEST_COUNT_QUERIES === '1';
    if (counting) {
      if (url.pathname === '/__minibase/queries') return Response.json({ queries });
      env = { ...env, DB: countingDB(env.DB) };
    }
    if (counting && url.pathname === '/__minibase/hub' && env.HUB) {
      const hub = env.HUB.get(env.HUB.idFromName(url.searchParams.get('tenant') ?? ''));
      return hub.fetch('https://hub/stats');
    }
    if (url.pathname.startsWith('/__minibase/')) return new Response('not found', { status: 404 });
    if (env.HUB && url.pathname === '/v1/pull' && request.method === 'GET' && url.searchParams.has('wait')) {
      return longPoll(request, env, ctx);
    }
    if (env.HUB && url.pathname === '/v1/events' && request.method === 'GET') {
      const ticketURL = new URL(TICKET, url);
      const answer = await goWorker.fetch(new Request(ticketURL, { headers: request.headers }), env, ctx);
      if (answer.status !== 200) return answer; // 401 and such, in the protocol's shape
      const { tenant, cursor } = await answer.json();
      const hub = env.HUB.get(env.HUB.idFromName(tenant));
      const res = await hub.fetch(`https://hub/events?cursor=${cursor}`, { signal: request.signal });
      const headers = new Headers(res.headers);
      for (const h of CORS) if (answer.headers.has(h)) headers.set(h, answer.headers.get(h));
      return new Response(res.body, { status: res.status, headers });
    }
    return goWorker.fetch(request, env, ctx);
  },
  scheduled: (event, env, ctx) => goWorker.scheduled(event, env, ctx),
};
