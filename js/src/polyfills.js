// Globals that Go's wasm_exec.js needs and older runtimes may lack. Node 18
// has no global `crypto` unless started with --experimental-global-webcrypto.
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) globalThis.crypto = webcrypto;
