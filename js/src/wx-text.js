// UTF-8 TextEncoder / TextDecoder for runtimes without them (mini-programs).
// Go's wasm_exec.js decodes every string Go hands to JS (each property name
// of each js.Value Get, Set and Call) from a DataView over the wasm memory,
// and encodes every string JS hands back; codec.js uses encodeInto() and
// decodes Uint8Array views. So the common case, a short ASCII string, must
// cost no allocation but the string: no view of its own, no array of code
// units, no closure. Both follow the Encoding standard: lone surrogates
// encode as U+FFFD, invalid bytes decode to U+FFFD (one per maximal invalid
// subpart), a leading BOM is dropped unless ignoreBOM.
//
// The classes keep their state in _underscored fields, not #private ones:
// the mini-program bundle (ES2017) lowers each #private access to a WeakMap
// lookup, several per call.

const fromCharCode = String.fromCharCode;
const imul = Math.imul;

/**
 * Encodes str from its UTF-16 unit i as UTF-8 into dst from byte w, up to
 * dst's end; returns { read, written } (UTF-16 units read, bytes written, in
 * all).
 */
function encodeFrom(str, i, dst, w) {
  const n = str.length;
  const cap = dst.length;
  while (i < n) {
    let c = str.charCodeAt(i);
    if (c < 0x80) {
      if (w >= cap) break;
      dst[w++] = c;
      i++;
      continue;
    }
    let units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? str.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        units = 2;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x800) {
      if (w + 2 > cap) break;
      dst[w++] = 0xc0 | (c >> 6);
      dst[w++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      if (w + 3 > cap) break;
      dst[w++] = 0xe0 | (c >> 12);
      dst[w++] = 0x80 | ((c >> 6) & 0x3f);
      dst[w++] = 0x80 | (c & 0x3f);
    } else {
      if (w + 4 > cap) break;
      dst[w++] = 0xf0 | (c >> 18);
      dst[w++] = 0x80 | ((c >> 12) & 0x3f);
      dst[w++] = 0x80 | ((c >> 6) & 0x3f);
      dst[w++] = 0x80 | (c & 0x3f);
    }
    i += units;
  }
  return { read: i, written: w };
}

/** The UTF-8 encoder of the Encoding standard. */
export class TextEncoder {
  get encoding() {
    return 'utf-8';
  }

  /** @param {string} [input] */
  encode(input = '') {
    const str = typeof input === 'string' ? input : String(input);
    const n = str.length;
    // Optimistically one byte a unit: the result for ASCII, built in place.
    const ascii = new Uint8Array(n);
    let i = 0;
    for (; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) break;
      ascii[i] = c;
    }
    if (i === n) return ascii;
    const buf = new Uint8Array(i + (n - i) * 3); // at most 3 bytes per UTF-16 unit
    buf.set(ascii.subarray(0, i));
    return buf.slice(0, encodeFrom(str, i, buf, i).written);
  }

  /** @param {string} source @param {Uint8Array} destination */
  encodeInto(source, destination) {
    const str = typeof source === 'string' ? source : String(source);
    const n = str.length;
    const m = n < destination.length ? n : destination.length;
    let i = 0;
    for (; i < m; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) break;
      destination[i] = c;
    }
    if (i === n) return { read: n, written: n };
    return encodeFrom(str, i, destination, i);
  }
}

// The bytes decode() reads: bytes[start, end). A view over the whole of the
// last buffer seen is kept, so that decoding a DataView over the wasm memory
// (a new one per string) makes no view of its own.
let lastBuffer = null;
let lastBytes = null;
let bytes = null;
let start = 0;
let end = 0;

/** Points bytes/start/end at an ArrayBuffer or any view of one, without copying. */
function locate(input) {
  if (input === undefined || input === null) {
    bytes = null;
    start = end = 0;
    return;
  }
  let buffer;
  if (ArrayBuffer.isView(input)) {
    buffer = input.buffer;
    start = input.byteOffset;
    end = start + input.byteLength;
  } else if (Object.prototype.toString.call(input) === '[object ArrayBuffer]') {
    buffer = input;
    start = 0;
    end = input.byteLength;
  } else {
    throw new TypeError('TextDecoder.decode: input must be an ArrayBuffer or a view of one');
  }
  // A buffer that grew in place (a resizable one, or wasm memory where it
  // is one) is looked at again: the old view would end short.
  if (buffer !== lastBuffer || lastBytes.length < end) {
    lastBuffer = buffer;
    lastBytes = new Uint8Array(buffer);
  }
  bytes = lastBytes;
}

const CHUNK = 8192; // String.fromCharCode arguments per call
const units = new Uint16Array(CHUNK + 2); // code units of a run of non-ASCII input

/** The string of the ASCII bytes b[i, j). */
function asciiString(b, i, j) {
  let out = '';
  if (j - i > 256) {
    for (; i + CHUNK < j; i += CHUNK) out += fromCharCode.apply(null, b.subarray(i, i + CHUNK));
    return out + fromCharCode.apply(null, b.subarray(i, j));
  }
  // Eight at a time beats apply() over a subarray below a few hundred bytes
  // (no view to make), and one at a time for the few left over.
  for (; i + 8 <= j; i += 8) out += fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
  for (; i < j; i++) out += fromCharCode(b[i]);
  return out;
}

/** The UTF-8 decoder of the Encoding standard (no streaming). */
export class TextDecoder {
  constructor(label = 'utf-8', options = {}) {
    const l = String(label).trim().toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') throw new RangeError(`TextDecoder: only utf-8 is supported, not ${label}`);
    this._fatal = Boolean(options?.fatal);
    this._ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding() {
    return 'utf-8';
  }

  get fatal() {
    return this._fatal;
  }

  get ignoreBOM() {
    return this._ignoreBOM;
  }

  /** @param {ArrayBuffer|ArrayBufferView} [input] */
  decode(input, options) {
    if (options != null && options.stream) throw new TypeError('TextDecoder: streaming is not supported');
    locate(input);
    const b = bytes;
    const n = end;
    let i = start;
    bytes = null; // not kept past the call (the view over the buffer is)
    if (!this._ignoreBOM && n - i >= 3 && b[i] === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) i += 3;
    let out = '';
    while (i < n) {
      let j = i;
      while (j < n && b[j] < 0x80) j++;
      if (j > i) {
        out += asciiString(b, i, j);
        i = j;
        if (i === n) break;
      }
      // A run of non-ASCII input, up to the next ASCII byte.
      let k = 0;
      while (i < n && b[i] >= 0x80 && k < CHUNK) {
        const c = b[i++];
        // Expected length and the valid range of the second byte (Encoding standard).
        let need = 0;
        let lo = 0x80;
        let hi = 0xbf;
        let cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
          need = 1;
          cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
          need = 2;
          cp = c & 0x0f;
          if (c === 0xe0) lo = 0xa0;
          if (c === 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
          need = 3;
          cp = c & 0x07;
          if (c === 0xf0) lo = 0x90;
          if (c === 0xf4) hi = 0x8f;
        }
        let got = 0;
        for (; got < need; got++) {
          const d = i < n ? b[i] : -1;
          if (d < lo || d > hi) break;
          cp = (cp << 6) | (d & 0x3f);
          lo = 0x80;
          hi = 0xbf;
          i++;
        }
        if (got < need || need === 0) {
          // The bytes consumed so far form one maximal invalid subpart.
          if (this._fatal) throw new TypeError('TextDecoder: invalid UTF-8');
          units[k++] = 0xfffd;
        } else if (cp >= 0x10000) {
          cp -= 0x10000;
          units[k++] = 0xd800 + (cp >> 10);
          units[k++] = 0xdc00 + (cp & 0x3ff);
        } else {
          units[k++] = cp;
        }
      }
      out += fromCharCode.apply(null, units.subarray(0, k));
    }
    return out;
  }
}

// Strings Go hands to JS through wasm_exec.js (goString): the same few
// property and method names again and again ("position", "readSync",
// "bytesRead" for every block read). A short ASCII one is looked up by its
// bytes in a small table and the string made the first time is returned
// again: no DataView, no string built, and a string V8 has already
// internalized, so the Reflect.get/set that follows is a plain lookup.
const NAME_MAX = 32;
const NAME_SLOTS = 256;
const names = new Array(NAME_SLOTS);
let nameBuffer = null;
let nameBytes = null;

/**
 * The string of the UTF-8 bytes [addr, addr+len) of buffer (an ArrayBuffer:
 * the wasm memory), as decoder.decode(new DataView(buffer, addr, len))
 * returns it: short ASCII from the table, anything else from decoder.
 * @param {ArrayBuffer} buffer
 * @param {number} addr
 * @param {number} len
 * @param {{ decode(v: DataView): string }} decoder
 * @returns {string}
 */
export function goString(buffer, addr, len, decoder) {
  if (len > NAME_MAX || len === 0) return decoder.decode(new DataView(buffer, addr, len));
  if (buffer !== nameBuffer || nameBytes.length < addr + len) {
    nameBuffer = buffer;
    nameBytes = new Uint8Array(buffer);
    if (nameBytes.length < addr + len) return decoder.decode(new DataView(buffer, addr, len)); // throws RangeError as the DataView would
  }
  const b = nameBytes;
  const end = addr + len;
  let h = len;
  for (let i = addr; i < end; i++) {
    const c = b[i];
    if (c >= 0x80) return decoder.decode(new DataView(buffer, addr, len));
    h = (imul(h, 31) + c) | 0;
  }
  const slot = h & (NAME_SLOTS - 1);
  const k = names[slot];
  if (k !== undefined && k.length === len) {
    let i = 0;
    while (i < len && k.charCodeAt(i) === b[addr + i]) i++;
    if (i === len) return k;
  }
  const s = asciiString(b, addr, end);
  names[slot] = s;
  return s;
}
