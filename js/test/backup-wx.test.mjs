// Backup and restore in a mini-program (the stand-in runtime): the backup is
// a file of the user-data directory, restored into another root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');
const plain = (v) => JSON.parse(JSON.stringify(v));

test('wx: backup to a user-data file, restore into a new root, export and import', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-backup-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package') });
  const mb = rt.require('minibase-db');
  const conn = await mb.connect({ root: 'app' });
  await conn.createDatabase('notes');
  await conn.useDatabase('notes');
  await conn.createTable('notes', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'body', type: 'string' }, { name: 'blob', type: 'bytes' }] });
  const rows = Array.from({ length: 2000 }, (_, i) => ({ body: `note ${i} ✓`, blob: new Uint8Array([i & 255, 1]) }));
  await conn.table('notes').insertMany(rows);
  const st = await conn.storage({ prefix: 'mp_' });
  await st.set('k', 'v');
  const res = await conn.backup('backups/app.mbbak'); // its directory is created
  assert.equal(fs.statSync(path.join(dir, 'usr', 'backups', 'app.mbbak')).size, res.bytes);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'usr', 'backups')), ['app.mbbak']);

  // Export through the mini-program's own TextDecoder-less runtime too.
  let text = '';
  for await (const line of conn.export()) text += line;
  await conn.close();

  await mb.restore('backups/app.mbbak', { root: 'restored' });
  const back = await mb.connect({ root: 'restored' });
  await back.checkIntegrity();
  await back.useDatabase('notes');
  assert.equal(await back.table('notes').count(), 2000);
  const one = plain(await back.table('notes').get(8)); // ids start at 1
  assert.equal(one.body, 'note 7 ✓');
  assert.equal(await (await back.storage({ prefix: 'mp_' })).get('k'), 'v');
  await back.close();

  const fresh = await mb.connect({ root: 'imported' });
  const r = await fresh.import(text);
  assert.equal(r.rows, 2000);
  await fresh.useDatabase('notes');
  assert.deepEqual(plain(await fresh.table('notes').get(1999)).blob, { 0: 1998 & 255, 1: 1 });
  await fresh.close();

  // A damaged file: CORRUPT, the target untouched.
  const file = path.join(dir, 'usr', 'backups', 'app.mbbak');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length >> 1] ^= 1;
  fs.writeFileSync(file, bytes);
  await assert.rejects(mb.restore('backups/app.mbbak', { root: 'restored' }), (e) => e.code === 'CORRUPT');
  const still = await mb.connect({ root: 'restored' });
  await still.useDatabase('notes');
  assert.equal(await still.table('notes').count(), 2000);
  await still.close();
});
