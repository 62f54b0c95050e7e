// The mini-program entry of the package (`require('minibase-db')` after the
// mini-program npm build; js/dist/miniprogram/index.js). It loads the Go
// engine through WXWebAssembly (TTWebAssembly on Douyin) from the brotli wasm
// in the code package, installs only the polyfills the runtime lacks, and
// gives the same connect / openStorage API as Node, with adapter 'wx' on the
// FileSystemManager.
//
// Loading it touches no global: the polyfills and Go's wasm_exec.js (which
// the build wraps in installGo) are installed when connect first starts the
// engine, after the runtime has been checked, so a runtime it cannot run in
// gets an UNSUPPORTED_RUNTIME error instead of a crash at require.

import { installPolyfills, calibrateClock, seedRandom, installed as polyfills } from './wx-polyfills.js';
import { installGo } from './wasm_exec.js'; // the build wraps Go's glue in installGo (js/build.mjs)
import { runEngine, sharedEngine } from './engine.js';
import { requestFetch } from './wx-request.js';
import { checkpointPending, openConnection } from './api.js';
import { MinibaseError, toMinibaseError } from './errors.js';
import { ON_CLOSE } from './storage.js';
import { createAbortSignal, restoreBackup } from './backup.js';

export { MinibaseError } from './errors.js';
export { Connection, Table, Transaction } from './api.js';
export { Storage } from './storage.js';
export { bindLive } from './wx-live.js';
export { polyfills, createAbortSignal };
export { describeRoot, pageRows, formatValue } from './inspect.js';

/** Where the mini-program npm build puts the engine (miniprogram_npm/minibase-db/). */
export const DEFAULT_WASM_PATH = '/miniprogram_npm/minibase-db/minibase.wasm.br';

/**
 * The oldest WeChat base library minibase runs on: truncateSync takes
 * { filePath, length } from 2.16.1 (wx.getRandomValues needs 2.15.0,
 * readFileSync's position and length 2.10.0, a .wasm.br 2.14.0).
 */
export const MIN_WECHAT_SDK = '2.16.1';

// Memory grown before Go starts is heap Go uses without growing (each growth
// is costly); mini-programs have far less memory than Node, so keep it modest.
const DEFAULT_RESERVE_MB = 24;

/**
 * The FileSystemManager methods the wx adapter needs (fsadapter/wxfs). It
 * also reads blocks and appends through openSync/readSync/writeSync/closeSync
 * where the runtime has them (WeChat 2.16.1+, Douyin 3.74.0+), and by
 * readFileSync/appendFileSync where it does not: those it detects itself.
 */
const FS_METHODS = ['accessSync', 'mkdirSync', 'readdirSync', 'readFileSync', 'writeFileSync', 'appendFileSync', 'truncateSync', 'unlinkSync', 'rmdirSync', 'statSync'];

const unsupported = (message) => new MinibaseError('UNSUPPORTED_RUNTIME', `connect: ${message}`);

/* eslint-disable no-undef -- the runtimes' own globals */
const globalOf = (name) => {
  switch (name) {
    case 'wx': return typeof wx === 'object' ? wx : undefined;
    case 'tt': return typeof tt === 'object' ? tt : undefined;
    case 'my': return typeof my === 'object' ? my : undefined;
    case 'WXWebAssembly': return typeof WXWebAssembly === 'object' ? WXWebAssembly : undefined;
    case 'TTWebAssembly': return typeof TTWebAssembly === 'object' ? TTWebAssembly : undefined;
    case 'globalThis': return typeof globalThis === 'object' ? globalThis : undefined;
  }
  return undefined;
};
/* eslint-enable no-undef */

/**
 * The runtime: its API object (options.api, else wx, tt or my) and which
 * family it is ('wx', 'tt' for Douyin, 'my' for Alipay).
 */
function platform(options) {
  const api = options.api ?? globalOf('wx') ?? globalOf('tt') ?? globalOf('my');
  if (!api || typeof api.getFileSystemManager !== 'function') {
    throw new MinibaseError('BAD_QUERY', 'connect: no mini-program API (wx, tt, my) found; pass { api }');
  }
  const base = api.env?.USER_DATA_PATH;
  let kind = 'wx';
  if (api === globalOf('tt') || (typeof base === 'string' && base.startsWith('ttfile://'))) kind = 'tt';
  else if (api === globalOf('my') && api !== globalOf('wx')) kind = 'my';
  return { api, kind };
}

/** -1, 0 or 1 as version a is before, equal to or after b ('2.16.1'). */
function compareVersions(a, b) {
  const pa = String(a).split('.');
  const pb = String(b).split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number(pa[i] ?? 0) || 0;
    const y = Number(pb[i] ?? 0) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The base library version the runtime reports, or '' when it reports none. */
function sdkVersion(api) {
  for (const method of ['getAppBaseInfo', 'getSystemInfoSync']) {
    try {
      const v = typeof api[method] === 'function' ? api[method]()?.SDKVersion : undefined;
      if (typeof v === 'string' && v !== '') return v;
    } catch {
      // the next source, or none
    }
  }
  return '';
}

/**
 * Checks that the runtime has what the engine needs, before anything is
 * installed or loaded: a phone with an old base library, a plugin (no
 * getRandomValues) or Alipay's logic layer (no WebAssembly, no globalThis)
 * gets an UNSUPPORTED_RUNTIME error that says what is missing.
 * @returns {{ loader: object, g: object }}
 */
function checkRuntime(options, { api, kind }) {
  if (kind === 'my') {
    throw unsupported("Alipay mini-programs run WebAssembly only inside a Worker and do not allow globalThis; minibase cannot run in their logic layer");
  }
  const g = globalOf('globalThis');
  if (!g) throw unsupported('this runtime has no globalThis, which the engine needs');
  if (kind === 'wx') {
    const version = sdkVersion(api);
    if (version !== '' && compareVersions(version, MIN_WECHAT_SDK) < 0) {
      throw unsupported(`minibase needs WeChat base library ${MIN_WECHAT_SDK} or later; this one is ${version}`);
    }
  }
  const loader = options.WXWebAssembly ?? (kind === 'tt' ? globalOf('TTWebAssembly') ?? globalOf('WXWebAssembly') : globalOf('WXWebAssembly') ?? globalOf('TTWebAssembly'));
  if (!loader || typeof loader.instantiate !== 'function') {
    throw unsupported(`this runtime has no ${kind === 'tt' ? 'TTWebAssembly' : 'WXWebAssembly'} (WeChat base library ${MIN_WECHAT_SDK} or later is needed)`);
  }
  const mgr = api.getFileSystemManager();
  const missing = FS_METHODS.filter((m) => typeof mgr?.[m] !== 'function');
  if (missing.length > 0) {
    throw unsupported(`the FileSystemManager has no ${missing.join(', ')} (WeChat base library ${MIN_WECHAT_SDK} or later is needed)`);
  }
  const hasCrypto = g.crypto && typeof g.crypto.getRandomValues === 'function';
  if (!hasCrypto && typeof api.getRandomValues !== 'function') {
    throw unsupported(`this runtime has no getRandomValues (WeChat base library ${MIN_WECHAT_SDK} or later; it is not available inside plugins)`);
  }
  return { loader, g, mgr };
}

let goInstalled = false;

/**
 * Downloads the subpackage (by its app.json name or root) that holds the
 * engine: WXWebAssembly cannot read a subpackage's files before it is loaded.
 * Loading one that is loaded already succeeds at once.
 */
function loadSubpackage(api, name) {
  if (typeof api.loadSubpackage !== 'function') {
    return Promise.reject(unsupported('this runtime cannot load a subpackage (wx.loadSubpackage)'));
  }
  return new Promise((resolve, reject) => {
    api.loadSubpackage({
      name,
      success: () => resolve(),
      fail: (res) => reject(new MinibaseError('IO', `connect: cannot load the subpackage ${name}: ${res?.errMsg ?? 'failed'}`)),
    });
  });
}

async function instantiate(options, runtime) {
  const { loader, g, mgr } = checkRuntime(options, runtime);
  installPolyfills(g);
  if (!goInstalled) {
    installGo(); // defines globalThis.Go; checks the polyfills are there
    goInstalled = true;
  }
  const wasmPath = options.wasm ?? DEFAULT_WASM_PATH;
  if (options.subpackage !== undefined) await loadSubpackage(runtime.api, options.subpackage);
  // Entropy and the clock's unit are settled before Go's runtime starts: it
  // reads random bytes and the clock's origin at once.
  await Promise.all([seedRandom(runtime.api), calibrateClock()]).catch((err) => {
    throw new MinibaseError('INTERNAL', `cannot start the minibase engine: ${err.message}`, { cause: err });
  });
  const go = new g.Go();
  let instance;
  try {
    const result = await loader.instantiate(wasmPath, go.importObject);
    instance = result && result.instance ? result.instance : result;
  } catch (err) {
    const hint = options.wasm ? '' : " (run the DevTools' Build npm, or pass connect({ wasm: '/path/to/minibase.wasm.br' }) where your build puts it)";
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine from ${wasmPath}: ${err?.message ?? err}${hint}`, { cause: err });
  }
  if (!instance || typeof instance.exports !== 'object') {
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine from ${wasmPath}: the loader returned no instance`);
  }
  const host = { wxfs: mgr, wxfsOptions: { positionalTruncate: runtime.kind === 'tt' } };
  return runEngine(go, instance, { host, reserveMB: options.reserveMB ?? DEFAULT_RESERVE_MB });
}

/** The engine of this mini-program, started on first use and again after it has died. */
const sharedBridge = sharedEngine(instantiate);

/** root under the user-data directory unless it is already a user-data path. */
function userDataRoot(api, root) {
  const base = api.env?.USER_DATA_PATH;
  if (typeof base !== 'string' || base === '') {
    throw new MinibaseError('BAD_QUERY', 'connect: the mini-program API has no env.USER_DATA_PATH; pass an absolute root');
  }
  // '' (or '/') would be the whole user-data directory, shared with the
  // app's own files: refuse it as the node build refuses an empty root.
  if (root.replace(/^\/+/, '') === '' || root === base) {
    throw new MinibaseError('BAD_QUERY', "connect: root must name a directory under the user-data path, e.g. 'minibase'");
  }
  if (root.startsWith(base + '/')) return root;
  return `${base}/${root.replace(/^\/+/, '')}`;
}

/**
 * Starts the engine without opening anything (loading its subpackage first
 * when one is named), and resolves once it runs: called in App onLaunch, the
 * first connect finds it started. The options are connect's.
 * @param {object} [options]
 * @returns {Promise<void>}
 */
export async function preload(options = {}) {
  try {
    await sharedBridge(options ?? {}, platform(options ?? {}));
  } catch (err) {
    throw toMinibaseError(err, 'preload');
  }
}

/**
 * Opens a connection.
 *
 * @param {object} [options]
 * @param {'wx'|'memory'} [options.adapter='wx'] where data lives
 * @param {string} [options.root='minibase'] directory of the data, under wx.env.USER_DATA_PATH
 * @param {'normal'|'strict'} [options.durability='normal'] the wx filesystem has no flush: both survive the app being killed
 * @param {string} [options.wasm] absolute code-package path of minibase.wasm.br (default: the npm build's),
 *   e.g. '/engine/minibase.wasm.br' in a subpackage
 * @param {string} [options.subpackage] the subpackage (app.json name or root) that holds options.wasm,
 *   loaded with wx.loadSubpackage before the engine starts
 * @param {object} [options.api] the mini-program API object (default: wx, tt or my)
 * @param {object} [options.WXWebAssembly] the WebAssembly loader (default: the global WXWebAssembly, or TTWebAssembly on Douyin)
 * @param {number} [options.reserveMB=32] wasm memory to reserve before Go starts
 * @returns {Promise<import('./api.js').Connection>}
 */
export async function connect(options = {}) {
  try {
    const { wasm, api: _api, WXWebAssembly: _loader, reserveMB, subpackage, ...rest } = options ?? {};
    const runtime = platform(options ?? {});
    const { api } = runtime;
    const opts = { adapter: 'wx', root: 'minibase', durability: 'normal', ...rest };
    if (opts.adapter === 'wx' && typeof opts.root === 'string') opts.root = userDataRoot(api, opts.root);
    const bridge = await sharedBridge({ ...options, wasm }, runtime);
    hookAppHide(api);
    return openConnection(bridge, opts, { fetch: typeof api.request === 'function' ? requestFetch(api) : undefined, files: wxFiles(api) });
  } catch (err) {
    throw toMinibaseError(err, 'connect');
  }
}

let hideHooked = false;

/**
 * A mini-program sent to the background may be killed there without
 * warning: when it is hidden, connections with writes since their last
 * checkpoint flush their logs, so that the next start replays nothing.
 */
function hookAppHide(api) {
  if (hideHooked || typeof api.onAppHide !== 'function') return;
  hideHooked = true;
  try {
    api.onAppHide(() => checkpointPending());
  } catch {
    // a runtime that refuses the listener keeps the idle checkpoints
  }
}

/**
 * Opens a key-value store on its own connection (closed with the store).
 * Takes connect's options (adapter, root, durability, wasm, subpackage, api,
 * WXWebAssembly) and the store's (prefix, secret, limitSize, cache, …).
 * @returns {Promise<import('./storage.js').Storage>}
 */
export async function openStorage(options = {}) {
  const { adapter, root, durability, wasm, subpackage, api, WXWebAssembly: loader, reserveMB, ...storeOptions } = options ?? {};
  const connOptions = {};
  const given = { adapter, root, durability, wasm, subpackage, api, WXWebAssembly: loader, reserveMB };
  for (const k of Object.keys(given)) if (given[k] !== undefined) connOptions[k] = given[k];
  const conn = await connect(connOptions);
  try {
    return await conn.storage({ ...storeOptions, [ON_CLOSE]: () => conn.close() });
  } catch (err) {
    await conn.close().catch(() => {});
    throw toMinibaseError(err, 'openStorage');
  }
}

/** The piece a backup file is read in (a whole-file read would cost its size in memory). */
const READ_PIECE = 1 << 20;

/**
 * Files of the user-data directory for backup(path) and restore(path): a
 * relative path is under USER_DATA_PATH; a backup is written to a temporary
 * name and renamed, so a file by that name is always whole.
 */
function wxFiles(api) {
  const fsm = () => api.getFileSystemManager();
  const where = (p) => (p.includes('://') ? p : `${api.env.USER_DATA_PATH}/${p.replace(/^\/+/, '')}`);
  const fail = (what, err) => new MinibaseError(/exceed|limit|quota/i.test(err?.errMsg ?? err?.message ?? '') ? 'QUOTA_EXCEEDED' : 'IO', `${what}: ${err?.errMsg ?? err?.message ?? err}`, { cause: err });
  return {
    async write(file, pieces) {
      const m = fsm();
      const path = where(file);
      const tmp = `${path}.tmp`;
      let bytes = 0;
      const parent = path.slice(0, path.lastIndexOf('/'));
      try {
        m.accessSync(parent);
      } catch {
        try {
          m.mkdirSync(parent, true);
        } catch (err) {
          throw fail(`backup to ${file}`, err);
        }
      }
      try {
        for await (const p of pieces) {
          // The first piece creates the file (an empty write fails on devices).
          const data = p.buffer.slice(p.byteOffset, p.byteOffset + p.length);
          if (bytes === 0) m.writeFileSync(tmp, data);
          else m.appendFileSync(tmp, data);
          bytes += p.length;
        }
        m.renameSync(tmp, path);
      } catch (err) {
        try {
          m.unlinkSync(tmp);
        } catch {
          // never created
        }
        throw err instanceof MinibaseError ? err : fail(`backup to ${file}`, err);
      }
      return bytes;
    },
    async *read(file) {
      const m = fsm();
      const path = where(file);
      let size;
      try {
        size = m.statSync(path).size;
      } catch (err) {
        throw fail(`cannot read ${file}`, err);
      }
      for (let at = 0; at < size; at += READ_PIECE) {
        yield new Uint8Array(m.readFileSync(path, undefined, at, Math.min(READ_PIECE, size - at)));
      }
    },
  };
}

/**
 * Restores a backup (from `conn.backup()`) into a root no connection has
 * open; the whole file is checked first, and a corrupt one is refused with
 * CORRUPT before anything changes.
 * @param {string|Uint8Array|ArrayBuffer|Function} source a user-data path, the bytes, or a function returning them
 * @param {{ adapter?: 'wx'|'memory', root?: string, onProgress?: Function, signal?: object }} [options]
 */
export async function restore(source, options = {}) {
  try {
    const { wasm, api: _api, WXWebAssembly: _loader, reserveMB, subpackage, ...rest } = options ?? {};
    const runtime = platform(options ?? {});
    const opts = { adapter: 'wx', root: 'minibase', ...rest };
    if (opts.adapter === 'wx' && typeof opts.root === 'string') opts.root = userDataRoot(runtime.api, opts.root);
    const bridge = await sharedBridge({ ...options, wasm }, runtime);
    return await restoreBackup(bridge, source, { ...opts, files: wxFiles(runtime.api) });
  } catch (err) {
    throw toMinibaseError(err, 'restore');
  }
}
