// Compile-only test of the sync types.
import { connect, type SyncStatus, type SyncConflict, type DeadLetter, type Row } from 'minibase-db';

async function syncUsage(): Promise<void> {
  const conn = await connect({ adapter: 'memory', root: 'types-sync' });
  await conn.createTable('todos', { sync: true, columns: [{ name: 'id', type: 'string', primaryKey: true }] });
  const sync = conn.sync({
    url: 'http://127.0.0.1:8787',
    tables: ['todos'],
    auth: async () => 'token',
    conflict: (local: Row | null, remote: Row | null, base: Row | null) => ({ ...base, ...remote, ...local }),
    onProgress: ({ pulled }) => void pulled,
  });
  const lww = conn.sync({ url: 'x', conflict: 'server-wins', auth: 't', fetch: globalThis.fetch });
  // @ts-expect-error unknown policy
  conn.sync({ url: 'x', conflict: 'newest' });
  await sync.now();
  sync.start({ interval: 10_000, realtime: true });
  sync.stop();
  const n: number = await sync.pending();
  const st: SyncStatus = await sync.status();
  const off = sync.on('conflict', (c: SyncConflict) => void c.resolution);
  off();
  sync.on('change', (c) => void c.row);
  const dl: DeadLetter[] = await sync.deadLetters();
  if (dl[0]) {
    await sync.retry(dl[0]);
    await sync.discard(dl[0].op);
  }
  await lww.close();
  void n, st;
}

void syncUsage;
