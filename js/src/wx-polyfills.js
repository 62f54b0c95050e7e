// Globals Go's wasm_exec.js and codec.js need, installed only where the
// mini-program runtime lacks them: TextEncoder/TextDecoder, a synchronous
// crypto.getRandomValues (from a ChaCha20 CSPRNG seeded by the platform's
// asynchronous getRandomValues before Go starts), performance.now in
// milliseconds. Imported first by wx.js: wasm_exec.js checks for these when
// it is evaluated, and codec.js builds its encoder at import.

import { TextDecoder, TextEncoder } from './wx-text.js';
import { ChaChaRng, platformEntropy } from './wx-random.js';

const g = globalThis;

/** What was installed, for tests and diagnostics. */
export const installed = [];

if (typeof g.TextEncoder !== 'function') {
  g.TextEncoder = TextEncoder;
  installed.push('TextEncoder');
}
if (typeof g.TextDecoder !== 'function') {
  g.TextDecoder = TextDecoder;
  installed.push('TextDecoder');
}

let entropySource = null; // set by seedRandom
const rng = new ChaChaRng((n) => {
  if (!entropySource) return Promise.reject(new Error('no entropy source'));
  return entropySource(n);
});
const ownCrypto = !g.crypto || typeof g.crypto.getRandomValues !== 'function';
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

/**
 * Seeds the generator from the platform once (later calls only start a
 * reseed); a no-op where the runtime has its own crypto.getRandomValues.
 * @param {{ getRandomValues?: Function }} api wx, my or tt
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
const nativePerf = g.performance && typeof g.performance.now === 'function' ? g.performance : null;
if (nativePerf) clock = () => nativePerf.now();
const shim = { now: () => clock() / scale, timeOrigin: Date.now() };
if (!nativePerf) {
  g.performance = shim;
  installed.push('performance');
}

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
      g.performance = shim;
    } catch {
      // A read-only global: keep the native clock; Go's timers then run fast,
      // which is wrong but not fatal (the engine schedules no timers of its own).
    }
    installed.push('performance (microseconds → milliseconds)');
  }
}
