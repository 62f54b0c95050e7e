// The IndexedDB side of the browser adapter (Go side: fsadapter/idbfs).
//
// One IndexedDB database per minibase database ("minibase:<name>"), one
// object store "files": key = the file's path, value = its bytes (a
// Uint8Array) or "dir" for a directory. The engine works on a synchronous
// in-memory mirror in Go; every file it writes or removes is queued here
// (put/del, called synchronously from Go), and `flush` commits the queue in
// ONE readwrite transaction. Callers resolve a write's promise only after
// that transaction completed, which is what "acknowledged" means.
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
const MARKER = 'marker';
const VERSION = 2;
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

  constructor(name, db) {
    this.#name = name;
    this.#db = db;
  }

  /**
   * Opens (creating when missing) the IndexedDB database of `name` and loads its records.
   * @param {string} name
   * @param {IDBFactory} [factory]
   */
  static async open(name, factory = globalThis.indexedDB) {
    if (!factory) throw new MinibaseError('IO', 'indexeddb: this environment has no IndexedDB');
    const store = new FileStore(name, null);
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
        d.createObjectStore(META).put(newMarker(), MARKER);
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
        const tx = db.transaction([STORE, REQUESTS, META], 'readwrite');
        tx.objectStore(STORE).clear();
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
    try {
      const tx = this.#db.transaction([STORE, REQUESTS], 'readonly');
      const st = tx.objectStore(STORE);
      const rq = tx.objectStore(REQUESTS);
      const [keys, values, rkeys, rvalues] = await Promise.all([
        request(st.getAllKeys()), request(st.getAll()), request(rq.getAllKeys()), request(rq.getAll()),
      ]);
      this.#loaded = keys.map((k, i) => [k, values[i]]);
      this.#requests = new Map(rkeys.map((k, i) => [k, rvalues[i]]));
    } catch (err) {
      throw idbError(err, `indexeddb: load ${this.#name}`);
    }
    this.#pending = new Map();
    this.#pendingRequests = new Map();
    this.#broken = null;
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
    return r;
  }

  put(path, bytes) {
    this.#pending.set(path, bytes);
  }

  mkdir(path) {
    this.#pending.set(path, DIR);
  }

  del(path) {
    this.#pending.set(path, DELETE);
  }

  /** Forgets unflushed changes (their engine state is being thrown away). */
  discard() {
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
    return new Promise((resolve, reject) => {
      let tx;
      try {
        if (!this.#db) throw new DOMException('the database connection was closed by the browser', 'InvalidStateError');
        tx = this.#db.transaction([STORE, REQUESTS], 'readwrite', { durability });
        const st = tx.objectStore(STORE);
        for (const [k, v] of batch) {
          if (v === DELETE) st.delete(k);
          else st.put(v, k);
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
    }).catch((err) => {
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
};

function storeOf(root) {
  const s = idbHost.stores.get(root);
  // Throwing here becomes an error of the engine's file operation.
  if (!s) throw new Error(`indexeddb: database ${root} is not loaded`);
  return s;
}
