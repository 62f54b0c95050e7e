// The list page: add items, tick them off, filter, sort, page through.
const { bindLive } = require('minibase-db');
const db = require('../../lib/db.js');

const PAGE = 20;
const CATEGORIES = ['other', 'fruit', 'dairy', 'bakery', 'household'];

Page({
  data: {
    items: [],
    total: 0,
    count: PAGE,
    input: '',
    newCategory: 'other',
    categories: CATEGORIES,
    category: 'all',
    sort: 'newest',
    hideDone: false,
    error: '',
  },

  async onLoad() {
    try {
      await getApp().ready;
      const prefs = await db.loadSettings();
      this.setData({ sort: prefs.sort, hideDone: prefs.hideDone, category: prefs.category });
      this.refresh();
    } catch (err) {
      this.setData({ error: `Could not open the list: ${err.message}` });
    }
  },

  // The list is a live query of the current filters: after every commit
  // that changes what it shows, bindLive calls setData with only the paths
  // that changed (one row's fields for a tick), so writes never re-query.
  // A filter change subscribes again.
  refresh() {
    this.unwatch();
    const { category, hideDone, sort, count } = this.data;
    const live = db.liveList({ category, hideDone, sort, count });
    const onError = (err) => this.setData({ error: err.message });
    const bound = [
      bindLive(this, 'items', live, { map: (v) => v.rows, onError }),
      bindLive(this, 'total', live, { map: (v) => v.total, onError }),
    ];
    this.unwatch = () => {
      for (const b of bound) b.unsubscribe();
      live.unsubscribe();
      this.unwatch = () => {};
    };
  },

  unwatch() {},

  onUnload() {
    this.unwatch();
  },

  async savePrefs() {
    const { sort, hideDone, category } = this.data;
    await db.saveSettings({ sort, hideDone, category });
  },

  onInput(e) {
    this.setData({ input: e.detail.value });
  },

  onPickCategory(e) {
    this.setData({ newCategory: CATEGORIES[Number(e.detail.value)] || 'other' });
  },

  async onAdd() {
    const text = this.data.input;
    if (!text.trim()) return;
    try {
      await db.add(text, this.data.newCategory);
      this.setData({ input: '', error: '' });
    } catch (err) {
      this.setData({ error: err.code === 'QUOTA_EXCEEDED' ? 'Storage is full: clear done items' : err.message });
    }
  },

  async onToggle(e) {
    await db.toggle(Number(e.currentTarget.dataset.id));
  },

  async onDelete(e) {
    await db.remove(Number(e.currentTarget.dataset.id));
  },

  async onClearDone() {
    await db.clearDone();
  },

  async onSort(e) {
    this.setData({ sort: e.currentTarget.dataset.sort, count: PAGE });
    await this.savePrefs();
    this.refresh();
  },

  async onFilter(e) {
    this.setData({ category: e.currentTarget.dataset.category, count: PAGE });
    await this.savePrefs();
    this.refresh();
  },

  async onHideDone(e) {
    this.setData({ hideDone: e.detail.value });
    await this.savePrefs();
    this.refresh();
  },

  async onMore() {
    this.setData({ count: this.data.count + PAGE });
    this.refresh();
  },
});
