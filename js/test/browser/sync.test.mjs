// Offline sync from the browser build: two IndexedDB databases in a page sync
// through the native server (another origin: CORS); the outbox of writes made
// offline survives a page reload, and a delete travels back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inPage, ready, skip, useBrowser } from './helpers.mjs';
import { startNative } from '../sync-server.mjs';

const env = useBrowser();
const page = () => env.page();
/** Runs fn(open, arg) in the page; open(name, options) → a connection with the synced table todos. */
const inTodos = (p, fn, arg) => inPage(p, fn, arg, { table: 'todos' });

test('IndexedDB databases sync through the server; the outbox survives a reload', { skip }, async () => {
  const srv = await startNative();
  try {
    const opts = { url: srv.url, token: srv.token('browser') };
    let p = await page();
    // Offline: writes queue in the outbox, nothing is sent.
    const queued = await inTodos(p, async (open) => {
      const a = await open('sync-a');
      await a.table('todos').insertMany([{ id: 'x', title: 'milk' }, { id: 'y', title: 'eggs' }]);
      await a.table('todos').update({ title: 'oat milk' }, { where: { id: 'x' } });
      const n = await a.sync({ url: 'http://127.0.0.1:9', auth: 't' }).pending();
      await a.close();
      return n;
    });
    assert.ok(queued >= 2, `outbox holds the offline writes (${queued})`);

    await p.reload();
    await ready(p);
    const r = await inTodos(
      p,
      async (open, { url, token }) => {
        const a = await open('sync-a');
        const b = await open('sync-b');
        const sa = a.sync({ url, auth: token });
        const sb = b.sync({ url, auth: token });
        const out = { pendingAfterReload: await sa.pending() };
        await sa.now();
        out.pendingAfterPush = await sa.pending();
        await sb.now();
        out.b = await b.table('todos').select({ orderBy: ['id'] });
        await b.table('todos').delete({ where: { id: 'y' } });
        await sb.now();
        await sa.now();
        out.a = await a.table('todos').select({ orderBy: ['id'] });
        await a.close();
        await b.close();
        return out;
      },
      opts,
    );
    assert.equal(r.pendingAfterReload, queued, 'the outbox was persisted in IndexedDB');
    assert.equal(r.pendingAfterPush, 0);
    assert.deepEqual(r.b, [{ id: 'x', title: 'oat milk' }, { id: 'y', title: 'eggs' }]);
    assert.deepEqual(r.a, [{ id: 'x', title: 'oat milk' }], 'the delete made in b reached a');
  } finally {
    await srv.stop();
  }
});
