// Where a database may be opened with the 'node' adapter: never the working
// directory by accident (root: ''), never a directory full of other files
// unless asked to (adoptRoot), whose files recovery could otherwise touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, openStorage } from 'minibase-db';

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-root-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("root: '' is refused instead of meaning the working directory", async () => {
  await assert.rejects(connect({ adapter: 'node', root: '' }), (err) => err.code === 'BAD_QUERY' && /non-empty/.test(err.message));
  await assert.rejects(openStorage({ adapter: 'node', root: '' }), (err) => err.code === 'BAD_QUERY');
  await assert.rejects(connect({ adapter: 'memory', root: '' }), (err) => err.code === 'BAD_QUERY');
});

test('a directory holding other files is not opened as a database unless adopted', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  fs.writeFileSync(path.join(dir, 'project.json'), '{}');
  await assert.rejects(connect({ adapter: 'node', root: dir }), (err) => err.code === 'BAD_QUERY' && /notes\.txt/.test(err.message));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['notes.txt', 'project.json'], 'nothing written, no lock left');

  const conn = await connect({ adapter: 'node', root: dir, adoptRoot: true });
  await conn.createDatabase('adopted');
  await conn.close();
  const again = await connect({ adapter: 'node', root: dir }); // a database now
  assert.deepEqual(await again.showDatabases(), ['adopted']);
  await again.close();
  assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
});

test('an empty directory, a new one, and an existing database open as before', async (t) => {
  const dir = tempDir(t);
  for (const root of [dir, path.join(dir, 'new', 'deeper')]) {
    const conn = await connect({ adapter: 'node', root });
    await conn.createDatabase('d');
    await conn.close();
    const again = await connect({ adapter: 'node', root });
    assert.deepEqual(await again.showDatabases(), ['d']);
    await again.close();
  }
});
