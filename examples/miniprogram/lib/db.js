// The app's data layer on minibase: one table of items, and the settings in
// the storage manager (kept 30 days). Everything lives under
// wx.env.USER_DATA_PATH/shopping and works offline.
const { connect } = require('minibase-db');

const SETTINGS_TTL = 30 * 24 * 3600; // seconds
const DEFAULT_SETTINGS = { sort: 'newest', hideDone: false, category: 'all' };
const ORDER = {
  newest: [{ name: 'id', type: 'desc' }],
  name: [{ name: 'name', type: 'asc' }],
  category: [{ name: 'category', type: 'asc' }, { name: 'name', type: 'asc' }],
};

let conn = null;
let settings = null;

/** Opens (once) the database, the items table and the settings store. */
async function open() {
  if (conn) return;
  const c = await connect({ root: 'shopping' });
  await c.createDatabase('shop', { ifNotExists: true });
  await c.useDatabase('shop');
  await c.createTable('items', {
    columns: [
      { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
      { name: 'name', type: 'string', notNull: true },
      { name: 'qty', type: 'number', default: 1 },
      { name: 'category', type: 'string', default: 'other' },
      { name: 'done', type: 'boolean', default: false },
      { name: 'created', type: 'number' },
    ],
    indexes: [{ columns: ['category'] }, { columns: ['done'] }],
    ifNotExists: true,
  });
  settings = await c.storage({ prefix: 'settings_', sweepInterval: 0 });
  conn = c;
}

function items() {
  if (!conn) throw new Error('db.open() first');
  return conn.table('items');
}

/** One page of items for the current filters: where + orderBy + limit. */
function listQuery({ category = 'all', hideDone = false, sort = 'newest', count = 20 } = {}) {
  const where = {};
  if (category !== 'all') where.category = category;
  if (hideDone) where.done = false;
  return { where, query: { where, orderBy: ORDER[sort] || ORDER.newest, limit: count } };
}

/** One page of the list and the number of items the filters keep. */
async function list(filters) {
  const { where, query } = listQuery(filters);
  const [rows, total] = await Promise.all([items().select(query), items().count({ where })]);
  return { rows, total };
}

/**
 * The same as a live query: `{ rows, total }` now and again after every
 * commit that changes either (see bindLive in the list page).
 */
function liveList(filters) {
  const { where, query } = listQuery(filters);
  if (!conn) throw new Error('db.open() first');
  return conn.live(async (tx) => {
    const t = tx.table('items');
    const [rows, total] = await Promise.all([t.select(query), t.count({ where })]);
    return { rows, total };
  });
}

/** Adds "2 milk" or "milk" (quantity first, optional); returns the new id. */
async function add(text, category = 'other') {
  const m = /^\s*(\d+)\s+(.+?)\s*$/.exec(text);
  const name = (m ? m[2] : text).trim();
  if (!name) throw new Error('empty item');
  const { id } = await items().insert({ name, qty: m ? Number(m[1]) : 1, category, created: Date.now() });
  return id;
}

async function toggle(id) {
  const row = await items().get(id);
  if (!row) return false;
  await items().update({ done: !row.done }, { where: { id } });
  return !row.done;
}

function remove(id) {
  return items().delete({ where: { id } });
}

/** Removes every item marked done, in one transaction. */
function clearDone() {
  return conn.transaction((tx) => tx.table('items').delete({ where: { done: true } }));
}

async function categories() {
  const rows = await items().select({ columns: ['category'], orderBy: 'category' });
  return [...new Set(rows.map((r) => r.category))];
}

async function loadSettings() {
  return Object.assign({}, DEFAULT_SETTINGS, (await settings.get('prefs')) || {});
}

/** Saves settings for 30 days: after that the app falls back to the defaults. */
async function saveSettings(prefs) {
  await settings.set('prefs', prefs, { expire: SETTINGS_TTL });
}

/** The open connection, for the debug page (pages/debug). */
function connection() {
  if (!conn) throw new Error('db.open() first');
  return conn;
}

module.exports = { open, connection, list, liveList, add, toggle, remove, clearDone, categories, loadSettings, saveSettings, DEFAULT_SETTINGS };
