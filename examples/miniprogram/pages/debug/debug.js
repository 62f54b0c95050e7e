// A debug page for development builds: the databases, tables and stats of
// the app's minibase, a paged row view and a query box (the same data as
// `npx minibase-db inspect` and minibase-db/inspector). In a release build it
// shows nothing: users' data is not for this page.
const { describeRoot, pageRows, formatValue } = require('minibase-db');
const db = require('../../lib/db.js');

const PAGE = 20;

/** 'develop' | 'trial' | 'release'; DevTools and older base libraries count as development. */
function envVersion() {
  try {
    return wx.getAccountInfoSync().miniProgram.envVersion || 'develop';
  } catch (err) {
    return 'develop';
  }
}

Page({
  data: {
    allowed: false,
    databases: [],
    stats: [],
    current: '',
    columns: [],
    rows: [],
    offset: 0,
    total: 0,
    where: '',
    error: '',
  },

  async onLoad() {
    if (envVersion() === 'release') return;
    this.setData({ allowed: true });
    try {
      await getApp().ready;
      await this.refresh();
    } catch (err) {
      this.setData({ error: `${err.code || 'ERROR'}: ${err.message}` });
    }
  },

  async refresh() {
    const { databases, stats } = await describeRoot(db.connection());
    this.setData({
      databases: databases.map((d) => ({
        name: d.name,
        tables: d.tables.map((t) => ({ name: t.name, rows: t.rows, key: `${d.name}.${t.name}` })),
      })),
      stats: [
        `keys ${stats.keys}`, `live ${stats.liveBytes} B`, `on disk ${stats.diskBytes} B in ${stats.files} files`,
        `segments ${stats.segments}, runs ${stats.runs}`, `flushes ${stats.flushes}, compactions ${stats.compactions}`,
        `wasm memory ${stats.wasmMemoryBytes} B`,
      ],
    });
  },

  async onPickTable(e) {
    this.setData({ current: e.currentTarget.dataset.key, offset: 0, where: '', error: '' });
    await this.show();
  },

  onWhere(e) {
    this.setData({ where: e.detail.value });
  },

  async onRun() {
    this.setData({ offset: 0 });
    await this.show();
  },

  async onNext() {
    if (this.data.offset + PAGE >= this.data.total) return;
    this.setData({ offset: this.data.offset + PAGE });
    await this.show();
  },

  async onPrev() {
    this.setData({ offset: Math.max(0, this.data.offset - PAGE) });
    await this.show();
  },

  async show() {
    const at = this.data.current.indexOf('.');
    const dbName = this.data.current.slice(0, at);
    const table = this.data.current.slice(at + 1);
    let where;
    try {
      where = this.data.where.trim() ? JSON.parse(this.data.where) : undefined;
    } catch (err) {
      this.setData({ error: 'the query is not JSON' });
      return;
    }
    try {
      const page = await pageRows(db.connection(), dbName, table, { where, offset: this.data.offset, limit: PAGE });
      const columns = page.rows.length ? Object.keys(page.rows[0]) : [];
      this.setData({
        error: '',
        total: page.total,
        columns,
        rows: page.rows.map((r, i) => ({ key: i, cells: columns.map((c) => formatValue(r[c])) })),
      });
    } catch (err) {
      this.setData({ error: `${err.code || 'ERROR'}: ${err.message}`, rows: [], columns: [], total: 0 });
    }
  },
});
