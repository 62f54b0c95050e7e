// The synchronous call path into the Go engine (see wasm/PROTOCOL.md):
// encode [op, ...args] → copy into the request buffer (mb_alloc) → mb_call →
// read the response at mb_resp → decode. One crossing per operation.

import { Decoder, Encoder } from './codec.js';
import { MinibaseError } from './errors.js';

/** The status byte of an engine answer that succeeded (the one after it: the value). */
export const STATUS_OK = 0;
const STATUS_ERROR = 1;

// The Bridge keeps its state in _underscored members, not #private ones:
// every engine call goes through it, and the mini-program bundle (ES2017)
// lowers each #private access to a WeakMap lookup behind a brand check,
// about a dozen per call (some 5% of a cached point read in the stand-in).

/** A running Go instance and the byte-buffer protocol on top of it. */
export class Bridge {
  _exports;
  _go;
  _u8 = new Uint8Array(0);
  _encoder = new Encoder();
  _decoder = new Decoder();
  _failure = null; // why the instance can no longer be used, once it cannot
  _onFail = [];
  /** @type {string|null} the name the Go instance writes into the lock files it takes */
  instanceId = null;

  /**
   * @param {WebAssembly.Instance} instance an instance on which `go.run` has been started
   * @param {{ exited?: boolean, exit?: (code: number) => void }} go the Go object from wasm_exec.js
   */
  constructor(instance, go) {
    this._exports = instance.exports;
    this._go = go;
    const exit = go.exit;
    go.exit = (code) => {
      this.fail(`the engine exited with code ${code}`);
      exit?.call(go, code);
    };
  }

  /** True once the instance has exited or trapped; every call then throws CLOSED. */
  get dead() {
    return this._failure !== null || Boolean(this._go.exited);
  }

  /**
   * Marks the instance unusable (the first reason is kept).
   * @param {string} reason
   */
  fail(reason) {
    if (this._failure !== null) return;
    this._failure = reason;
    for (const fn of this._onFail.splice(0)) {
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
    if (this._failure !== null) fn(this._failure);
    else this._onFail.push(fn);
  }

  // A view of linear memory, re-created after the memory has grown.
  _memory() {
    const buffer = this._exports.mem.buffer;
    if (this._u8.buffer !== buffer || this._u8.byteLength === 0) this._u8 = new Uint8Array(buffer);
    return this._u8;
  }

  /**
   * The uint32 at addr in the engine's linear memory: the change feed's flag
   * (live.js reads it after a write instead of making a call).
   * @param {number} addr
   */
  peek32(addr) {
    const mem = this._memory();
    return (mem[addr] | (mem[addr + 1] << 8) | (mem[addr + 2] << 16) | (mem[addr + 3] << 24)) >>> 0;
  }

  /** The size of the engine's linear memory in bytes (grown, never returned). */
  get memoryBytes() {
    return this._exports.mem.buffer.byteLength;
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
    this._checkAlive(op);
    const request = this._encoder.encodeRequest(op, args); // BAD_VALUE leaves the instance untouched
    const [mem, at, n] = this._run(op, request);
    return decodeAnswer(this._decoder, op, mem, at, at + n, this.memoryBytes);
  }

  /**
   * Runs one request already encoded (`Encoder.encodeRequest`, e.g. in the
   * page that forwards it to the OPFS worker) and returns a copy of the
   * engine's answer (its status byte, then the value), for `decodeAnswer`
   * wherever it is read: the bytes travel instead of decoded objects.
   * @param {string} op the request's op, for error messages
   * @param {Uint8Array} request
   * @returns {Uint8Array}
   * @throws {MinibaseError} as `call` does, but never the engine's own error (that is in the answer)
   */
  callEncoded(op, request) {
    this._checkAlive(op);
    const [mem, at, n] = this._run(op, request);
    return mem.slice(at, at + n);
  }

  _checkAlive(op) {
    if (this.dead) {
      this.fail('the engine has exited');
      throw new MinibaseError('CLOSED', `${op}: the minibase engine is no longer running (${this._failure}); connect again`);
    }
  }

  // Runs the encoded request; the answer is mem[at, at+n), valid until the next call.
  _run(op, request) {
    let mem;
    let at;
    let n;
    let tooLarge = false;
    try {
      const ptr = this._exports.mb_alloc(request.length) >>> 0;
      if (ptr === 0) tooLarge = true;
      else {
        this._memory().set(request, ptr);
        n = this._exports.mb_call(request.length) >>> 0;
        at = this._exports.mb_resp() >>> 0;
        mem = this._memory();
      }
    } catch (err) {
      this.fail(err?.message ?? String(err));
      throw new MinibaseError('INTERNAL', `${op}: the minibase engine failed: ${err?.message ?? err}`, { cause: err });
    }
    if (tooLarge) {
      const mb = (request.length / 2 ** 20).toFixed(1);
      throw new MinibaseError('TOO_LARGE', `${op}: the request is ${mb} MB; the engine takes at most 64 MB per call (send fewer rows or smaller values per call)`);
    }
    if (this._go.exited) {
      this.fail('the engine exited');
      throw new MinibaseError('INTERNAL', `${op}: the minibase engine exited during the call`);
    }
    if (n < 1 || at + n > mem.length) {
      throw new MinibaseError('INTERNAL', `${op}: malformed response from the engine (length ${n})`);
    }
    return [mem, at, n];
  }
}

/**
 * Decodes an engine's answer `bytes[start, end)` (a status byte, then the
 * value): the result, or the engine's error thrown as a MinibaseError.
 * `memoryBytes`: the engine's linear memory, which stats() also reports
 * (only JS can see it: the memory the engine costs the page).
 * @param {Decoder} decoder
 * @param {string} op
 * @param {Uint8Array} bytes
 * @param {number} start
 * @param {number} end
 * @param {number} memoryBytes
 * @returns {unknown}
 */
export function decodeAnswer(decoder, op, bytes, start, end, memoryBytes) {
  if (!(end > start)) throw new MinibaseError('INTERNAL', `${op}: malformed response from the engine (length ${end - start})`);
  const status = bytes[start];
  let result;
  try {
    result = decoder.decode(bytes, start + 1, end);
  } catch (err) {
    throw new MinibaseError('INTERNAL', `${op}: undecodable response from the engine: ${err.message}`, { cause: err });
  }
  if (status === STATUS_OK) {
    if (op === 'stats' && result && typeof result === 'object') result.wasmMemoryBytes = memoryBytes;
    return result;
  }
  if (status === STATUS_ERROR) {
    const code = typeof result?.code === 'string' ? result.code : 'INTERNAL';
    const message = typeof result?.message === 'string' ? result.message : `${op} failed`;
    throw new MinibaseError(code, message);
  }
  throw new MinibaseError('INTERNAL', `${op}: unknown response status ${status}`);
}
