// Loaded with `node --import` (NODE_OPTIONS) for `go test` of this package
// under js/wasm: installs fake-indexeddb's globals and exposes the real JS
// host (js/src/browser-idb.js) to the Go test as globalThis.__idbfsTest.
import 'fake-indexeddb/auto';
import { testApi } from './api.mjs';

globalThis.__idbfsTest = testApi;
