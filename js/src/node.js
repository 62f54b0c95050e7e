// The Node entry of the package (`import { connect } from 'minibase-db'`).
// It loads the Go engine once per process, lazily, and shares it between
// connections.

import './polyfills.js';
import './wasm_exec.js'; // defines globalThis.Go (copied from the Go toolchain by js/build.mjs)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEngine, sharedEngine } from './engine.js';
import { minibaseImports } from './imports.js';
import { openConnection } from './api.js';
import { MinibaseError, toMinibaseError } from './errors.js';
import { ON_CLOSE } from './storage.js';
import { createAbortSignal, restoreBackup, verifyBackup } from './backup.js';

export { MinibaseError } from './errors.js';
export { Connection, Table, Transaction } from './api.js';
export { Storage } from './storage.js';
export { createAbortSignal };
export { describeRoot, pageRows, formatValue } from './inspect.js';

// Directory of this file: the bundle in js/dist (CJS has __dirname; ESM has import.meta).
const here = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));

// Go's own stdout/stderr (panics, println) go through wasm_exec's stand-in
// `fs`, which sends both to console.log; write them to the right stream instead.
if (globalThis.fs && typeof globalThis.fs.readFileSync !== 'function') {
  globalThis.fs.writeSync = (fd, buf) => fs.writeSync(fd === 2 ? 2 : 1, buf);
}

/** Finds the wasm binary next to the bundle (js/dist), or in js/dist when running from js/src. */
function defaultWasmPath() {
  const candidates = [path.join(here, 'minibase.wasm'), path.join(here, '..', 'dist', 'minibase.wasm')];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}

async function wasmSource(wasm) {
  if (wasm instanceof WebAssembly.Module || ArrayBuffer.isView(wasm) || wasm instanceof ArrayBuffer) return wasm;
  const file = wasm instanceof URL ? fileURLToPath(wasm) : wasm ?? defaultWasmPath();
  if (typeof file !== 'string') {
    throw new MinibaseError('BAD_QUERY', 'connect: wasm must be a path, a file URL, bytes or a WebAssembly.Module');
  }
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    throw new MinibaseError('IO', `cannot read the minibase engine at ${file}: ${err.message} (an installed package ships it in js/dist; pass connect({ wasm: path or bytes }) to load it from elsewhere, or run \`make build\` in a checkout)`, { cause: err });
  }
}

// Memory reserved before Go starts (engine.js, reserveMemory): enough that
// opening a store does not grow memory, small because wasm memory is never
// returned and the engine's memory limit (wasm/main.go) keeps it near the
// open stores' budget.
const DEFAULT_RESERVE_MB = 32;

async function instantiate(wasm) {
  const source = await wasmSource(wasm);
  const go = new globalThis.Go();
  // The node adapter's reads, writes and syncs, over the fs it is given (host.fs).
  Object.assign(go.importObject, minibaseImports(go, fs));
  let instance;
  try {
    const result = await WebAssembly.instantiate(source, go.importObject);
    instance = result instanceof WebAssembly.Instance ? result : result.instance;
  } catch (err) {
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine: ${err.message}`, { cause: err });
  }
  const bridge = await runEngine(go, instance, { host: { fs }, reserveMB: Number(process.env.MINIBASE_RESERVE_MB ?? DEFAULT_RESERVE_MB) });
  bridge.onFail(() => releaseLocks(bridge));
  // A worker thread that ends (process.exit in it, or its last task done)
  // takes its instance along but not the process: release its locks too.
  process.once('exit', () => releaseLocks(bridge));
  return bridge;
}

/** Roots each engine has opened with the node adapter: where its lock files may be. */
const lockRoots = new WeakMap();

/**
 * Removes the lock files a dead engine instance left: the process lives on,
 * so to every other instance in it (worker threads, a second copy of this
 * module) the locks would look held for good. A lock is removed only when
 * it names this process and this instance.
 * @param {import('./bridge.js').Bridge} bridge
 */
function releaseLocks(bridge) {
  const id = bridge.instanceId;
  if (!id) return;
  for (const root of lockRoots.get(bridge) ?? []) {
    const file = path.join(root, 'LOCK');
    try {
      const lines = fs.readFileSync(file, 'latin1').split('\n');
      if (lines.includes(`pid ${process.pid}`) && lines.includes(`instance ${id}`)) fs.unlinkSync(file);
    } catch {
      // No lock there (closed, or never opened): nothing to release.
    }
  }
}

/** The process-wide engine, started on first use and again after it has died. */
const sharedBridge = sharedEngine(instantiate);

/**
 * Starts the process's engine without opening anything (as the browser
 * build's preload): resolves once it runs.
 * @param {{ wasm?: string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module }} [options]
 * @returns {Promise<void>}
 */
export async function preload(options = {}) {
  try {
    await sharedBridge(options?.wasm);
  } catch (err) {
    throw toMinibaseError(err, 'preload');
  }
}

/**
 * Opens a connection.
 *
 * @param {object} [options]
 * @param {'node'|'memory'} [options.adapter='node'] where data lives
 * @param {string} [options.root='minibase-data'] directory of the data (relative to the working directory)
 * @param {'normal'|'strict'} [options.durability='normal'] 'strict' also survives power loss (fsync)
 * @param {string|URL|Uint8Array|ArrayBuffer|WebAssembly.Module} [options.wasm] the engine binary;
 *   used only when the process-wide engine is first started
 * @returns {Promise<import('./api.js').Connection>}
 */
export async function connect(options = {}) {
  try {
    const { wasm, ...rest } = options ?? {};
    const opts = { adapter: 'node', root: 'minibase-data', durability: 'normal', ...rest };
    if (opts.root === '') {
      // path.resolve('') is the working directory: a typo must not open it.
      throw new MinibaseError('BAD_QUERY', "connect: root must be a non-empty path (use '.' to mean the working directory)");
    }
    if (opts.adapter === 'node' && typeof opts.root === 'string') opts.root = path.resolve(opts.root);
    const bridge = await sharedBridge(wasm);
    const conn = openConnection(bridge, opts, { files: nodeFiles });
    if (opts.adapter === 'node') {
      if (!lockRoots.has(bridge)) lockRoots.set(bridge, new Set());
      lockRoots.get(bridge).add(opts.root);
    }
    return conn;
  } catch (err) {
    throw toMinibaseError(err, 'connect');
  }
}

/**
 * Opens a key-value store on its own connection (closed with the store).
 *
 * @param {object} [options]
 * @param {'node'|'memory'} [options.adapter='node'] where data lives
 * @param {string} [options.root='minibase-data'] directory of the data
 * @param {string} [options.prefix='mp_'] key prefix; `clear()` removes only these keys
 * @param {string|Uint8Array} [options.secret] passphrase (PBKDF2-SHA256) or raw 32-byte key, for `encrypt: true`
 * @param {number} [options.limitSize=10485760] quota in bytes
 * @param {number} [options.kdfIterations=600000] PBKDF2 iterations when the store's salt is created
 * @param {boolean} [options.cacheKey=true] keep a passphrase's derived key for the engine's
 *   lifetime, so opening the store again skips PBKDF2 (~1 s in wasm)
 * @param {{ maxEntries?: number, maxBytes?: number }} [options.cache] bounds of the memory cache of `cached()`
 * @param {number} [options.sweepInterval=60] seconds between sweeps of expired keys; 0: none
 * @returns {Promise<import('./storage.js').Storage>}
 */
export async function openStorage(options = {}) {
  const { adapter, root, durability, wasm, ...storeOptions } = options ?? {};
  // Only the given ones: an undefined member would override connect's default.
  const connOptions = Object.fromEntries(Object.entries({ adapter, root, durability, wasm }).filter(([, v]) => v !== undefined));
  const conn = await connect(connOptions);
  try {
    return await conn.storage({ ...storeOptions, [ON_CLOSE]: () => conn.close() });
  } catch (err) {
    await conn.close().catch(() => {});
    throw toMinibaseError(err, 'openStorage');
  }
}

/** Files for backup(path) and restore(path): written whole or not at all. */
const nodeFiles = {
  async write(file, pieces) {
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    let bytes = 0;
    try {
      for await (const p of pieces) {
        fs.writeSync(fd, p);
        bytes += p.length;
      }
      fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw toMinibaseError(err, `backup to ${file}`);
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    return bytes;
  },
  async *read(file) {
    let handle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (err) {
      throw new MinibaseError('IO', `cannot read ${file}: ${err.message}`, { cause: err });
    }
    try {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.slice(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  },
};

/**
 * Restores a backup (from `conn.backup()`) into a root that no connection
 * has open: the whole file is checked first, and a corrupt, truncated or
 * foreign file is refused with CORRUPT before anything changes.
 * @param {string|Uint8Array|Function} source a path, the bytes, or a function returning a fresh stream
 * @param {{ adapter?: 'node'|'memory', root?: string, durability?: string, onProgress?: Function, signal?: object }} [options]
 * @returns {Promise<{ keys: number, bytes: number }>}
 */
export async function restore(source, options = {}) {
  try {
    const opts = { adapter: 'node', root: 'minibase-data', ...options };
    if (opts.adapter === 'node' && typeof opts.root === 'string' && opts.root !== '') opts.root = path.resolve(opts.root);
    const bridge = await sharedBridge(opts.wasm);
    if (opts.adapter === 'node') fs.mkdirSync(opts.root, { recursive: true });
    return await restoreBackup(bridge, source, { ...opts, files: nodeFiles });
  } catch (err) {
    throw toMinibaseError(err, 'restore');
  }
}

/**
 * Checks a backup file end to end without restoring it.
 * @param {string|Uint8Array|Function} source
 * @returns {Promise<{ keys: number, bytes: number }>}
 */
export async function verify(source, options = {}) {
  try {
    const bridge = await sharedBridge(options.wasm);
    return await verifyBackup(bridge, source, { ...options, files: nodeFiles });
  } catch (err) {
    throw toMinibaseError(err, 'verify backup');
  }
}
