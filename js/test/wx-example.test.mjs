// The example mini-program (examples/miniprogram) end to end in the
// stand-in: App and Page through a minimal framework shim, the page's
// handlers called as taps and inputs, setData results checked, then the app
// started again on the same user data.
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

/** Starts the example app in a fresh runtime on dir; returns its index page, loaded. */
async function start(dir) {
  const fw = createFramework();
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package'), globals: fw.globals });
  rt.load(path.join(example, 'app.js'));
  const app = fw.launch();
  rt.load(path.join(example, 'pages/index/index.js'));
  const page = fw.page();
  await page.onLoad({});
  await app.ready;
  await settle();
  return { page, rt };
}

const names = (page) => page.data.items.map((i) => i.name);

// The list page shows a live query: its setData for a write comes after the
// write's commit, in promise callbacks. Let those run before looking.
async function settle() {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Calls a page handler as a tap would, then lets the live list catch up. */
async function tap(page, handler, ...args) {
  await page[handler](...args);
  await settle();
}

test('the example shopping list works end to end and keeps its data and settings', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-example-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  let { page } = await start(dir);
  assert.equal(page.data.error, '');
  assert.deepEqual(page.data.items, []);
  assert.equal(page.data.sort, 'newest');

  const add = async (text, category) => {
    if (category) page.onPickCategory(event({ value: String(page.data.categories.indexOf(category)) }));
    page.onInput(event({ value: text }));
    await tap(page, 'onAdd');
    if (text.trim()) assert.equal(page.data.input, '', 'the input is cleared');
  };
  await add('2 milk', 'dairy');
  await add('bread', 'bakery');
  await add('3 apples', 'fruit');
  await add('  ');
  assert.equal(page.data.error, '');
  assert.equal(page.data.total, 3, 'a blank input adds nothing');
  assert.deepEqual(names(page), ['apples', 'bread', 'milk'], 'newest first');
  assert.deepEqual(page.data.items.map((i) => [i.qty, i.category, i.done]), [[3, 'fruit', false], [1, 'bakery', false], [2, 'dairy', false]]);
  assert.equal(page.data.total, 3);

  await tap(page, 'onSort', event({ dataset: { sort: 'name' } }));
  assert.deepEqual(names(page), ['apples', 'bread', 'milk']);
  await tap(page, 'onSort', event({ dataset: { sort: 'category' } }));
  assert.deepEqual(names(page), ['bread', 'milk', 'apples'], 'by aisle: bakery, dairy, fruit');

  const milk = page.data.items.find((i) => i.name === 'milk').id;
  const at = page.history.length;
  await tap(page, 'onToggle', event({ dataset: { id: String(milk) } })); // dataset values are strings
  assert.equal(page.data.items.find((i) => i.id === milk).done, true);
  const row = page.data.items.findIndex((i) => i.id === milk);
  assert.deepEqual(page.history.slice(at), [{ [`items[${row}].done`]: true }], 'a tick sends only the changed field');
  await tap(page, 'onHideDone', event({ value: true }));
  assert.deepEqual(names(page), ['bread', 'apples']);
  await tap(page, 'onFilter', event({ dataset: { category: 'fruit' } }));
  assert.deepEqual(names(page), ['apples']);
  await tap(page, 'onFilter', event({ dataset: { category: 'all' } }));

  // Paging: 20 per page, "More" adds 20.
  for (let i = 0; i < 25; i++) await add(`item ${String(i).padStart(2, '0')}`, 'household');
  assert.equal(page.data.items.length, 20);
  assert.equal(page.data.total, 27, '25 new + bread + apples (milk is done and hidden)');
  await tap(page, 'onMore');
  assert.equal(page.data.items.length, 27);

  await tap(page, 'onDelete', event({ dataset: { id: String(page.data.items.find((i) => i.name === 'bread').id) } }));
  assert.ok(!names(page).includes('bread'));
  assert.ok(page.history.length > 30, 'every change went through setData');

  // The app is started again: items and settings are back.
  ({ page } = await start(dir));
  assert.equal(page.data.sort, 'category');
  assert.equal(page.data.hideDone, true);
  assert.equal(page.data.category, 'all');
  assert.equal(page.data.total, 26);
  await tap(page, 'onHideDone', event({ value: false }));
  assert.ok(names(page).includes('milk'));
  await tap(page, 'onClearDone');
  assert.ok(!names(page).includes('milk'), 'done items cleared');
  assert.equal(page.data.total, 26);
  assert.ok(fs.readdirSync(path.join(dir, 'usr', 'shopping')).length > 0, 'data under USER_DATA_PATH/shopping');
});

test('the example is a complete project whose templates match its page', () => {
  const json = (f) => JSON.parse(fs.readFileSync(path.join(example, f), 'utf8'));
  const app = json('app.json');
  const project = json('project.config.json');
  assert.equal(project.compileType, 'miniprogram');
  assert.equal(json('package.json').dependencies['minibase-db'], 'file:../..');
  for (const p of app.pages) {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) assert.ok(fs.existsSync(path.join(example, `${p}.${ext}`)), `${p}.${ext}`);
  }
  // Every handler a template binds exists on the page; every root name it reads is page data or a loop variable.
  const fw = createFramework();
  const rt = createRuntime({ globals: fw.globals });
  try {
    rt.load(path.join(example, 'pages/index/index.js'));
    const page = fw.page();
    const wxml = fs.readFileSync(path.join(example, 'pages/index/index.wxml'), 'utf8');
    for (const [, handler] of wxml.matchAll(/bind\w+="(\w+)"/g)) assert.equal(typeof page[handler], 'function', handler);
    for (const [, expr] of wxml.matchAll(/\{\{(.*?)\}\}/g)) {
      const stripped = expr.replace(/'[^']*'/g, '');
      for (const [name] of stripped.matchAll(/(?<![.\w])[A-Za-z_]\w*/g)) {
        assert.ok(name in page.data || name === 'item' || name === 'index', `{{${expr}}} reads ${name}`);
      }
    }
  } finally {
    rt.cleanup();
  }
});
