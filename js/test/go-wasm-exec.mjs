// js/test/go-wasm-exec's program: Go's lib/wasm/wasm_exec_node.js (GOROOT of
// $GOROOT, else of `go env GOROOT`) with the minibase imports over node's fs.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { minibaseImports } from '../src/imports.js';

if (process.argv.length < 3) {
  console.error('usage: go-wasm-exec [wasm binary] [arguments]');
  process.exit(1);
}

const require = createRequire(import.meta.url);
const goroot = process.env.GOROOT || execFileSync(process.env.GO || 'go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();

// What Go's runner gives a test binary: require (tests load node modules
// through it) and node's fs, path and crypto as globals.
globalThis.require = require;
globalThis.fs = fs;
globalThis.path = path;
globalThis.crypto ??= require('node:crypto');
require(path.join(goroot, 'lib', 'wasm', 'wasm_exec.js'));

const go = new globalThis.Go();
go.argv = process.argv.slice(2);
go.env = { TMPDIR: os.tmpdir(), ...process.env };
go.exit = process.exit;
Object.assign(go.importObject, minibaseImports(go, fs));
try {
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(process.argv[2]), go.importObject);
  process.on('exit', (code) => {
    // Node exits when no event is pending: a deadlock. Make Go report it with its stacks.
    if (code === 0 && !go.exited) {
      go._pendingEvent = { id: 0 };
      go._resume();
    }
  });
  await go.run(instance);
} catch (err) {
  console.error(err);
  process.exit(1);
}
