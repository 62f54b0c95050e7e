// The subset of node:assert/strict the JS API suite uses, for the page.
class AssertionError extends Error {}
AssertionError.prototype.name = 'AssertionError';

const show = (v) => {
  try {
    return JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? `Uint8Array[${[...x]}]` : typeof x === 'bigint' ? `${x}n` : x));
  } catch {
    return String(v);
  }
};
const fail = (message, fallback) => {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback);
};

function deepEq(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (ArrayBuffer.isView(a)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  if (a instanceof Map || a instanceof Set) return deepEq([...a], [...b]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEq(a[k], b[k]));
}

const assert = {
  ok(v, message) {
    if (!v) fail(message, `expected a truthy value, got ${show(v)}`);
  },
  equal(a, b, message) {
    if (!Object.is(a, b)) fail(message, `${show(a)} !== ${show(b)}`);
  },
  notEqual(a, b, message) {
    if (Object.is(a, b)) fail(message, `${show(a)} === ${show(b)}`);
  },
  deepEqual(a, b, message) {
    if (!deepEq(a, b)) fail(message, `not deep-equal:\n  actual   ${show(a)}\n  expected ${show(b)}`);
  },
  match(s, re, message) {
    if (typeof s !== 'string' || !re.test(s)) fail(message, `${show(s)} does not match ${re}`);
  },
  async rejects(promise, check, message) {
    let threw = false;
    let err;
    try {
      await (typeof promise === 'function' ? promise() : promise);
    } catch (e) {
      threw = true;
      err = e;
    }
    if (!threw) fail(message, 'expected a rejection');
    if (typeof check === 'function' && check(err) !== true) fail(message, `rejection did not pass the check: ${err}`);
  },
};
export default assert;
export const { ok, equal, notEqual, deepEqual, match, rejects } = assert;
