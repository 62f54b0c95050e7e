// A small inspector for the browser (`import { mountInspector } from
// 'minibase-db/inspector'`): databases and tables, a paged row view, a query
// box and the engine's stats, drawn with plain DOM into an element of the
// page, over any open connection.

import { describeRoot, formatValue, pageRows } from './inspect.js';

export { describeRoot, formatValue, pageRows };

const STYLE = `
.mbi { font: 13px/1.4 system-ui, sans-serif; color: #222; display: grid; grid-template-columns: 220px 1fr; gap: 12px; }
.mbi h2 { font-size: 14px; margin: 8px 0 4px; }
.mbi nav button { display: block; width: 100%; text-align: left; border: 0; background: none; padding: 3px 6px; cursor: pointer; border-radius: 4px; }
.mbi nav button[aria-current="true"] { background: #e3ecff; }
.mbi nav .db { font-weight: 600; margin-top: 8px; }
.mbi table { border-collapse: collapse; font: 12px ui-monospace, monospace; }
.mbi td, .mbi th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mbi th { background: #f4f4f4; }
.mbi .schema, .mbi .stats { font: 12px ui-monospace, monospace; white-space: pre; background: #fafafa; padding: 6px; }
.mbi textarea { width: 100%; height: 48px; font: 12px ui-monospace, monospace; }
.mbi .error { color: #b00; }
.mbi .pager { margin: 6px 0; display: flex; gap: 8px; align-items: center; }
`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function rowsTable(rows) {
  if (rows.length === 0) return el('p', { text: 'no rows' });
  const cols = Object.keys(rows[0]);
  return el('table', {},
    el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { text: c })))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...cols.map((c) => el('td', { text: formatValue(r[c]), title: formatValue(r[c]) }))))));
}

/**
 * Draws the inspector into `root` and keeps it live until `destroy()`.
 * @param {HTMLElement} root
 * @param {import('./api.js').Connection} conn
 * @param {{ pageSize?: number }} [options]
 * @returns {Promise<{ refresh(): Promise<void>, select(db: string, table: string): Promise<void>, destroy(): void }>}
 */
export async function mountInspector(root, conn, options = {}) {
  const pageSize = options.pageSize ?? 50;
  const style = el('style', { text: STYLE });
  const nav = el('nav', { 'aria-label': 'tables' });
  const main = el('section', { 'aria-label': 'table' });
  const box = el('div', { class: 'mbi' }, style, nav, main);
  root.replaceChildren(box);
  let current = null; // { db, table, offset, where }
  let overview = null;

  async function refresh() {
    overview = await describeRoot(conn);
    nav.replaceChildren(el('h2', { text: 'Databases' }));
    for (const db of overview.databases) {
      nav.append(el('div', { class: 'db', text: db.name }));
      for (const t of db.tables) {
        const b = el('button', { 'data-table': `${db.name}.${t.name}`, onclick: () => select(db.name, t.name) }, `${t.name} (${t.rows})`);
        if (current && current.db === db.name && current.table === t.name) b.setAttribute('aria-current', 'true');
        nav.append(b);
      }
    }
    const s = overview.stats;
    nav.append(el('h2', { text: 'Stats' }), el('div', { class: 'stats', text: [
      `keys ${s.keys}`, `live bytes ${s.liveBytes}`, `disk bytes ${s.diskBytes}`, `files ${s.files}`,
      `segments ${s.segments} / runs ${s.runs}`, `flushes ${s.flushes}`, `compactions ${s.compactions}`,
      `cache hit rate ${(s.cacheHitRate * 100).toFixed(1)}%`, `wasm memory ${s.wasmMemoryBytes ?? '?'}`,
    ].join('\n') }));
    if (current) await show();
  }

  async function select(db, table) {
    current = { db, table, offset: 0, where: undefined };
    for (const b of nav.querySelectorAll('button')) b.setAttribute('aria-current', String(b.dataset.table === `${db}.${table}`));
    await show();
  }

  async function show() {
    const { db, table, offset, where } = current;
    const info = overview.databases.find((d) => d.name === db)?.tables.find((t) => t.name === table);
    const query = el('textarea', { 'aria-label': 'where (JSON)', placeholder: '{ "age": { ">=": 18 } }' });
    if (where) query.value = JSON.stringify(where);
    const status = el('span', { class: 'error', role: 'status' });
    let page;
    try {
      page = await pageRows(conn, db, table, { where, offset, limit: pageSize });
    } catch (err) {
      page = { rows: [], total: 0, offset, limit: pageSize };
      status.textContent = `${err.code ?? 'ERROR'}: ${err.message}`;
    }
    const run = async () => {
      try {
        current.where = query.value.trim() ? JSON.parse(query.value) : undefined;
      } catch {
        status.textContent = 'the query is not JSON';
        return;
      }
      current.offset = 0;
      await show();
    };
    const go = (d) => async () => {
      current.offset = Math.max(0, offset + d);
      await show();
    };
    const prev = el('button', { onclick: go(-pageSize) }, '‹ prev');
    const next = el('button', { onclick: go(pageSize) }, 'next ›');
    prev.disabled = offset === 0;
    next.disabled = offset + pageSize >= page.total;
    const schema = info ? [
      ...info.columns.map((c) => `${c.name}  ${c.type}${['primaryKey', 'autoIncrement', 'unique', 'notNull'].filter((f) => c[f]).map((f) => `  ${f}`).join('')}`),
      ...info.indexes.map((ix) => `index ${ix.name} (${ix.columns.join(', ')})${ix.unique ? ' unique' : ''}`),
    ].join('\n') : '';
    main.replaceChildren(
      el('h2', { text: `${db}.${table}` }),
      el('div', { class: 'schema', text: schema }),
      el('h2', { text: 'Query' }), query, el('button', { onclick: run }, 'run'), status,
      el('div', { class: 'pager' }, prev, el('span', { text: page.total ? `${offset + 1}–${offset + page.rows.length} of ${page.total}` : '0 rows' }), next),
      rowsTable(page.rows),
    );
  }

  await refresh();
  return { refresh, select, destroy: () => box.remove() };
}
