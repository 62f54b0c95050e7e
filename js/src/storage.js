// The storage manager: wx.setStorage habits (prefix, expiry, encrypt,
// compress, a quota) over minibase's engine/kvstore, plus a memory cache in
// front (`cached`). Each method is one bridge call (PROTOCOL.md, "Storage").
// On the memory, node and wx adapters the call is synchronous: the async
// methods wrap it so a failure becomes a rejected promise, and the *Sync
// twins return or throw directly. On 'indexeddb' the call returns a promise
// (tabs.js: it runs in the tab that owns the database and resolves once a
// write is committed to IndexedDB), which the async methods await.

import { MinibaseError } from './errors.js';

/**
 * Key of a `conn.storage()` option, set by `openStorage`: a function run
 * when the store closes (it closes the connection `openStorage` opened).
 */
export const ON_CLOSE = Symbol('minibase.storage.onClose');

// Adapters whose I/O is synchronous, so a *Sync method can return only after
// its write is durable. On 'indexeddb' the twins throw SYNC_UNSUPPORTED: a
// write is acknowledged only once IndexedDB committed it, which no
// synchronous call can wait for; and a read may have to go to the tab that
// owns the database (the engine's state lives there), so even a synchronous
// read in a non-owning tab would answer from nothing, and one in the owning
// tab could see a write whose commit then fails and is rolled back.
const SYNC_ADAPTERS = new Set(['memory', 'node', 'wx']);

/**
 * f(v) now when v is a plain value (the synchronous adapters: no microtask,
 * so the *Sync twins stay synchronous), else once the promise v resolves.
 */
const after = (v, f) => (v instanceof Promise ? v.then(f) : f(v));

const DEFAULT_CACHE = { maxEntries: 1000, maxBytes: 4 << 20 };
const DEFAULT_SWEEP_SECONDS = 60;
const SWEEP_BATCH = 1000; // keys a periodic sweep deletes at most per run
const HOT_KEYS_TRACKED = 1000; // stats() counts reads of at most this many keys

/** Rough size of a value in the memory cache, in bytes (strings count 2 per UTF-16 unit). */
function sizeOf(v) {
  if (v === null || v === undefined) return 8;
  if (typeof v === 'string') return 2 * v.length + 16;
  if (typeof v !== 'object') return 16;
  if (ArrayBuffer.isView(v)) return v.byteLength + 32;
  if (v instanceof ArrayBuffer) return v.byteLength + 32;
  try {
    return 2 * JSON.stringify(v).length + 32;
  } catch {
    return 1024;
  }
}

/**
 * A least-recently-used map bounded by entry count and estimated bytes; an
 * entry also expires at its own time.
 */
class Lru {
  #map = new Map(); // key → { value, bytes, expireAt }; Map order is recency
  #bytes = 0;

  constructor({ maxEntries, maxBytes }) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get size() {
    return this.#map.size;
  }

  get bytes() {
    return this.#bytes;
  }

  /** The live entry for key, moved to most recent; undefined when missing or expired. */
  get(key, now) {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    if (e.expireAt <= now) {
      this.#bytes -= e.bytes;
      return undefined;
    }
    this.#map.set(key, e);
    return e;
  }

  set(key, value, expireAt) {
    this.delete(key);
    const bytes = sizeOf(value) + 2 * key.length;
    if (bytes > this.maxBytes || this.maxEntries < 1) return; // never cached: it would evict everything
    this.#map.set(key, { value, bytes, expireAt });
    this.#bytes += bytes;
    for (const [k, e] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= e.bytes;
    }
  }

  delete(key) {
    const e = this.#map.get(key);
    if (e) {
      this.#map.delete(key);
      this.#bytes -= e.bytes;
    }
  }

  clear() {
    this.#map.clear();
    this.#bytes = 0;
  }
}

/** Options of `set`: `expire` in seconds, or an absolute `expireAt`. */
function setOptions(options) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object') throw new MinibaseError('BAD_QUERY', 'set: options must be an object');
  const { expireAt } = options;
  if (expireAt instanceof Date) return { ...options, expireAt: expireAt.getTime() };
  return options;
}

/**
 * A key-value store (see `openStorage` and `Connection.storage`).
 *
 * Values are any JSON value plus `Uint8Array` / `ArrayBuffer` (read back as
 * `Uint8Array`). Values returned by the memory cache of `cached()` are shared
 * between callers: treat them as read-only.
 */
export class Storage {
  #call;
  #adapter;
  #onClose;
  #closed = false;
  #lru;
  #inflight = new Map(); // key → promise of a running loader
  #pinned = null; // ms, when the clock is pinned (tests)
  #sweep = null;
  #sweeping = false; // a sweep's call is still running (asynchronous adapters)
  #writeSeq = 0; // bumped by every write through this object: see cached()
  #stats = { reads: 0, writes: 0, hits: 0, misses: 0 };
  #hot = new Map(); // key → reads

  /**
   * @internal use `openStorage()` or `conn.storage()`
   * @param {(op: string, ...args: unknown[]) => unknown} call runs a storage op with the store handle
   * @param {{ adapter: string, prefix: string, cache?: object, sweepInterval?: number, onClose?: () => void }} info
   */
  constructor(call, info) {
    this.#call = call;
    this.#adapter = info.adapter;
    this.#onClose = info.onClose;
    this.prefix = info.prefix;
    this.#lru = new Lru({ ...DEFAULT_CACHE, ...(info.cache ?? {}) });
    const every = info.sweepInterval ?? DEFAULT_SWEEP_SECONDS;
    if (every > 0) {
      // The engine starts no goroutines of its own (under wasm they would run
      // only when JS re-enters Go), so the sweep is this timer; reads never
      // depend on it, because expired keys are invisible anyway.
      this.#sweep = setInterval(() => {
        if (this.#sweeping) return;
        try {
          const r = this.#op('storageCleanExpired', SWEEP_BATCH);
          if (r instanceof Promise) {
            this.#sweeping = true;
            r.catch(() => {}).finally(() => (this.#sweeping = false));
          }
        } catch {
          // A failed sweep is retried on the next tick; expiry stays exact regardless.
        }
      }, every * 1000);
      this.#sweep.unref?.();
    }
  }

  #op(op, ...args) {
    if (this.#closed) throw new MinibaseError('CLOSED', `${op}: the storage is closed`);
    return this.#call(op, ...args);
  }

  #sync(method) {
    if (!SYNC_ADAPTERS.has(this.#adapter)) {
      throw new MinibaseError('SYNC_UNSUPPORTED', `${method}Sync is not available on the '${this.#adapter}' adapter, whose I/O is asynchronous: use await storage.${method}()`);
    }
  }

  #now() {
    return this.#pinned ?? Date.now();
  }

  #countRead(key) {
    this.#stats.reads++;
    this.#hot.set(key, (this.#hot.get(key) ?? 0) + 1);
    if (this.#hot.size > HOT_KEYS_TRACKED) {
      // Keep the busier half: the hottest keys survive, memory stays bounded.
      const keep = [...this.#hot].sort((a, b) => b[1] - a[1]).slice(0, HOT_KEYS_TRACKED / 2);
      this.#hot = new Map(keep);
    }
  }

  // The #get/#set/#remove helpers return a plain value on the synchronous
  // adapters and a promise on 'indexeddb'.
  #get(key, defaultValue) {
    return after(this.#getEntry(key), (r) => (r === null ? defaultValue : r.value));
  }

  #getEntry(key) {
    this.#countRead(key);
    return this.#op('storageGet', key);
  }

  #set(key, value, options) {
    this.#stats.writes++;
    this.#writeSeq++;
    this.#lru.delete(key);
    return after(this.#op('storageSet', key, value, setOptions(options)), () => undefined);
  }

  #remove(key) {
    this.#stats.writes++;
    this.#writeSeq++;
    this.#lru.delete(key);
    return this.#op('storageRemove', key);
  }

  /**
   * Stores value under key.
   * @param {string} key
   * @param {unknown} value
   * @param {{ expire?: number, expireAt?: Date|number, encrypt?: boolean, compress?: boolean }} [options]
   *   `expire` in seconds; `expireAt` a Date or ms since the epoch
   */
  async set(key, value, options) {
    await this.#set(key, value, options);
  }

  /**
   * The value under key, or `defaultValue` (null when not given) when it is missing or expired.
   * @param {string} key
   * @param {unknown} [defaultValue]
   */
  async get(key, defaultValue = null) {
    return this.#get(key, defaultValue);
  }

  /** @param {string} key @returns {Promise<boolean>} whether key holds a live value */
  async has(key) {
    return this.#op('storageHas', key);
  }

  /** Removes key. @param {string} key @returns {Promise<boolean>} whether it held a live value */
  async remove(key) {
    return this.#remove(key);
  }

  /** @returns {Promise<string[]>} the live keys, without the prefix, sorted */
  async keys() {
    return this.#op('storageKeys');
  }

  /** Removes every key of this store's prefix (and no other). */
  async clear() {
    this.#stats.writes++;
    this.#writeSeq++;
    this.#lru.clear();
    await this.#op('storageClear');
  }

  /**
   * Like wx.getStorageInfo: the live key names (without the prefix, sorted),
   * their number, and sizes in KB.
   * @returns {Promise<{ keys: string[], keyCount: number, currentSize: number, limitSize: number, usage: string }>}
   */
  async info() {
    return this.#op('storageInfo');
  }

  /** Deletes expired keys now. @returns {Promise<number>} how many */
  async cleanExpired() {
    return this.#op('storageCleanExpired', 0);
  }

  /**
   * Runs operations in order in one transaction; the writes apply all or none.
   * @param {Array<{ type: 'set'|'get'|'has'|'remove', key: string, data?: unknown, options?: object, defaultValue?: unknown }>} ops
   * @returns {Promise<unknown[]>} per op: get → value or defaultValue, has/remove → boolean, set → null
   */
  async batch(ops) {
    if (!Array.isArray(ops)) throw new MinibaseError('BAD_QUERY', 'batch(ops): ops must be an array');
    this.#writeSeq++;
    const req = ops.map((op) => {
      if (op === null || typeof op !== 'object') throw new MinibaseError('BAD_QUERY', 'batch(ops): every op must be an object');
      if (op.type === 'set' || op.type === 'remove') this.#lru.delete(op.key);
      if (op.type === 'get') this.#countRead(op.key);
      else if (op.type === 'set' || op.type === 'remove') this.#stats.writes++;
      return op.type === 'set' ? { ...op, options: setOptions(op.options) } : op;
    });
    return this.#op('storageBatch', req);
  }

  /**
   * The value under key from the memory cache, else from storage, else from
   * `loader()` (then stored with `ttl` seconds of expiry). Concurrent callers
   * of a missing key share one `loader()` call.
   * @template T
   * @param {string} key
   * @param {() => T | Promise<T>} loader
   * @param {{ ttl?: number, memory?: boolean, encrypt?: boolean, compress?: boolean }} [options]
   * @returns {Promise<T>}
   */
  async cached(key, loader, options = {}) {
    if (typeof loader !== 'function') throw new MinibaseError('BAD_QUERY', 'cached(key, loader): loader must be a function');
    const { ttl, memory = true, encrypt, compress } = options ?? {};
    if (memory) {
      const e = this.#lru.get(key, this.#now());
      if (e) {
        this.#countRead(key);
        this.#stats.hits++;
        return e.value;
      }
    }
    const running = this.#inflight.get(key);
    if (running) {
      this.#countRead(key);
      this.#stats.hits++;
      return running;
    }
    // The storage read is part of the shared promise: on 'indexeddb' it is
    // asynchronous, and a second caller arriving while it runs must wait for
    // it rather than call loader() too.
    const load = (async () => {
      try {
        const seq = this.#writeSeq;
        const r = await this.#getEntry(key);
        if (r !== null) {
          this.#stats.hits++;
          // Not when a write went through this object while the read ran:
          // the value read may be older than that write.
          if (memory && seq === this.#writeSeq) this.#lru.set(key, r.value, r.expireAt ?? Infinity);
          return r.value;
        }
        this.#stats.misses++;
        const value = await loader();
        const opts = { encrypt, compress };
        if (ttl > 0) opts.expire = ttl;
        const write = this.#set(key, value, opts);
        // Cached before the write settles, so that a set() of key made
        // meanwhile (which drops the entry) wins; taken back if it fails.
        if (memory) this.#lru.set(key, value, ttl > 0 ? this.#now() + ttl * 1000 : Infinity);
        try {
          await write;
        } catch (err) {
          this.#lru.delete(key);
          throw err;
        }
        return value;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, load);
    return load;
  }

  /**
   * Counters of this storage object: reads, writes, hits and misses of
   * `cached`, the hit rate, the hottest keys by reads, the memory cache's size.
   */
  stats() {
    const { reads, writes, hits, misses } = this.#stats;
    const hottest = [...this.#hot]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([key, count]) => ({ key, reads: count }));
    return {
      reads, writes, hits, misses,
      hitRate: hits + misses ? hits / (hits + misses) : 0,
      hottest,
      memory: { entries: this.#lru.size, bytes: this.#lru.bytes },
    };
  }

  /** Synchronous `get`. @param {string} key @param {unknown} [defaultValue] */
  getSync(key, defaultValue = null) {
    this.#sync('get');
    return this.#get(key, defaultValue);
  }

  /** Synchronous `set`. */
  setSync(key, value, options) {
    this.#sync('set');
    this.#set(key, value, options);
  }

  /** Synchronous `has`. */
  hasSync(key) {
    this.#sync('has');
    return this.#op('storageHas', key);
  }

  /** Synchronous `remove`. */
  removeSync(key) {
    this.#sync('remove');
    return this.#remove(key);
  }

  /** Synchronous `keys`. */
  keysSync() {
    this.#sync('keys');
    return this.#op('storageKeys');
  }

  /** Synchronous `info`. */
  infoSync() {
    this.#sync('info');
    return this.#op('storageInfo');
  }

  /**
   * Pins the clock used for expiry to `ms` (null: real time again), here and
   * in the engine: tests of expiry move time instead of sleeping.
   * @param {number|Date|null} ms
   * @returns {void|Promise<void>} on 'indexeddb', a promise of the engine's clock being set
   */
  setClock(ms) {
    const t = ms instanceof Date ? ms.getTime() : ms;
    const r = this.#op('storageSetClock', t ?? null);
    this.#pinned = t ?? null;
    // On 'indexeddb' the engine's clock moves when the owning tab runs the
    // call: later calls are run after it, and the promise says when.
    return r instanceof Promise ? r.then(() => undefined) : undefined;
  }

  /** True once `close()` was called. */
  get closed() {
    return this.#closed;
  }

  /** Stops the sweep and releases the store (and its connection, when `openStorage` opened one). */
  async close() {
    if (this.#closed) return;
    clearInterval(this.#sweep);
    this.#lru.clear();
    this.#closed = true;
    try {
      await this.#call('storageClose');
    } catch {
      // Its connection is closed already, and the store with it.
    }
    await this.#onClose?.();
  }
}
