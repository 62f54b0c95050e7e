// The wire encoding of values between JS and the Go engine. It mirrors
// engine/value/codec.go byte for byte (see wasm/PROTOCOL.md, "Values"):
//
//   0x00 null    0x01 false    0x02 true
//   0x03 float64  8 bytes little-endian
//   0x04 integer  zigzag uvarint (|n| ≤ 2^53)
//   0x05 string   uvarint byte length, UTF-8
//   0x06 bytes    uvarint length, raw bytes
//   0x07 array    uvarint count, values
//   0x08 object   uvarint count, then (uvarint key length, key, value) each
//   0x09 rowset   uvarint column count, names, uvarint row count,
//                 rows×columns values (decodes to an array of objects)

import { MinibaseError } from './errors.js';

export const TAG_NULL = 0x00;
export const TAG_FALSE = 0x01;
export const TAG_TRUE = 0x02;
export const TAG_FLOAT = 0x03;
export const TAG_INT = 0x04;
export const TAG_STRING = 0x05;
export const TAG_BYTES = 0x06;
export const TAG_ARRAY = 0x07;
export const TAG_OBJECT = 0x08;
export const TAG_ROWSET = 0x09;

/** Nesting limit, the same as Go's value.MaxDepth (the top value is depth 0). */
export const MAX_DEPTH = 64;
/** The largest request the encoder builds (bytes). */
export const MAX_ENCODED = 256 * 1024 * 1024;

const MAX_SAFE = 2 ** 53;
const SHORT_STRING = 64; // strings shorter than this try the ASCII loops
const KEEP_BUFFER = 4 * 1024 * 1024; // a bigger buffer is dropped after use

// Made on first use, not at import: the mini-program loader installs
// TextEncoder and TextDecoder only when it starts the engine, and a runtime
// it turns away must still be able to load this module.
let textEncoder = null;
let textDecoder = null;

// The globals the hot paths use, read once. A global is a property lookup
// on the global object, and where that object is not an ordinary one (the
// mini-program stand-in's vm context, some mini-program runtimes) each
// lookup is slow: it was half the time of a point read there.
const fromCharCode = String.fromCharCode;
const floor = Math.floor;
const isInteger = Number.isInteger;
const isFinite = Number.isFinite;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const objectKeys = Object.keys;
const getPrototypeOf = Object.getPrototypeOf;
const OBJECT_PROTO = Object.prototype;

// Whether Object.prototype has an enumerable key (a script added one).
function protoEnumerable() {
  for (const _ in OBJECT_PROTO) return true;
  return false;
}

/** Byte length of the uvarint encoding of n (0 ≤ n ≤ 2^53). */
function uvarintSize(n) {
  let size = 1;
  while (n >= 0x80) {
    n = floor(n / 128);
    size++;
  }
  return size;
}

function badValue(message) {
  const err = new MinibaseError('BAD_VALUE', message);
  err.path = [];
  return err;
}

function describe(v) {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `bigint ${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  return v?.constructor?.name ? `a ${v.constructor.name}` : typeof v;
}

function formatPath(path) {
  return path
    .map((k) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`))
    .join('');
}

// The codec's helpers are _underscored methods, not #private ones: the
// mini-program bundle targets ES2017, where a private method call is lowered
// to a WeakSet check plus a .call(), several per value decoded.

/**
 * Encodes JS values into the wire format. One Encoder reuses its buffer
 * across calls; the bytes returned by `encode` are valid until the next call.
 */
export class Encoder {
  /** @param {number} [initialSize] starting buffer size in bytes */
  constructor(initialSize = 64 * 1024) {
    this.initialSize = initialSize;
    this._reset(initialSize);
  }

  _reset(size) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    this.stack = []; // containers on the current path, for cycle detection
    this.forIn = true; // whether _object may walk a plain object with for-in
  }

  /**
   * Encodes one value.
   * @param {unknown} value
   * @returns {Uint8Array} a view of the internal buffer, valid until the next call
   * @throws {MinibaseError} BAD_VALUE for values that have no encoding, TOO_LARGE past MAX_ENCODED
   */
  encode(value) {
    return this._encode(value, null);
  }

  /**
   * Encodes a request `[op, ...args]`. Error messages name the operation and
   * locate the bad value within its argument (`insert: cannot encode NaN (at .age)`).
   * @param {string} op
   * @param {unknown[]} args
   * @returns {Uint8Array} a view of the internal buffer, valid until the next call
   */
  encodeRequest(op, args) {
    return this._encode([op, ...args], op);
  }

  _encode(value, op) {
    if (this.buf.length > KEEP_BUFFER) this._reset(this.initialSize);
    this.pos = 0;
    this.forIn = !protoEnumerable();
    try {
      this._value(value, 0);
    } catch (err) {
      this.pos = 0;
      this.stack.length = 0;
      throw this._describeError(err, op);
    }
    return this.buf.subarray(0, this.pos);
  }

  _describeError(err, op) {
    let out;
    if (err instanceof MinibaseError) {
      out = err;
      const path = Array.isArray(err.path) ? err.path : [];
      delete err.path;
      if (op !== null) path.shift(); // the argument's index within [op, ...args]
      if (path.length > 0) out.message += ` (at ${formatPath(path)})`;
    } else if (err instanceof RangeError) {
      // Out of memory building a huge buffer, or a pathological value.
      out = new MinibaseError('TOO_LARGE', `value too large to encode: ${err.message}`, { cause: err });
    } else {
      out = new MinibaseError('BAD_VALUE', `cannot encode value: ${err?.message ?? err}`, { cause: err });
    }
    if (op !== null) out.message = `${op}: ${out.message}`;
    return out;
  }

  _ensure(n) {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > MAX_ENCODED) {
      throw new MinibaseError('TOO_LARGE', `encoded value exceeds ${MAX_ENCODED} bytes`);
    }
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const buf = new Uint8Array(Math.min(size, MAX_ENCODED));
    buf.set(this.buf.subarray(0, this.pos));
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }

  // Writes a uvarint; the caller has ensured room for 8 bytes.
  _uvarint(n) {
    const buf = this.buf;
    let pos = this.pos;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80; // & keeps the low bits exactly, even past 2^32
      n = floor(n / 128);
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  _number(n) {
    if (isInteger(n) && n >= -MAX_SAFE && n <= MAX_SAFE) {
      this._ensure(10);
      // zigzag(n) = 2m + s with m = n, s = 0 for n ≥ 0 and m = -n-1, s = 1
      // below; computed in two parts so that nothing exceeds 2^53.
      let m = n;
      let s = 0;
      if (n < 0) {
        m = -n - 1;
        s = 1;
      }
      const rest = floor(m / 64);
      this.buf[this.pos++] = TAG_INT;
      this.buf[this.pos++] = ((m & 63) << 1) | s | (rest > 0 ? 0x80 : 0);
      if (rest > 0) this._uvarint(rest);
      return;
    }
    if (!isFinite(n)) throw badValue(`cannot encode ${n}: numbers must be finite`);
    this._ensure(9);
    this.buf[this.pos++] = TAG_FLOAT;
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  // Writes a string's uvarint byte length and its UTF-8 bytes.
  _string(s) {
    const len = s.length;
    if (len < SHORT_STRING) {
      this._ensure(1 + len);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = start + len;
        return;
      }
    }
    // General case: reserve room for the longest possible length prefix,
    // encode, then move the bytes if the real prefix is shorter.
    const maxBytes = len * 3;
    const reserved = uvarintSize(maxBytes);
    this._ensure(reserved + maxBytes);
    const start = this.pos + reserved;
    const { written } = (textEncoder ??= new TextEncoder()).encodeInto(s, this.buf.subarray(start, start + maxBytes));
    const actual = uvarintSize(written);
    if (actual !== reserved) this.buf.copyWithin(this.pos + actual, start, start + written);
    this._uvarint(written);
    this.pos += written;
  }

  _bytes(u8) {
    this._ensure(9 + u8.length);
    this.buf[this.pos++] = TAG_BYTES;
    this._uvarint(u8.length);
    this.buf.set(u8, this.pos);
    this.pos += u8.length;
  }

  _value(v, depth) {
    if (depth > MAX_DEPTH) throw badValue(`value nested deeper than ${MAX_DEPTH} levels`);
    switch (typeof v) {
      case 'string':
        this._ensure(1);
        this.buf[this.pos++] = TAG_STRING;
        this._string(v);
        return;
      case 'number':
        this._number(v);
        return;
      case 'boolean':
        this._ensure(1);
        this.buf[this.pos++] = v ? TAG_TRUE : TAG_FALSE;
        return;
      case 'undefined':
        this._ensure(1);
        this.buf[this.pos++] = TAG_NULL;
        return;
      case 'object':
        if (v === null) {
          this._ensure(1);
          this.buf[this.pos++] = TAG_NULL;
          return;
        }
        this._container(v, depth);
        return;
      default:
        throw badValue(`cannot encode ${describe(v)}`);
    }
  }

  _container(v, depth) {
    // Plain arrays and objects first: no other check applies to them.
    const plainArray = isArray(v);
    if (plainArray || getPrototypeOf(v) === OBJECT_PROTO) {
      if (this.stack.includes(v)) throw badValue('cannot encode a cyclic structure');
      this.stack.push(v);
      if (plainArray) this._array(v, depth);
      else this._object(v, depth, true);
      this.stack.pop();
      return;
    }
    if (isView(v)) {
      this._bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return;
    }
    // By their tag, not instanceof, so that values from another realm (an
    // iframe, a vm context, a mini-program's plugin) are recognized too.
    switch (OBJECT_PROTO.toString.call(v)) {
      case '[object ArrayBuffer]':
        this._bytes(new Uint8Array(v));
        return;
      case '[object Date]': {
        const t = Date.prototype.getTime.call(v);
        if (t !== t) throw badValue('cannot encode an invalid Date');
        this._number(t);
        return;
      }
      case '[object Map]':
      case '[object Set]':
      case '[object WeakMap]':
      case '[object WeakSet]':
      case '[object Promise]':
        throw badValue(`cannot encode ${describe(v)}: use a plain object or an array`);
    }
    if (this.stack.includes(v)) throw badValue('cannot encode a cyclic structure');
    this.stack.push(v);
    if (isArray(v)) this._array(v, depth);
    else this._object(v, depth, false);
    this.stack.pop();
  }

  _array(a, depth) {
    this._ensure(9);
    this.buf[this.pos++] = TAG_ARRAY;
    this._uvarint(a.length);
    let i = 0;
    try {
      for (; i < a.length; i++) this._value(a[i], depth + 1);
    } catch (err) {
      err.path?.unshift(i);
      throw err;
    }
  }

  // Own enumerable string keys; members whose value is undefined are skipped.
  // The count is written as one byte first and widened afterwards if needed.
  // A plain object's keys are walked with for-in, whose o[key] V8 turns into
  // a load from the object's enum cache, where Object.keys builds an array
  // and each o[key] is a generic keyed load (a fifth of encoding a row). But
  // for-in also walks Object.prototype's enumerable keys, so it is used only
  // while that has none (see _encode).
  _object(o, depth, plain) {
    this._ensure(2);
    this.buf[this.pos++] = TAG_OBJECT;
    const countAt = this.pos++;
    let count = 0;
    let key;
    try {
      if (plain && this.forIn) {
        for (key in o) count += this._member(key, o[key], depth);
      } else {
        for (key of objectKeys(o)) count += this._member(key, o[key], depth);
      }
    } catch (err) {
      err.path?.unshift(key);
      throw err;
    }
    if (count < 0x80) {
      this.buf[countAt] = count;
      return;
    }
    const extra = uvarintSize(count) - 1;
    this._ensure(extra);
    this.buf.copyWithin(countAt + 1 + extra, countAt + 1, this.pos);
    const end = this.pos + extra;
    this.pos = countAt;
    this._uvarint(count);
    this.pos = end;
  }

  // One member of an object: 1 when written, 0 when its value is undefined.
  _member(key, item, depth) {
    if (item === undefined) return 0;
    this._ensure(1);
    this._string(key);
    this._value(item, depth + 1);
    return 1;
  }
}

/**
 * Decodes the wire format. Bytes are read in place; `Uint8Array` values in
 * the result are copies, so the input may be reused afterwards.
 */
export class Decoder {
  /**
   * Decodes exactly one value from `bytes[start:end]`.
   * @param {Uint8Array} bytes
   * @param {number} [start]
   * @param {number} [end]
   * @returns {unknown}
   * @throws {MinibaseError} BAD_VALUE for malformed input
   */
  decode(bytes, start = 0, end = bytes.length) {
    this.buf = bytes;
    this.view = null; // made at the first float: most answers have none, and it was a fifth of decoding a row
    this.pos = start;
    this.end = end;
    try {
      const v = this._value(0);
      if (this.pos !== end) this._fail(`${end - this.pos} trailing bytes`);
      return v;
    } finally {
      this.buf = this.view = null; // do not keep wasm memory alive
    }
  }

  _fail(what) {
    throw new MinibaseError('BAD_VALUE', `malformed encoding at byte ${this.pos}: ${what}`);
  }

  _uvarint() {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this._fail('bad varint');
      const b = this.buf[this.pos++];
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    return this._fail('bad varint');
  }

  // A length whose items need at least perItem bytes each must fit the rest.
  _length(perItem) {
    const n = this._uvarint();
    if (n > (this.end - this.pos) / perItem) this._fail('length exceeds input');
    return n;
  }

  _string() {
    return this._chars(this._length(1));
  }

  // The string of the n bytes at pos.
  _chars(n) {
    const buf = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n < SHORT_STRING) {
      let s = '';
      let i = start;
      for (; i < start + n; i++) {
        const c = buf[i];
        if (c >= 0x80) break;
        s += fromCharCode(c);
      }
      if (i === start + n) return s;
    }
    return (textDecoder ??= new TextDecoder()).decode(buf.subarray(start, start + n));
  }

  // An object key: the same few names come back in every row, so a short
  // ASCII key is looked up in a small table by its bytes and the string
  // decoded the first time is returned again. That saves building the string
  // a character at a time, and a repeated string is one V8 has already
  // internalized as a property name, so setting it is a plain store.
  _key() {
    const n = this._length(1);
    const buf = this.buf;
    const start = this.pos;
    if (n > KEY_MAX) return this._chars(n);
    let h = n;
    for (let i = start; i < start + n; i++) h = (Math.imul(h, 31) + buf[i]) | 0;
    const slot = h & (KEY_SLOTS - 1);
    const k = keyTable[slot];
    if (k !== undefined && k.length === n) {
      let i = 0;
      while (i < n && k.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) {
        this.pos += n;
        return k;
      }
    }
    const s = this._chars(n);
    // One character a byte: ASCII (a hit compares characters with bytes,
    // so anything else kept here would only never match).
    if (s.length === n) keyTable[slot] = s;
    return s;
  }

  _int() {
    if (this.pos >= this.end) this._fail('bad varint');
    const b0 = this.buf[this.pos++];
    const s = b0 & 1;
    let m = (b0 & 0x7f) >> 1;
    if (b0 & 0x80) m += this._uvarint() * 64;
    if (m > (s ? MAX_SAFE - 1 : MAX_SAFE)) this._fail('integer out of range');
    return s ? -m - 1 : m;
  }

  _value(depth) {
    if (depth > MAX_DEPTH) this._fail('nested too deeply');
    if (this.pos >= this.end) this._fail('unexpected end');
    const tag = this.buf[this.pos++];
    switch (tag) {
      case TAG_NULL:
        return null;
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_FLOAT: {
        if (this.end - this.pos < 8) this._fail('truncated number');
        const buf = this.buf;
        const f = (this.view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength)).getFloat64(this.pos, true);
        if (!isFinite(f)) this._fail('number is not finite');
        this.pos += 8;
        return f === 0 ? 0 : f;
      }
      case TAG_INT:
        return this._int();
      case TAG_STRING:
        return this._string();
      case TAG_BYTES: {
        const n = this._length(1);
        const out = this.buf.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case TAG_ARRAY: {
        const n = this._length(1);
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this._value(depth + 1);
        return out;
      }
      case TAG_OBJECT: {
        const n = this._length(2);
        const out = {};
        for (let i = 0; i < n; i++) {
          const key = this._key();
          setMember(out, key, this._value(depth + 1));
        }
        return out;
      }
      case TAG_ROWSET:
        return this._rowset(depth);
    }
    this.pos--;
    return this._fail(`unknown tag 0x${tag.toString(16).padStart(2, '0')}`);
  }

  _rowset(depth) {
    const nc = this._length(1);
    const cols = new Array(nc);
    for (let i = 0; i < nc; i++) cols[i] = this._key();
    const plain = !cols.includes('__proto__');
    const nr = this._length(Math.max(nc, 1));
    const rows = new Array(nr);
    for (let r = 0; r < nr; r++) {
      const row = {};
      for (let c = 0; c < nc; c++) {
        const v = this._value(depth + 2);
        if (plain) row[cols[c]] = v;
        else setMember(row, cols[c], v);
      }
      rows[r] = row;
    }
    return rows;
  }
}

// Object keys the decoder has seen (Decoder._key): a slot per hash, the last
// key that hashed there.
const KEY_MAX = 32;
const KEY_SLOTS = 512;
const keyTable = new Array(KEY_SLOTS);

// A key "__proto__" becomes an own property, never the prototype.
function setMember(obj, key, value) {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

const sharedEncoder = new Encoder(1024);
const sharedDecoder = new Decoder();

/**
 * Encodes one value into a new Uint8Array.
 * @param {unknown} value
 * @returns {Uint8Array}
 */
export function encode(value) {
  return sharedEncoder.encode(value).slice();
}

/**
 * Decodes exactly one value.
 * @param {Uint8Array} bytes
 * @returns {unknown}
 */
export function decode(bytes) {
  return sharedDecoder.decode(bytes);
}
