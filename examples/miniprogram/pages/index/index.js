// The list page: add items, tick them off, filter, sort, page through.
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
      await this.refresh();
    } catch (err) {
      this.setData({ error: `Could not open the list: ${err.message}` });
    }
  },

  async refresh() {
    const { category, hideDone, sort, count } = this.data;
    const { rows, total } = await db.list({ category, hideDone, sort, count });
    this.setData({ items: rows, total, error: '' });
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
      this.setData({ input: '' });
      await this.refresh();
    } catch (err) {
      this.setData({ error: err.code === 'QUOTA_EXCEEDED' ? 'Storage is full: clear done items' : err.message });
    }
  },

  async onToggle(e) {
    await db.toggle(Number(e.currentTarget.dataset.id));
    await this.refresh();
  },

  async onDelete(e) {
    await db.remove(Number(e.currentTarget.dataset.id));
    await this.refresh();
  },

  async onClearDone() {
    await db.clearDone();
    await this.refresh();
  },

  async onSort(e) {
    this.setData({ sort: e.currentTarget.dataset.sort, count: PAGE });
    await this.savePrefs();
    await this.refresh();
  },

  async onFilter(e) {
    this.setData({ category: e.currentTarget.dataset.category, count: PAGE });
    await this.savePrefs();
    await this.refresh();
  },

  async onHideDone(e) {
    this.setData({ hideDone: e.detail.value });
    await this.savePrefs();
    await this.refresh();
  },

  async onMore() {
    this.setData({ count: this.data.count + PAGE });
    await this.refresh();
  },
});
