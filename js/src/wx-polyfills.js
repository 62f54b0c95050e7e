// Globals Go's wasm_exec.js and codec.js need, installed only where the
// mini-program runtime lacks them: TextEncoder/TextDecoder, a synchronous
// crypto.getRandomValues (from a ChaCha20 CSPRNG seeded by the platform's
// asynchronous getRandomValues before Go starts), performance.now in
// milliseconds. wx.js installs them when it first starts the engine, before
// it evaluates wasm_exec.js (which checks for them), so that merely loading
// the package changes no global and works in a runtime it then turns away.

import { TextDecoder, TextEncoder } from './wx-text.js';
import { ChaChaRng, platformEntropy } from './wx-random.js';

/** What was installed, for tests and diagnostics. */
export const installed = [];

let entropySource = null; // set by seedRandom
const rng = new ChaChaRng((n) => {
  if (!entropySource) return Promise.reject(new Error('no entropy source'));
  return entropySource(n);
});
let ownCrypto = false;
let nativePerf = null;
let done = false;

/**
 * Installs what the runtime lacks into its global object g; once.
 * @param {object} g globalThis
 */
export function installPolyfills(g) {
  if (done) return;
  done = true;
  if (typeof g.TextEncoder !== 'function') {
    g.TextEncoder = TextEncoder;
    installed.push('TextEncoder');
  }
  if (typeof g.TextDecoder !== 'function') {
    g.TextDecoder = TextDecoder;
    installed.push('TextDecoder');
  }
  ownCrypto = !g.crypto || typeof g.crypto.getRandomValues !== 'function';
  if (ownCrypto) {
    const getRandomValues = (view) => rng.getRandomValues(view);
    if (!g.crypto) g.crypto = { getRandomValues };
    else {
      try {
        g.crypto.getRandomValues = getRandomValues;
      } catch {
        g.crypto = { getRandomValues };
      }
    }
    installed.push('crypto.getRandomValues');
  }
  nativePerf = g.performance && typeof g.performance.now === 'function' ? g.performance : null;
  if (nativePerf) clock = () => nativePerf.now();
  else {
    g.performance = shim;
    installed.push('performance');
  }
  globalObject = g;
}

/**
 * Seeds the generator from the platform once (later calls only start a
 * reseed); a no-op where the runtime has its own crypto.getRandomValues.
 * @param {{ getRandomValues?: Function }} api wx or tt
 */
export async function seedRandom(api) {
  if (!ownCrypto) return;
  entropySource = platformEntropy(api);
  await rng.reseed();
}

// performance.now: absent (replaced by a Date.now clock), or present and to
// be checked against Date.now once (some devices count microseconds).
let clock = () => Date.now();
let scale = 1;
let globalObject = null; // the g of installPolyfills
const shim = { now: () => clock() / scale, timeOrigin: Date.now() };

/**
 * Finds the unit of the native performance.now by timing it against
 * Date.now over `ms` milliseconds; if it counts microseconds, installs a
 * millisecond shim. Must finish before the Go instance is created (it reads
 * the clock's origin then).
 * @param {number} [ms]
 */
export async function calibrateClock(ms = 20) {
  if (!nativePerf) return;
  const p0 = nativePerf.now();
  const d0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const dp = nativePerf.now() - p0;
  const dd = Date.now() - d0;
  if (dd >= ms / 2 && dp / dd > 100) {
    scale = 1000;
    try {
      globalObject.performance = shim;
    } catch {
      // A read-only global: keep the native clock; Go's timers then run fast,
      // which is wrong but not fatal (the engine schedules no timers of its own).
    }
    installed.push('performance (microseconds → milliseconds)');
  }
}
