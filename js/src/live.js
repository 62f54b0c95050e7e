// Live queries: `table.watch(query, cb)`, `conn.live(fn)`, `conn.changes()`
// and `storage.watch(key, cb)`.
//
// The engine keeps a feed of committed changes while something watches
// (engine/changes.go): per row written, its primary key, the op, and the
// store keys it covers (the row key and every index entry, before and after).
// After each call that may commit, this file takes that feed once for the
// engine connection and hands it to every watching Connection. A live query
// remembers the key ranges its reads' plans cover (bridge op readRanges); a
// change with a key in one of them marks it dirty, anything else costs a few
// string comparisons. Dirty queries re-run once, in a microtask after the
// commit, however many commits landed meanwhile and however many subscribers
// share them; a result equal to the previous one notifies nobody.

import { MinibaseError } from './errors.js';
import { COMMITTING_OPS } from './ops.gen.js';

/** Changes kept for `conn.changes({ since })`. */
const HISTORY = 1000;

/** The database name prefix of the engine's own databases (engine.SystemPrefix). */
const SYSTEM_PREFIX = '__';
const STORAGE_DB = '__storage';

// Not queueMicrotask: a mini-program's logic layer may lack it.
const microtask = (fn) => {
  Promise.resolve().then(fn);
};
const ASYNC_ITERATOR = typeof Symbol.asyncIterator === 'symbol' ? Symbol.asyncIterator : Symbol.for('Symbol.asyncIterator');

const after = (v, f) => (v && typeof v.then === 'function' ? v.then(f) : f(v));

function report(err) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
  else console.error('minibase: a live query subscriber threw:', err);
}

/** JSON with object keys sorted: equal queries written in another key order share one evaluation. */
function stable(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (ArrayBuffer.isView(v)) return `bytes:${Array.from(v).join(',')}`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(',')}}`;
}

/** Whether two decoded results are equal: rows are flat objects of scalars, bytes and JSON values. */
export function sameValue(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a !== a && b !== b; // NaN
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let n = 0;
  for (const k in a) {
    n++;
    if (!(k in b) || !sameValue(a[k], b[k])) return false;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * next with the rows (or values) equal to prev's taken from prev, so that an
 * unchanged row keeps its identity (a memoized component does not re-render).
 */
function share(prev, next) {
  if (!Array.isArray(prev) || !Array.isArray(next)) return next;
  return next.map((r, i) => (i < prev.length && sameValue(prev[i], r) ? prev[i] : r));
}

/** Whether one of keys lies in one of ranges ([lo, hi) hex strings, as the engine orders bytes). */
function hits(ranges, keys) {
  for (let i = 0; i < ranges.length; i++) {
    const lo = ranges[i][0];
    const hi = ranges[i][1];
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      if (k >= lo && k < hi) return true;
    }
  }
  return false;
}

// --- the per-engine feed -------------------------------------------------

const hubs = new WeakMap(); // bridge → Map(feed id → Feed)

/** One engine connection's feed, shared by the Connections (Live objects) on it. */
class Feed {
  lives = new Set();
  #bridge;
  #pumping = null; // the pump in progress on an asynchronous bridge
  #flag; // address of the engine's change counter (0: none, take after every write)
  #seen = -1;
  #filter = ''; // the filter last sent

  constructor(bridge, flag) {
    this.#bridge = bridge;
    this.#flag = typeof bridge.peek32 === 'function' ? flag : 0;
  }

  /**
   * Tells the engine which changes to keep: all of them while someone reads
   * the feed itself, else those in the ranges the live queries read. Sent
   * before a query's first read of new ranges (Live.#tracker).
   */
  refilter() {
    const live = this.lives.values().next().value;
    if (!live || this.#bridge.pushesChanges) return undefined;
    let all = false;
    const ranges = new Map();
    for (const l of this.lives) {
      all ||= l.wantsRows;
      for (const r of l.ranges()) ranges.set(`${r[0]}-${r[1]}`, r);
    }
    const list = all ? [] : [...ranges.values()];
    const key = all ? 'all' : [...ranges.keys()].sort().join(',');
    if (key === this.#filter) return undefined;
    this.#filter = key;
    try {
      return this.#bridge.call('changesFilter', live.handle, all, list);
    } catch {
      return undefined; // closed
    }
  }

  // The engine call is made with the handle of one of the watching
  // connections: they all reach the same engine.Conn.
  pump(source) {
    if (this.#flag) {
      // Nothing was committed that a watcher reads: no call.
      const n = this.#bridge.peek32(this.#flag);
      if (n === this.#seen) return;
      this.#seen = n;
    }
    if (this.#pumping) {
      this.#pumping = this.#pumping.then(() => this.#take(source)).catch(() => {});
      return;
    }
    const r = this.#take(source);
    if (r && typeof r.then === 'function') {
      const p = r.catch(() => {}).finally(() => {
        if (this.#pumping === p) this.#pumping = null;
      });
      this.#pumping = p;
    }
  }

  #take(source) {
    const live = this.lives.values().next().value;
    if (!live) return undefined;
    let r;
    try {
      let rows = false;
      for (const l of this.lives) rows ||= l.wantsRows;
      r = this.#bridge.call('changesTake', live.handle, rows);
    } catch {
      return undefined; // the connection closed meanwhile
    }
    return after(r, (batch) => {
      if (!hasChanges(batch)) return;
      for (const l of this.lives) l.deliver(batch, source);
    });
  }
}

/**
 * Takes the engine's new changes after a call that may have committed, if
 * any connection of this bridge watches. The hook of every write path
 * (api.js, storage, sync).
 * @param {object} bridge
 * @param {string} op
 * @param {unknown} result the call's answer (a promise on 'indexeddb')
 * @param {'local'|'tab'|'sync'} source
 */
export function afterCall(bridge, op, result, source) {
  if (bridge.pushesChanges) return;
  const feeds = hubs.get(bridge);
  if (feeds === undefined || feeds.size === 0 || !COMMITTING_OPS.has(op)) return;
  const pump = () => {
    for (const f of feeds.values()) f.pump(source);
  };
  if (result && typeof result.then === 'function') result.then(pump, pump);
  else pump();
}

/** What changesTake answers when nothing changed. */
export const EMPTY_CHANGES = Object.freeze({ changes: [], schema: false, overflow: false });

/**
 * The change-feed calls the owner of a database shared by tabs answers
 * itself, since it takes the feed after each commit and broadcasts it (a
 * tab asking for the feed gets nothing, and gets the batches on the
 * channel; one tab's unwatching does not stop the others'): `{ result }`,
 * or undefined for a call the engine runs.
 * @param {string} op
 * @param {unknown[]} args
 */
export function ownerFeedAnswer(op, args) {
  if (op === 'changesTake') return { result: EMPTY_CHANGES };
  if ((op === 'changesWatch' && args[1] === false) || op === 'changesFilter') return { result: null };
  return undefined;
}

/** Whether a batch changesTake answered holds anything to hand on. */
export const hasChanges = (batch) => Boolean(batch && (batch.changes.length || batch.schema || batch.overflow));

/**
 * Hands a batch the owner tab broadcast (tabs.js) to the watchers of bridge.
 * @param {object} bridge
 * @param {{ changes: object[], schema: boolean, overflow: boolean }} batch
 * @param {'local'|'tab'} source
 */
export function deliverChanges(bridge, batch, source) {
  const feeds = hubs.get(bridge);
  if (feeds === undefined) return;
  for (const f of feeds.values()) for (const l of f.lives) l.deliver(batch, source);
}

// --- subscriptions ---------------------------------------------------------

/**
 * What `watch`, `live`, `changes` and `storage.watch` return: a subscription
 * (`unsubscribe()`), a minimal Observable (`subscribe(observer)`), and an
 * async iterator of the values (of a query's answers only the newest is
 * kept when the iterator falls behind; a change feed keeps every change).
 * @template T
 */
export class LiveSubscription {
  #source; // { add(sub), remove(sub), current() }
  #subs = new Set();
  #closed = false;
  #done;
  #resolveDone;
  #keepAll; // the iterator keeps every value (a change feed), not only the newest (a query's answer)

  /** @internal */
  constructor(source, callback, keepAll = false) {
    this.#source = source;
    this.#keepAll = keepAll;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    if (callback !== undefined) this.subscribe(callback);
  }

  /** The latest value, or undefined before the first one. */
  get current() {
    return this.#source.current();
  }

  /** True once unsubscribed, or once the connection closed. */
  get closed() {
    return this.#closed;
  }

  /** Resolves when the subscription ends (unsubscribe, or the connection closing): the final signal. */
  get done() {
    return this.#done;
  }

  /**
   * Adds a subscriber: a function of each value, or `{ next, error, complete }`.
   * @returns {{ unsubscribe(): void, closed: boolean }}
   */
  subscribe(observer) {
    const o = typeof observer === 'function' ? { next: observer } : observer ?? {};
    const sub = { next: o.next?.bind(o), error: o.error?.bind(o), complete: o.complete?.bind(o), closed: false };
    const handle = {
      unsubscribe: () => {
        if (sub.closed) return;
        sub.closed = true;
        handle.closed = true;
        this.#subs.delete(sub);
        this.#source.remove(sub);
      },
      closed: false,
    };
    if (this.#closed) {
      sub.closed = handle.closed = true;
      microtask(() => sub.complete?.());
      return handle;
    }
    this.#subs.add(sub);
    sub.end = () => {
      sub.closed = handle.closed = true;
      this.#subs.delete(sub);
      if (this.#subs.size === 0) this.#end();
    };
    this.#source.add(sub);
    return handle;
  }

  /** Ends every subscriber added through this object. */
  unsubscribe() {
    for (const sub of [...this.#subs]) {
      sub.closed = true;
      this.#source.remove(sub);
    }
    this.#subs.clear();
    this.#end();
  }

  #end() {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolveDone();
  }

  /** @returns {AsyncIterator<T>} */
  [ASYNC_ITERATOR]() {
    let pending = []; // undelivered values (newest only) and the end
    let wake = null;
    let ended = false;
    const keepAll = this.#keepAll;
    const push = (item) => {
      if (item.done) ended = true;
      else if (!keepAll) pending = pending.filter((p) => p.done);
      pending.push(item);
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const h = this.subscribe({
      next: (value) => push({ value, done: false }),
      error: (err) => push({ error: err, done: false }),
      complete: () => push({ value: undefined, done: true }),
    });
    const it = {
      next: async () => {
        for (;;) {
          if (pending.length) {
            const item = pending.shift();
            if (item.error) throw item.error;
            return item;
          }
          if (ended || h.closed) return { value: undefined, done: true };
          await new Promise((resolve) => (wake = resolve));
        }
      },
      return: async () => {
        h.unsubscribe();
        return { value: undefined, done: true };
      },
      [ASYNC_ITERATOR]() {
        return it;
      },
    };
    return it;
  }
}

function notify(sub, value, stats) {
  if (sub.closed || !sub.next) return;
  try {
    sub.next(value);
  } catch (err) {
    stats.subscriberErrors++;
    report(err);
  }
}

// --- one Connection's live state ----------------------------------------

/** A shared evaluation: one per distinct normalized query (or live function). */
class Entry {
  subs = new Set();
  deps = new Map(); // 'db\0table' → [[lo, hi], ...]
  value = undefined;
  has = false;
  running = false;
  again = false;
  seq = 0; // evaluations started

  constructor(key, run) {
    this.key = key;
    this.run = run;
  }
}

/**
 * The live state of one Connection (created on its first watch).
 * @internal
 */
export class Live {
  #conn; // the Connection: begin(), database
  #tableIn; // (db, name) => a Table of db outside any transaction
  #call; // (op, ...args) => result, with the connection handle prepended
  #bridge;
  #feed = null;
  #registering = null;
  #entries = new Map(); // key → Entry
  #byTable = new Map(); // 'db\0table' → Set<Entry>
  #ranges = new Map(); // read key → ranges (a plan depends on the query and the schema only)
  #dirty = new Set();
  #scheduled = false;
  #listeners = new Set(); // change feed subscribers: { filter, sub }
  #history = [];
  #seq = 0;
  #closed = false;
  #stats = { evaluations: 0, reevaluations: 0, notifications: 0, skipped: 0, changes: 0, subscriberErrors: 0 };
  handle;

  /**
   * @param {object} conn the Connection
   * @param {object} bridge
   * @param {number} handle the connection's engine handle
   * @param {(op: string, ...args: unknown[]) => unknown} call
   * @param {(db: string, name: string) => object} tableIn
   */
  constructor(conn, bridge, handle, call, tableIn) {
    this.#conn = conn;
    this.#tableIn = tableIn;
    this.#bridge = bridge;
    this.handle = handle;
    this.#call = call;
  }

  /** Whether conn.changes() listeners want the rows of changes (live queries need only their keys). @internal */
  get wantsRows() {
    return this.#listeners.size > 0;
  }

  /** Counters: evaluations (all), reevaluations (caused by commits), notifications, skipped (re-run, same answer), … */
  stats() {
    let subscribers = 0;
    for (const e of this.#entries.values()) subscribers += e.subs.size;
    return { queries: this.#entries.size, subscribers, feeds: this.#listeners.size, ...this.#stats };
  }

  // Joins the engine's feed while anything is watched.
  #register() {
    if (this.#feed || this.#registering) return this.#registering;
    const r = after(this.#call('changesWatch', true), (answer) => {
      const [id, flag] = Array.isArray(answer) ? answer : [answer, 0];
      let feeds = hubs.get(this.#bridge);
      if (!feeds) hubs.set(this.#bridge, (feeds = new Map()));
      let feed = feeds.get(id);
      if (!feed) feeds.set(id, (feed = new Feed(this.#bridge, flag)));
      feed.lives.add(this);
      this.#feed = { feed, id };
      this.#registering = null;
      return feed.refilter();
    });
    if (r && typeof r.then === 'function') this.#registering = r;
    return r;
  }

  /** The key ranges this connection's live queries have read (the engine's filter). @internal */
  ranges() {
    const out = [];
    for (const rs of this.#ranges.values()) out.push(...rs);
    return out;
  }

  #idle() {
    return this.#entries.size === 0 && this.#listeners.size === 0;
  }

  // Leaves the feed once nothing is watched, so writes cost nothing again.
  #unregisterIfIdle() {
    if (!this.#idle() || !this.#feed) return;
    const { feed, id } = this.#feed;
    this.#feed = null;
    feed.lives.delete(this);
    if (feed.lives.size === 0) {
      hubs.get(this.#bridge)?.delete(id);
      try {
        const r = this.#call('changesWatch', false);
        if (r && typeof r.then === 'function') r.catch(() => {});
      } catch {
        // closed: the engine's feed went with it
      }
    }
  }

  // --- evaluation ---

  #tracker(deps, tx, db) {
    const rangesOf = async (table, op, arg) => {
      const rk = stable([db, table, op, arg]);
      let rs = this.#ranges.get(rk);
      if (rs === undefined) {
        rs = await this.#call(op === 'get' ? 'keyRange' : 'readRanges', 0, db, table, arg);
        this.#ranges.set(rk, rs);
        // The engine keeps the changes in these ranges from now on, before the read.
        await this.#feed?.feed.refilter();
      }
      const tk = `${db}\0${table}`;
      const have = deps.get(tk);
      deps.set(tk, have ? have.concat(rs) : rs);
    };
    const tableOf = (name) => (tx ? tx.table(name) : this.#tableIn(db, name));
    return {
      table(name) {
        const t = tableOf(name);
        return {
          name,
          async get(key) {
            await rangesOf(name, 'get', key);
            return t.get(key);
          },
          async select(query) {
            await rangesOf(name, 'select', toQuery(query));
            return t.select(query);
          },
          async count(query) {
            await rangesOf(name, 'select', toQuery(query));
            return t.count(query);
          },
        };
      },
    };
  }

  async #evaluate(entry, fromCommit) {
    if (entry.running) {
      entry.again = true;
      return;
    }
    entry.running = true;
    try {
      do {
        entry.again = false;
        entry.seq++;
        this.#stats.evaluations++;
        if (fromCommit) this.#stats.reevaluations++;
        const deps = new Map();
        let value;
        let error = null;
        try {
          value = await entry.run((tx, db) => this.#tracker(deps, tx, db));
        } catch (err) {
          error = err;
        }
        if (this.#closed || this.#entries.get(entry.key) !== entry) return;
        this.#index(entry, deps);
        if (entry.again) continue; // a commit landed meanwhile: that answer may be stale already
        if (error) {
          for (const sub of entry.subs) {
            try {
              sub.error?.(error);
            } catch (err) {
              this.#stats.subscriberErrors++;
              report(err);
            }
          }
          continue;
        }
        if (entry.has && sameValue(entry.value, value)) {
          this.#stats.skipped++;
          continue;
        }
        entry.value = share(entry.value, value);
        entry.has = true;
        for (const sub of [...entry.subs]) {
          this.#stats.notifications++;
          notify(sub, entry.value, this.#stats);
        }
      } while (entry.again);
    } finally {
      entry.running = false;
    }
  }

  #index(entry, deps) {
    for (const tk of entry.deps.keys()) this.#byTable.get(tk)?.delete(entry);
    entry.deps = deps;
    for (const tk of deps.keys()) {
      let set = this.#byTable.get(tk);
      if (!set) this.#byTable.set(tk, (set = new Set()));
      set.add(entry);
    }
  }

  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    microtask(() => {
      this.#scheduled = false;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const e of dirty) if (this.#entries.has(e.key)) this.#evaluate(e, true);
    });
  }

  /** Hands one batch of committed changes to this connection's watchers. @internal */
  deliver(batch, source) {
    if (this.#closed) return;
    const { changes, schema, overflow } = batch;
    if (schema || overflow) {
      this.#ranges.clear();
      for (const e of this.#entries.values()) this.#dirty.add(e);
    } else {
      // An evaluation under way may have read before this commit with
      // ranges not indexed yet: it runs again.
      if (changes.length) for (const e of this.#entries.values()) if (e.running) e.again = true;
      for (let i = 0; i < changes.length; i++) {
        const ch = changes[i];
        const set = this.#byTable.get(`${ch.db}\0${ch.table}`);
        if (set === undefined) continue;
        for (const e of set) {
          if (!this.#dirty.has(e) && hits(e.deps.get(`${ch.db}\0${ch.table}`), ch.keys)) this.#dirty.add(e);
        }
      }
    }
    if (this.#dirty.size) this.#schedule();
    if (this.#listeners.size === 0) return;
    const out = [];
    if (overflow) out.push({ op: 'reset', reason: 'overflow', source, seq: ++this.#seq });
    for (const ch of changes) {
      out.push({ db: ch.db, table: ch.table, key: ch.key, op: ch.op, row: ch.row ?? undefined, source, seq: ++this.#seq });
    }
    this.#stats.changes += changes.length;
    for (const c of out) {
      this.#history.push(c);
    }
    if (this.#history.length > HISTORY) this.#history.splice(0, this.#history.length - HISTORY);
    const listeners = [...this.#listeners];
    microtask(() => {
      for (const l of listeners) {
        if (!this.#listeners.has(l)) continue;
        for (const c of out) if (l.accepts(c)) notify(l.sub, c, this.#stats);
      }
    });
  }

  // --- the public entry points (through api.js / storage.js) ---

  #source(key, run) {
    return {
      add: (sub) => {
        if (this.#closed) throw new MinibaseError('CLOSED', 'watch: the connection is closed');
        let e = this.#entries.get(key);
        const fresh = !e;
        if (fresh) {
          e = new Entry(key, run);
          this.#entries.set(key, e);
        }
        e.subs.add(sub);
        const start = () => {
          if (fresh) this.#evaluate(e, false);
          else if (e.has) microtask(() => e.subs.has(sub) && notify(sub, e.value, this.#stats));
        };
        const r = this.#register();
        if (r && typeof r.then === 'function') r.then(start, (err) => sub.error?.(err));
        else start();
      },
      remove: (sub) => {
        const e = this.#entries.get(key);
        if (!e || !e.subs.delete(sub) || e.subs.size) return;
        this.#entries.delete(key);
        this.#dirty.delete(e);
        for (const tk of e.deps.keys()) this.#byTable.get(tk)?.delete(e);
        this.#unregisterIfIdle();
      },
      current: () => this.#entries.get(key)?.value,
    };
  }

  /**
   * `table.watch(query, cb)`: the rows of one select, live.
   * @param {string} db
   * @param {string} table
   * @param {object} query
   */
  watch(db, table, op, query, callback) {
    const key = stable([db, table, op, query]);
    const run = (track) => {
      const t = track(null, db).table(table);
      return op === 'get' ? t.get(query) : op === 'count' ? t.count(query) : t.select(query);
    };
    return new LiveSubscription(this.#source(key, run), callback);
  }

  /**
   * `conn.live(fn)`: any read function over one snapshot (a transaction
   * rolled back when it returns), live. The same function shares one evaluation.
   */
  live(fn, callback) {
    if (typeof fn !== 'function') throw new MinibaseError('BAD_QUERY', 'live(fn): fn must be a function');
    const run = async (track) => {
      const tx = await this.#conn.begin();
      try {
        return await fn(track(tx, this.#conn.database));
      } finally {
        if (tx.active) await tx.rollback().catch(() => {});
      }
    };
    let key = liveKeys.get(fn);
    if (!key) liveKeys.set(fn, (key = `fn:${++liveKeySeq}`));
    return new LiveSubscription(this.#source(key, run), callback);
  }

  /**
   * `conn.changes({ tables, since })`: committed changes in commit order.
   */
  changes(options, callback) {
    const o = options ?? {};
    const tables = o.tables ? new Set(o.tables) : null;
    const since = typeof o.since === 'number' ? o.since : null;
    const accepts = (c) =>
      c.op === 'reset' || (!c.db.startsWith(SYSTEM_PREFIX) && (tables === null || tables.has(c.table)));
    const listeners = this.#listeners;
    const history = this.#history;
    let last = null;
    const source = {
      add: (sub) => {
        if (this.#closed) throw new MinibaseError('CLOSED', 'changes: the connection is closed');
        const l = { accepts, sub };
        listeners.add(l);
        sub.listener = l;
        // The feed's readers want every change: the engine stops filtering.
        after(this.#register(), () => this.#feed?.feed.refilter());
        if (since !== null) {
          const oldest = history.length ? history[0].seq : this.#seq + 1;
          const replay = history.filter((c) => c.seq > since && accepts(c));
          microtask(() => {
            if (since < oldest - 1) notify(sub, { op: 'reset', reason: 'since', source: 'local', seq: since }, this.#stats);
            for (const c of replay) notify(sub, c, this.#stats);
          });
        }
      },
      remove: (sub) => {
        listeners.delete(sub.listener);
        this.#feed?.feed.refilter();
        this.#unregisterIfIdle();
      },
      current: () => last,
    };
    const s = new LiveSubscription(source, undefined, true);
    if (callback !== undefined) s.subscribe((c) => { last = c; callback(c); });
    return s;
  }

  /** The current sequence number of conn.changes (for a later `since`). */
  get changeSeq() {
    return this.#seq;
  }

  /**
   * `storage.watch(key, cb)`: the value under a key of a store, now and after
   * every commit that writes it.
   * @param {string} fullKey the key with its store's prefix
   * @param {() => unknown} read reads the value now
   */
  watchStorage(fullKey, read, callback) {
    let current;
    let seq = 0;
    const outer = new Set();
    const fetch = async () => {
      const n = ++seq;
      let v;
      let error = null;
      try {
        v = await read();
      } catch (err) {
        error = err;
      }
      if (n !== seq) return;
      if (!error) current = v;
      for (const sub of outer) {
        if (error) sub.error?.(error);
        else notify(sub, v, this.#stats);
      }
    };
    const listener = {
      accepts: (c) => c.op === 'reset' || (c.db === STORAGE_DB && c.table === 'items' && c.key === fullKey),
      sub: { next: () => fetch(), closed: false },
      outer,
    };
    const source = {
      add: (sub) => {
        if (this.#closed) throw new MinibaseError('CLOSED', 'watch: the connection is closed');
        outer.add(sub);
        this.#listeners.add(listener);
        after(this.#register(), () => after(this.#feed?.feed.refilter(), () => fetch()));
      },
      remove: (sub) => {
        outer.delete(sub);
        if (outer.size) return;
        this.#listeners.delete(listener);
        this.#feed?.feed.refilter();
        this.#unregisterIfIdle();
      },
      current: () => current,
    };
    return new LiveSubscription(source, callback);
  }

  /** Ends every subscription (the connection is closing): subscribers get complete(). */
  close() {
    if (this.#closed) return;
    const subs = [];
    for (const e of this.#entries.values()) subs.push(...e.subs);
    for (const l of this.#listeners) subs.push(...(l.outer ?? [l.sub]));
    this.#entries.clear();
    this.#listeners.clear();
    this.#byTable.clear();
    this.#dirty.clear();
    this.#unregisterIfIdle();
    this.#closed = true;
    for (const sub of subs) {
      if (sub.closed) continue;
      sub.end?.();
      try {
        sub.complete?.();
      } catch (err) {
        report(err);
      }
    }
  }
}

const liveKeys = new WeakMap();
let liveKeySeq = 0;

/** A `where` given directly as an array means `{ where }` (as in api.js). */
function toQuery(query) {
  return Array.isArray(query) ? { where: query } : query ?? {};
}
