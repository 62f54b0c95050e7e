// The synchronous call path into the Go engine (see wasm/PROTOCOL.md):
// encode [op, ...args] → copy into the request buffer (mb_alloc) → mb_call →
// read the response at mb_resp → decode. One crossing per operation.

import { Decoder, Encoder } from './codec.js';
import { MinibaseError } from './errors.js';

const STATUS_OK = 0;
const STATUS_ERROR = 1;

/** A running Go instance and the byte-buffer protocol on top of it. */
export class Bridge {
  #exports;
  #go;
  #u8 = new Uint8Array(0);
  #encoder = new Encoder();
  #decoder = new Decoder();
  #failure = null; // why the instance can no longer be used, once it cannot
  #onFail = [];
  /** @type {string|null} the name the Go instance writes into the lock files it takes */
  instanceId = null;

  /**
   * @param {WebAssembly.Instance} instance an instance on which `go.run` has been started
   * @param {{ exited?: boolean, exit?: (code: number) => void }} go the Go object from wasm_exec.js
   */
  constructor(instance, go) {
    this.#exports = instance.exports;
    this.#go = go;
    const exit = go.exit;
    go.exit = (code) => {
      this.fail(`the engine exited with code ${code}`);
      exit?.call(go, code);
    };
  }

  /** True once the instance has exited or trapped; every call then throws CLOSED. */
  get dead() {
    return this.#failure !== null || Boolean(this.#go.exited);
  }

  /**
   * Marks the instance unusable (the first reason is kept).
   * @param {string} reason
   */
  fail(reason) {
    if (this.#failure !== null) return;
    this.#failure = reason;
    for (const fn of this.#onFail.splice(0)) {
      try {
        fn(reason);
      } catch {
        // A listener's failure must not hide the engine's.
      }
    }
  }

  /**
   * Calls `fn` once the instance is unusable (at once if it is already): what
   * it held, such as lock files, is then the host's to release, since the
   * instance never will.
   * @param {(reason: string) => void} fn
   */
  onFail(fn) {
    if (this.#failure !== null) fn(this.#failure);
    else this.#onFail.push(fn);
  }

  // A view of linear memory, re-created after the memory has grown.
  #memory() {
    const buffer = this.#exports.mem.buffer;
    if (this.#u8.buffer !== buffer || this.#u8.byteLength === 0) this.#u8 = new Uint8Array(buffer);
    return this.#u8;
  }

  /**
   * The uint32 at addr in the engine's linear memory: the change feed's flag
   * (live.js reads it after a write instead of making a call).
   * @param {number} addr
   */
  peek32(addr) {
    const mem = this.#memory();
    return (mem[addr] | (mem[addr + 1] << 8) | (mem[addr + 2] << 16) | (mem[addr + 3] << 24)) >>> 0;
  }

  /**
   * Runs one operation synchronously and returns its decoded result.
   * @param {string} op
   * @param {...unknown} args
   * @returns {unknown}
   * @throws {MinibaseError} the engine's error, BAD_VALUE for an unencodable
   *   argument, INTERNAL when the instance fails, CLOSED once it has failed
   */
  call(op, ...args) {
    if (this.dead) {
      this.fail('the engine has exited');
      throw new MinibaseError('CLOSED', `${op}: the minibase engine is no longer running (${this.#failure}); connect again`);
    }
    const request = this.#encoder.encodeRequest(op, args); // BAD_VALUE leaves the instance untouched

    let mem;
    let at;
    let n;
    let tooLarge = false;
    try {
      const ptr = this.#exports.mb_alloc(request.length) >>> 0;
      if (ptr === 0) tooLarge = true;
      else {
        this.#memory().set(request, ptr);
        n = this.#exports.mb_call(request.length) >>> 0;
        at = this.#exports.mb_resp() >>> 0;
        mem = this.#memory();
      }
    } catch (err) {
      this.fail(err?.message ?? String(err));
      throw new MinibaseError('INTERNAL', `${op}: the minibase engine failed: ${err?.message ?? err}`, { cause: err });
    }
    if (tooLarge) {
      const mb = (request.length / 2 ** 20).toFixed(1);
      throw new MinibaseError('TOO_LARGE', `${op}: the request is ${mb} MB; the engine takes at most 64 MB per call (send fewer rows or smaller values per call)`);
    }
    if (this.#go.exited) {
      this.fail('the engine exited');
      throw new MinibaseError('INTERNAL', `${op}: the minibase engine exited during the call`);
    }
    if (n < 1 || at + n > mem.length) {
      throw new MinibaseError('INTERNAL', `${op}: malformed response from the engine (length ${n})`);
    }

    const status = mem[at];
    let result;
    // stats() also reports the size of linear memory, which only JS can
    // see: the memory the engine costs the page, grown and never returned.
    try {
      result = this.#decoder.decode(mem, at + 1, at + n);
    } catch (err) {
      throw new MinibaseError('INTERNAL', `${op}: undecodable response from the engine: ${err.message}`, { cause: err });
    }
    if (status === STATUS_OK) {
      if (op === 'stats' && result && typeof result === 'object') result.wasmMemoryBytes = this.#exports.mem.buffer.byteLength;
      return result;
    }
    if (status === STATUS_ERROR) {
      const code = typeof result?.code === 'string' ? result.code : 'INTERNAL';
      const message = typeof result?.message === 'string' ? result.message : `${op} failed`;
      throw new MinibaseError(code, message);
    }
    throw new MinibaseError('INTERNAL', `${op}: unknown response status ${status}`);
  }
}
