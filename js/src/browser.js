// The browser entry of the package (`import { connect } from 'minibase-db'`
// under the "browser" condition, or js/dist/browser.mjs directly). ESM; works
// in a page, a dedicated Worker and a Service Worker.
//
//   const conn = await connect({ adapter: 'indexeddb', name: 'app' })
//
// The engine (js/dist/minibase.wasm next to this file, or options.wasm) is
// loaded once per page/worker, with WebAssembly.instantiateStreaming when the
// server sends application/wasm, else WebAssembly.instantiate. Data lives in
// IndexedDB (fsadapter/idbfs + browser-idb.js); tabs share a database through
// tabs.js.

import './wasm_exec.js'; // defines globalThis.Go (copied from the Go toolchain by js/build.mjs)
import { runEngine, sharedEngine as shared } from './engine.js';
import { minibaseImports } from './imports.js';
import { Connection, checkpointIdleOption, checkpointPending, openConnection } from './api.js';
import { applySchema, parseSchema } from './schema.js';
import { MinibaseError, toMinibaseError } from './errors.js';
import { idbHost, storageEvents, forgetWitness } from './browser-idb.js';
import { ClientBridge, Coordinator } from './tabs.js';
import { ON_CLOSE } from './storage.js';
import { RESTORE, createAbortSignal } from './backup.js';
import { opfsHost } from './browser-opfs.js';
import { OpfsOwner, WORKER_NAME, opfsAvailable, preloadOpfs, serveOpfs } from './opfs-worker.js';
import { sharedChannelAvailable } from './opfs-channel.js';

export { MinibaseError } from './errors.js';
export { Connection, Table, Transaction } from './api.js';
export { Storage } from './storage.js';
export { createAbortSignal };
export { describeRoot, pageRows, formatValue } from './inspect.js';

/**
 * Storage events of this page or worker. `evicted` (a CustomEvent, detail
 * `{ name, marker, previous }`): database `name` was found evicted by the
 * browser (or cleared) when it was opened, and was opened empty. Listen
 * before `connect`. Recovery: recreate the schema and sync again; a sync
 * client starts from an empty cursor and pulls everything.
 */
export const events = storageEvents;

/**
 * What the browser says of this origin's storage: `{ usage, quota,
 * persisted }` (bytes, and whether it is exempt from eviction); members the
 * browser cannot tell are missing.
 */
export async function storageInfo() {
  const sm = globalThis.navigator?.storage;
  const out = {};
  try {
    const est = await sm?.estimate?.();
    if (est) Object.assign(out, { usage: est.usage, quota: est.quota });
  } catch {}
  try {
    const p = await sm?.persisted?.();
    if (typeof p === 'boolean') out.persisted = p;
  } catch {}
  return out;
}

// Asked once per page or worker: the answer is the origin's.
let persistAsked = null;
function askPersist() {
  persistAsked ??= Promise.resolve()
    .then(() => globalThis.navigator?.storage?.persist?.())
    .then((granted) => granted === true, () => false);
  return persistAsked;
}

/**
 * The API's bridge to a database shared by tabs (IndexedDB, OPFS): stats() also reports the origin's
 * storage use and quota, and in the tab that owns an IndexedDB database its loaded segment chunks.
 */
class SharedBridge extends ClientBridge {
  #name;
  constructor(coord, name) {
    super(coord);
    this.#name = name;
  }

  async call(op, ...args) {
    const result = await super.call(op, ...args);
    if (op === 'stats' && result && typeof result === 'object') {
      const files = idbHost.stores.get(this.#name)?.stats();
      if (files) {
        result.residentChunkBytes = files.residentBytes;
        result.chunkLoads = files.chunkLoads;
        result.chunkLoadBytes = files.chunkLoadBytes;
        result.peakResidentChunkBytes = files.peakResidentBytes;
        result.peakCallChunkBytes = files.peakCallBytes;
        result.chunkEvictions = files.evictions;
        result.chunkReruns = files.reruns;
        result.filesLoadMs = files.loadMs;
        result.compactSteps = files.compactSteps;
        result.compacting = files.compacting ? 1 : 0;
      }
      // Numbers, as every stats member is (storageInfo() also says whether it is persisted).
      const { usage, quota } = await storageInfo();
      if (typeof usage === 'number') result.storageUsageBytes = usage;
      if (typeof quota === 'number') result.storageQuotaBytes = quota;
    }
    return result;
  }
}

// Memory grown before Go starts is heap Go uses without growing it (every
// growth makes the JS engine collect its heap). Less than in Node: a tab's
// address space is more precious.
const DEFAULT_RESERVE_MB = 24;

async function instantiate(wasm, go) {
  if (wasm instanceof WebAssembly.Module) return WebAssembly.instantiate(wasm, go.importObject);
  if (ArrayBuffer.isView(wasm) || wasm instanceof ArrayBuffer) {
    return (await WebAssembly.instantiate(wasm, go.importObject)).instance;
  }
  const url = wasm ?? new URL('./minibase.wasm', import.meta.url);
  const fetchIt = () =>
    fetch(url).then((r) => {
      if (!r.ok) throw new MinibaseError('IO', `cannot load the minibase engine from ${url}: HTTP ${r.status}`);
      return r;
    });
  if (typeof WebAssembly.instantiateStreaming === 'function') {
    try {
      return (await WebAssembly.instantiateStreaming(fetchIt(), go.importObject)).instance;
    } catch (err) {
      // A wrong Content-Type (not application/wasm) or a failed fetch: retry the plain way.
      if (err instanceof MinibaseError) throw err;
    }
  }
  const bytes = await (await fetchIt()).arrayBuffer();
  return (await WebAssembly.instantiate(bytes, go.importObject)).instance;
}

async function start(wasm, reserveMB, host = { idb: idbHost }) {
  const go = new globalThis.Go();
  // No node fs here: the build links the node adapter, which never runs in a browser.
  Object.assign(go.importObject, minibaseImports(go));
  let instance;
  try {
    instance = await instantiate(wasm, go);
  } catch (err) {
    if (err instanceof MinibaseError) throw err;
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine: ${err.message}`, { cause: err });
  }
  return runEngine(go, instance, { host, reserveMB });
}

// This module loaded as the OPFS worker (opfs-worker.js): it serves the page
// that started it, with an engine of its own on OPFS.
if (typeof DedicatedWorkerGlobalScope === 'function' && globalThis instanceof DedicatedWorkerGlobalScope && globalThis.name === WORKER_NAME) {
  serveOpfs(globalThis, ({ wasm, reserveMB = DEFAULT_RESERVE_MB }) => start(wasm, reserveMB, { opfs: opfsHost }));
}

// A page being hidden may not run again (a closed tab, a phone putting the
// browser away): connections with writes since their last checkpoint flush
// their logs now, so that the next open replays nothing.
if (typeof document === 'object' && document !== null && typeof document.addEventListener === 'function') {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') checkpointPending();
  });
  globalThis.addEventListener?.('pagehide', () => checkpointPending());
}

/** The engine of this page or worker, started on first use and again after it died. */
const sharedEngine = shared((wasm, reserveMB = DEFAULT_RESERVE_MB) => start(wasm, reserveMB));

const coordinators = new Map(); // name → Promise<{ coord, bridge: ClientBridge }>
const started = new Map(); // name → Coordinator

function database(name, options) {
  let entry = coordinators.get(name);
  if (!entry) {
    const coord = new Coordinator(name, {
      durability: options.durability,
      engine: () => sharedEngine(options.wasm, options.reserveMB),
      locks: options.locks,
      owner: options.owner,
      residentBytes: options.residentBytes,
    });
    started.set(name, coord);
    entry = coord.start().then(
      () => ({ coord, bridge: new SharedBridge(coord, name) }),
      (err) => {
        coordinators.delete(name);
        started.delete(name);
        coord.close();
        throw err;
      },
    );
    coordinators.set(name, entry);
  }
  return entry;
}

/**
 * Opens a connection.
 *
 * @param {object} [options]
 * @param {'indexeddb'|'opfs'|'memory'} [options.adapter='indexeddb'] where data lives; 'opfs' runs
 *   the engine in a dedicated Worker this module starts, on OPFS files
 * @param {string} [options.name='minibase'] the database (IndexedDB database "minibase:<name>",
 *   or OPFS directory minibase/<name>)
 * @param {'normal'|'strict'} [options.durability='normal'] 'strict' commits with IndexedDB's strict durability
 * @param {string|URL} [options.opfsWorker] 'opfs': the module the engine's worker loads (default: this one)
 * @param {'auto'|'shared'|'message'} [options.channel='auto'] 'opfs': how calls reach the engine's worker:
 *   'auto' through a SharedArrayBuffer when the page is cross-origin isolated (COOP + COEP), else by
 *   message; 'shared' requires the former (BAD_QUERY without isolation), 'message' never uses it.
 *   The page's worker is shared by its OPFS databases: the connect that starts it decides
 * @param {number} [options.residentBytes] 'indexeddb': the bytes of segment chunks kept loaded
 *   (default 32 MB); the rest is read from IndexedDB when a query needs it. One call's own chunks
 *   may go past it, up to 4 × residentBytes (at least 64 MB); a call needing more is TOO_LARGE
 * @param {number} [options.checkpointIdleMs=2000] how long writes must be quiet before the
 *   connection checkpoints (Connection.checkpoint); 0 turns it off
 * @param {boolean} [options.persist=false] ask the browser to exempt the origin's storage from
 *   eviction (navigator.storage.persist(); `storageInfo().persisted` tells whether it is)
 * @param {string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module} [options.wasm] the engine
 *   (default: minibase.wasm next to this module); used when the engine is first started
 * @returns {Promise<Connection>}
 */
export async function connect(options = {}) {
  try {
    const { wasm, reserveMB, locks, adapter = 'indexeddb', name: given, root, persist, residentBytes, checkpointIdleMs, ...rest } = options ?? {};
    const name = given ?? root ?? 'minibase';
    if (typeof name !== 'string' || name === '') throw new MinibaseError('BAD_QUERY', 'connect: name must be a non-empty string');
    const durability = rest.durability ?? 'normal';
    if (residentBytes !== undefined && !(Number.isSafeInteger(residentBytes) && residentBytes >= 0)) {
      throw new MinibaseError('BAD_QUERY', 'connect: residentBytes must be a whole number of bytes, 0 or more');
    }
    const idle = { checkpointIdleMs: checkpointIdleOption(checkpointIdleMs) };
    if (adapter === 'memory') {
      const bridge = await sharedEngine(wasm, reserveMB);
      return openConnection(bridge, { ...rest, adapter, root: name, durability, ...idle });
    }
    if (adapter !== 'indexeddb' && adapter !== 'opfs') {
      throw new MinibaseError('BAD_QUERY', `connect: unknown adapter '${adapter}' in the browser (indexeddb, opfs or memory)`);
    }
    // Asked before the data is touched; refused or unsupported is not an error.
    if (persist) await askPersist();
    if (adapter === 'opfs') {
      const { workerURL, channel } = opfsOptions('connect', rest);
      delete rest.opfsWorker;
      delete rest.channel;
      // Its own lock and channel: an OPFS database is not the IndexedDB one of the same name.
      const { bridge } = await database(keyOf(name, 'opfs'), {
        locks,
        durability,
        owner: () => OpfsOwner.start(name, { durability, wasm, reserveMB, workerURL, channel }),
      });
      const handle = await bridge.call('open', { ...rest, durability });
      return new Connection(bridge, handle, 'opfs', idle);
    }
    const { schema, ...engineOptions } = rest;
    const declared = schema === undefined ? null : parseSchema(schema);
    const { bridge } = await database(name, { wasm, reserveMB, locks, durability, residentBytes });
    // The other options (the engine's, e.g. cacheBytes) go to the owner's engine as they are.
    const handle = await bridge.call('open', { ...engineOptions, durability });
    const conn = new Connection(bridge, handle, 'indexeddb', idle);
    return declared === null ? conn : applySchema(conn, declared, (op, ...args) => bridge.call(op, handle, ...args), `indexeddb:${name}`);
  } catch (err) {
    throw toMinibaseError(err, 'connect');
  }
}

// The worker options of an 'opfs' call (`opfsWorker`, `channel`), checked;
// refused where this context cannot run the adapter.
function opfsOptions(what, { opfsWorker, channel = 'auto' }) {
  if (!opfsAvailable()) throw new MinibaseError('BAD_QUERY', `${what}: this context has no OPFS or cannot start a Worker (use indexeddb)`);
  if (channel !== 'auto' && channel !== 'shared' && channel !== 'message') {
    throw new MinibaseError('BAD_QUERY', `${what}: channel must be 'auto', 'shared' or 'message', not ${String(channel)}`);
  }
  if (channel === 'shared' && !sharedChannelAvailable()) {
    throw new MinibaseError('BAD_QUERY', `${what}: channel 'shared' needs a cross-origin-isolated page (served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)`);
  }
  return { workerURL: opfsWorker ?? import.meta.url, channel };
}

/**
 * Starts the engine `connect` with these options would use, without opening
 * anything: the page's engine ('indexeddb', 'memory'), or the OPFS worker and
 * its engine ('opfs'). An app calls it as its page loads, so that the
 * engine's fetch, compile and start (the larger part of a first open) are
 * done or under way when it connects; a connect made meanwhile opens the
 * database's files while the engine finishes. Resolves once the engine runs.
 * The options are connect's that concern the engine: the first start
 * decides them. A tab that turns out to forward its calls to another tab's
 * owner keeps the engine unused until it owns the database.
 *
 * @param {object} [options]
 * @param {'indexeddb'|'opfs'|'memory'} [options.adapter='indexeddb']
 * @param {string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module} [options.wasm] the engine
 * @param {string|URL} [options.opfsWorker] 'opfs': the module the worker loads
 * @param {'auto'|'shared'|'message'} [options.channel='auto'] 'opfs': as connect's
 * @returns {Promise<void>}
 */
export async function preload(options = {}) {
  try {
    const { adapter = 'indexeddb', wasm, reserveMB, ...rest } = options ?? {};
    if (adapter === 'opfs') {
      await preloadOpfs({ wasm, reserveMB, ...opfsOptions('preload', rest) });
      return;
    }
    if (adapter !== 'indexeddb' && adapter !== 'memory') {
      throw new MinibaseError('BAD_QUERY', `preload: unknown adapter '${adapter}' in the browser (indexeddb, opfs or memory)`);
    }
    await sharedEngine(wasm, reserveMB);
  } catch (err) {
    throw toMinibaseError(err, 'preload');
  }
}

/**
 * Opens a key-value store on its own connection (closed with the store). On
 * 'indexeddb' every method is asynchronous (the *Sync ones throw
 * SYNC_UNSUPPORTED): a write resolves once IndexedDB committed it, and tabs
 * sharing the database share the store through the tab that owns it.
 *
 * @param {object} [options]
 * @param {'indexeddb'|'memory'} [options.adapter='indexeddb'] where data lives
 * @param {string} [options.name='minibase'] the database (one IndexedDB database "minibase:<name>")
 * @param {'normal'|'strict'} [options.durability='normal']
 * @param {string} [options.prefix='mp_'] key prefix; `clear()` removes only these keys
 * @param {string|Uint8Array} [options.secret] passphrase (PBKDF2-SHA256) or raw 32-byte key, for `encrypt: true`
 * @param {number} [options.limitSize=10485760] quota in bytes
 * @param {number} [options.kdfIterations=600000] PBKDF2 iterations when the store's salt is created
 * @param {{ maxEntries?: number, maxBytes?: number }} [options.cache] bounds of the memory cache of `cached()`
 * @param {number} [options.sweepInterval=60] seconds between sweeps of expired keys; 0: none
 * @param {string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module} [options.wasm] the engine
 * @returns {Promise<import('./storage.js').Storage>}
 */
export async function openStorage(options = {}) {
  const { adapter, name, root, durability, wasm, reserveMB, locks, persist, residentBytes, ...storeOptions } = options ?? {};
  // Only the given ones: an undefined member would override connect's default.
  const connOptions = Object.fromEntries(
    Object.entries({ adapter, name, root, durability, wasm, reserveMB, locks, persist, residentBytes }).filter(([, v]) => v !== undefined),
  );
  const conn = await connect(connOptions);
  try {
    return await conn.storage({ ...storeOptions, [ON_CLOSE]: () => conn.close() });
  } catch (err) {
    await conn.close().catch(() => {});
    throw toMinibaseError(err, 'openStorage');
  }
}

/** The coordinator key of database `name` on `adapter`: OPFS databases have their own lock and channel. */
const keyOf = (name, adapter) => (adapter === 'opfs' ? `opfs:${name}` : name);

/**
 * Gives up this tab's part in database `name`: ownership passes to another
 * tab, and later calls on its connections from this tab reconnect. Resolves
 * once this tab let go of the database's files.
 * @param {string} name
 * @param {'indexeddb'|'opfs'} [adapter='indexeddb']
 */
export async function release(name, adapter) {
  const key = keyOf(name, adapter);
  const entry = coordinators.get(key);
  if (!entry) return;
  coordinators.delete(key);
  started.delete(key);
  const { coord } = await entry;
  await coord.close();
}

/**
 * Whether this page or worker owns database `name` now (holds its Web Lock and
 * runs the other tabs' calls), rather than forwarding its calls.
 * @param {string} name
 * @param {'indexeddb'|'opfs'} [adapter='indexeddb']
 * @returns {boolean}
 */
export function isOwner(name, adapter) {
  return started.get(keyOf(name, adapter))?.isOwner ?? false;
}

/**
 * How long deleteDatabase waits for IndexedDB connections that are still
 * closing before it answers LOCKED.
 */
const DELETE_WAIT_MS = 5000;

/**
 * Deletes database `name` (every connection to it must be closed and released).
 * LOCKED when another tab or worker has it open.
 * @param {string} name
 * @param {'indexeddb'|'opfs'} [adapter='indexeddb']
 */
export async function deleteDatabase(name, adapter) {
  await release(name, adapter);
  const key = keyOf(name, adapter);
  const remove = adapter === 'opfs' ? () => removeOpfs(name) : () => removeIdb(name);
  const locks = globalThis.navigator?.locks;
  if (!locks?.request) {
    await remove();
    return;
  }
  // The owner of a database holds its lock while it has the files open:
  // taken here (only if free), it says no other tab has them, and keeps
  // any from opening them while they are removed.
  await locks.request(`minibase:${key}`, { ifAvailable: true }, async (lock) => {
    if (!lock) throw new MinibaseError('LOCKED', `cannot delete ${name}: it is open in another tab or worker`);
    await remove();
  });
}

async function removeOpfs(name) {
  forgetWitness(`opfs:${name}`);
  try {
    const top = await (await navigator.storage.getDirectory()).getDirectoryHandle('minibase', { create: true });
    await top.removeEntry(encodeURIComponent(name), { recursive: true });
  } catch (err) {
    if (err?.name === 'NotFoundError') return;
    const locked = err?.name === 'NoModificationAllowedError' || err?.name === 'InvalidModificationError';
    throw new MinibaseError(locked ? 'LOCKED' : 'IO', `cannot delete ${name}: ${err?.message ?? err}`);
  }
}

// IndexedDB fires 'blocked' while any connection to the database is not
// closed yet, including one whose close() was called and is still finishing
// (this tab's own, just released, or a tab that went away): the request
// goes on by itself once those close, so 'blocked' means "still waiting",
// as Dexie treats it. Only a connection still open after DELETE_WAIT_MS is
// taken for a live one (one that does not hold the lock: a tab without Web
// Locks); the browser keeps the request, and the database is deleted once
// that connection closes.
function removeIdb(name) {
  forgetWitness(name);
  return new Promise((resolve, reject) => {
    let timer = null;
    const req = indexedDB.deleteDatabase(`minibase:${name}`);
    req.onsuccess = () => {
      clearTimeout(timer);
      resolve();
    };
    req.onerror = () => {
      clearTimeout(timer);
      reject(new MinibaseError('IO', `cannot delete ${name}: ${req.error?.message}`));
    };
    req.onblocked = () => {
      timer ??= setTimeout(
        () => reject(new MinibaseError('LOCKED', `cannot delete ${name}: it is still open in another tab or worker after ${DELETE_WAIT_MS} ms`)),
        DELETE_WAIT_MS,
      );
    };
  });
}

/**
 * Restores a backup (from `conn.backup()`, e.g. a Blob the user picked) into
 * a database: the whole file is checked first, and a corrupt, truncated or
 * foreign one is refused with CORRUPT before anything changes. Other
 * connections to the database (in any tab) must be closed first (LOCKED).
 * @param {Blob|Uint8Array|ArrayBuffer|Function} source
 * @param {{ adapter?: 'indexeddb'|'memory', name?: string, onProgress?: Function, signal?: object,
 *   wasm?: string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module }} [options]
 * @returns {Promise<{ keys: number, bytes: number }>}
 */
export async function restore(source, options = {}) {
  const { onProgress, signal, ...connOptions } = options ?? {};
  try {
    const verifier = await sharedEngine(connOptions.wasm, connOptions.reserveMB);
    const conn = await connect({ ...connOptions, restore: true });
    try {
      return await conn[RESTORE](source, { verifier, onProgress, signal });
    } finally {
      await conn.close();
    }
  } catch (err) {
    throw toMinibaseError(err, 'restore');
  }
}
