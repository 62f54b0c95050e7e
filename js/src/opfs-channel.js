// The shared-memory call channel between a cross-origin-isolated page and
// its OPFS worker (opfs-worker.js): one SharedArrayBuffer instead of a
// postMessage round trip per engine call. A postMessage round trip between a
// page and a dedicated worker costs 30-60 µs in Chromium before any work is
// done; a SharedArrayBuffer with the worker blocked in Atomics.wait and the
// page in Atomics.waitAsync costs 4-7 µs (js/bench/chromium/rtt.mjs).
// SharedArrayBuffer exists only on cross-origin-isolated pages (served with
// COOP: same-origin and COEP: require-corp), so elsewhere the calls go by
// message as before.
//
// One call at a time travels in the buffer (the page sends the next one once
// the last is answered; the worker runs one at a time anyway):
//
//   Int32 cells (CELLS of them), then the data area (DATA on):
//   REQ       the last request's sequence number; the page stores it after
//             writing the request and rings BELL
//   ANS       the sequence number of the last answered request; the worker
//             stores it after writing the answer and notifies, the page waits on it
//   REQ_LEN   the request's engine bytes at DATA (the page's encoded [op, ...args])
//   META_LEN  then the call's meta [rid, name, op, id, take] (codec.js) after them
//   ANS_KIND  IN_BUFFER: the answer's [answer, wrote, changes, memoryBytes]
//             (codec.js) is at DATA, ANS_LEN bytes; BY_MESSAGE: it did not
//             fit (or could not be encoded) and came as the EXEC answer message
//   ANS_LEN
//   KICK      messages the page posted that the worker has not yet received:
//             while it is not 0 the worker does not block in Atomics.wait,
//             so that its message loop takes them
//   BELL      bumped (and notified) with each request and each kick: the
//             worker waits on it, so neither can slip in between its last
//             look at REQ and KICK and its Atomics.wait
//
// What does not fit in the data area (a 10 MB insertMany, a large select's
// answer) travels by message, in the same order: the page sends nothing else
// until it is answered.
//
// Everything read from the buffer is checked as a message from another
// script would be: lengths out of range or undecodable bytes are answered
// with an error, never trusted.

import { Decoder, Encoder } from './codec.js';
import { MinibaseError } from './errors.js';

export const REQ = 0;
export const ANS = 1;
export const REQ_LEN = 2;
export const META_LEN = 3;
export const ANS_KIND = 4;
export const ANS_LEN = 5;
export const KICK = 6;
export const BELL = 7;
const CELLS = 16;
const DATA = CELLS * 4;

export const IN_BUFFER = 0;
export const BY_MESSAGE = 1;

/** The data area's size: requests and answers up to this travel in the buffer. */
export const CHANNEL_BYTES = 1 << 20;

/** Whether this context can use the channel: cross-origin isolated, with SharedArrayBuffer and Atomics.waitAsync. */
export function sharedChannelAvailable() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function' && typeof Atomics?.waitAsync === 'function';
}

/** The page's end: writes requests, awaits answers. */
export class PageChannel {
  /** @param {number} [bytes] the data area's size */
  constructor(bytes = CHANNEL_BYTES) {
    this.sab = new SharedArrayBuffer(DATA + bytes);
    this.cells = new Int32Array(this.sab, 0, CELLS);
    this.data = new Uint8Array(this.sab, DATA);
    this._encoder = new Encoder(256);
    this._closed = false;
  }

  /**
   * Writes a call and wakes the worker: its sequence number, or 0 when it
   * does not fit (it goes by message then).
   * @param {Uint8Array} request the engine's request bytes
   * @param {[number, string, string, string|undefined, number|undefined]} meta [rid, name, op, id, take]
   */
  send(request, [rid, name, op, id, take]) {
    const meta = this._encoder.encode([rid, name, op, id ?? null, take ?? null]);
    if (request.length + meta.length > this.data.length) return 0;
    this.data.set(request, 0);
    this.data.set(meta, request.length);
    const c = this.cells;
    Atomics.store(c, REQ_LEN, request.length);
    Atomics.store(c, META_LEN, meta.length);
    // From the cell, not a counter of the page's: whatever was written there
    // last (another script, say), the next number differs from it.
    const seq = (Atomics.load(c, REQ) + 1) | 0 || 1;
    Atomics.store(c, REQ, seq);
    Atomics.add(c, BELL, 1);
    Atomics.notify(c, BELL);
    return seq;
  }

  /**
   * The answer to call `seq`: its bytes (a copy: the buffer is the next
   * call's), or null when it comes by message, or undefined once the channel
   * is closed (its worker lost).
   * @param {number} seq
   * @returns {Promise<Uint8Array|null|undefined>}
   */
  async answer(seq) {
    const c = this.cells;
    // Not spinning on the answer first: measured, a spin of 0.05-0.2 ms
    // before Atomics.waitAsync made point reads no faster and range queries
    // 35-50% slower on two cores (the page's spin takes the worker's CPU).
    for (;;) {
      if (this._closed) return undefined;
      const at = Atomics.load(c, ANS);
      if (at === seq) break;
      const w = Atomics.waitAsync(c, ANS, at);
      if (w.async) await w.value;
    }
    if (Atomics.load(c, ANS_KIND) !== IN_BUFFER) return null;
    const n = Atomics.load(c, ANS_LEN);
    if (!(n > 0 && n <= this.data.length)) return new Uint8Array(0); // undecodable: an error for the call
    return this.data.slice(0, n);
  }

  /** A message for the worker is about to be posted: it stops blocking until it has it. */
  kick() {
    Atomics.add(this.cells, KICK, 1);
    Atomics.add(this.cells, BELL, 1);
    Atomics.notify(this.cells, BELL);
  }

  /** The message kicked for could not be posted after all. */
  unkick() {
    Atomics.sub(this.cells, KICK, 1);
  }

  /** The worker is gone: a call waiting for its answer stops waiting. */
  close() {
    this._closed = true;
    Atomics.notify(this.cells, ANS);
  }
}

const decoder = new Decoder();

/**
 * Decodes an answer the page read (`PageChannel.answer`): [answer, wrote,
 * changes, memoryBytes] as the EXEC answer message carries them after its rid.
 * @param {Uint8Array} bytes
 */
export function decodeSharedAnswer(bytes) {
  let t;
  try {
    t = decoder.decode(bytes);
  } catch (err) {
    return [{ code: 'INTERNAL', message: `opfs: undecodable answer from the engine's worker: ${err.message}` }, false, null, undefined];
  }
  if (!Array.isArray(t) || t.length !== 4) return [{ code: 'INTERNAL', message: "opfs: malformed answer from the engine's worker" }, false, null, undefined];
  return [t[0], t[1] === true, t[2] ?? null, t[3] ?? undefined];
}

/** The worker's end: takes requests, writes answers. */
export class WorkerChannel {
  /** @param {SharedArrayBuffer} sab the page's PageChannel.sab */
  constructor(sab) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength <= DATA) throw new MinibaseError('BAD_VALUE', 'opfs: the channel is not a SharedArrayBuffer');
    this.cells = new Int32Array(sab, 0, CELLS);
    this.data = new Uint8Array(sab, DATA);
    this.served = Atomics.load(this.cells, REQ);
    this._encoder = new Encoder();
    this._decoder = new Decoder();
  }

  /** The bell's count, read before looking for work: `wait` returns at once if it moved since. */
  bell() {
    return Atomics.load(this.cells, BELL);
  }

  /** The sequence number of a request not yet served, or 0. */
  pending() {
    const seq = Atomics.load(this.cells, REQ);
    return seq === this.served ? 0 : seq;
  }

  /** True while the page has posted a message the worker did not receive yet. */
  kicked() {
    return Atomics.load(this.cells, KICK) > 0;
  }

  /** One message the page kicked for arrived (never below zero, whatever posted it). */
  received() {
    const c = this.cells;
    for (let k = Atomics.load(c, KICK); k > 0; k = Atomics.load(c, KICK)) {
      if (Atomics.compareExchange(c, KICK, k, k - 1) === k) return;
    }
  }

  /** Blocks until the bell rings past `bell` (a request or a kick), or `ms` pass. */
  wait(bell, ms) {
    Atomics.wait(this.cells, BELL, bell, ms);
  }

  /**
   * Takes request `seq`: `[rid, name, op, id, take, request]` (copies, out of
   * the buffer); throws BAD_VALUE when the buffer does not hold one.
   * @param {number} seq
   */
  take(seq) {
    this.served = seq;
    const c = this.cells;
    const n = Atomics.load(c, REQ_LEN);
    const m = Atomics.load(c, META_LEN);
    if (!(n >= 0 && m > 0 && n + m <= this.data.length)) throw new MinibaseError('BAD_VALUE', `opfs: malformed shared request (lengths ${n} and ${m})`);
    const bytes = this.data.slice(0, n + m);
    const meta = this._decoder.decode(bytes, n, n + m);
    if (!Array.isArray(meta) || meta.length !== 5) throw new MinibaseError('BAD_VALUE', 'opfs: malformed shared request (its meta)');
    const [rid, name, op, id, take] = meta;
    return [rid, name, op, id ?? undefined, take ?? undefined, bytes.subarray(0, n)];
  }

  /**
   * Answers request `seq` with `[answer, wrote, changes, memoryBytes]`: in the
   * buffer, or false when it does not fit or cannot be encoded (the caller
   * sends it by message; the page waits for that).
   */
  reply(seq, tuple) {
    const c = this.cells;
    let bytes = null;
    try {
      bytes = this._encoder.encode(tuple);
    } catch {
      // Something the codec cannot carry (a change feed's value, say): by message, which can.
    }
    const fits = bytes !== null && bytes.length <= this.data.length;
    if (fits) {
      this.data.set(bytes, 0);
      Atomics.store(c, ANS_LEN, bytes.length);
    }
    Atomics.store(c, ANS_KIND, fits ? IN_BUFFER : BY_MESSAGE);
    Atomics.store(c, ANS, seq);
    Atomics.notify(c, ANS);
    return fits;
  }
}
