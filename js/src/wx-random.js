// A CSPRNG for runtimes whose only entropy source is asynchronous
// (wx.getRandomValues), while Go's runtime and crypto/rand need
// crypto.getRandomValues synchronously.
//
// Construction: ChaCha20 (RFC 8439) as a fast-key-erasure generator. Each
// request runs ChaCha20 under the current 256-bit key; the first 32 bytes of
// keystream become the next key and the rest is output, so a later state
// compromise reveals nothing already produced. Entropy from the platform is
// mixed in by keying one ChaCha20 block with key XOR entropy (secret if either
// is) and taking its first 32 bytes as the new key. Output is refused until
// the first seed; reseeding is requested after every RESEED_BYTES of output or
// RESEED_MS of time, asynchronously, while output continues from the current
// state. Never Math.random.

const RESEED_BYTES = 1 << 20;
const RESEED_MS = 5 * 60 * 1000;
const MAX_REQUEST = 65536; // what crypto.getRandomValues allows per call

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]; // "expand 32-byte k"

/**
 * The ChaCha20 block function: 64 bytes of keystream.
 * @param {Uint32Array} key 8 words
 * @param {number} counter
 * @param {Uint32Array} nonce 3 words
 * @param {Uint32Array} out 16 words
 */
function block(key, counter, nonce, out) {
  const s = [
    SIGMA[0], SIGMA[1], SIGMA[2], SIGMA[3],
    key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
    counter >>> 0, nonce[0], nonce[1], nonce[2],
  ];
  let [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15] = s;
  const rotl = (v, c) => (v << c) | (v >>> (32 - c));
  for (let r = 0; r < 10; r++) {
    // column rounds
    x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 16); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 12);
    x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 8); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 7);
    x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 16); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 12);
    x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 8); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 7);
    x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 16); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 12);
    x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 8); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 7);
    x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 16); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 12);
    x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 8); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 7);
    // diagonal rounds
    x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 16); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 12);
    x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 8); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 7);
    x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 16); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 12);
    x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 8); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 7);
    x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 16); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 12);
    x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 8); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 7);
    x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 16); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 12);
    x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 8); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 7);
  }
  const x = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15];
  for (let i = 0; i < 16; i++) out[i] = (x[i] + s[i]) >>> 0;
}

/** Little-endian words of bytes (length a multiple of 4). */
function words(bytes) {
  const w = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < w.length; i++) {
    w[i] = bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24);
  }
  return w;
}

/**
 * ChaCha20 keystream bytes (RFC 8439 §2.4 with a zero plaintext), for tests against known vectors.
 * @param {Uint8Array} key 32 bytes
 * @param {Uint8Array} nonce 12 bytes
 * @param {number} counter initial block counter
 * @param {number} length
 */
export function chacha20Keystream(key, nonce, counter, length) {
  const out = new Uint8Array(length);
  fillKeystream(words(key), words(nonce), counter, out);
  return out;
}

function fillKeystream(key, nonce, counter, out) {
  const blk = new Uint32Array(16);
  for (let off = 0; off < out.length; off += 64, counter++) {
    block(key, counter, nonce, blk);
    for (let i = 0; i < 64 && off + i < out.length; i++) out[off + i] = blk[i >> 2] >>> (8 * (i & 3));
  }
}

const ZERO_NONCE = new Uint32Array(3);

/** The generator; one per runtime. */
export class ChaChaRng {
  #key = null; // Uint32Array(8) once seeded
  #sinceReseed = 0;
  #seededAt = 0;
  #reseeding = false;
  #entropy; // (n) => Promise<Uint8Array>
  #now;

  /**
   * @param {(n: number) => Promise<Uint8Array>} entropy platform entropy source
   * @param {() => number} [now] clock in ms, for the reseed interval
   */
  constructor(entropy, now = () => Date.now()) {
    this.#entropy = entropy;
    this.#now = now;
  }

  get seeded() {
    return this.#key !== null;
  }

  /** Mixes bytes of entropy (≥ 32) into the key. */
  addEntropy(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length < 32) throw new TypeError('ChaChaRng: at least 32 bytes of entropy are needed');
    const mixed = new Uint32Array(8);
    const e = words(bytes.subarray(0, 32));
    for (let i = 0; i < 8; i++) mixed[i] = (this.#key ? this.#key[i] : 0) ^ e[i];
    // Bytes 32..43 go into the nonce words, so 44 bytes of entropy all count.
    const nonce = bytes.length >= 44 ? words(bytes.subarray(32, 44)) : ZERO_NONCE;
    const out = new Uint32Array(16);
    block(mixed, 0, nonce, out);
    this.#key = out.slice(0, 8);
    out.fill(0);
    this.#sinceReseed = 0;
    this.#seededAt = this.#now();
  }

  /** Fetches fresh platform entropy and mixes it in. */
  async reseed() {
    this.addEntropy(await this.#entropy(48));
  }

  /**
   * Fills a typed array with random bytes, like crypto.getRandomValues.
   * @template {ArrayBufferView} T
   * @param {T} view
   * @returns {T}
   */
  getRandomValues(view) {
    if (!ArrayBuffer.isView(view) || Object.prototype.toString.call(view) === '[object DataView]' || view instanceof Float32Array || view instanceof Float64Array) {
      throw new TypeError('getRandomValues: an integer typed array is required');
    }
    if (view.byteLength > MAX_REQUEST) throw new RangeError(`getRandomValues: at most ${MAX_REQUEST} bytes per call`);
    if (!this.#key) throw new Error('getRandomValues: the random generator has not been seeded yet (minibase seeds it before starting the engine)');
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const stream = new Uint8Array(32 + bytes.length);
    fillKeystream(this.#key, ZERO_NONCE, 0, stream);
    this.#key = words(stream.subarray(0, 32)); // fast key erasure
    bytes.set(stream.subarray(32));
    stream.fill(0);
    this.#sinceReseed += bytes.length;
    if (!this.#reseeding && (this.#sinceReseed >= RESEED_BYTES || this.#now() - this.#seededAt >= RESEED_MS)) {
      this.#reseeding = true;
      this.reseed().then(
        () => (this.#reseeding = false),
        () => (this.#reseeding = false), // keep going on the current key; retried on a later call
      );
    }
    return view;
  }
}

/**
 * Platform entropy from a mini-program API object (wx, my, tt):
 * getRandomValues({ length, success, fail }) with length ≤ 1 MB.
 * @param {{ getRandomValues: Function }} api
 * @returns {(n: number) => Promise<Uint8Array>}
 */
export function platformEntropy(api) {
  return (n) =>
    new Promise((resolve, reject) => {
      if (typeof api?.getRandomValues !== 'function') {
        reject(new Error('no getRandomValues in the mini-program API: cannot seed the random generator'));
        return;
      }
      api.getRandomValues({
        length: n,
        success: (res) => {
          const v = res?.randomValues;
          if (v && Object.prototype.toString.call(v) === '[object ArrayBuffer]' && v.byteLength >= n) resolve(new Uint8Array(v, 0, n));
          else reject(new Error('getRandomValues returned no ArrayBuffer of the requested length'));
        },
        fail: (res) => reject(new Error(`getRandomValues failed: ${res?.errMsg ?? res}`)),
      });
    });
}
