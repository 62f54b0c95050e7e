// The browser entry of the package (`import { connect } from 'minibase'`
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
import { Connection, openConnection } from './api.js';
import { MinibaseError, toMinibaseError } from './errors.js';
import { idbHost } from './browser-idb.js';
import { ClientBridge, Coordinator } from './tabs.js';
import { ON_CLOSE } from './storage.js';
import { RESTORE, createAbortSignal } from './backup.js';

export { MinibaseError } from './errors.js';
export { Connection, Table, Transaction } from './api.js';
export { Storage } from './storage.js';
export { createAbortSignal };
export { describeRoot, pageRows, formatValue } from './inspect.js';

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

async function start(wasm, reserveMB) {
  const go = new globalThis.Go();
  let instance;
  try {
    instance = await instantiate(wasm, go);
  } catch (err) {
    if (err instanceof MinibaseError) throw err;
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine: ${err.message}`, { cause: err });
  }
  return runEngine(go, instance, { host: { idb: idbHost }, reserveMB });
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
    });
    started.set(name, coord);
    entry = coord.start().then(
      () => ({ coord, bridge: new ClientBridge(coord) }),
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
 * @param {'indexeddb'|'memory'} [options.adapter='indexeddb'] where data lives
 * @param {string} [options.name='minibase'] the database (one IndexedDB database "minibase:<name>")
 * @param {'normal'|'strict'} [options.durability='normal'] 'strict' commits with IndexedDB's strict durability
 * @param {string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module} [options.wasm] the engine
 *   (default: minibase.wasm next to this module); used when the engine is first started
 * @returns {Promise<Connection>}
 */
export async function connect(options = {}) {
  try {
    const { wasm, reserveMB, locks, adapter = 'indexeddb', name: given, root, ...rest } = options ?? {};
    const name = given ?? root ?? 'minibase';
    if (typeof name !== 'string' || name === '') throw new MinibaseError('BAD_QUERY', 'connect: name must be a non-empty string');
    const durability = rest.durability ?? 'normal';
    if (adapter === 'memory') {
      const bridge = await sharedEngine(wasm, reserveMB);
      return openConnection(bridge, { ...rest, adapter, root: name, durability });
    }
    if (adapter !== 'indexeddb') {
      throw new MinibaseError('BAD_QUERY', `connect: unknown adapter '${adapter}' in the browser (indexeddb or memory)`);
    }
    const { bridge } = await database(name, { wasm, reserveMB, locks, durability });
    // The other options (the engine's, e.g. cacheBytes) go to the owner's engine as they are.
    const handle = await bridge.call('open', { ...rest, durability });
    return new Connection(bridge, handle, 'indexeddb');
  } catch (err) {
    throw toMinibaseError(err, 'connect');
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
  const { adapter, name, root, durability, wasm, reserveMB, locks, ...storeOptions } = options ?? {};
  // Only the given ones: an undefined member would override connect's default.
  const connOptions = Object.fromEntries(
    Object.entries({ adapter, name, root, durability, wasm, reserveMB, locks }).filter(([, v]) => v !== undefined),
  );
  const conn = await connect(connOptions);
  try {
    return await conn.storage({ ...storeOptions, [ON_CLOSE]: () => conn.close() });
  } catch (err) {
    await conn.close().catch(() => {});
    throw toMinibaseError(err, 'openStorage');
  }
}

/**
 * Gives up this tab's part in database `name`: ownership passes to another
 * tab, and later calls on its connections from this tab reconnect.
 * @param {string} name
 */
export async function release(name) {
  const entry = coordinators.get(name);
  if (!entry) return;
  coordinators.delete(name);
  started.delete(name);
  const { coord } = await entry;
  coord.close();
}

/**
 * Whether this page or worker owns database `name` now (holds its Web Lock and
 * runs the other tabs' calls), rather than forwarding its calls.
 * @param {string} name
 * @returns {boolean}
 */
export function isOwner(name) {
  return started.get(name)?.isOwner ?? false;
}

/**
 * Deletes database `name` from IndexedDB (every connection to it must be closed and released).
 * @param {string} name
 */
export async function deleteDatabase(name) {
  await release(name);
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(`minibase:${name}`);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(new MinibaseError('IO', `cannot delete ${name}: ${req.error?.message}`));
    req.onblocked = () => reject(new MinibaseError('LOCKED', `cannot delete ${name}: it is open in another tab`));
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
