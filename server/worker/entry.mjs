// The Worker's main module: the Go sync server (build/worker.mjs, from
// `node server/worker/dev.mjs` or workers-assets-gen + go build) for every
// request, except that GET /v1/events goes to the tenant's Durable Object
// (hub.mjs) when one is bound as HUB: the Go server checks the token and
// reads the cursor (one D1 query), the object holds the stream. Without the
// binding the Go server serves streams itself, polling D1.
import goWorker from './build/worker.mjs';

export { TenantHub } from './hub.mjs';

const TICKET = '/__minibase/ticket';
const CORS = ['Access-Control-Allow-Origin', 'Access-Control-Allow-Headers', 'Access-Control-Allow-Methods', 'Access-Control-Max-Age'];

// Test hook (MINIBASE_SYNC_TEST_COUNT_QUERIES): D1 statements this isolate
// has prepared, served at /__minibase/queries.
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

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const counting = env.MINIBASE_SYNC_TEST_COUNT_QUERIES === '1';
    if (counting) {
      if (url.pathname === '/__minibase/queries') return Response.json({ queries });
      env = { ...env, DB: countingDB(env.DB) };
    }
    if (url.pathname.startsWith('/__minibase/')) return new Response('not found', { status: 404 });
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
