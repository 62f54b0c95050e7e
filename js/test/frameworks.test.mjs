// minibase-db/react and minibase-db/vue, the built bundles (js/dist/react.mjs,
// vue.mjs), against small stand-ins of the framework APIs they use: the
// package installs neither framework.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from 'minibase-db';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const settle = () => new Promise((resolve) => setImmediate(resolve));

// A hook runtime of one component: state, effects with deps, unmount.
const REACT = `
let slots = [], at = 0, effects = [], component = null;
export let output;
export function useState(init) {
  const k = at++;
  if (!(k in slots)) slots[k] = init;
  return [slots[k], (v) => { slots[k] = typeof v === 'function' ? v(slots[k]) : v; render(component); }];
}
export function useEffect(fn, deps) {
  const k = at++;
  const prev = slots[k];
  if (prev && deps.every((d, j) => d === prev.deps[j])) return;
  prev?.cleanup?.();
  const rec = { deps };
  slots[k] = rec;
  effects.push(() => { rec.cleanup = fn(); });
}
export function render(c) {
  component = c; at = 0;
  try { output = { value: c() }; } catch (error) { output = { error }; }
  const run = effects; effects = [];
  for (const e of run) e();
}
export function unmount() { for (const s of slots) s?.cleanup?.(); slots = []; }
`;

const VUE = `
let cleanups = [];
export function shallowRef(value) { return { value }; }
export function getCurrentScope() { return null; }
export function onScopeDispose() {}
export function watchEffect(fn) {
  let cleanup = null;
  fn((c) => { cleanup = c; });
  return () => cleanup?.();
}
`;

function pkg(name, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `minibase-${name}-`));
  fs.mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, type: 'module', main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), source);
  fs.copyFileSync(path.join(dist, `${name}.mjs`), path.join(dir, `${name}.mjs`));
  return dir;
}

async function todos() {
  const conn = await connect({ adapter: 'memory', root: `fw-${process.pid}-${Math.random()}` });
  await conn.createDatabase('app');
  await conn.useDatabase('app');
  await conn.createTable('todos', { columns: [{ name: 'id', type: 'number', primaryKey: true, autoIncrement: true }, { name: 'title', type: 'string' }] });
  return conn;
}

test('minibase-db/react: useLiveQuery renders the live rows and unsubscribes on unmount', async (t) => {
  const dir = pkg('react', REACT);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const react = await import(pathToFileURL(path.join(dir, 'node_modules/react/index.js')));
  const { useLiveQuery } = await import(pathToFileURL(path.join(dir, 'react.mjs')));
  const conn = await todos();
  const table = conn.table('todos');
  const List = () => (useLiveQuery(() => table.watch({ orderBy: 'id' }), [table], null) ?? []).map((r) => r.title);
  react.render(List);
  assert.deepEqual(react.output.value, []);
  await settle();
  await table.insert({ title: 'milk' });
  await settle();
  assert.deepEqual(react.output.value, ['milk']);
  react.unmount();
  assert.equal((await conn.stats()).live.queries, 0);
  await conn.close();
});

test('minibase-db/vue: useLiveQuery is a ref that follows the query', async (t) => {
  const dir = pkg('vue', VUE);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { useLiveQuery } = await import(pathToFileURL(path.join(dir, 'vue.mjs')));
  const conn = await todos();
  const table = conn.table('todos');
  const rows = useLiveQuery(() => table.watch({ orderBy: 'id' }), []);
  await settle();
  assert.deepEqual(rows.value, []);
  await table.insert({ title: 'bread' });
  await settle();
  assert.deepEqual(rows.value.map((r) => r.title), ['bread']);
  rows.stop();
  assert.equal((await conn.stats()).live.queries, 0);
  await conn.close();
});
