// The mini-program polyfills on their own: UTF-8 TextEncoder/TextDecoder
// against Node's, ChaCha20 against RFC 8439 and OpenSSL, the CSPRNG's
// seeding and reseeding rules; then in the stand-in: no Math.random, a clock
// in microseconds corrected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { TextEncoder as Enc, TextDecoder as Dec, goString } from '../src/wx-text.js';
import { ChaChaRng, chacha20Keystream, platformEntropy } from '../src/wx-random.js';

const require = createRequire(import.meta.url);
const { createRuntime } = require('./wx-standin/runtime.cjs');

/** A deterministic PRNG for generating test inputs (xorshift32). */
function inputs(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('TextEncoder: encode and encodeInto agree with Node on every kind of string', () => {
  const enc = new Enc();
  const ref = new globalThis.TextEncoder();
  const fixed = ['', 'ascii', 'é', '✓', '😀', '\u0000', '\ud800', 'a\udc00b', '\ud83d', '\ud83d\ude00\ud83d', '\uffff', '\u07ff\u0800'];
  const rnd = inputs(7);
  const pools = [[0x20, 0x7f], [0x80, 0x7ff], [0x800, 0xffff], [0xd800, 0xdfff], [0xd83d, 0xd83d], [0xde00, 0xde4f]];
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const len = Math.floor(rnd() * 20);
    for (let j = 0; j < len; j++) {
      const [lo, hi] = pools[Math.floor(rnd() * pools.length)];
      s += String.fromCharCode(lo + Math.floor(rnd() * (hi - lo + 1)));
    }
    fixed.push(s);
  }
  for (const s of fixed) {
    assert.deepEqual(enc.encode(s), ref.encode(s), JSON.stringify(s));
    for (const size of [0, 1, 2, 3, 5, 64]) {
      const a = new Uint8Array(size);
      const b = new Uint8Array(size);
      assert.deepEqual(enc.encodeInto(s, a), ref.encodeInto(s, b), `${JSON.stringify(s)} into ${size}`);
      assert.deepEqual(a, b);
    }
  }
});

test('TextDecoder: decodes valid and invalid UTF-8 like Node, from any view', () => {
  const dec = new Dec('utf-8');
  const ref = new globalThis.TextDecoder('utf-8');
  const cases = [
    [], [0x41], [0xef, 0xbb, 0xbf, 0x41], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
    [0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0x80, 0x80], [0xe2, 0x9c], [0xe2, 0x9c, 0x93, 0xe2],
  ].map((a) => Uint8Array.from(a));
  const rnd = inputs(11);
  for (let i = 0; i < 3000; i++) {
    cases.push(Uint8Array.from({ length: Math.floor(rnd() * 24) }, () => (rnd() < 0.5 ? Math.floor(rnd() * 128) : 0x80 + Math.floor(rnd() * 128))));
  }
  cases.push(new globalThis.TextEncoder().encode('long ✓ 😀 '.repeat(5000))); // past one fromCharCode chunk
  for (const bytes of cases) {
    const want = ref.decode(bytes);
    assert.equal(dec.decode(bytes), want, `${[...bytes]}`);
    const padded = new Uint8Array(bytes.length + 6);
    padded.set(bytes, 3);
    assert.equal(dec.decode(new DataView(padded.buffer, 3, bytes.length)), want, 'a DataView, as wasm_exec.js passes');
    assert.equal(dec.decode(padded.subarray(3, 3 + bytes.length)), want, 'a subarray, as codec.js passes');
  }
  assert.equal(dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]).buffer), 'A', 'an ArrayBuffer; the BOM dropped');
  assert.equal(new Dec('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf])), '\ufeff');
  assert.equal(dec.decode(), '');
  assert.throws(() => new Dec('utf-8', { fatal: true }).decode(new Uint8Array([0xff])), TypeError);
  assert.throws(() => new Dec('latin1'), RangeError);
});

// Random strings of every kind of UTF-16 unit (ASCII, 2- and 3-byte, valid
// pairs, lone surrogates) in runs, and long ASCII stretches that cross the
// encoder's and decoder's fast paths at every length around their limits.
test('TextEncoder and TextDecoder: a bounded fuzz against Node, round trip and mixed runs', () => {
  const enc = new Enc();
  const dec = new Dec();
  const fatal = new Dec('utf-8', { fatal: true });
  const refEnc = new globalThis.TextEncoder();
  const refDec = new globalThis.TextDecoder();
  const refFatal = new globalThis.TextDecoder('utf-8', { fatal: true });
  const rnd = inputs(29);
  const pick = (n) => Math.floor(rnd() * n);
  const unit = () => {
    switch (pick(6)) {
      case 0: case 1: return String.fromCharCode(pick(0x80));
      case 2: return String.fromCharCode(0x80 + pick(0x780));
      case 3: return String.fromCharCode(0x800 + pick(0xf800));
      case 4: return String.fromCodePoint(0x10000 + pick(0x100000));
      default: return String.fromCharCode(0xd800 + pick(0x800)); // lone, or a pair by chance
    }
  };
  const strings = [];
  for (const len of [0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 8191, 8192, 8193, 20000]) {
    const a = 'x'.repeat(len);
    strings.push(a, `${a}é`, `é${a}`, `${a}😀${a}`, `${a}\ud800`, `\udc00${a}`);
  }
  for (let i = 0; i < 3000; i++) {
    let s = '';
    for (let r = pick(6); r >= 0; r--) s += rnd() < 0.5 ? 'a'.repeat(pick(40)) : Array.from({ length: pick(12) }, unit).join('');
    strings.push(s);
  }
  for (const s of strings) {
    const want = refEnc.encode(s);
    const got = enc.encode(s);
    assert.deepEqual(got, want, JSON.stringify(s.slice(0, 80)));
    assert.equal(got.byteLength, got.buffer.byteLength, 'encode returns a buffer of exactly its bytes');
    assert.equal(dec.decode(got), refDec.decode(want));
    const size = pick(s.length * 3 + 2);
    const a = new Uint8Array(size);
    const b = new Uint8Array(size);
    assert.deepEqual(enc.encodeInto(s, a), refEnc.encodeInto(s, b), `${JSON.stringify(s.slice(0, 80))} into ${size}`);
    assert.deepEqual(a, b);
  }
  // Random bytes: any value, in runs of ASCII, continuation bytes and leads.
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(pick(64) + (i % 50 === 0 ? 9000 : 0));
    for (let j = 0; j < bytes.length; j++) bytes[j] = rnd() < 0.4 ? pick(0x80) : rnd() < 0.5 ? 0x80 + pick(0x40) : pick(256);
    const view = new DataView(bytes.buffer);
    assert.equal(dec.decode(view), refDec.decode(bytes), `${[...bytes.subarray(0, 64)]}`);
    let want;
    try {
      want = refFatal.decode(bytes);
    } catch {
      want = TypeError;
    }
    if (want === TypeError) assert.throws(() => fatal.decode(bytes), TypeError);
    else assert.equal(fatal.decode(bytes), want);
  }
});

// The decoder keeps a view over the last buffer it read; a new buffer, or a
// view past the old view's end, must not be read through the old view.
test('TextDecoder: a new or grown buffer is read as it is now', { timeout: 10000 }, () => {
  const dec = new Dec();
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 3 });
  const write = (at, s) => new Uint8Array(mem.buffer).set(new globalThis.TextEncoder().encode(s), at);
  write(10, 'before');
  assert.equal(dec.decode(new DataView(mem.buffer, 10, 6)), 'before');
  mem.grow(1); // a new ArrayBuffer; the old one is detached
  write(65536 + 100, 'after growth');
  assert.equal(dec.decode(new DataView(mem.buffer, 65536 + 100, 12)), 'after growth');
  assert.equal(dec.decode(new DataView(mem.buffer, 10, 6)), 'before');
  const other = new TextEncoder().encode('another buffer');
  assert.equal(dec.decode(other.subarray(8)), 'buffer');
  assert.equal(dec.decode(new DataView(mem.buffer, 10, 6)), 'before');
});

// goString is wasm_exec.js's loadString in the mini-program bundle: it must
// give what decoding a DataView of the same bytes gives, for every input,
// with Node's TextDecoder and the polyfill as the fallback alike, also when
// the table already holds a string of the same slot, length or bytes.
test('goString: the string a DataView decode gives, from the table or the decoder', () => {
  const ref = new globalThis.TextDecoder('utf-8');
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const u8 = () => new Uint8Array(mem.buffer);
  const check = (bytes, at, decoder, what) => {
    u8().set(bytes, at);
    const want = ref.decode(new DataView(mem.buffer, at, bytes.length));
    assert.equal(goString(mem.buffer, at, bytes.length, decoder), want, `${what}: ${[...bytes]} at ${at}`);
    assert.equal(goString(mem.buffer, at, bytes.length, decoder), want, `${what} again: ${[...bytes]} at ${at}`);
  };
  const enc = new globalThis.TextEncoder();
  // The slot of an ASCII string in the table (the hash goString uses), to
  // make strings that collide.
  const slot = (s) => {
    let h = s.length;
    for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
    return h & 255;
  };
  const colliding = [];
  for (let i = 0; colliding.length < 3; i++) if (slot(`k${i}`) === slot('position')) colliding.push(`k${i}`);
  const fixed = [
    '', 'a', 'position', 'positioN', 'length', 'readSync', 'bytesRead', 'arrayBuffer', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(33),
    '\u0000', '\u007f', 'é', 'aé', 'position✓', '😀', 'data/b/000001.seg', ...colliding, 'position', ...colliding.reverse(),
  ].map((s) => enc.encode(s));
  const raw = [[0xef, 0xbb, 0xbf, 0x41], [0xed, 0xa0, 0x80], [0xed, 0xb0, 0x80], [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80], [0xff], [0x80], [0xc0, 0x80],
    [0x61, 0xe2, 0x9c], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0x61, 0x62, 0xfe, 0x63]].map((a) => Uint8Array.from(a));
  for (const decoder of [ref, new Dec()]) {
    for (const bytes of [...fixed, ...raw]) for (const at of [0, 7, 65536 - bytes.length]) check(bytes, at, decoder, decoder.constructor.name);
    // The same address holding other bytes of the same length: not the old string.
    check(enc.encode('abcdefgh'), 100, decoder, 'first');
    check(enc.encode('abcdefgX'), 100, decoder, 'overwritten');
    check(enc.encode('abcdefg\u00e9').subarray(0, 8), 100, decoder, 'overwritten, not ASCII');
  }
  // A bounded fuzz: short ASCII from a small alphabet (many repeats, many
  // collisions), ASCII with one byte ≥ 0x80, and random bytes.
  const rnd = inputs(41);
  const pick = (n) => Math.floor(rnd() * n);
  for (let i = 0; i < 20000; i++) {
    const n = pick(40);
    const bytes = new Uint8Array(n);
    const kind = pick(3);
    for (let j = 0; j < n; j++) bytes[j] = kind === 2 ? pick(256) : 0x61 + pick(3);
    if (kind === 1 && n > 0) bytes[pick(n)] = 0x80 + pick(0x80);
    check(bytes, pick(1000), i % 2 ? ref : new Dec(), 'fuzz');
  }
  // A grown memory is a new buffer (the old one detached): read as it is now.
  check(enc.encode('before'), 10, ref, 'before growth');
  mem.grow(1);
  check(enc.encode('after growth'), 65536 + 100, ref, 'past the old end');
  check(enc.encode('before'), 10, ref, 'after growth');
  assert.throws(() => goString(mem.buffer, mem.buffer.byteLength - 2, 4, ref), RangeError, 'past the end, as the DataView throws');
  assert.throws(() => goString(mem.buffer, mem.buffer.byteLength - 2, 40, ref), RangeError, 'past the end, long');
});

test('every bundle decodes the strings Go hands to JS with goString', () => {
  for (const file of ['miniprogram/index.js', 'index.mjs', 'index.cjs', 'browser.mjs']) {
    const bundle = fs.readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
    // The mini-program bundle leaves out whitespace (js/build.mjs).
    const at = bundle.search(/const loadString ?= ?/);
    assert.ok(at >= 0, `${file}: no loadString`);
    assert.match(bundle.slice(at, at + 300), /return goString\(this\._inst\.exports\.mem\.buffer, ?saddr, ?len, ?decoder\d*\);?/, file); // esbuild may rename decoder
    assert.doesNotMatch(bundle, /decoder\.decode\(new DataView\(this\._inst/, file);
  }
});

test('ChaCha20 matches RFC 8439 and OpenSSL', () => {
  // RFC 8439 §2.3.2 (block function) and §2.4.2 (keystream from counter 1).
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const block = chacha20Keystream(key, Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0]), 1, 64);
  assert.equal(
    Buffer.from(block).toString('hex'),
    '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
  );
  const stream = chacha20Keystream(key, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0]), 1, 114);
  const plain = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const cipher = Buffer.from(plain.map((b, i) => b ^ stream[i]));
  assert.equal(cipher.subarray(0, 16).toString('hex'), '6e2e359a2568f98041ba0728dd0d6981');
  assert.equal(cipher.subarray(-2).toString('hex'), '874d');
  // Random keys, nonces, counters and lengths against OpenSSL's chacha20.
  const rnd = inputs(3);
  for (let i = 0; i < 50; i++) {
    const k = crypto.randomBytes(32);
    const n = crypto.randomBytes(12);
    const counter = Math.floor(rnd() * 1000);
    const len = Math.floor(rnd() * 300);
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(counter, 0);
    n.copy(iv, 4);
    const want = crypto.createCipheriv('chacha20', k, iv).update(Buffer.alloc(len));
    assert.deepEqual(Buffer.from(chacha20Keystream(k, n, counter, len)), want);
  }
});

test('the CSPRNG refuses output before its seed, then differs per call and per seed, and reseeds', async () => {
  let requests = 0;
  const entropy = async (n) => {
    requests++;
    return new Uint8Array(crypto.randomBytes(n));
  };
  let now = 0;
  const rng = new ChaChaRng(entropy, () => now);
  assert.throws(() => rng.getRandomValues(new Uint8Array(8)), /not been seeded/);
  await rng.reseed();
  assert.equal(requests, 1);
  const a = rng.getRandomValues(new Uint8Array(32));
  const b = rng.getRandomValues(new Uint8Array(32));
  assert.notDeepEqual(a, b);
  assert.notDeepEqual(a, new Uint8Array(32));
  const u32 = rng.getRandomValues(new Uint32Array(4));
  assert.ok(u32 instanceof Uint32Array);
  assert.throws(() => rng.getRandomValues(new Uint8Array(65537)), RangeError);
  assert.throws(() => rng.getRandomValues(new Float64Array(2)), TypeError);
  assert.throws(() => rng.getRandomValues([1, 2]), TypeError);

  // Same seed, same stream (deterministic given the key); different seed, different stream.
  const fixed = (seed) => {
    const r = new ChaChaRng(async () => seed);
    r.addEntropy(seed);
    return r.getRandomValues(new Uint8Array(64));
  };
  const s1 = new Uint8Array(48).fill(1);
  const s2 = new Uint8Array(48).fill(1);
  s2[40] = 2; // a byte past the key part (it goes into the nonce) still counts
  assert.deepEqual(fixed(s1), fixed(new Uint8Array(48).fill(1)));
  assert.notDeepEqual(fixed(s1), fixed(s2));

  // Reseeding: after 1 MiB of output, and after 5 minutes.
  for (let i = 0; i < 16; i++) rng.getRandomValues(new Uint8Array(65536));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(requests, 2, 'reseeded after 1 MiB');
  now += 5 * 60 * 1000;
  rng.getRandomValues(new Uint8Array(1));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(requests, 3, 'reseeded after 5 minutes');
  // A failing reseed keeps the generator going.
  const flaky = new ChaChaRng(async () => {
    throw new Error('offline');
  });
  flaky.addEntropy(new Uint8Array(32).fill(9));
  for (let i = 0; i < 17; i++) flaky.getRandomValues(new Uint8Array(65536));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(flaky.getRandomValues(new Uint8Array(4)).length, 4);
});

test('platformEntropy wraps the callback API and its failures', async () => {
  const ok = { getRandomValues: ({ length, success }) => setTimeout(() => success({ randomValues: new ArrayBuffer(length) })) };
  assert.equal((await platformEntropy(ok)(48)).length, 48);
  const failing = { getRandomValues: ({ fail }) => setTimeout(() => fail({ errMsg: 'getRandomValues:fail system error' })) };
  await assert.rejects(platformEntropy(failing)(48), /system error/);
  await assert.rejects(platformEntropy({})(48), /no getRandomValues/);
  const short = { getRandomValues: ({ success }) => success({ randomValues: new ArrayBuffer(4) }) };
  await assert.rejects(platformEntropy(short)(48), /ArrayBuffer/);
});

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minibase-wx-poly-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('in the stand-in, Go and encrypted storage run without Math.random', async (t) => {
  const dir = tempDir(t);
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'pkg') });
  rt.run('Math.random = () => { throw new Error("Math.random must not be used") }');
  const mb = rt.require('minibase-db');
  const store = await mb.openStorage({ root: 'enc', secret: 'correct horse battery staple', kdfIterations: 1000 });
  await store.set('card', { number: '4111 1111 1111 1111' }, { encrypt: true });
  assert.equal((await store.get('card')).number, '4111 1111 1111 1111');
  await store.close();
  const onDisk = fs.readdirSync(path.join(dir, 'usr', 'enc')).map((f) => fs.readFileSync(path.join(dir, 'usr', 'enc', f), 'latin1')).join('');
  assert.ok(!onDisk.includes('4111'), 'the value is not stored in the clear');
  const bytes = rt.run('crypto.getRandomValues(new Uint8Array(16))');
  assert.equal(bytes.length, 16);
});

test('a performance.now counting microseconds is corrected to milliseconds', async (t) => {
  const dir = tempDir(t);
  const performance = { now: () => Date.now() * 1000 }; // microseconds since the epoch
  const rt = createRuntime({ dataDir: path.join(dir, 'usr'), packageDir: path.join(dir, 'pkg'), globals: { performance } });
  const mb = rt.require('minibase-db');
  const conn = await mb.connect({ root: 'clock' });
  await conn.close();
  assert.ok(mb.polyfills.includes('performance (microseconds → milliseconds)'), String(mb.polyfills));
  const drift = Math.abs(rt.run('performance.now()') - Date.now());
  assert.ok(drift < 60_000, `performance.now() is in ms now (off by ${drift})`);
});
