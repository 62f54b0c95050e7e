// The IndexedDB side of the browser adapter (Go side: fsadapter/idbfs).
//
// One IndexedDB database per minibase database ("minibase:<name>"), one
// object store "files": key = the file's path, value = its bytes (a
// Uint8Array), "dir" for a directory, or `{ size }` for a file of at least
// CHUNK_BYTES, whose bytes are in the store "chunks" as records of
// CHUNK_BYTES keyed [path, chunk number]. The engine works on a synchronous
// in-memory mirror in Go of the small files (the manifest, the logs); every
// file it writes or removes is queued here (put/del, called synchronously
// from Go), and `flush` commits the queue in ONE readwrite transaction.
// Callers resolve a write's promise only after that transaction completed,
// which is what "acknowledged" means.
//
// Large files (segments) are not held: Go reads them a range at a time
// (`read`), served from a cache of chunks bounded by `residentBytes`. Go
// cannot wait for IndexedDB inside a call, so a read of a chunk not in the
// cache answers null (the engine call fails with a not-resident error, having
// changed nothing) and notes the chunk; `run` then loads the noted chunks and
// runs the call again. The engine opens a segment on its first read (its
// footer, index and bloom filter are at its end), so `load` reads the small
// files and only the sizes of the chunked ones: opening costs the same for
// any amount of data.
//
// The bound holds during a call too: a run again starts the call over, so
// the chunks the call has read so far stay loaded until it ends, and before
// more are loaded the other chunks are let go, least recently used first,
// until the loaded ones fit in the budget. Only one call's own chunks ever
// exceed it, and only up to callBytes (4 × residentBytes, at least 64 MB):
// a call that needs more fails with TOO_LARGE instead of holding the
// database in memory. Chunks let go leave their buffers for the next loads
// (within the budget): what the collector has to take back is only the
// arrays IndexedDB answers, copied and dropped at once. Reading ahead (a scan that misses chunk after chunk of
// one file) loads more than the call asked for only within those bounds.
//
// A second object store, "requests", holds the answers to calls other tabs
// forwarded (tabs.js), written in the same transaction as the files the call
// changed: a tab that takes over after the owner died answers a call sent
// again from that record instead of running it twice.
//
// A third, "meta", holds the eviction marker: a random id written when the
// IndexedDB database is created, and copied to localStorage (where the
// context has it: pages, not workers). Browsers evict an origin's IndexedDB
// (and OPFS, caches) as a whole, but Chromium's quota eviction leaves
// localStorage alone: a copy there that names a marker the database no
// longer has means the data was evicted (or cleared) since. The database is
// then opened empty, never half, and `events` fires `evicted`.

import { MinibaseError } from './errors.js';

const STORE = 'files';
const REQUESTS = 'requests';
const META = 'meta';
const CHUNKS = 'chunks';
const MARKER = 'marker';
// The META record naming the chunks the last open and the calls after it read (see #joinOpen).
const OPEN_CHUNKS = 'openChunks';
/** The most chunks an open's hint names (4 MB): an open and an app's first queries, not a table. */
const MAX_OPEN_CHUNKS = 64;
/**
 * The calls after an open whose chunks join its hint: an open reads no
 * segment (the catalog is in the manifest), so what the next open can be
 * spared is what an app reads first (its first screen), after the schema
 * calls an app makes at every start.
 */
const OPEN_WINDOW_CALLS = 4;
const VERSION = 3;

/** The size of a chunk record, and the size from which a file is kept in chunks (read on demand). */
export const CHUNK_BYTES = 64 << 10;
/**
 * Default bound of the chunks a database keeps loaded. Half of it keeps a
 * large database's tab 16 MB smaller at little cost, but makes random reads
 * of a 20–30 MB database go to IndexedDB (the peers benchmark's indexed
 * ranges on 100,000 rows: 2.7× slower).
 */
export const DEFAULT_RESIDENT_BYTES = 32 << 20;
// Runs of one call before its not-resident failure is the caller's.
const MAX_RUNS = 64;
// Chunks read ahead after a miss that continues the last one in the same
// file, doubling with each such miss (a scan misses block after block), up
// to this many.
const MAX_READAHEAD = 64;
/** The least of the bytes one call's own chunks may take past residentBytes (see callBytes). */
export const MIN_CALL_BYTES = 64 << 20;

const chunkRange = (path) => IDBKeyRange.bound([path, 0], [path, Infinity]);
const chunkKey = (path, n) => `${n}\u0000${path}`;
// A [path, chunk number] pair as META's open hint holds them.
const isChunkRef = (r) => Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && Number.isSafeInteger(r[1]) && r[1] >= 0;
const DIR = 'dir';
const DELETE = Symbol('delete');

/** The IndexedDB database name of minibase database `name`. */
export const idbName = (name) => `minibase:${name}`;

/**
 * Where the browser loader reports storage events: `evicted` (a
 * CustomEvent whose detail is `{ name, marker, previous }`) when a database
 * is found evicted at open and was opened empty.
 */
export const storageEvents = new EventTarget();

const witnessKey = (name) => `minibase:${name}:marker`;

/** localStorage where this context has one (pages; not workers), else null. */
function localStore() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // a sandboxed frame, storage disabled
  }
}

/** The marker id this origin last saw for database `name`, when it can remember one. */
export function witnessOf(name) {
  try {
    return localStore()?.getItem(witnessKey(name)) ?? null;
  } catch {
    return null;
  }
}

/** Remembers marker `id` for database `name` (null: forgets it). */
export function setWitness(name, id) {
  try {
    const ls = localStore();
    if (!ls) return;
    if (id === null) ls.removeItem(witnessKey(name));
    else ls.setItem(witnessKey(name), id);
  } catch {
    // localStorage full or disabled: detection is best effort
  }
}

/** Forgets what this origin remembers of database `name` (it is being deleted). */
export function forgetWitness(name) {
  setWitness(name, null);
}

const newMarker = () => ({
  id: globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
  created: Date.now(),
});

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Maps an IndexedDB failure to a MinibaseError: quota → QUOTA_EXCEEDED, else IO. */
export function idbError(err, what) {
  if (err instanceof MinibaseError) return err;
  const name = err?.name ?? '';
  const msg = `${what}: ${name ? name + ': ' : ''}${err?.message ?? err ?? 'transaction aborted'}`;
  if (name === 'QuotaExceededError') return new MinibaseError('QUOTA_EXCEEDED', msg, { cause: err });
  return new MinibaseError('IO', msg, { cause: err });
}

/** The files of one minibase database in IndexedDB, with the queue of unflushed changes. */
export class FileStore {
  /** @type {IDBDatabase} */
  #db;
  #name;
  #loaded = null; // [[path, value], ...] read by load(), until Go takes it
  #pending = new Map(); // path → Uint8Array | 'dir' | DELETE
  #requests = new Map(); // request id → answer, of forwarded calls that wrote
  #pendingRequests = new Map(); // request id → answer | DELETE, committed with the next files
  #chain = Promise.resolve();
  #broken = null; // the error of a failed flush, until reload()
  #committing = new Map(); // the batch of the commit under way: still read from here until it completed
  #sizes = new Map(); // path → size, of every committed chunked file
  #chunks = new Map(); // chunkKey → Uint8Array, least recently used first
  #chunkBytes = 0;
  #spare = []; // ArrayBuffers of CHUNK_BYTES of chunks let go, for the next loads
  #bad = new Map(); // chunkKey → why the chunk cannot be read (missing, wrong size)
  #misses = new Map(); // chunkKey → [path, n, needed], noted since the run began (needed: read, not read ahead)
  #streak = new Map(); // path → { first, next, runs }: the last miss noted in the file (its first chunk, the one after it), and how many misses in a row continued the one before
  #calls = new Set(); // the chunk keys each call inside run() has read or loaded (kept loaded until it ends)
  #call = null; // those of the call whose run is executing (set only while fn runs)
  #running = 0; // calls inside run()
  #taken = null; // the records take() handed out during the current run
  #merging = false; // the call executing is a compaction step (run's option)
  #cold = new Set(); // chunked files a compaction step wrote: not kept loaded after their commit
  #openHint = []; // [[path, n], …]: the chunks the last open and the calls after it read, as META keeps them
  #opened = null; // { keys, left }: the chunks read since the open, while calls after it still join them
  #residentBytes;
  #callBytes;
  /** Counters for stats, benchmarks and tests (peaks: the most chunk bytes loaded at once, the most one call held). */
  counters = { chunkLoads: 0, chunkLoadBytes: 0, openPrefetched: 0, reruns: 0, evictions: 0, loadMs: 0, peakResidentBytes: 0, peakCallBytes: 0, compactSteps: 0 };
  /** True while the owner runs compaction steps (tabs.js), for stats. */
  compacting = false;

  constructor(name, db, { residentBytes = DEFAULT_RESIDENT_BYTES, callBytes = Math.max(4 * residentBytes, MIN_CALL_BYTES) } = {}) {
    this.#name = name;
    this.#db = db;
    this.#residentBytes = residentBytes;
    this.#callBytes = Math.max(callBytes, residentBytes);
  }

  /**
   * Opens (creating when missing) the IndexedDB database of `name` and loads its records.
   * @param {string} name
   * @param {IDBFactory} [factory]
   * @param {{ residentBytes?: number, callBytes?: number }} [options] residentBytes: the bytes of
   *   chunks kept loaded (default DEFAULT_RESIDENT_BYTES); callBytes: the most one call's own
   *   chunks may take (default 4 × residentBytes, at least MIN_CALL_BYTES)
   */
  static async open(name, factory = globalThis.indexedDB, options = {}) {
    if (!factory) throw new MinibaseError('IO', 'indexeddb: this environment has no IndexedDB');
    const store = new FileStore(name, null, options);
    store.#factory = factory;
    await store.load();
    return store;
  }

  #factory = null;
  #closed = false; // closed by close(), not by the browser

  // Opens the IndexedDB database (creating it, with a new marker, when
  // missing) and checks its marker against the one this origin remembers.
  async #connect() {
    const name = this.#name;
    let db;
    try {
      const req = this.#factory.open(idbName(name), VERSION);
      req.onupgradeneeded = (e) => {
        const d = req.result;
        if (e.oldVersion < 1) {
          d.createObjectStore(STORE);
          d.createObjectStore(REQUESTS);
        }
        // A database from before markers keeps its data: it gets one now.
        if (e.oldVersion < 2) d.createObjectStore(META).put(newMarker(), MARKER);
        if (e.oldVersion < 3) {
          d.createObjectStore(CHUNKS);
          // Whole large files become chunks, one record at a time (a
          // cursor holds one value), in the upgrade's own transaction: the
          // database opens in the new layout or not at all.
          if (e.oldVersion >= 1) migrateToChunks(req.transaction);
        }
      };
      db = await request(req);
    } catch (err) {
      throw idbError(err, `indexeddb: open ${name}`);
    }
    // The browser closes the connection when it clears the origin's data:
    // the next load() opens the database again (and finds it evicted).
    db.onclose = () => {
      if (this.#db === db) this.#db = null;
    };
    this.#db = db;
    let marker;
    let hasFiles;
    try {
      const tx = db.transaction([STORE, META], 'readonly');
      [marker, hasFiles] = await Promise.all([
        request(tx.objectStore(META).get(MARKER)),
        request(tx.objectStore(STORE).openKeyCursor()).then((c) => c !== null),
      ]);
    } catch (err) {
      throw idbError(err, `indexeddb: open ${name}`);
    }
    const remembered = witnessOf(name);
    if (marker && (remembered === null || remembered === marker.id)) {
      setWitness(name, marker.id);
      return;
    }
    // Evicted (the marker this origin remembers is gone) or half there (files
    // without a marker): start empty, with a new marker.
    if (!marker || hasFiles) {
      marker = newMarker();
      try {
        const tx = db.transaction([STORE, REQUESTS, META, CHUNKS], 'readwrite');
        tx.objectStore(STORE).clear();
        tx.objectStore(CHUNKS).clear();
        tx.objectStore(REQUESTS).clear();
        tx.objectStore(META).put(marker, MARKER);
        await new Promise((resolve, reject) => {
          tx.oncomplete = resolve;
          tx.onabort = () => reject(tx.error);
        });
      } catch (err) {
        throw idbError(err, `indexeddb: reset evicted ${name}`);
      }
    }
    setWitness(name, marker.id);
    storageEvents.dispatchEvent(
      new CustomEvent('evicted', { detail: { name, marker: marker.id, previous: remembered } }),
    );
  }

  get name() {
    return this.#name;
  }

  /** True while changes wait for a flush. */
  get dirty() {
    return this.#pending.size > 0;
  }

  /** Reads every record (again), dropping unflushed changes and a failed flush's state. */
  async load() {
    if (!this.#db) {
      if (this.#closed) throw new MinibaseError('CLOSED', `indexeddb: ${this.#name} is closed`);
      await this.#connect();
    }
    const started = Date.now();
    this.#sizes = new Map();
    this.#chunks = new Map();
    this.#spare = [];
    this.#chunkBytes = 0;
    this.#bad = new Map();
    this.#streak = new Map();
    try {
      const tx = this.#db.transaction([STORE, REQUESTS, CHUNKS, META], 'readonly');
      const st = tx.objectStore(STORE);
      const rq = tx.objectStore(REQUESTS);
      const [keys, values, rkeys, rvalues, hinted] = await Promise.all([
        request(st.getAllKeys()), request(st.getAll()), request(rq.getAllKeys()), request(rq.getAll()),
        this.#readHint(tx.objectStore(META), tx.objectStore(CHUNKS)),
      ]);
      this.#loaded = keys.map((k, i) => {
        const v = values[i];
        if (v && typeof v === 'object' && !(v instanceof Uint8Array) && Number.isSafeInteger(v.size)) {
          this.#sizes.set(k, v.size);
          return [k, v.size];
        }
        return [k, v];
      });
      this.#requests = new Map(rkeys.map((k, i) => [k, rvalues[i]]));
      this.#adoptHinted(hinted);
    } catch (err) {
      throw idbError(err, `indexeddb: load ${this.#name}`);
    }
    this.counters.loadMs = Date.now() - started;
    this.#pending = new Map();
    this.#pendingRequests = new Map();
    this.#broken = null;
  }

  // The chunks the last open read, read in load's transaction beside the
  // files: the open that follows finds them loaded instead of missing them
  // one run at a time (each a transaction, and the open run again). A hint
  // that names chunks gone since (files merged away) costs only its reads.
  #readHint(meta, chunks) {
    return request(meta.get(OPEN_CHUNKS)).then((hint) => {
      this.#openHint = Array.isArray(hint) ? hint.filter(isChunkRef).slice(0, MAX_OPEN_CHUNKS) : [];
      return Promise.all(this.#openHint.map(([path, n]) => request(chunks.get([path, n])).then((v) => [path, n, v])));
    });
  }

  // Keeps the hinted chunks that are still chunks of a file, whole, within
  // the budget.
  #adoptHinted(hinted) {
    for (const [path, n, v] of hinted) {
      const want = this.#chunkSize(path, n);
      const k = chunkKey(path, n);
      if (want === 0 || !(v instanceof Uint8Array) || v.length !== want || this.#chunks.has(k)) continue;
      if (this.#chunkBytes + want > this.#residentBytes) break;
      this.#chunks.set(k, this.#own(v));
      this.#chunkBytes += want;
      this.counters.chunkLoads++;
      this.counters.chunkLoadBytes += want;
      this.counters.openPrefetched++;
    }
    this.counters.peakResidentBytes = Math.max(this.counters.peakResidentBytes, this.#chunkBytes);
  }

  // After an open and each of the OPEN_WINDOW_CALLS calls after it (a
  // merge step is none of them): the chunks they read together are named
  // for the next load once the last of them has run, and at the open
  // already where it read chunks the hint lacks (a catalog too large for
  // the manifest).
  #joinOpen(keys, opening) {
    if (opening) {
      this.#opened = { keys: new Set(), left: OPEN_WINDOW_CALLS };
      const hinted = new Set(this.#openHint.map(([path, n]) => chunkKey(path, n)));
      if ([...keys].some((k) => !hinted.has(k))) this.#rememberOpen(keys);
    } else if (this.#opened) {
      this.#opened.left--;
    }
    const o = this.#opened;
    if (!o) return;
    for (const k of keys) if (o.keys.size < MAX_OPEN_CHUNKS) o.keys.add(k);
    if (o.left === 0) {
      this.#opened = null;
      this.#rememberOpen(o.keys);
    }
  }

  // Names the chunks for the next load (a small write of its own, not
  // awaited; only when they changed).
  #rememberOpen(keys) {
    const refs = [...keys].slice(0, MAX_OPEN_CHUNKS).map((k) => {
      const at = k.indexOf('\u0000');
      return [k.slice(at + 1), Number(k.slice(0, at))];
    });
    refs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    if (JSON.stringify(refs) === JSON.stringify(this.#openHint) || !this.#db) return;
    this.#openHint = refs;
    try {
      const tx = this.#db.transaction([META], 'readwrite');
      tx.objectStore(META).put(refs, OPEN_CHUNKS);
      tx.onabort = tx.onerror = (e) => e?.preventDefault?.(); // a hint: a failure (quota) costs the next open its runs, nothing else
    } catch {
      // The connection is closing: no hint.
    }
  }

  /** The recorded answer of forwarded call `id`, if it ran and wrote. */
  answerOf(id) {
    return this.#requests.get(id);
  }

  /** Records the answer of forwarded call `id`; it is committed with the files it changed. */
  recordAnswer(id, answer) {
    this.#requests.set(id, answer);
    this.#pendingRequests.set(id, answer);
  }

  /** Drops the record of call `id` (its caller has the answer). */
  forgetAnswer(id) {
    if (this.#requests.delete(id)) this.#pendingRequests.set(id, DELETE);
  }

  /** The ids of every recorded answer. */
  answerIds() {
    return [...this.#requests.keys()];
  }

  /** True while loaded records wait to be taken. */
  get loaded() {
    return this.#loaded !== null;
  }

  /** The loaded records, handed over once (to fsadapter/idbfs.New); null when not loaded. */
  take() {
    const r = this.#loaded;
    this.#loaded = null;
    if (r && this.#running > 0) this.#taken = r;
    return r;
  }

  put(path, bytes) {
    this.#forgetChunks(path);
    this.#pending.set(path, bytes);
    if (this.#merging && bytes.length >= CHUNK_BYTES) this.#cold.add(path);
    else this.#cold.delete(path);
  }

  mkdir(path) {
    this.#pending.set(path, DIR);
  }

  del(path) {
    this.#forgetChunks(path);
    this.#pending.set(path, DELETE);
    this.#cold.delete(path);
  }

  /** The size of chunked file `path` as committed or queued, or undefined. */
  #sizeOf(path) {
    const p = this.#queued(path);
    if (p instanceof Uint8Array) return p.length;
    if (p !== undefined) return undefined;
    return this.#sizes.get(path);
  }

  // The bytes (or DIR, DELETE) of path waiting for a commit or being committed.
  #queued(path) {
    const p = this.#pending.get(path);
    return p !== undefined ? p : this.#committing.get(path);
  }

  #forgetChunks(path) {
    const n = this.#sizes.get(path);
    if (n === undefined) return;
    for (let i = 0, last = Math.ceil(n / CHUNK_BYTES); i < last; i++) {
      const k = chunkKey(path, i);
      const c = this.#chunks.get(k);
      if (c) this.#drop(k, c);
      this.#bad.delete(k);
    }
    this.#streak.delete(path);
  }

  /**
   * Bytes [off, off+n) of file `path` (called synchronously from Go): a
   * Uint8Array, null when a chunk is not loaded (it is noted for `run`), or
   * a string saying why a chunk cannot be read.
   */
  read(path, off, n) {
    const p = this.#queued(path);
    if (p instanceof Uint8Array) {
      if (off + n > p.length) throw new Error(`indexeddb: read ${path} past its end`);
      return p.subarray(off, off + n);
    }
    const size = this.#sizeOf(path);
    if (size === undefined) throw new Error(`indexeddb: read ${path}: not a chunked file`);
    if (off < 0 || off + n > size) throw new Error(`indexeddb: read ${path} past its end`);
    if (n === 0) return new Uint8Array(0);
    const first = Math.floor(off / CHUNK_BYTES);
    const last = Math.floor((off + n - 1) / CHUNK_BYTES);
    const got = [];
    let missing = -1;
    for (let i = first; i <= last; i++) {
      const k = chunkKey(path, i);
      const c = this.#chunks.get(k);
      if (c) {
        this.#chunks.delete(k); // most recently used: last in the map
        this.#chunks.set(k, c);
        this.#call?.add(k); // a run again reads it again: kept until the call ends
        got.push(c);
        continue;
      }
      const why = this.#bad.get(k);
      if (why) return why;
      if (missing < 0) missing = i;
    }
    if (missing >= 0) {
      this.#noteMisses(path, size, first, last);
      return null;
    }
    if (got.length === 1) {
      const at = off - first * CHUNK_BYTES;
      return got[0].subarray(at, at + n);
    }
    const out = new Uint8Array(n);
    let pos = 0;
    for (let i = 0; i < got.length; i++) {
      const start = i === 0 ? off - first * CHUNK_BYTES : 0;
      const end = Math.min(got[i].length, off + n - (first + i) * CHUNK_BYTES);
      out.set(got[i].subarray(start, end), pos);
      pos += end - start;
    }
    return out;
  }

  /**
   * Notes every chunk of file `path` not loaded (called from Go before it
   * reads the file whole); answers whether all are loaded.
   */
  want(path) {
    const size = this.#sizeOf(path);
    if (size === undefined || this.#queued(path) !== undefined) return true;
    const before = this.#misses.size;
    const last = Math.max(0, Math.ceil(size / CHUNK_BYTES) - 1);
    for (let i = 0; i <= last; i++) {
      const k = chunkKey(path, i);
      if (this.#chunks.has(k)) this.#call?.add(k);
      else if (!this.#bad.has(k)) this.#misses.set(k, [path, i, true]);
    }
    return this.#misses.size === before;
  }

  // Notes the chunks of [first, last] not loaded, and when the miss
  // continues the file's last one (a scan reading on), more after them,
  // twice as many as the last time.
  #noteMisses(path, size, first, last) {
    const count = Math.ceil(size / CHUNK_BYTES);
    const seen = this.#streak.get(path);
    // Another block of chunks this run noted already: no step of a scan. (A
    // chunk read ahead earlier but not loaded then, the budget being full,
    // is one: the scan reads on from it.)
    const again = seen && first >= seen.first && last < seen.next && this.#misses.has(chunkKey(path, first));
    const runs = again ? seen.runs : seen && first >= seen.first && first <= seen.next ? seen.runs + 1 : 0;
    const ahead = again || runs === 0 ? 0 : Math.min(MAX_READAHEAD, 2 ** Math.min(runs, 6)) - 1;
    const end = Math.min(count - 1, last + ahead);
    for (let i = first; i <= end; i++) {
      const k = chunkKey(path, i);
      if (!this.#chunks.has(k) && !this.#bad.has(k) && !this.#misses.get(k)?.[2]) this.#misses.set(k, [path, i, i <= last]);
    }
    if (again) return;
    this.#streak.delete(path); // most recent last: the map is cut from its oldest
    this.#streak.set(path, { first, next: end + 1, runs });
    if (this.#streak.size > 1024) this.#streak.delete(this.#streak.keys().next().value);
  }

  // Lets go of loaded chunk k (bytes c): its buffer is kept for the next
  // load while the loaded chunks and the kept buffers fit in the budget.
  #drop(k, c) {
    this.#chunks.delete(k);
    this.#chunkBytes -= c.length;
    if (c.buffer.byteLength === CHUNK_BYTES && c.byteOffset === 0 && this.#chunkBytes + (this.#spare.length + 1) * CHUNK_BYTES <= this.#residentBytes) {
      this.#spare.push(c.buffer);
    }
  }

  // A copy of chunk bytes v in a kept buffer (or a new one): the array
  // IndexedDB answered is let go at once, while it is young and cheap to
  // collect, and a loaded chunk's memory is reused, not left to the
  // collector, when it is let go.
  #own(v) {
    const buf = this.#spare.pop() ?? new ArrayBuffer(CHUNK_BYTES);
    const out = new Uint8Array(buf, 0, v.length);
    out.set(v);
    return out;
  }

  // The bytes of chunk n of a file of size bytes.
  #chunkSize(path, n) {
    const size = this.#sizes.get(path) ?? 0;
    return Math.max(0, Math.min(CHUNK_BYTES, size - n * CHUNK_BYTES));
  }

  // Whether chunk key k is one a call inside run() has read or loaded.
  #inUse(k) {
    for (const keys of this.#calls) if (keys.has(k)) return true;
    return false;
  }

  // Lets go of the least recently used chunks no call inside run() uses
  // until `want` more bytes fit in `bound`; answers whether they do.
  #makeRoom(want, bound) {
    for (const [k, c] of this.#chunks) {
      if (this.#chunkBytes + want <= bound) break;
      if (this.#inUse(k)) continue;
      this.#drop(k, c);
      this.counters.evictions++;
    }
    return this.#chunkBytes + want <= bound;
  }

  // Reads chunks [[path, n], …] from the chunks store into the cache; a
  // missing one or one of the wrong size is noted as bad.
  #getChunks(st, list, keys) {
    return Promise.all(
      list.map(([path, n]) =>
        request(st.get([path, n])).then((v) => {
          const size = this.#sizes.get(path);
          if (size === undefined) return; // deleted meanwhile
          const want = Math.min(CHUNK_BYTES, size - n * CHUNK_BYTES);
          const k = chunkKey(path, n);
          if (this.#chunks.has(k)) {
            keys?.add(k);
            return;
          }
          if (!(v instanceof Uint8Array)) {
            this.#bad.set(k, `chunk ${n} of ${path} is missing from IndexedDB`);
            return;
          }
          if (v.length !== want) {
            this.#bad.set(k, `chunk ${n} of ${path} has ${v.length} bytes, ${want} expected`);
            return;
          }
          this.#chunks.set(k, this.#own(v));
          this.#chunkBytes += v.length;
          keys?.add(k);
          this.counters.chunkLoads++;
          this.counters.chunkLoadBytes += v.length;
          this.counters.peakResidentBytes = Math.max(this.counters.peakResidentBytes, this.#chunkBytes);
        }),
      ),
    );
  }

  /**
   * Runs `fn` (one synchronous engine call) until it no longer misses
   * chunks: after a run that missed, the chunks it noted are loaded and, when
   * the call failed, it runs again (a failed call changed nothing). A call
   * that succeeded and still missed stopped short on purpose (a compaction
   * step: the engine goes on from there in the next one): what it missed is
   * loaded, within the same bounds, for that next call. The chunks the call
   * read stay loaded until it ends; the others are let go as the budget
   * requires before each load, and after the call.
   * @template T
   * @param {() => T} fn
   * @param {{ merging?: boolean, opening?: boolean }} [options] merging: fn is a compaction step,
   *   whose output is not kept loaded once committed (no one just read it, and
   *   it would push out the step's inputs); opening: fn opens the database, and
   *   the chunks it and the next calls read are named for the next load() to
   *   read with the files
   * @returns {Promise<T>}
   */
  async run(fn, { merging = false, opening = false } = {}) {
    this.#running++;
    const keys = new Set(); // the chunks this call read or loaded
    this.#calls.add(keys);
    try {
      for (let attempt = 0; ; attempt++) {
        this.#misses = new Map();
        this.#taken = null;
        this.#call = keys;
        this.#merging = merging;
        if (merging) this.counters.compactSteps++;
        let result;
        let error = null;
        try {
          result = fn();
        } catch (err) {
          error = err;
        } finally {
          this.#call = null;
          this.#merging = false;
        }
        if (this.#misses.size === 0) {
          if (error) throw error;
          if (!merging) this.#joinOpen(keys, opening);
          return result;
        }
        const misses = [...this.#misses.values()];
        this.#misses = new Map();
        if (error && this.#taken) {
          // The call that opened the files failed: the next run opens them again.
          this.#loaded = this.#taken;
          this.#taken = null;
        }
        if (!error) {
          // The call is over (a step that stopped): the chunks it read need
          // not stay, so the next step's may take their room, least
          // recently used first (the step's last position goes last).
          this.#calls.delete(keys);
          keys.clear();
        }
        const list = this.#admit(misses, keys);
        if (error && list === null) throw this.#tooLarge(keys, misses);
        if (list?.length) await this.#load(list, keys);
        if (!error) return result;
        if (attempt + 1 >= MAX_RUNS) {
          throw new MinibaseError('IO', `indexeddb: ${this.#name}: a call still missed segment chunks after ${MAX_RUNS} runs`, { cause: error });
        }
        this.counters.reruns++;
      }
    } finally {
      this.#taken = null;
      this.#calls.delete(keys);
      this.#running--;
      this.#trim();
    }
  }

  // The chunks of `misses` to load for the call whose chunks are `keys`,
  // once room is made for them: those it read, and those read ahead that fit
  // (in the budget, or within callBytes for a call already past it). Null
  // when the call would hold more than callBytes.
  #admit(misses, keys) {
    const callBytes = this.#heldBytes(keys);
    const needed = [];
    const ahead = [];
    let want = 0;
    for (const m of misses) {
      const n = this.#chunkSize(m[0], m[1]);
      if (n === 0) continue; // deleted meanwhile
      if (m[2]) {
        if (callBytes + want + n > this.#callBytes) return null;
        needed.push(m);
        want += n;
      } else ahead.push([m, n]);
    }
    this.#makeRoom(want, this.#residentBytes);
    // Read ahead within the budget; a call already past it (a long scan)
    // within callBytes.
    const bound = callBytes + want > this.#residentBytes ? this.#callBytes : this.#residentBytes;
    for (const [m, n] of ahead) {
      if (this.#chunkBytes + want + n > bound && !this.#makeRoom(want + n, bound)) break;
      needed.push(m);
      want += n;
    }
    this.counters.peakCallBytes = Math.max(this.counters.peakCallBytes, callBytes + want);
    return needed;
  }

  // The bytes of the chunks of `keys` (one call's) loaded now.
  #heldBytes(keys) {
    let n = 0;
    for (const k of keys) n += this.#chunks.get(k)?.length ?? 0;
    return n;
  }

  #tooLarge(keys, misses) {
    const mb = (n) => `${Math.round((n / 2 ** 20) * 10) / 10} MB`;
    const held = this.#heldBytes(keys);
    const more = misses.filter((m) => m[2]).reduce((a, m) => a + this.#chunkSize(m[0], m[1]), 0);
    return new MinibaseError(
      'TOO_LARGE',
      `indexeddb: ${this.#name}: this call reads more than ${mb(this.#callBytes)} of segment files at once (${mb(held)} read, ${mb(more)} more asked; residentBytes ${mb(this.#residentBytes)}): narrow it (an indexed where, a limit, pages) or raise residentBytes`,
    );
  }

  async #load(list, keys) {
    if (!this.#db) {
      if (this.#closed) throw new MinibaseError('CLOSED', `indexeddb: ${this.#name} is closed`);
      throw new MinibaseError('IO', `indexeddb: ${this.#name}: the connection was closed by the browser`);
    }
    try {
      const tx = this.#db.transaction([CHUNKS], 'readonly');
      await this.#getChunks(tx.objectStore(CHUNKS), list, keys);
    } catch (err) {
      throw idbError(err, `indexeddb: read ${this.#name}`);
    }
  }

  // Lets go of the least recently used chunks past the budget, never those
  // a call inside run() uses.
  #trim() {
    if (this.#chunkBytes <= this.#residentBytes) return;
    for (const [k, c] of this.#chunks) {
      if (this.#chunkBytes <= this.#residentBytes) break;
      if (this.#inUse(k)) continue;
      this.#drop(k, c);
      this.counters.evictions++;
    }
  }

  /** What is loaded: `{ residentBytes, residentChunks, budgetBytes, ...counters }`. */
  stats() {
    return { residentBytes: this.#chunkBytes, residentChunks: this.#chunks.size, budgetBytes: this.#residentBytes, callBytes: this.#callBytes, compacting: this.compacting, ...this.counters };
  }

  /** Forgets unflushed changes (their engine state is being thrown away). */
  discard() {
    this.#cold.clear();
    for (const path of this.#pending.keys()) this.#forgetChunks(path);
    this.#pending = new Map();
    this.#pendingRequests = new Map();
  }

  /**
   * Commits every queued change in one readwrite transaction; resolves when
   * it completed. Flushes run one after another; after a failed one every
   * later flush fails too until `load()`, so nothing written after a lost
   * commit becomes durable without it.
   * @param {'strict'|'relaxed'} [durability]
   * @returns {Promise<void>}
   */
  flush(durability = 'relaxed') {
    const p = this.#chain.then(() => this.#commit(durability));
    this.#chain = p.catch(() => {});
    return p;
  }

  #commit(durability) {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#pending.size === 0) return Promise.resolve();
    const batch = this.#pending;
    const answers = this.#pendingRequests;
    this.#pending = new Map();
    this.#pendingRequests = new Map();
    const chunked = new Map(); // path → its chunks, cached once committed
    this.#committing = batch;
    return new Promise((resolve, reject) => {
      let tx;
      try {
        if (!this.#db) throw new DOMException('the database connection was closed by the browser', 'InvalidStateError');
        tx = this.#db.transaction([STORE, REQUESTS, CHUNKS], 'readwrite', { durability });
        const st = tx.objectStore(STORE);
        const ch = tx.objectStore(CHUNKS);
        for (const [k, v] of batch) {
          if (v !== DIR) ch.delete(chunkRange(k));
          if (v === DELETE) st.delete(k);
          else if (v instanceof Uint8Array && v.length >= CHUNK_BYTES) {
            const parts = [];
            for (let at = 0, n = 0; at < v.length; at += CHUNK_BYTES, n++) {
              // A copy, not a view: IndexedDB would store a view's whole buffer.
              const part = v.slice(at, at + CHUNK_BYTES);
              ch.put(part, [k, n]);
              parts.push(part);
            }
            st.put({ size: v.length }, k);
            chunked.set(k, parts);
          } else st.put(v, k);
        }
        const rq = tx.objectStore(REQUESTS);
        for (const [k, v] of answers) {
          if (v === DELETE) rq.delete(k);
          else rq.put(v, k);
        }
      } catch (err) {
        try {
          tx?.abort();
        } catch {}
        reject(err);
        return;
      }
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    }).then(() => {
      this.#committing = new Map();
      for (const [k, v] of batch) {
        if (this.#pending.has(k)) continue; // changed again meanwhile, queued
        this.#forgetChunks(k);
        this.#sizes.delete(k);
        const parts = chunked.get(k);
        if (!parts) continue;
        this.#sizes.set(k, v.length);
        if (this.#cold.delete(k)) continue;
        // Just written, most likely read next (a flush's segment, read by the
        // compaction after it): kept as far as the budget allows.
        for (let n = 0; n < parts.length && this.#makeRoom(parts[n].length, this.#residentBytes); n++) {
          this.#chunks.set(chunkKey(k, n), parts[n]);
          this.#chunkBytes += parts[n].length;
        }
      }
      this.counters.peakResidentBytes = Math.max(this.counters.peakResidentBytes, this.#chunkBytes);
      this.#trim();
    }, (err) => {
      this.#committing = new Map();
      this.#broken = idbError(err, `indexeddb: commit to ${this.#name}`);
      throw this.#broken;
    });
  }

  close() {
    this.#closed = true;
    this.#db?.close();
    this.#db = null;
  }
}

/**
 * The host object fsadapter/idbfs calls synchronously from Go: it routes
 * calls by database name to the FileStore registered for it.
 */
export const idbHost = {
  /** @type {Map<string, FileStore>} */
  stores: new Map(),
  take(root) {
    return this.stores.get(root)?.take() ?? null;
  },
  put(root, path, bytes) {
    storeOf(root).put(path, bytes);
  },
  mkdir(root, path) {
    storeOf(root).mkdir(path);
  },
  del(root, path) {
    storeOf(root).del(path);
  },
  read(root, path, off, n) {
    return storeOf(root).read(path, off, n);
  },
  want(root, path) {
    return storeOf(root).want(path);
  },
  /** Files of at least this size are kept in chunks and read through read(). */
  chunkBytes: CHUNK_BYTES,
};

/**
 * Rewrites every whole file of at least CHUNK_BYTES as chunks, in the
 * upgrade transaction `tx` (the layout before chunks kept each file whole).
 * @param {IDBTransaction} tx
 */
function migrateToChunks(tx) {
  const st = tx.objectStore(STORE);
  const ch = tx.objectStore(CHUNKS);
  const req = st.openCursor();
  req.onsuccess = () => {
    const cur = req.result;
    if (!cur) return;
    const v = cur.value;
    if (v instanceof Uint8Array && v.length >= CHUNK_BYTES) {
      for (let at = 0, n = 0; at < v.length; at += CHUNK_BYTES, n++) ch.put(v.slice(at, at + CHUNK_BYTES), [cur.key, n]);
      cur.update({ size: v.length });
    }
    cur.continue();
  };
}

function storeOf(root) {
  const s = idbHost.stores.get(root);
  // Throwing here becomes an error of the engine's file operation.
  if (!s) throw new Error(`indexeddb: database ${root} is not loaded`);
  return s;
}
