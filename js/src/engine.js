// Starting the Go engine, the same way in every loader (node.js, browser.js,
// wx.js): only how the module is instantiated and which host objects Go gets
// differ between them.

import { Bridge } from './bridge.js';
import { MinibaseError } from './errors.js';

/**
 * Grows the instance's memory to about `mb` megabytes before Go starts. Go
 * grows memory a page run at a time as its heap grows, and every growth makes
 * the JS engine collect its whole heap (the memory's buffer is replaced);
 * memory grown up front is heap Go uses without growing, and pages never
 * touched cost address space, not RAM.
 * @param {WebAssembly.Memory} mem
 * @param {number} mb
 */
export function reserveMemory(mem, mb) {
  const want = Math.floor((mb * 1024 * 1024) / 65536) - mem.buffer.byteLength / 65536;
  if (!(want > 0)) return;
  try {
    mem.grow(want);
  } catch {
    // Not fatal: Go grows memory itself when it needs it.
  }
}

/**
 * Runs the Go program of an instantiated engine and returns its bridge.
 * `host` is what wasm/main.go reads from globalThis.__minibaseHost at start
 * (e.g. node's fs, the wx FileSystemManager, the IndexedDB host).
 * @param {{ run(instance: WebAssembly.Instance): Promise<void> }} go the Go object of wasm_exec.js
 * @param {WebAssembly.Instance} instance
 * @param {{ host: object, reserveMB: number }} options
 * @returns {Promise<Bridge>}
 */
export async function runEngine(go, instance, { host, reserveMB }) {
  const bridge = new Bridge(instance, go);
  reserveMemory(instance.exports.mem, reserveMB);
  globalThis.__minibaseHost = host;
  // run() executes main until it blocks, then returns a promise that settles
  // only if the program exits.
  go.run(instance).then(
    () => bridge.fail('the engine exited'),
    (err) => bridge.fail(`the engine failed: ${err?.message ?? err}`),
  );
  delete globalThis.__minibaseHost; // Go has read it by now
  // The name Go writes into the lock files it takes (wasm/main.go), so the
  // loader can release them if this instance dies.
  bridge.instanceId = typeof host.instance === 'string' ? host.instance : null;
  await null; // let a failed start settle before the first call
  if (bridge.dead) throw new MinibaseError('INTERNAL', 'the minibase engine exited while starting');
  return bridge;
}

/**
 * One shared engine per process, page or worker: `start` runs on first use
 * and again after the engine has died or failed to start.
 * @template A
 * @param {(...args: A[]) => Promise<Bridge>} start
 * @returns {(...args: A[]) => Promise<Bridge>}
 */
export function sharedEngine(start) {
  let current = null; // { promise, bridge, failed }
  return (...args) => {
    if (current && !current.failed && !current.bridge?.dead) return current.promise;
    const entry = { bridge: null, failed: false, promise: null };
    entry.promise = start(...args).then(
      (bridge) => (entry.bridge = bridge),
      (err) => {
        entry.failed = true;
        throw err;
      },
    );
    current = entry;
    return entry.promise;
  };
}
