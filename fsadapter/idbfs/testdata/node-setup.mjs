// Loaded with `node --import` (NODE_OPTIONS) for `go test` of this package
// under js/wasm: installs fake-indexeddb's globals and exposes the real JS
// host (js/src/browser-idb.js) to the Go test as globalThis.__idbfsTest.
import 'fake-indexeddb/auto';
import { FileStore, idbHost } from '../../../js/src/browser-idb.js';

globalThis.__idbfsTest = {
  host: idbHost,
  /** Opens (or reopens) database name and registers it with the host. */
  async open(name) {
    idbHost.stores.get(name)?.close();
    idbHost.stores.set(name, await FileStore.open(name));
  },
  flush(name, durability) {
    return idbHost.stores.get(name).flush(durability);
  },
};
