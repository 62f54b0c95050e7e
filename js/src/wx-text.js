// UTF-8 TextEncoder / TextDecoder for runtimes without them (mini-programs).
// Go's wasm_exec.js decodes strings from a DataView and encodes with
// encode(); codec.js uses encodeInto() and decodes Uint8Array views. Both
// follow the Encoding standard: lone surrogates encode as U+FFFD, invalid
// bytes decode to U+FFFD (one per maximal invalid subpart), a leading BOM is
// dropped unless ignoreBOM.

/** Encodes str as UTF-8 into dst; returns { read, written } (UTF-16 units read, bytes written). */
function encodeUtf8Into(str, dst) {
  const n = str.length;
  const cap = dst.length;
  let i = 0;
  let w = 0;
  while (i < n) {
    let c = str.charCodeAt(i);
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
    if (c < 0x80) {
      if (w + 1 > cap) break;
      dst[w++] = c;
    } else if (c < 0x800) {
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
    const str = String(input);
    const buf = new Uint8Array(str.length * 3); // at most 3 bytes per UTF-16 unit
    const { written } = encodeUtf8Into(str, buf);
    return buf.slice(0, written);
  }

  /** @param {string} source @param {Uint8Array} destination */
  encodeInto(source, destination) {
    return encodeUtf8Into(String(source), destination);
  }
}

/** Bytes of an ArrayBuffer or any view of one (Uint8Array, DataView, …), without copying. */
function bytesOf(input) {
  if (input === undefined || input === null) return new Uint8Array(0);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (Object.prototype.toString.call(input) === '[object ArrayBuffer]') return new Uint8Array(input);
  throw new TypeError('TextDecoder.decode: input must be an ArrayBuffer or a view of one');
}

const CHUNK = 8192; // String.fromCharCode arguments per call

/** The UTF-8 decoder of the Encoding standard (no streaming). */
export class TextDecoder {
  #fatal;
  #ignoreBOM;

  constructor(label = 'utf-8', options = {}) {
    const l = String(label).trim().toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') throw new RangeError(`TextDecoder: only utf-8 is supported, not ${label}`);
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding() {
    return 'utf-8';
  }

  get fatal() {
    return this.#fatal;
  }

  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  /** @param {ArrayBuffer|ArrayBufferView} [input] */
  decode(input, options) {
    if (options?.stream) throw new TypeError('TextDecoder: streaming is not supported');
    const b = bytesOf(input);
    const n = b.length;
    let i = 0;
    if (!this.#ignoreBOM && n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
    let out = '';
    // ASCII runs (property names, most keys) go straight to fromCharCode:
    // Go decodes every string it reads from JS through here.
    let ascii = i;
    while (ascii < n && b[ascii] < 0x80) ascii++;
    for (; i + CHUNK < ascii; i += CHUNK) out += String.fromCharCode.apply(null, b.subarray(i, i + CHUNK));
    if (i < ascii) {
      out += String.fromCharCode.apply(null, b.subarray(i, ascii));
      i = ascii;
    }
    const units = [];
    const bad = () => {
      if (this.#fatal) throw new TypeError('TextDecoder: invalid UTF-8');
      units.push(0xfffd);
    };
    while (i < n) {
      const c = b[i];
      if (c < 0x80) {
        units.push(c);
        i++;
      } else {
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
        i++;
        if (need === 0) {
          bad();
        } else {
          let k = 0;
          for (; k < need; k++) {
            const d = i < n ? b[i] : -1;
            if (d < lo || d > hi) break;
            cp = (cp << 6) | (d & 0x3f);
            lo = 0x80;
            hi = 0xbf;
            i++;
          }
          if (k < need) {
            bad(); // the bytes consumed so far form one maximal invalid subpart
          } else if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
          } else {
            units.push(cp);
          }
        }
      }
      if (units.length >= CHUNK) {
        out += String.fromCharCode.apply(null, units);
        units.length = 0;
      }
    }
    return out + String.fromCharCode.apply(null, units);
  }
}
