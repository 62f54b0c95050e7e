// The Worker build refuses pushes from clients whose declared schema is older
// than MINIBASE_SYNC_MIN_SCHEMA_VERSION, as the native server does with
// -min-schema-version: 422 SCHEMA_TOO_OLD, nothing stored.
//
//   node --test server/worker/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildWorker, startWorker, signToken } from './dev.mjs';

let w = null;
let skipReason = '';

before(async () => {
  buildWorker({ quiet: true });
  try {
    w = await startWorker({ build: false, minSchemaVersion: 2 });
  } catch (e) {
    if (/Ready on/.test(String(e.message))) throw e;
    skipReason = `wrangler dev cannot start here: ${String(e.message).split('\n').slice(0, 3).join(' | ')}`;
  }
});

after(async () => { if (w) await w.stop(); });

const change = (key, ms) => ({ op: `v${key}`, table: 'todos', key, row: { id: key }, hlc: `${String(ms).padStart(15, '0')}-00000`, origin: 'dev-a' });

async function push(token, body) {
  const res = await fetch(`${w.url}/v1/push`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('clients below the minimum schema version are refused and nothing is stored', async (t) => {
  if (!w) return t.skip(skipReason);
  const token = signToken(w.secret, 'tenant-v', 'dev-a');
  const now = Date.now();
  for (const schemaVersion of [undefined, 1]) {
    const r = await push(token, { client: 'a', schemaVersion, changes: [change(1, now)] });
    assert.equal(r.status, 422, `schemaVersion ${schemaVersion}`);
    assert.equal(r.body.error?.code, 'SCHEMA_TOO_OLD', JSON.stringify(r.body));
    assert.equal(r.body.error.minSchemaVersion, 2);
  }
  const pulled = await (await fetch(`${w.url}/v1/pull?since=0`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(pulled.changes, [], 'nothing was stored');
  const ok = await push(token, { client: 'a', schemaVersion: 2, changes: [change(1, now)] });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.results[0].status, 'applied');
});
