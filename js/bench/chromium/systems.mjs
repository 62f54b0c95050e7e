// The systems of the peers benchmark in a browser page (Chromium
// half), the same adapter shape as ../systems.mjs: raw IndexedDB, Dexie 4,
// LokiJS with its incremental IndexedDB adapter, minibase on its IndexedDB
// adapter; and for the key-value workload localforage, idb-keyval and
// minibase's openStorage. Every system persists to the page's IndexedDB;
// "reopen" is a fresh page load in the same browser profile.

import { TABLE } from '../workloads.mjs';

const DB = 'bench';

/** Resolves an IDBRequest. */
const req = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
/** Resolves when an IDBTransaction has committed. */
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = () => ok(); tx.onerror = tx.onabort = () => fail(tx.error); });

// ---- raw IndexedDB ------------------------------------------------------------

function rawIdb() {
  let db;
  const open = () => new Promise((ok, fail) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      const s = r.result.createObjectStore('users', { keyPath: 'id' });
      s.createIndex('username', 'username', { unique: true });
      s.createIndex('age', 'age');
      s.createIndex('city', 'city');
    };
    r.onsuccess = () => { db = r.result; ok(); };
    r.onerror = () => fail(r.error);
  });
  const store = (mode) => db.transaction('users', mode).objectStore('users');
  const eachCursor = async (index, range, fn) => {
    const tx = db.transaction('users', 'readwrite');
    const r = tx.objectStore('users').index(index).openCursor(range);
    let n = 0;
    r.onsuccess = () => { const c = r.result; if (c) { fn(c); n++; c.continue(); } };
    await done(tx);
    return n;
  };
  return {
    name: 'IndexedDB (raw)',
    note: 'hand-written IndexedDB: one object store, three indexes, one put per row in one transaction for bulk work; relaxed durability (Chromium\'s default)',
    async setup() { await open(); },
    async bulkInsert(rows) { const tx = db.transaction('users', 'readwrite'); const s = tx.objectStore('users'); for (const r of rows) s.add(r); await done(tx); return rows.length; },
    async insertOne(row) { const tx = db.transaction('users', 'readwrite'); tx.objectStore('users').add(row); await done(tx); },
    getById: (id) => req(store('readonly').get(id)),
    getByKey: (u) => req(store('readonly').index('username').get(u)),
    range: (lo, hi, limit) => req(store('readonly').index('age').getAll(IDBKeyRange.bound(lo, hi, false, true), limit)),
    scan: async (max) => (await req(store('readonly').getAll())).filter((r) => r.score < max),
    update: (below) => eachCursor('age', IDBKeyRange.upperBound(below, true), (c) => c.update({ ...c.value, score: -1 })),
    delete: (atLeast) => eachCursor('age', IDBKeyRange.lowerBound(atLeast), (c) => c.delete()),
    async close() { db.close(); },
    async coldOpen() { await open(); return req(store('readonly').get(1)); },
  };
}

// ---- Dexie 4 --------------------------------------------------------------------

function dexie() {
  let db;
  const open = async () => {
    const { default: Dexie } = await import('dexie');
    db = new Dexie(DB);
    db.version(1).stores({ users: 'id, &username, age, city' });
    await db.open();
  };
  return {
    name: 'Dexie 4',
    note: 'Dexie 4.4.7 on Chromium\'s IndexedDB (one record per row; bulkAdd for bulk work)',
    setup: open,
    bulkInsert: async (rows) => { await db.users.bulkAdd(rows); return rows.length; },
    insertOne: (row) => db.users.add(row),
    getById: (id) => db.users.get(id),
    getByKey: (u) => db.users.where('username').equals(u).first(),
    range: (lo, hi, limit) => db.users.where('age').between(lo, hi, true, false).limit(limit).toArray(),
    scan: (max) => db.users.filter((r) => r.score < max).toArray(),
    update: (below) => db.users.where('age').below(below).modify({ score: -1 }),
    delete: (atLeast) => db.users.where('age').aboveOrEqual(atLeast).delete(),
    async close() { db.close(); },
    async coldOpen() { await open(); return db.users.get(1); },
  };
}

// ---- LokiJS + IncrementalIndexedDBAdapter ----------------------------------------------

function loki() {
  let db, coll;
  const load = async () => {
    const [{ default: Loki }, { default: Adapter }] = await Promise.all([
      import('lokijs'),
      import('lokijs/src/incremental-indexeddb-adapter.js'),
    ]);
    return { Loki, Adapter };
  };
  const save = () => new Promise((ok, fail) => db.saveDatabase((err) => (err ? fail(err) : ok())));
  return {
    name: 'LokiJS + IndexedDB',
    note: 'LokiJS 1.5.12 in memory with its incremental IndexedDB adapter; every write workload ends with saveDatabase() (the adapter writes the changed chunks), each single insert is followed by one',
    async setup() {
      const { Loki, Adapter } = await load();
      db = new Loki(DB, { adapter: new Adapter() });
      coll = db.addCollection('users', { unique: ['id', 'username'], indices: ['age', 'city'] });
    },
    async bulkInsert(rows) { const n = coll.insert(rows).length; await save(); return n; },
    async insertOne(row) { coll.insert(row); await save(); },
    getById: async (id) => coll.by('id', id),
    getByKey: async (u) => coll.by('username', u),
    range: async (lo, hi, limit) => coll.chain().find({ age: { $gte: lo, $lt: hi } }).simplesort('age').limit(limit).data(),
    scan: async (max) => coll.find({ score: { $lt: max } }),
    async update(below) {
      let n = 0;
      coll.findAndUpdate({ age: { $lt: below } }, (o) => { o.score = -1; n++; });
      await save();
      return n;
    },
    async delete(atLeast) {
      const n = coll.count({ age: { $gte: atLeast } });
      coll.findAndRemove({ age: { $gte: atLeast } });
      await save();
      return n;
    },
    async close() { db.close(); },
    async coldOpen() {
      const { Loki, Adapter } = await load();
      db = new Loki(DB, { adapter: new Adapter() });
      await new Promise((ok, fail) => db.loadDatabase({}, (err) => (err ? fail(err) : ok())));
      coll = db.getCollection('users');
      return coll.by('id', 1);
    },
  };
}

// ---- minibase on IndexedDB ------------------------------------------------------------


/** The browser build of minibase, served from js/dist by the runner. */
const loadMinibase = () => import(/* @vite-ignore */ `${location.origin}/dist/browser.mjs`);

function minibase(adapter = 'indexeddb') {
  let conn, users;
  const open = async () => {
    const { connect } = await loadMinibase();
    // No idle checkpoint (see ../systems.mjs).
    conn = await connect({ adapter, name: DB, checkpointIdleMs: 0 });
    await conn.createDatabase('bench', { ifNotExists: true });
    await conn.useDatabase('bench');
    users = conn.table('users');
  };
  return {
    name: `minibase (${adapter})`,
    note: adapter === 'opfs'
      ? 'minibase (this repo), `adapter: \'opfs\'`: the engine in the worker the loader starts, on OPFS files through FileSystemSyncAccessHandle; a write is acknowledged after flush()'
      : 'minibase (this repo), `adapter: \'indexeddb\'`, default durability (a write is acknowledged once its IndexedDB transaction has committed)',
    async setup() { await open(); await conn.createTable('users', TABLE); },
    bulkInsert: (rows) => users.insertMany(rows),
    insertOne: (row) => users.insert(row),
    getById: (id) => users.get(id),
    getByKey: async (u) => (await users.select({ where: { username: u } }))[0],
    range: (lo, hi, limit) => users.select({ where: { age: { '>=': lo, '<': hi } }, orderBy: ['age'], limit }),
    scan: (max) => users.select({ where: { score: { '<': max } } }),
    update: (below) => users.update({ score: -1 }, { where: { age: { '<': below } } }),
    delete: (atLeast) => users.delete({ where: { age: { '>=': atLeast } } }),
    explain: (q) => users.explain(q),
    stats: () => conn.stats(),
    close: () => conn.close(),
    async coldOpen() { await open(); return users.get(1); },
  };
}

export const SYSTEMS = {
  'minibase-idb': () => minibase('indexeddb'),
  'minibase-opfs': () => minibase('opfs'),
  idb: rawIdb,
  dexie,
  loki,
};

// ---- key-value stores (workload 8) -----------------------------------------------------

/** Each returns { name, stores: [[label, { set, get }]], close }. */
export const KV_SYSTEMS = {
  async 'minibase-idb'() {
    const { openStorage } = await loadMinibase();
    const secret = new Uint8Array(32).fill(7); // a raw key: no PBKDF2 in the measurement
    const st = await openStorage({ adapter: 'indexeddb', name: 'bench-kv', secret, limitSize: 1 << 30, sweepInterval: 0 });
    return {
      name: 'minibase (indexeddb)',
      stores: [
        ['plain', { set: (k, v) => st.set(k, v), get: (k) => st.get(k) }],
        ['enc', { set: (k, v) => st.set(`e${k}`, v, { encrypt: true, compress: true }), get: (k) => st.get(`e${k}`) }],
      ],
      close: () => st.close(),
    };
  },
  async localforage() {
    const { default: localforage } = await import('localforage');
    const lf = localforage.createInstance({ name: 'bench-kv-lf', driver: localforage.INDEXEDDB });
    await lf.ready();
    return { name: 'localforage', stores: [['plain', { set: (k, v) => lf.setItem(k, v), get: (k) => lf.getItem(k) }]], close: async () => {} };
  },
  async 'idb-keyval'() {
    const { createStore, set, get } = await import('idb-keyval');
    const store = createStore('bench-kv-ik', 'kv');
    return { name: 'idb-keyval', stores: [['plain', { set: (k, v) => set(k, v, store), get: (k) => get(k, store) }]], close: async () => {} };
  },
};
