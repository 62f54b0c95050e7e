// The debug page of the example mini-program (examples/miniprogram/pages/debug)
// in the stand-in: it lists the app's databases and tables with row counts
// and stats, pages through rows, runs a query, and shows nothing in a
// release build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');
const { createFramework, event } = require('./wx-standin/page-shim.cjs');
const example = fileURLToPath(new URL('../../examples/miniprogram/', import.meta.url));

async function start(dir, envVersion) {
  const fw = createFramework();
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package'), globals: fw.globals });
  if (envVersion) rt.run(`wx.getAccountInfoSync = () => ({ miniProgram: { envVersion: ${JSON.stringify(envVersion)} } })`);
  rt.load(path.join(example, 'app.js'));
  const app = fw.launch();
  rt.load(path.join(example, 'pages/index/index.js'));
  const index = fw.page();
  await index.onLoad({});
  rt.load(path.join(example, 'pages/debug/debug.js'));
  const debug = fw.page();
  await app.ready;
  return { index, debug, rt };
}

const tap = (dataset) => ({ currentTarget: { dataset }, target: { dataset }, detail: {} });

test('the debug page shows tables, rows, a query and stats in a development build', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-debug-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { index, debug, rt } = await start(dir);
  t.after(() => rt.cleanup());
  for (let i = 0; i < 25; i++) {
    index.onInput(event({ value: `item ${i}` }));
    await index.onAdd();
  }
  await debug.onLoad({});
  assert.equal(debug.data.error, '');
  assert.equal(debug.data.allowed, true);
  assert.deepEqual(debug.data.databases, [{ name: 'shop', tables: [{ name: 'items', rows: 25, key: 'shop.items' }] }]);
  assert.match(debug.data.stats[0], /^keys \d+/);

  await debug.onPickTable(tap({ key: 'shop.items' }));
  assert.equal(debug.data.total, 25);
  assert.equal(debug.data.rows.length, 20);
  assert.deepEqual(debug.data.columns, ['id', 'name', 'qty', 'category', 'done', 'created']);
  assert.deepEqual(debug.data.rows[0].cells.slice(0, 5), ['1', 'item 0', '1', 'other', 'false']);
  await debug.onNext();
  assert.equal(debug.data.rows.length, 5);
  await debug.onNext(); // past the end: stays
  assert.equal(debug.data.offset, 20);
  await debug.onPrev();
  assert.equal(debug.data.offset, 0);

  debug.onWhere(event({ value: '{ "name": { "startsWith": "item 2" } }' }));
  await debug.onRun();
  assert.equal(debug.data.total, 6); // item 2, item 20..24
  debug.onWhere(event({ value: '{ nope' }));
  await debug.onRun();
  assert.equal(debug.data.error, 'the query is not JSON');
  debug.onWhere(event({ value: '{ "nope": 1 }' }));
  await debug.onRun();
  assert.match(debug.data.error, /^NO_SUCH_COLUMN/);

  // Every handler the template binds exists; every name it reads is page data or a loop variable.
  const wxml = fs.readFileSync(path.join(example, 'pages/debug/debug.wxml'), 'utf8');
  for (const [, handler] of wxml.matchAll(/bind\w+="(\w+)"/g)) assert.equal(typeof debug[handler], 'function', handler);
  for (const [, expr] of wxml.matchAll(/\{\{(.*?)\}\}/g)) {
    for (const [name] of expr.replace(/'[^']*'/g, '').matchAll(/(?<![.\w])[A-Za-z_]\w*/g)) {
      assert.ok(name in debug.data || ['item', 'index', 'd', 't', 'r'].includes(name), `{{${expr}}} reads ${name}`);
    }
  }
});

test('the debug page shows nothing in a release build', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-debug-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { debug, rt } = await start(dir, 'release');
  t.after(() => rt.cleanup());
  await debug.onLoad({});
  assert.equal(debug.data.allowed, false);
  assert.deepEqual(debug.data.databases, []);
});
