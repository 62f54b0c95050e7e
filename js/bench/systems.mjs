// The systems under test for the peers benchmark (bench.mjs), one adapter
// object each, all with the same shape so that every workload runs the same
// code on every system. Each is loaded lazily (dynamic import) so that a cold
// start measures the library's own load time.
//
// Shape: { setup(dir), bulkInsert(rows), insertOne(row), getById(id),
//          getByIdSync(id) (where the system can answer without a promise),
//          getByKey(username), range(lo, hi, limit), scan(maxScore),
//          update(ageBelow), delete(ageAtLeast),
//          updateRange(ageFrom, ageBelow) (the same update of other rows),
//          save(dir), close(),
//          coldOpen(dir) → first row (in a fresh process, or in-process) }

import fs from 'node:fs';
import path from 'node:path';
import { TABLE } from './workloads.mjs';


// ---- minibase -----------------------------------------------------------

/**
 * minibase in the mini-program stand-in (js/test/wx-standin): the wx bundle
 * in a vm context without TextEncoder/crypto/performance/WebAssembly, on the
 * wx FileSystemManager over dir (the stand-in's files are node's fs).
 */
async function wxRuntime(dir) {
  const { createRequire } = await import('node:module');
  const { createRuntime } = createRequire(import.meta.url)('../test/wx-standin/runtime.cjs');
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'package'), capBytes: 2 ** 40 });
  return rt.require('minibase-db');
}

/** The minibase entry for an adapter: the Node package, or the wx bundle in the stand-in. */
export async function loadMinibase(adapter, dir) {
  return adapter === 'wx' ? wxRuntime(dir) : import('minibase-db');
}

function minibase(adapter) {
  let conn, users, root;
  const open = async (connect) => {
    // No idle checkpoint: it would flush the log 2 s after the last write,
    // inside whichever read workload runs then; the flush is work a close
    // (or a full memtable) does anyway, outside every timed workload.
    conn = await connect({ adapter, root, checkpointIdleMs: 0 });
    await conn.createDatabase('bench', { ifNotExists: true });
    await conn.useDatabase('bench');
    users = conn.table('users');
  };
  return {
    name: `minibase (${adapter})`,
    // the node and wx adapters' data outlive the process: their reopen is a fresh process
    coldInProcess: adapter === 'memory',
    async setup(dir) {
      root = adapter === 'node' ? path.join(dir, 'data') : adapter === 'wx' ? 'data' : `bench-${process.pid}`;
      const { connect } = await loadMinibase(adapter, dir);
      await open(connect);
      await conn.createTable('users', TABLE);
    },
    bulkInsert: (rows) => users.insertMany(rows),
    insertOne: (row) => users.insert(row),
    getById: (id) => users.get(id),
    getByIdSync: (id) => users.getSync(id),
    getByKey: async (u) => (await users.select({ where: { username: u } }))[0],
    range: (lo, hi, limit) => users.select({ where: { age: { '>=': lo, '<': hi } }, orderBy: ['age'], limit }),
    scan: (max) => users.select({ where: { score: { '<': max } } }),
    count: (max) => users.count({ where: { score: { '<': max } } }),
    topk: (below, k) => users.select({ where: { score: { '<': below } }, orderBy: [{ name: 'score', type: 'desc' }], limit: k }),
    update: (below) => users.update({ score: -1 }, { where: { age: { '<': below } } }),
    updateRange: (lo, hi) => users.update({ score: -1 }, { where: { age: { '>=': lo, '<': hi } } }),
    delete: (atLeast) => users.delete({ where: { age: { '>=': atLeast } } }),
    explain: async (q) => users.explain(q),
    stats: () => conn.stats(),
    async save() {},
    close: () => conn.close(),
    async coldOpen(dir) {
      if (adapter === 'node') root = path.join(dir, 'data');
      if (adapter === 'wx') root = 'data';
      const { connect } = await loadMinibase(adapter, dir);
      await open(connect);
      return users.get(1);
    },
  };
}

// ---- LokiJS ---------------------------------------------------------------

function loki() {
  let db, coll;
  const file = (dir) => path.join(dir, 'loki.json');
  return {
    name: 'LokiJS',
    note: 'in memory; reopen = load its serialized JSON from a file',
    async setup() {
      const { default: Loki } = await import('lokijs');
      db = new Loki('bench.db');
      coll = db.addCollection('users', { unique: ['id', 'username'], indices: ['age', 'city'] });
    },
    bulkInsert: async (rows) => coll.insert(rows).length,
    insertOne: async (row) => coll.insert(row),
    getById: async (id) => coll.by('id', id),
    getByIdSync: (id) => coll.by('id', id),
    getByKey: async (u) => coll.by('username', u),
    // One operator per find: LokiJS reads only the first of { $gte, $lt }.
    range: async (lo, hi, limit) => coll.chain().find({ age: { $gte: lo } }).find({ age: { $lt: hi } }).simplesort('age').limit(limit).data(),
    scan: async (max) => coll.find({ score: { $lt: max } }),
    async update(below) {
      let n = 0;
      coll.findAndUpdate({ age: { $lt: below } }, (o) => { o.score = -1; n++; });
      return n;
    },
    async updateRange(lo, hi) {
      let n = 0;
      coll.chain().find({ age: { $gte: lo } }).find({ age: { $lt: hi } }).update((o) => { o.score = -1; n++; });
      return n;
    },
    async delete(atLeast) {
      const n = coll.count({ age: { $gte: atLeast } });
      coll.findAndRemove({ age: { $gte: atLeast } });
      return n;
    },
    async save(dir) { fs.writeFileSync(file(dir), db.serialize()); },
    async close() { db.close(); },
    async coldOpen(dir) {
      const { default: Loki } = await import('lokijs');
      db = new Loki('bench.db');
      db.loadJSON(fs.readFileSync(file(dir), 'utf8'));
      coll = db.getCollection('users');
      return coll.by('id', 1);
    },
  };
}

// ---- sql.js (SQLite in wasm, in memory) -------------------------------------

function sqljs() {
  let SQL, db, stmts;
  const file = (dir) => path.join(dir, 'sqljs.sqlite');
  const row = (s) => { const o = s.getAsObject(); o.profile = JSON.parse(o.profile); return o; };
  const all = (s, params) => {
    s.bind(params);
    const out = [];
    while (s.step()) out.push(row(s));
    s.reset();
    return out;
  };
  const prepare = () => {
    stmts = {
      insert: db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)'),
      byId: db.prepare('SELECT * FROM users WHERE id = ?'),
      byKey: db.prepare('SELECT * FROM users WHERE username = ?'),
      range: db.prepare('SELECT * FROM users WHERE age >= ? AND age < ? ORDER BY age LIMIT ?'),
      scan: db.prepare('SELECT * FROM users WHERE score < ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM users WHERE score < ?'),
      topk: db.prepare('SELECT * FROM users WHERE score < ? ORDER BY score DESC LIMIT ?'),
    };
  };
  const ins = (r) => stmts.insert.run([r.id, r.username, r.age, r.city, r.score, JSON.stringify(r.profile)]);
  const load = async () => { const { default: init } = await import('sql.js'); SQL = await init(); };
  return {
    name: 'sql.js',
    note: 'SQLite in wasm, in memory, prepared statements; reopen = load its exported file',
    async setup() {
      await load();
      db = new SQL.Database();
      db.run(`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, age INTEGER,
              city TEXT, score INTEGER, profile TEXT);
              CREATE INDEX idx_age ON users(age); CREATE INDEX idx_city ON users(city);`);
      prepare();
    },
    async bulkInsert(rows) {
      db.run('BEGIN');
      for (const r of rows) ins(r);
      db.run('COMMIT');
      return rows.length;
    },
    insertOne: async (r) => ins(r),
    getById: async (id) => all(stmts.byId, [id])[0],
    getByIdSync: (id) => all(stmts.byId, [id])[0],
    getByKey: async (u) => all(stmts.byKey, [u])[0],
    range: async (lo, hi, limit) => all(stmts.range, [lo, hi, limit]),
    scan: async (max) => all(stmts.scan, [max]),
    count: async (max) => { stmts.count.bind([max]); stmts.count.step(); const n = stmts.count.getAsObject().n; stmts.count.reset(); return n; },
    topk: async (below, k) => all(stmts.topk, [below, k]),
    async update(below) { db.run('UPDATE users SET score = -1 WHERE age < ?', [below]); return db.getRowsModified(); },
    async updateRange(lo, hi) { db.run('UPDATE users SET score = -1 WHERE age >= ? AND age < ?', [lo, hi]); return db.getRowsModified(); },
    async delete(atLeast) { db.run('DELETE FROM users WHERE age >= ?', [atLeast]); return db.getRowsModified(); },
    async save(dir) { fs.writeFileSync(file(dir), db.export()); prepare(); },
    async close() { for (const s of Object.values(stmts)) s.free(); db.close(); },
    async coldOpen(dir) {
      await load();
      db = new SQL.Database(fs.readFileSync(file(dir)));
      prepare();
      return all(stmts.byId, [1])[0];
    },
  };
}

// ---- Dexie 4 on fake-indexeddb ------------------------------------------------

function dexie() {
  let Dexie, db;
  const open = async () => {
    db = new Dexie('bench', { autoOpen: true });
    db.version(1).stores({ users: 'id, &username, age, city' });
    await db.open();
  };
  return {
    name: 'Dexie on fake-indexeddb',
    note: 'CPU overhead only: fake-indexeddb is a JS in-memory IndexedDB, not a browser one; reopen = close and open again in the same process',
    coldInProcess: true,
    async setup() {
      await import('fake-indexeddb/auto');
      ({ default: Dexie } = await import('dexie'));
      await open();
    },
    bulkInsert: async (rows) => { await db.users.bulkAdd(rows); return rows.length; },
    insertOne: (row) => db.users.add(row),
    getById: (id) => db.users.get(id),
    getByKey: (u) => db.users.where('username').equals(u).first(),
    range: (lo, hi, limit) => db.users.where('age').between(lo, hi, true, false).limit(limit).toArray(),
    scan: (max) => db.users.filter((r) => r.score < max).toArray(),
    update: (below) => db.users.where('age').below(below).modify({ score: -1 }),
    updateRange: (lo, hi) => db.users.where('age').between(lo, hi, true, false).modify({ score: -1 }),
    delete: (atLeast) => db.users.where('age').aboveOrEqual(atLeast).delete(),
    async save() {},
    async close() { db.close(); },
    async coldOpen() { await open(); return db.users.get(1); },
  };
}

// ---- the floor: a Map of JSON strings ------------------------------------------

function mapFloor() {
  let rows, byName, byAge;
  const file = (dir) => path.join(dir, 'map.json');
  const put = (r) => {
    rows.set(r.id, JSON.stringify(r));
    byName.set(r.username, r.id);
    let s = byAge.get(r.age);
    if (!s) byAge.set(r.age, (s = new Set()));
    s.add(r.id);
  };
  const reset = () => { rows = new Map(); byName = new Map(); byAge = new Map(); };
  return {
    name: 'floor: Map + JSON',
    note: 'rows as JSON strings in a Map, a Map per unique key, age buckets as the index (range = walk the integer ages); reopen = JSON.parse of one file and rebuild',
    async setup() { reset(); },
    bulkInsert: async (rs) => { for (const r of rs) put(r); return rs.length; },
    insertOne: async (r) => put(r),
    getById: async (id) => JSON.parse(rows.get(id)),
    getByIdSync: (id) => JSON.parse(rows.get(id)),
    getByKey: async (u) => JSON.parse(rows.get(byName.get(u))),
    async range(lo, hi, limit) {
      const out = [];
      for (let a = lo; a < hi && out.length < limit; a++) {
        for (const id of byAge.get(a) ?? []) {
          out.push(JSON.parse(rows.get(id)));
          if (out.length === limit) break;
        }
      }
      return out;
    },
    async scan(max) {
      const out = [];
      for (const s of rows.values()) { const r = JSON.parse(s); if (r.score < max) out.push(r); }
      return out;
    },
    async update(below) { return this.updateRange(-Infinity, below); },
    async updateRange(lo, hi) {
      let n = 0;
      for (const [age, ids] of byAge) {
        if (age < lo || age >= hi) continue;
        for (const id of ids) { const r = JSON.parse(rows.get(id)); r.score = -1; rows.set(id, JSON.stringify(r)); n++; }
      }
      return n;
    },
    async delete(atLeast) {
      let n = 0;
      for (const [age, ids] of byAge) {
        if (age < atLeast) continue;
        for (const id of ids) { byName.delete(JSON.parse(rows.get(id)).username); rows.delete(id); n++; }
        byAge.delete(age);
      }
      return n;
    },
    async save(dir) { fs.writeFileSync(file(dir), `[${[...rows.values()].join(',')}]`); },
    async close() {},
    async coldOpen(dir) {
      reset();
      for (const r of JSON.parse(fs.readFileSync(file(dir), 'utf8'))) put(r);
      return JSON.parse(rows.get(1));
    },
  };
}

export const SYSTEMS = {
  'minibase-node': () => minibase('node'),
  'minibase-memory': () => minibase('memory'),
  'minibase-wx': () => minibase('wx'),
  lokijs: loki,
  sqljs,
  dexie,
  map: mapFloor,
};
