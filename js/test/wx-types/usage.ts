// Compile-only usage of js/wx.d.ts (the mini-program entry, 'minibase-db/wx').
import { connect, openStorage, preload, bindLive, polyfills, DEFAULT_WASM_PATH, MIN_WECHAT_SDK, MinibaseError, type Connection } from 'minibase-db/wx';

declare const wx: { env: { USER_DATA_PATH: string }; getFileSystemManager(): object; getRandomValues(o: { length: number }): void };

async function main(): Promise<void> {
  await preload({ wasm: '/engine/minibase.wasm.br', subpackage: 'engine' });
  const conn: Connection = await connect({ root: 'notes', wasm: DEFAULT_WASM_PATH, api: wx, reserveMB: 16 });
  await conn.createDatabase('d', { ifNotExists: true });
  const store = await openStorage({ adapter: 'wx', prefix: 'mp_', sweepInterval: 0, wasm: '/engine/minibase.wasm.br', subpackage: 'engine' });
  await store.set('k', 1, { expire: 60 });
  const names: readonly string[] = polyfills;
  try {
    await connect({ adapter: 'memory' });
  } catch (err) {
    if (err instanceof MinibaseError && err.code === 'UNSUPPORTED_RUNTIME') console.log(MIN_WECHAT_SDK, names.length);
  }
  const page = { data: { todos: [] as unknown[] }, setData(patch: Record<string, unknown>) { void patch; } };
  const binding = bindLive(page, 'todos', conn.table('todos').watch({ orderBy: 'id' }), { map: (rows) => rows.slice(0, 20) });
  const sent: number = binding.sent;
  binding.unsubscribe();
  void sent;
  // @ts-expect-error the wx entry has no node adapter
  await connect({ adapter: 'node' });
}
void main;

async function syncReads(conn: Connection): Promise<void> {
  const t = conn.table('notes');
  const row: Record<string, any> | null = t.getSync(1);
  const rows: Record<string, any>[] = t.selectSync({ where: { done: false }, limit: 5 });
  const n: number = t.countSync();
  console.log(row, rows.length, n);
}
void syncReads;
