// Compile-only test of the hand-written types: `npx tsc -p js/test/types`.
// Lines marked @ts-expect-error must fail to type-check.
import { connect, openStorage, preload, MinibaseError, type ErrorCode, type Row, type Plan, type Storage, type StorageInfo, type TableDescription } from 'minibase-db';
import { Connect } from 'minibase-db/compat';

async function main(): Promise<void> {
  const started: void = await preload({ adapter: 'opfs', channel: 'message', wasm: '/minibase.wasm' });
  void started;
  // @ts-expect-error: not an adapter
  await preload({ adapter: 'ftp' });
  // @ts-expect-error: a database option, not the engine's
  await preload({ name: 'app' });
  const conn = await connect({ adapter: 'memory', root: 'types' });
  await conn.createDatabase('shop', { ifNotExists: true });
  await conn.useDatabase('shop');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'username', type: 'string', unique: true, notNull: true },
      { name: 'age', type: 'number', default: 0 },
      { name: 'legacy', type: 'string', uni: true },
    ],
    indexes: [{ columns: ['age'] }, 'username'],
  });
  const users = conn.table('users');
  const { id } = await users.insert({ username: 'ann', age: 30 });
  const n: number = await users.insertMany([{ username: 'bob' }]);
  const rows: Row[] = await users.select({
    where: { age: { '>=': 18 }, $or: [{ username: 'ann' }, { username: { startsWith: 'b' } }] },
    orderBy: [{ name: 'age', type: 'desc' }],
    limit: { start: 0, count: 20 },
  });
  await users.select([{ name: 'age', type: '>=', value: 18 }]);
  await users.update([{ name: 'age', value: 31 }], [{ name: 'username', type: '=', value: 'ann' }]);
  const changed: number = await users.update({ age: 31 }, { where: { username: 'ann' } });
  const row: Row | null = await users.get(id);
  const plan: Plan = await users.explain({ where: { age: 1 } });
  const count: number = await users.count();
  const ixName: string = await users.createIndex({ columns: ['username', 'age'], unique: false });
  const result: string = await conn.transaction(async (tx) => {
    await tx.table('users').insert({ username: 'cy' });
    return 'done';
  });
  const tx = await conn.begin();
  const active: boolean = tx.active;
  await tx.rollback();
  const versioned = await connect({
    adapter: 'memory',
    root: 'versioned',
    schema: {
      version: 2,
      database: 'shop',
      tables: { users: { columns: [{ name: 'id', type: 'number', primaryKey: true }, { name: 'email', type: 'string' }] } },
      migrations: {
        2: async (mtx, { from, to }) => {
          await mtx.table('users').addColumn({ name: 'email', type: 'string' });
          await mtx.createTable('log', { columns: [{ name: 'at', type: 'number' }] });
          mtx.useDatabase('shop');
          const d: TableDescription = await mtx.describeTable('users');
          void d, from, to;
        },
      },
    },
  });
  const version: number = await versioned.schemaVersion();
  // @ts-expect-error a version is a number
  await connect({ schema: { version: '2' } });
  const tooNew: ErrorCode = 'VERSION_TOO_NEW';
  void version, tooNew;
  try {
    await users.insert({ username: 'ann' });
  } catch (err) {
    if (err instanceof MinibaseError) {
      const code: ErrorCode = err.code;
      // @ts-expect-error not a code
      const bad: ErrorCode = 'NOPE';
      void code, bad;
    }
  }
  // @ts-expect-error unknown adapter
  await connect({ adapter: 'ftp' });
  // @ts-expect-error unknown column type
  await conn.createTable('t', { columns: [{ name: 'x', type: 'integr' }] });
  await conn.createTable('t2', { columns: [{ name: 'x', type: 'int' }, { name: 'y' }] });
  await conn.close();

  const old = await Connect.open({ adapter: 'memory' });
  await old.useDataBase('shop');
  const r1 = await old.addData('users', { username: 'dee' });
  const r2: number = await old.addData('users', [{ username: 'eve' }]);
  await old.selectData('users', [{ name: 'id', type: '>=', value: 1 }], [{ name: 'id', type: 'desc' }], { start: 0, count: 10 });
  await old.modifyData('users', [{ name: 'age', value: 1 }], [{ name: 'id', type: '=', value: 1 }]);
  await old.deleteData('users', [{ name: 'id', type: '=', value: 1 }]);
  await old.setAutoCommit(false);
  await old.commit();
  void n, rows, changed, row, plan, count, ixName, result, active, r1.id, r2;

  const st: Storage = await openStorage({ adapter: 'memory', prefix: 'mp_', secret: 'pw', limitSize: 1 << 20 });
  await st.set('token', 'abc', { expire: 3600, encrypt: true, compress: true });
  await st.set('bin', new Uint8Array([1]), { expireAt: new Date() });
  const tok: string = await st.get<string>('token', '');
  const removed: boolean = await st.remove('token');
  const info: StorageInfo = await st.info();
  const names: string[] = info.keys; // key names, like wx.getStorageInfo
  const nKeys: number = info.keyCount;
  const res: any[] = await st.batch([{ type: 'set', key: 'a', data: 1 }, { type: 'get', key: 'a', defaultValue: 0 }]);
  const cachedN: number = await st.cached('n', async () => 1, { ttl: 60 });
  const hit: number = st.stats().hitRate;
  const ks: string[] = st.keysSync();
  // @ts-expect-error unknown batch type
  await st.batch([{ type: 'frob', key: 'a' }]);
  const st2 = await conn.storage({ prefix: 'other_', secret: 'pw', cacheKey: false });
  await st2.close();
  await st.close();
  void tok, removed, info, names, nKeys, res, cachedN, hit, ks;
}

void main;

// Export, import, backup (backup.js).
import { restore, createAbortSignal, describeRoot, type ImportResult, type Progress } from 'minibase-db';
import { mountInspector } from 'minibase-db/inspector';

async function moving(): Promise<void> {
  await restore(new Uint8Array(0), { adapter: 'memory', root: 'r', onProgress: (p) => void p.phase });
  const conn = await connect({ adapter: 'memory', root: 'moving' });
  const { signal, abort } = createAbortSignal();
  let text = '';
  for await (const line of conn.export({ databases: ['shop'], tables: ['shop.users'], signal, onProgress: (p: Progress) => void p.done })) text += line;
  const res: ImportResult = await conn.import(text, { mode: 'merge', signal });
  const lines: number[] = res.rejected.map((r) => r.line);
  void lines;
  abort();
  const { bytes, blob } = await conn.backup();
  void bytes;
  void blob;
  await conn.backup('app.mbbak', { onProgress: (p) => void p.bytes });
  await conn.checkIntegrity();
  const { databases } = await describeRoot(conn);
  const rows: number = databases[0].tables[0].rows;
  void rows;
  const ui = await mountInspector({} as HTMLElement, conn, { pageSize: 10 });
  await ui.select('shop', 'users');
  // @ts-expect-error mode is 'replace' or 'merge'
  await conn.import(text, { mode: 'append' });
}
void moving;
