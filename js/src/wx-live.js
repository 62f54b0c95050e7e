// Binding a live query to a mini-program Page or Component. setData is the
// expensive part of a mini-program (its payload is serialized and sent to
// the view layer), so each new result is compared with the last one sent and
// only the paths that changed go: a one-row update in a 100-row list sends
// that row's changed fields. Live results keep the identity of unchanged
// rows (live.js), so most rows are skipped by one comparison.

import { sameValue } from './live.js';

// A field name setData can address with '.name' (not '.', '[', ']').
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

// setData refuses undefined.
const wire = (v) => (v === undefined ? null : v);

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);

/**
 * Adds to patch the setData paths that turn prev into next under path.
 * Arrays that shrank and objects that lost a key are sent whole (setData
 * cannot delete); nesting past `depth` is compared and sent whole.
 */
export function diffPaths(prev, next, path, patch, depth = 2) {
  if (prev === next) return patch;
  if (Array.isArray(prev) && Array.isArray(next) && next.length >= prev.length && depth > 0) {
    for (let i = 0; i < next.length; i++) {
      if (i >= prev.length) patch[`${path}[${i}]`] = wire(next[i]);
      else diffPaths(prev[i], next[i], `${path}[${i}]`, patch, depth - 1);
    }
    return patch;
  }
  if (isPlainObject(prev) && isPlainObject(next) && depth > 0) {
    let whole = false;
    for (const k in prev) if (!(k in next) || !PLAIN_KEY.test(k)) whole = true;
    for (const k in next) if (!PLAIN_KEY.test(k)) whole = true;
    if (!whole) {
      for (const k in next) diffPaths(prev[k], next[k], `${path}.${k}`, patch, depth - 1);
      return patch;
    }
  }
  if (!sameValue(prev, next)) patch[path] = wire(next);
  return patch;
}

/**
 * Shows a live query in a Page or Component: `page.data[key]` follows it,
 * with setData sending only what changed. The subscription ends when the page
 * unloads (onUnload) or the component detaches (detached / lifetimes.detached),
 * or with its `unsubscribe()`.
 * @param {object} page the Page or Component instance (`this`)
 * @param {string} key the data field to fill
 * @param {{ subscribe(observer: object): { unsubscribe(): void } }} live what `table.watch(query)` or `conn.live(fn)` returns
 * @param {{ map?: (value: unknown) => unknown, onError?: (err: Error) => void, depth?: number }} [options]
 * @returns {{ unsubscribe(): void, readonly sent: number }} `sent`: setData calls made
 */
export function bindLive(page, key, live, options = {}) {
  const { map, onError, depth = 2 } = options;
  let prev = page.data ? page.data[key] : undefined;
  let first = true;
  let sent = 0;
  const sub = live.subscribe({
    next(value) {
      const next = map ? map(value) : value;
      // The first value is sent whole: page.data holds the initial data.
      const patch = first ? { [key]: wire(next) } : diffPaths(prev, next, key, {}, depth + 1);
      first = false;
      prev = next;
      if (Object.keys(patch).length === 0) return;
      sent++;
      page.setData(patch);
    },
    error(err) {
      if (onError) onError(err);
      else console.error('minibase: live query failed', err);
    },
  });
  const end = () => sub.unsubscribe();
  for (const hook of ['onUnload', 'detached']) {
    const own = page[hook];
    if (typeof own === 'function' || hook === 'onUnload') {
      page[hook] = function (...args) {
        end();
        return typeof own === 'function' ? own.apply(this, args) : undefined;
      };
    }
  }
  return {
    unsubscribe: end,
    get sent() {
      return sent;
    },
  };
}
