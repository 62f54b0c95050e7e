// Which WebAssembly proposals (beyond the 1.0 MVP) a module uses, by decoding
// every instruction of its code section: a runtime without one of them
// refuses the whole module, so the minimum iOS / Android versions in the
// README follow from this list. Used by js/size.mjs (`make size`) and by
// js/test/wx-wasm-features.test.mjs, which fails when the list changes.
//
//   node js/wasm-features.mjs file.wasm

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Proposal names, as binaryen's --enable-… flags spell them. */
export const PROPOSALS = {
  'sign-ext': 'sign-extension operators (i32.extend8_s …)',
  'nontrapping-float-to-int': 'non-trapping float-to-int conversions (i32.trunc_sat_f64_s …)',
  'bulk-memory': 'bulk memory (memory.copy, memory.fill …)',
  'reference-types': 'reference types (table.get, ref.null, several tables …)',
  'multivalue': 'multi-value blocks',
  'tail-call': 'tail calls',
  'exception-handling': 'exceptions',
  'simd': '128-bit SIMD',
  'threads': 'threads and atomics (shared memory)',
  'mutable-globals': 'imported mutable globals',
  'memory64': '64-bit memory',
};

class Reader {
  constructor(buf, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }
  u8() {
    if (this.pos >= this.buf.length) throw new Error('unexpected end of module');
    return this.buf[this.pos++];
  }
  /** An unsigned LEB128 (up to 2^53). */
  u32() {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return result;
    }
  }
  /** A signed LEB128, skipped. */
  sleb() {
    while (this.u8() & 0x80);
  }
  skip(n) {
    this.pos += n;
  }
  name() {
    const n = this.u32();
    const s = this.buf.subarray(this.pos, this.pos + n).toString('utf8');
    this.pos += n;
    return s;
  }
}

/**
 * The proposals buf (a .wasm module) uses, as a Map from proposal name to the
 * number of instructions (or declarations) that use it.
 * @param {Buffer} buf
 * @returns {Map<string, number>}
 */
export function wasmFeatures(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const found = new Map();
  const use = (name, n = 1) => found.set(name, (found.get(name) ?? 0) + n);
  const r = new Reader(buf, 8);
  while (r.pos < buf.length) {
    const id = r.u8();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 2) imports(r, use);
    else if (id === 5) memories(r, use);
    else if (id === 6) globals(r, use);
    else if (id === 10) {
      for (let i = r.u32(); i > 0; i--) {
        const len = r.u32();
        code(new Reader(buf.subarray(0, r.pos + len), r.pos), use);
        r.skip(len);
      }
    }
    r.pos = end;
  }
  return found;
}

function limits(r, use) {
  const flags = r.u8();
  r.u32();
  if (flags & 1) r.u32();
  if (flags & 2) use('threads');
  if (flags & 4) use('memory64');
}

function imports(r, use) {
  for (let i = r.u32(); i > 0; i--) {
    r.name();
    r.name();
    const kind = r.u8();
    if (kind === 0) r.u32();
    else if (kind === 1) {
      r.u8();
      limits(r, use);
    } else if (kind === 2) limits(r, use);
    else if (kind === 3) {
      r.u8();
      if (r.u8() === 1) use('mutable-globals');
    }
  }
}

function memories(r, use) {
  for (let i = r.u32(); i > 0; i--) limits(r, use);
}

function globals(r, use) {
  for (let i = r.u32(); i > 0; i--) {
    r.u8();
    r.u8();
    constExpr(r, use);
  }
}

function constExpr(r, use) {
  for (;;) {
    const op = r.u8();
    if (op === 0x0b) return;
    instruction(r, op, use);
  }
}

function blockType(r, use) {
  const b = r.buf[r.pos];
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) {
    r.pos++;
    return;
  }
  r.sleb(); // a type index: a block with parameters or several results
  use('multivalue');
}

/** Decodes one function body. */
function code(r, use) {
  for (let n = r.u32(); n > 0; n--) {
    r.u32();
    r.u8();
  }
  while (r.pos < r.buf.length) instruction(r, r.u8(), use);
}

/** Skips the immediates of op, noting the proposal it belongs to. */
function instruction(r, op, use) {
  if (op >= 0x45 && op <= 0xbf) return; // numeric, no immediates
  if (op >= 0x28 && op <= 0x3e) {
    r.u32();
    r.u32();
    return;
  }
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b:
      return;
    case 0x02: case 0x03: case 0x04:
      return blockType(r, use);
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
      r.u32();
      return;
    case 0x0e:
      for (let n = r.u32() + 1; n > 0; n--) r.u32();
      return;
    case 0x11:
      r.u32();
      if (r.u32() !== 0) use('reference-types');
      return;
    case 0x12:
      r.u32();
      return use('tail-call');
    case 0x13:
      r.u32();
      r.u32();
      return use('tail-call');
    case 0x06:
      blockType(r, use);
      return use('exception-handling');
    case 0x07: case 0x08: case 0x09: case 0x18:
      r.u32();
      return use('exception-handling');
    case 0x19:
      return use('exception-handling');
    case 0x1c:
      for (let n = r.u32(); n > 0; n--) r.u8();
      return use('reference-types');
    case 0x25: case 0x26: case 0xd2:
      r.u32();
      return use('reference-types');
    case 0xd0:
      r.u8();
      return use('reference-types');
    case 0xd1:
      return use('reference-types');
    case 0x3f: case 0x40:
      r.u8();
      return;
    case 0x41: case 0x42:
      r.sleb();
      return;
    case 0x43:
      r.skip(4);
      return;
    case 0x44:
      r.skip(8);
      return;
    case 0xc0: case 0xc1: case 0xc2: case 0xc3: case 0xc4:
      return use('sign-ext');
    case 0xfc:
      return prefixed(r, r.u32(), use);
    case 0xfd:
      use('simd');
      r.pos = r.buf.length; // not decoded further: its presence is the news
      return;
    case 0xfe:
      use('threads');
      r.pos = r.buf.length;
      return;
  }
  throw new Error(`unknown opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
}

function prefixed(r, sub, use) {
  if (sub <= 7) return use('nontrapping-float-to-int');
  switch (sub) {
    case 8: r.u32(); r.u8(); return use('bulk-memory'); // memory.init
    case 9: r.u32(); return use('bulk-memory'); // data.drop
    case 10: r.u8(); r.u8(); return use('bulk-memory'); // memory.copy
    case 11: r.u8(); return use('bulk-memory'); // memory.fill
    case 12: case 14: r.u32(); r.u32(); return use('bulk-memory'); // table.init, table.copy
    case 13: r.u32(); return use('bulk-memory'); // elem.drop
    case 15: case 16: case 17: r.u32(); return use('reference-types'); // table.grow/size/fill
  }
  throw new Error(`unknown 0xfc instruction ${sub} at byte ${r.pos}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) {
    const found = wasmFeatures(fs.readFileSync(file));
    console.log(`${file}: ${[...found].map(([k, n]) => `${k} (${n})`).join(', ') || 'MVP only'}`);
  }
}
