// The JS side the Go tests of fsadapter/idbfs drive (globalThis.__idbfsTest):
// the real host of js/src/browser-idb.js on whatever IndexedDB the context
// has — fake-indexeddb under node (node-setup.mjs), Chromium's own in
// js/test/browser/pages/gotest.html.
import { FileStore, idbHost, idbName } from '../../../js/src/browser-idb.js';

const done = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onabort = () => reject(tx.error);
  });

const openRaw = (name, version, upgrade) =>
  new Promise((resolve, reject) => {
    const req = indexedDB.open(idbName(name), version);
    if (upgrade) req.onupgradeneeded = () => upgrade(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/** What the Go tests of fsadapter/idbfs call (as globalThis.__idbfsTest). */
export const testApi = {
  host: idbHost,
  /** Opens (or reopens) database name and registers it with the host; residentBytes bounds its chunk cache (callBytes: one call's). */
  async open(name, residentBytes, callBytes) {
    idbHost.stores.get(name)?.close();
    const options = typeof residentBytes === 'number' ? { residentBytes } : {};
    if (typeof callBytes === 'number') options.callBytes = callBytes;
    idbHost.stores.set(name, await FileStore.open(name, indexedDB, options));
  },
  flush(name, durability) {
    return idbHost.stores.get(name).flush(durability);
  },
  /** Runs fn through the store's run(): fn returns { value } or { error }, which is thrown. merging: a compaction step. */
  run(name, fn, merging) {
    return idbHost.stores.get(name).run(() => {
      const r = fn();
      if (r.error !== undefined) throw new Error(r.error);
      return r.value;
    }, { merging: merging === true });
  },
  stats(name) {
    return idbHost.stores.get(name).stats();
  },
  /** Deletes chunk n of path behind the store's back (value undefined) or replaces it. */
  async damageChunk(name, path, n, value) {
    idbHost.stores.get(name)?.close();
    idbHost.stores.delete(name);
    const db = await openRaw(name);
    const tx = db.transaction('chunks', 'readwrite');
    if (value === undefined) tx.objectStore('chunks').delete([path, n]);
    else tx.objectStore('chunks').put(value, [path, n]);
    await done(tx);
    db.close();
  },
  /** Creates database name in the layout before chunks (version 2): every file whole in "files". */
  async createV2(name, files) {
    const db = await openRaw(name, 2, (d) => {
      d.createObjectStore('files');
      d.createObjectStore('requests');
      d.createObjectStore('meta').put({ id: 'v2-marker', created: 0 }, 'marker');
    });
    const tx = db.transaction('files', 'readwrite');
    for (const [path, value] of files) tx.objectStore('files').put(value, path);
    await done(tx);
    db.close();
  },
};
