// The command line (js/bin/minibase.mjs), run as a child process the way
// `npx minibase-db ...` runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'minibase-db';

const BIN = fileURLToPath(new URL('../bin/minibase.mjs', import.meta.url));

function cli(cwd, ...args) {
  const env = { ...process.env };
  delete env.MINIBASE_PROGRESS;
  if (args[0] === '--progress') {
    args.shift();
    env.MINIBASE_PROGRESS = '1';
  }
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function seeded(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conn = await connect({ adapter: 'node', root: path.join(dir, 'db') });
  await conn.createDatabase('shop');
  await conn.useDatabase('shop');
  await conn.createTable('users', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'name', type: 'string', unique: true },
      { name: 'age', type: 'number', default: 0 },
      { name: 'pic', type: 'bytes' },
    ],
    indexes: [{ columns: ['age'] }],
  });
  await conn.table('users').insertMany(Array.from({ length: 1500 }, (_, i) => ({ name: `u${i}`, age: i % 10, pic: new Uint8Array([i & 255]) })));
  await conn.close();
  return dir;
}

test('inspect, dump, query, check on a root', async (t) => {
  const dir = await seeded(t);
  let r = cli(dir, 'inspect', 'db');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /database shop \(1 table\)/);
  assert.match(r.out, /table users: 1500 rows/);
  assert.match(r.out, /name {2}string {2}unique/);
  assert.match(r.out, /index idx_age \(age\)/);
  assert.match(r.out, /stats\n {2}keys \d+/);

  r = cli(dir, 'dump', 'db', 'shop.users', '--where', '{"age":3}', '--limit', '1200');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 150);
  assert.deepEqual(rows[0], { id: 4, name: 'u3', age: 3, pic: { $bytes: 'Aw==' } });
  r = cli(dir, 'dump', 'db', 'shop.users', '--limit', '1001');
  assert.equal(r.out.trimEnd().split('\n').length, 1001, 'paged past the first page');

  r = cli(dir, 'query', 'db', 'shop.users', '{"where":{"age":{">=":9}},"orderBy":[{"name":"id","type":"desc"}],"limit":2,"columns":["id"]}');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), [{ id: 1500 }, { id: 1490 }]);

  r = cli(dir, 'check', 'db');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /integrity ok/);
});

test('backup, inspect the backup read-only, restore, export, import, compact', async (t) => {
  const dir = await seeded(t);
  let r = cli(dir, 'backup', 'db', 'app.mbbak');
  assert.equal(r.code, 0, r.err);
  const before = fs.readFileSync(path.join(dir, 'app.mbbak'));

  r = cli(dir, 'inspect', 'app.mbbak');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /table users: 1500 rows/);
  r = cli(dir, 'check', 'app.mbbak');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /checksums ok/);
  r = cli(dir, 'compact', 'app.mbbak');
  assert.equal(r.code, 1);
  assert.match(r.err, /read-only/);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'app.mbbak')), before, 'the backup is never written');

  r = cli(dir, 'restore', 'app.mbbak', 'restored');
  assert.equal(r.code, 0, r.err);
  r = cli(dir, 'dump', 'restored', 'shop.users', '--limit', '3');
  assert.deepEqual(r.out.trimEnd().split('\n').map((l) => JSON.parse(l).name), ['u0', 'u1', 'u2']);

  r = cli(dir, 'export', 'db', 'out.ndjson', '--table', 'shop.users');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /exported 1500 rows/);
  r = cli(dir, 'import', 'fresh', 'out.ndjson');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /imported 1500 rows into 1 tables \(replace\)/);
  const a = cli(dir, 'dump', 'db', 'shop.users').out;
  assert.equal(cli(dir, 'dump', 'fresh', 'shop.users').out, a);
  // Export to stdout is the same file.
  assert.equal(cli(dir, 'export', 'db', '--db', 'shop').out.split('\n').slice(1).join('\n'), fs.readFileSync(path.join(dir, 'out.ndjson'), 'utf8').split('\n').slice(1).join('\n'));

  r = cli(dir, 'compact', 'db');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /compacted/);

  // Progress, when asked for off a terminal: lines on stderr, stdout untouched.
  r = cli(dir, '--progress', 'import', 'again', 'out.ndjson');
  assert.equal(r.code, 0, r.err);
  const bars = r.err.trimEnd().split('\n');
  assert.ok(bars.length >= 2, r.err);
  assert.match(bars.at(-1), /^import \[#{30}\] 100% 1500\/1500 /);
  assert.doesNotMatch(r.out, /\[#/);
  r = cli(dir, '--progress', 'restore', 'app.mbbak', 'again2');
  assert.match(r.err, /restore \(verify\) [\d.]+ KB/);
  assert.match(r.err, /restore \(restore\) \[#+ *\] 100%/);
});

test('damage and mistakes give an error and a non-zero exit', async (t) => {
  const dir = await seeded(t);
  assert.equal(cli(dir, 'backup', 'db', 'app.mbbak').code, 0);
  const bytes = fs.readFileSync(path.join(dir, 'app.mbbak'));
  bytes[bytes.length >> 1] ^= 0x40;
  fs.writeFileSync(path.join(dir, 'bad.mbbak'), bytes);
  let r = cli(dir, 'check', 'bad.mbbak');
  assert.equal(r.code, 1);
  assert.match(r.err, /CORRUPT/);
  r = cli(dir, 'restore', 'bad.mbbak', 'target');
  assert.equal(r.code, 1);
  assert.match(r.err, /CORRUPT/);
  assert.ok(!fs.existsSync(path.join(dir, 'target')) || fs.readdirSync(path.join(dir, 'target')).every((f) => f === 'LOCK'), 'nothing restored');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
  assert.equal(cli(dir, 'check', 'notes.txt').code, 1);
  assert.equal(cli(dir, 'inspect', 'missing').code, 1);
  assert.ok(!fs.existsSync(path.join(dir, 'missing')), 'no database created by looking');
  assert.equal(cli(dir, 'dump', 'db', 'users').code, 2, 'db.table expected');
  assert.equal(cli(dir, 'dump', 'db', 'shop.nope').code, 1);
  assert.equal(cli(dir, 'query', 'db', 'shop.users', '{bad').code, 2);
  assert.equal(cli(dir, 'frobnicate').code, 2);
  assert.equal(cli(dir).code, 2);
  assert.equal(cli(dir, 'help').code, 0);
  fs.writeFileSync(path.join(dir, 'half.ndjson'), cli(dir, 'export', 'db').out.slice(0, 5000));
  r = cli(dir, 'import', 'db', 'half.ndjson');
  assert.equal(r.code, 1);
  assert.match(r.err, /BAD_FORMAT|CORRUPT/);
  assert.match(cli(dir, 'inspect', 'db').out, /table users: 1500 rows/, 'a failed import changes nothing');
});
