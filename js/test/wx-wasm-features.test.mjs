// The WebAssembly proposals the engine uses decide which phones can load it
// (README, "Minimum versions"): this fails when a Go release or a code
// change adds or drops one, so that the documented minimums are revisited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { wasmFeatures } from '../wasm-features.mjs';

const dist = (f) => fileURLToPath(new URL(`../dist/${f}`, import.meta.url));

// What the README's minimum versions are derived from.
const DOCUMENTED = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext'];

test('the mini-program engine uses exactly the documented wasm proposals', () => {
  const wasm = zlib.brotliDecompressSync(fs.readFileSync(dist('miniprogram/minibase.wasm.br')));
  assert.deepEqual([...wasmFeatures(wasm).keys()].sort(), DOCUMENTED, 'update the README (mini-programs, minimum versions) and this list');
});

test('the proposal scan finds each proposal it knows in a hand-made module', () => {
  // (module (memory 1) (func (param i32 f64) (result i32)
  //   local.get 0 i32.extend8_s drop
  //   local.get 1 i32.trunc_sat_f64_s drop
  //   i32.const 0 i32.const 0 i32.const 0 memory.fill
  //   i32.const 0))
  const body = [0x00, 0x20, 0x00, 0xc0, 0x1a, 0x20, 0x01, 0xfc, 0x02, 0x1a, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00, 0x41, 0x00, 0x0b];
  const section = (id, bytes) => [id, bytes.length, ...bytes];
  const module = Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7c, 0x01, 0x7f]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(10, [0x01, body.length, ...body]),
  ]);
  assert.ok(new WebAssembly.Module(module), 'a valid module');
  assert.deepEqual(Object.fromEntries(wasmFeatures(module)), { 'sign-ext': 1, 'nontrapping-float-to-int': 1, 'bulk-memory': 1 });
  assert.deepEqual(Object.fromEntries(wasmFeatures(Buffer.from(module.subarray(0, 8)))), {}, 'an empty module is MVP');
});
