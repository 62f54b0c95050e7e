// The JS codec against byte vectors produced by engine/value/codec.go, round
// trips, and values that have no encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Decoder, Encoder, MAX_DEPTH, decode, encode } from '../src/codec.js';
import { MinibaseError } from '../src/errors.js';

const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (h) => new Uint8Array(Buffer.from(h, 'hex'));

// [value, hex]: the exact encodings engine/value's tests check too, from
// one file (engine/value/testdata/vectors.json).
const FILE = JSON.parse(readFileSync(new URL('../../engine/value/testdata/vectors.json', import.meta.url), 'utf8'));
const fromJSON = (x) => {
  if (Array.isArray(x)) return x.map(fromJSON);
  if (x && typeof x === 'object') {
    if ('$bytes' in x) return unhex(x.$bytes);
    return Object.fromEntries(x.$object.map(([k, v]) => [k, fromJSON(v)]));
  }
  return x;
};
const VECTORS = FILE.vectors.map((v) => [fromJSON(v.value), v.hex]);

test('encodes exactly the bytes Go writes', () => {
  for (const [value, want] of VECTORS) {
    assert.equal(hex(encode(value)), want, `encode(${JSON.stringify(value)})`);
  }
});

test('decodes the bytes Go writes', () => {
  for (const [value, bytes] of VECTORS) {
    assert.deepEqual(decode(unhex(bytes)), value, `decode(${bytes})`);
  }
});

test('an object of more than 127 members widens its count (Go: 08 8201 …)', () => {
  const obj = {};
  for (let i = 0; i < 130; i++) obj[`k${i}`] = i;
  const bytes = encode(obj);
  assert.equal(hex(bytes.subarray(0, 10)), '088201026b300400026b');
  assert.deepEqual(decode(bytes), obj);
});

test('decodes a rowset into objects with the columns in order', () => {
  // Go: AppendRowsetHeader(["id","name"], 2) then 1, "ann", 2, null
  const rows = decode(unhex(FILE.rowset.hex));
  assert.deepEqual(rows, [{ id: 1, name: 'ann' }, { id: 2, name: null }]);
  assert.deepEqual(Object.keys(rows[0]), ['id', 'name']);
});

test('round trips nested values, unicode, bytes and odd keys', () => {
  const values = [
    { nested: { deeper: [1, 2.5, -3, 'x', null, true, false, { k: [] }] } },
    { '': 'empty key', 'ключ': 'значение', '😀': '🎉', 'a.b': 1, constructor: 'c', toString: 't' },
    ['lone surrogate becomes U+FFFD:', 'ok'],
    'x'.repeat(5000) + 'é',
    new Uint8Array(1000).fill(7),
    Array.from({ length: 300 }, (_, i) => i * 1.25 - 100),
    [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -(2 ** 53), 2 ** 53, 2 ** 60, -(2 ** 60), 0.1, -1e-300],
  ];
  for (const v of values) assert.deepEqual(decode(encode(v)), v);
});

test('encoding follows the documented conversions', () => {
  assert.deepEqual(decode(encode({ a: undefined, b: 1 })), { b: 1 });
  assert.deepEqual(decode(encode([undefined, 1])), [null, 1]);
  assert.equal(decode(encode(new Date(1700000000123))), 1700000000123);
  assert.deepEqual(decode(encode(new Uint16Array([1, 258]).subarray(1))), new Uint8Array([2, 1]));
  assert.deepEqual(decode(encode(new Uint8Array([9, 8]).buffer)), new Uint8Array([9, 8]));
  assert.equal(hex(encode(-0)), '0400');
  assert.ok(Object.is(decode(unhex('030000000000000080')), 0), '-0.0 decodes to 0');
});

test('__proto__ keys are plain members both ways, never the prototype', () => {
  const evil = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
  const bytes = encode(evil);
  assert.equal(hex(bytes.subarray(0, 3)), '080209'); // two members, key of length 9
  const back = decode(bytes);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.ok(Object.hasOwn(back, '__proto__'));
  assert.deepEqual(back.__proto__, { polluted: true });
  assert.equal({}.polluted, undefined);
  // a rowset column named __proto__
  const rows = decode(unhex('090109' + Buffer.from('__proto__').toString('hex') + '01' + '0402'));
  assert.ok(Object.hasOwn(rows[0], '__proto__'));
  assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype);
  assert.equal(rows[0].__proto__, 1);
});

test("a plain object encodes its own enumerable string keys in Object.keys order, while Object.prototype has enumerable keys too", () => {
  const sym = Symbol('s');
  const withGetter = { get g() { return 'got'; }, after: 1 };
  const hidden = { shown: 1 };
  Object.defineProperty(hidden, 'hidden', { value: 2, enumerable: false });
  const values = [
    { b: 1, a: 2, 10: 'ten', 2: 'two', z: undefined, [sym]: 3 },
    withGetter,
    hidden,
    { nested: { y: [1, { x: true }] } },
    {},
  ];
  // What Object.keys says the members are, skipping undefined ones.
  const members = (o) => Object.fromEntries(Object.keys(o).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const clean = values.map((v) => hex(encode(v)));
  values.forEach((v, i) => {
    assert.deepEqual(decode(unhex(clean[i])), members(v));
    assert.deepEqual(Object.keys(decode(unhex(clean[i]))), Object.keys(members(v)));
  });
  // A script that adds an enumerable key to Object.prototype (for-in would
  // walk it in every object) changes no encoding.
  Object.prototype.polluted = 'inherited';
  try {
    assert.deepEqual(values.map((v) => hex(encode(v))), clean);
  } finally {
    delete Object.prototype.polluted;
  }
  assert.deepEqual(values.map((v) => hex(encode(v))), clean);
});

test('floats decode from any offset of any buffer, several in one value, one buffer after another', () => {
  const value = [1.5, -2.25, { x: 3.125, y: [1e300] }];
  const bytes = encode(value);
  const big = new Uint8Array(bytes.length + 7);
  big.fill(0x03); // float tags around it: a read at the wrong offset decodes something else
  big.set(bytes, 7);
  const d = new Decoder();
  assert.deepEqual(d.decode(big, 7), value);
  assert.deepEqual(d.decode(big.subarray(5), 2), value); // a view with a byteOffset
  assert.equal(d.decode(encode(0.5)), 0.5); // the next buffer, not the last one's view
  assert.equal(d.decode(encode(-0.75)), -0.75);
});

function assertBadValue(fn, pattern) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof MinibaseError, `expected MinibaseError, got ${err}`);
    assert.equal(err.name, 'MinibaseError');
    assert.equal(err.code, 'BAD_VALUE');
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('values without an encoding are BAD_VALUE with a path', () => {
  assertBadValue(() => encode(NaN), /NaN/);
  assertBadValue(() => encode({ a: { b: [1, Infinity] } }), /Infinity.*\.a\.b\[1\]/);
  assertBadValue(() => encode(-Infinity));
  assertBadValue(() => encode(10n), /bigint/);
  assertBadValue(() => encode(Symbol('s')), /symbol/);
  assertBadValue(() => encode({ f() {} }), /function.*\.f/);
  assertBadValue(() => encode(new Date(NaN)), /Date/);
  assertBadValue(() => encode(new Map()), /Map/);
  assertBadValue(() => encode(new Set([1])), /Set/);
  assertBadValue(() => encode({ 'odd key': [NaN] }), /\["odd key"\]\[0\]/);
});

test('cyclic structures are BAD_VALUE; shared (acyclic) ones are fine', () => {
  const a = { name: 'a' };
  a.self = a;
  assertBadValue(() => encode(a), /cyclic/);
  const list = [1];
  list.push(list);
  assertBadValue(() => encode(list), /cyclic/);
  const shared = { x: 1 };
  assert.deepEqual(decode(encode([shared, shared, { s: shared }])), [{ x: 1 }, { x: 1 }, { s: { x: 1 } }]);
});

test('nesting is limited to the same depth as Go', () => {
  const nest = (n) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  assert.deepEqual(decode(encode(nest(MAX_DEPTH))), nest(MAX_DEPTH)); // innermost value at depth 64
  assertBadValue(() => encode(nest(MAX_DEPTH + 1)), /deeper/);
  // Go-encoded arrays of one element around a null: 64 levels decode, 65 do not
  const nestNull = (n) => (n === 0 ? null : [nestNull(n - 1)]);
  assert.deepEqual(decode(unhex('0701'.repeat(MAX_DEPTH) + '00')), nestNull(MAX_DEPTH));
  assert.throws(() => decode(unhex('0701'.repeat(MAX_DEPTH + 1) + '00')), /nested too deeply/);
});

test('malformed input never decodes', () => {
  const bad = ['', '05', '0505616263', '0a', 'ff', '0300', '07ff', '080161', '0400ff', '03000000000000f07f', '04ffffffffffffffff7f', '0402' + '00'];
  for (const h of bad) {
    assert.throws(() => decode(unhex(h)), (err) => err instanceof MinibaseError && err.code === 'BAD_VALUE', h);
  }
  // a forged huge count must fail fast, not allocate
  assert.throws(() => decode(unhex('07ffffffff0f')), /length exceeds input/);
});

test('an Encoder reuses its buffer, grows for big values and recovers after errors', () => {
  const enc = new Encoder(16);
  const big = 'ü'.repeat(3 * 1024 * 1024); // 6 MB of UTF-8
  const bytes = enc.encode({ big });
  assert.equal(new Decoder().decode(bytes).big, big);
  assert.throws(() => enc.encode({ ok: 1, bad: NaN }), MinibaseError);
  assert.equal(hex(enc.encode([1, 'a', null])), '0703040205016100');
  // the returned view is reused by the next call
  const first = enc.encode('first');
  enc.encode('other');
  assert.notEqual(Buffer.from(first).toString('latin1'), '\x05\x05first');
});

test('long ASCII, short non-ASCII and mixed strings take every string path', () => {
  for (const s of ['a'.repeat(127), 'a'.repeat(128), 'b'.repeat(70000), 'ab\u00ff', 'a'.repeat(62) + 'é', '\u{10ffff}', 'x\u0000y']) {
    assert.equal(decode(encode(s)), s);
    assert.deepEqual(decode(encode({ [s]: s })), { [s]: s });
  }
});

test('objects of other prototypes and realms encode as their own enumerable members', async () => {
  const { runInNewContext } = await import('node:vm');
  class Point {
    constructor() {
      this.x = 1;
      this.y = 2;
    }
    get sum() {
      return this.x + this.y;
    }
  }
  const bare = Object.create(null);
  bare.a = [1, 'b'];
  const foreign = runInNewContext('({ list: [1, { k: "v" }], when: 5 })');
  for (const [value, want] of [
    [new Point(), { x: 1, y: 2 }],
    [bare, { a: [1, 'b'] }],
    [foreign, { list: [1, { k: 'v' }], when: 5 }],
    [runInNewContext('[1, [2]]'), [1, [2]]],
    [new Uint8Array([1, 2]).subarray(1), new Uint8Array([2])],
    [new Date(7), 7],
    [runInNewContext('new Date(9)'), 9],
    [runInNewContext('new ArrayBuffer(2)'), new Uint8Array(2)],
  ]) {
    assert.deepEqual(decode(encode(value)), want);
  }
  const cyclic = runInNewContext('const o = {}; o.o = o; o');
  assertBadValue(() => encode(cyclic), /cyclic/);
  assertBadValue(() => encode(runInNewContext('new Map()')), /Map/);
});

test('object keys remembered between decodes never come back as another key', () => {
  // Many distinct keys share the key table's slots; near-twins differ in one
  // byte, in length, or only past the ASCII range; long keys skip the table.
  const keys = [];
  for (let i = 0; i < 3000; i++) keys.push(`k${i}`, `k${i}x`, `K${i}`);
  keys.push('é', 'e\u0301', 'ke', 'k\u00e9', 'x'.repeat(32), 'x'.repeat(33), 'x'.repeat(31) + 'y', '', '__proto__');
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < keys.length; i += 7) {
      const obj = {};
      for (const k of keys.slice(i, i + 7)) Object.defineProperty(obj, k, { value: `${k}!`, enumerable: true, writable: true, configurable: true });
      const back = decode(encode(obj));
      assert.deepEqual(Object.keys(back), Object.keys(obj));
      for (const k of Object.keys(obj)) assert.equal(back[k], `${k}!`);
      const rows = decode(encode([obj, obj]));
      assert.deepEqual(rows[1], back);
    }
  }
});
