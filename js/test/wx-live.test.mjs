// bindLive in the mini-program stand-in: a Page (the framework shim) shows a
// live query of 100 rows; setData gets only the paths that changed, and the
// payload of a one-row update is that row's changed field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');
const { createFramework } = require('./wx-standin/page-shim.cjs');

const settle = () => new Promise((resolve) => setImmediate(resolve));
const plain = (v) => JSON.parse(JSON.stringify(v));

test('bindLive sends only the changed paths to setData', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-live-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fw = createFramework();
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package'), globals: fw.globals });
  const mb = rt.require('minibase-db');
  const conn = await mb.connect({ root: 'live' });
  await conn.createDatabase('app');
  await conn.useDatabase('app');
  await conn.createTable('todos', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'title', type: 'string' },
      { name: 'done', type: 'boolean', default: false },
    ],
  });
  const todos = conn.table('todos');
  await todos.insertMany(Array.from({ length: 100 }, (_, i) => ({ title: `todo ${i}` })));

  let binding;
  fw.globals.Page({
    data: { todos: [] },
    onLoad() {
      binding = mb.bindLive(this, 'todos', todos.watch({ orderBy: 'id' }));
    },
  });
  const page = fw.page();
  page.onLoad();
  await settle();
  assert.equal(page.history.length, 1);
  assert.equal(page.data.todos.length, 100);

  await todos.update({ done: true }, { where: { id: 38 } });
  await settle();
  assert.deepEqual(page.history.at(-1), { 'todos[37].done': true });
  const payload = JSON.stringify(page.history.at(-1)).length;
  assert.ok(payload < 40, `one field of one row: ${payload} bytes`);

  await todos.update({ title: 'x' }, { where: { id: 1000 } }); // matches nothing
  await todos.insert({ title: 'new' });
  await settle();
  assert.deepEqual(Object.keys(page.history.at(-1)), ['todos[100]']);
  assert.equal(page.data.todos[100].title, 'new');

  await todos.delete({ where: { id: 1 } }); // shrinks: sent whole
  await settle();
  assert.deepEqual(Object.keys(page.history.at(-1)), ['todos']);
  assert.equal(page.data.todos.length, 100);
  assert.deepEqual(plain(page.data.todos), plain(await todos.select({ orderBy: 'id' })));
  assert.equal(binding.sent, page.history.length);

  const n = page.history.length;
  page.onUnload();
  await todos.update({ done: true }, { where: { id: 50 } });
  await settle();
  assert.equal(page.history.length, n, 'nothing after the page unloaded');
  assert.equal((await conn.stats()).live.queries, 0);
  await conn.close();
});
