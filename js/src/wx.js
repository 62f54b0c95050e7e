// The mini-program entry of the package (`require('minibase')` after the
// mini-program npm build; js/dist/miniprogram/index.js). It loads the Go
// engine through WXWebAssembly from the brotli wasm in the code package,
// installs only the polyfills the runtime lacks, and gives the same connect /
// openStorage API as Node, with adapter 'wx' on the FileSystemManager.
//
// The runtime's API object (wx, or my / tt for runtimes of the same shape)
// and its WebAssembly loader can be passed in; by default they are the
// globals wx and WXWebAssembly.

import { calibrateClock, seedRandom, installed as polyfills } from './wx-polyfills.js'; // first: wasm_exec.js checks globals when evaluated
import './wasm_exec.js'; // defines globalThis.Go
import { runEngine, sharedEngine } from './engine.js';
import { requestFetch } from './wx-request.js';
import { openConnection } from './api.js';
import { MinibaseError, toMinibaseError } from './errors.js';
import { ON_CLOSE } from './storage.js';

export { MinibaseError } from './errors.js';
export { Connection, Table, Transaction } from './api.js';
export { Storage } from './storage.js';
export { polyfills };

/** Where the mini-program npm build puts the engine (miniprogram_npm/minibase/). */
export const DEFAULT_WASM_PATH = '/miniprogram_npm/minibase/minibase.wasm.br';

// Memory grown before Go starts is heap Go uses without growing (each growth
// is costly); mini-programs have far less memory than Node, so keep it modest.
const DEFAULT_RESERVE_MB = 32;

/** The runtime's API object: options.api, else wx, my or tt. */
function platform(options) {
  const api = options.api ?? (typeof wx === 'object' ? wx : typeof tt === 'object' ? tt : typeof my === 'object' ? my : undefined); // eslint-disable-line no-undef
  if (!api || typeof api.getFileSystemManager !== 'function') {
    throw new MinibaseError('BAD_QUERY', 'connect: no mini-program API (wx, tt, my) found; pass { api }');
  }
  return api;
}

/** The runtime's WebAssembly loader: options.WXWebAssembly, else the global one. */
function wasmLoader(options) {
  const loader = options.WXWebAssembly ?? (typeof WXWebAssembly === 'object' ? WXWebAssembly : undefined); // eslint-disable-line no-undef
  if (!loader || typeof loader.instantiate !== 'function') {
    throw new MinibaseError('INTERNAL', 'connect: this runtime has no WXWebAssembly (WeChat base library 2.13.0 or later is needed)');
  }
  return loader;
}

/**
 * Makes `instance instanceof WebAssembly.Instance` hold for wasm_exec.js's
 * check: the runtime has no global WebAssembly, or one whose Instance is not
 * the class of what WXWebAssembly returns.
 */
function aliasWebAssembly(instance, loader) {
  const current = globalThis.WebAssembly;
  if (current && typeof current.Instance === 'function' && instance instanceof current.Instance) return;
  const Instance = typeof loader.Instance === 'function' && instance instanceof loader.Instance ? loader.Instance : instance.constructor;
  globalThis.WebAssembly = Object.assign(Object.create(current ?? loader), { Instance });
}

async function instantiate(options, api) {
  const loader = wasmLoader(options);
  const wasmPath = options.wasm ?? DEFAULT_WASM_PATH;
  // Entropy and the clock's unit are settled before Go's runtime starts: it
  // reads random bytes and the clock's origin at once.
  await Promise.all([seedRandom(api), calibrateClock()]).catch((err) => {
    throw new MinibaseError('INTERNAL', `cannot start the minibase engine: ${err.message}`, { cause: err });
  });
  const go = new globalThis.Go();
  let instance;
  try {
    const result = await loader.instantiate(wasmPath, go.importObject);
    instance = result && result.instance ? result.instance : result;
  } catch (err) {
    throw new MinibaseError('INTERNAL', `cannot instantiate the minibase engine from ${wasmPath}: ${err?.message ?? err}`, { cause: err });
  }
  aliasWebAssembly(instance, loader);
  return runEngine(go, instance, { host: { wxfs: api.getFileSystemManager() }, reserveMB: options.reserveMB ?? DEFAULT_RESERVE_MB });
}

/** The engine of this mini-program, started on first use and again after it has died. */
const sharedBridge = sharedEngine(instantiate);

/** root under the user-data directory unless it is already a user-data path. */
function userDataRoot(api, root) {
  const base = api.env?.USER_DATA_PATH;
  if (typeof base !== 'string' || base === '') {
    throw new MinibaseError('BAD_QUERY', 'connect: the mini-program API has no env.USER_DATA_PATH; pass an absolute root');
  }
  if (root === base || root.startsWith(base + '/')) return root;
  return `${base}/${root.replace(/^\/+/, '')}`;
}

/**
 * Opens a connection.
 *
 * @param {object} [options]
 * @param {'wx'|'memory'} [options.adapter='wx'] where data lives
 * @param {string} [options.root='minibase'] directory of the data, under wx.env.USER_DATA_PATH
 * @param {'normal'|'strict'} [options.durability='normal'] the wx filesystem has no flush: both survive the app being killed
 * @param {string} [options.wasm] absolute code-package path of minibase.wasm.br (default: the npm build's)
 * @param {object} [options.api] the mini-program API object (default: wx, tt or my)
 * @param {object} [options.WXWebAssembly] the WebAssembly loader (default: the global WXWebAssembly)
 * @param {number} [options.reserveMB=32] wasm memory to reserve before Go starts
 * @returns {Promise<import('./api.js').Connection>}
 */
export async function connect(options = {}) {
  try {
    const { wasm, api: _api, WXWebAssembly: _loader, reserveMB, ...rest } = options ?? {};
    const api = platform(options ?? {});
    const opts = { adapter: 'wx', root: 'minibase', durability: 'normal', ...rest };
    if (opts.adapter === 'wx' && typeof opts.root === 'string') opts.root = userDataRoot(api, opts.root);
    const bridge = await sharedBridge({ ...options, wasm }, api);
    return openConnection(bridge, opts, { fetch: typeof api.request === 'function' ? requestFetch(api) : undefined });
  } catch (err) {
    throw toMinibaseError(err, 'connect');
  }
}

/**
 * Opens a key-value store on its own connection (closed with the store).
 * Takes connect's options (adapter, root, durability, wasm, api,
 * WXWebAssembly) and the store's (prefix, secret, limitSize, cache, …).
 * @returns {Promise<import('./storage.js').Storage>}
 */
export async function openStorage(options = {}) {
  const { adapter, root, durability, wasm, api, WXWebAssembly: loader, reserveMB, ...storeOptions } = options ?? {};
  const connOptions = Object.fromEntries(
    Object.entries({ adapter, root, durability, wasm, api, WXWebAssembly: loader, reserveMB }).filter(([, v]) => v !== undefined),
  );
  const conn = await connect(connOptions);
  try {
    return await conn.storage({ ...storeOptions, [ON_CLOSE]: () => conn.close() });
  } catch (err) {
    await conn.close().catch(() => {});
    throw toMinibaseError(err, 'openStorage');
  }
}
