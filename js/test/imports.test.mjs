// The engine's minibase imports (js/src/imports.js) on their own: what
// fsadapter/nodefs's reads, writes and syncs call. Go's side of the error
// text is fsadapter/nodefs/imports_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { minibaseImports } from '../src/imports.js';

/** A Go object of wasm_exec.js as far as the imports look: its instance's memory. */
function fakeGo() {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  return { go: { _inst: { exports: { mem } } }, mem };
}

const text = (mem, p, n) => new TextDecoder().decode(new Uint8Array(mem.buffer, p, n));

test('readAt and write move bytes in place, on the memory as it is after growth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imports-'));
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'hello, world');
  const { go, mem } = fakeGo();
  const { minibase } = minibaseImports(go, fs);
  const fd = fs.openSync(file, 'r+');
  try {
    assert.equal(minibase.readAt(fd, 100, 5, 7), 5);
    assert.equal(text(mem, 100, 5), 'world');
    const before = mem.buffer;
    mem.grow(1); // detaches the old buffer
    assert.equal(before.byteLength, 0);
    assert.equal(minibase.readAt(fd, 70000, 5, 0), 5);
    assert.equal(text(mem, 70000, 5), 'hello');
    assert.equal(minibase.readAt(fd, 0, 4, 100), 0, 'past the end: 0 bytes');
    new TextEncoder().encodeInto('HELLO', new Uint8Array(mem.buffer, 200, 5));
    fs.writeSync(fd, '', 0); // the descriptor's position stays at 0 after positional reads
    assert.equal(minibase.write(fd, 200, 5), 5);
    assert.equal(minibase.fsync(fd), 0);
    assert.equal(fs.readFileSync(file, 'utf8'), 'HELLO, world');
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true });
  }
});

test('a thrown value fails the call with -1 and error describes it as code and message', () => {
  const cases = [
    [Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 'ENOSPC\nENOSPC: no space left on device, write'],
    [new TypeError('bad argument'), '\nbad argument'],
    [{ code: 'ENOENT' }, 'ENOENT\n'],
    [{ code: 7, message: 8 }, '\n'],
    ['just a string', '\nJavaScript exception: just a string'],
    [42, '\nJavaScript exception: 42'],
    [null, '\nJavaScript exception: null'],
    [undefined, '\nJavaScript exception: undefined'],
  ];
  for (const [thrown, want] of cases) {
    const { go, mem } = fakeGo();
    const fail = () => {
      throw thrown;
    };
    const { minibase } = minibaseImports(go, { readSync: fail, writeSync: fail, fsyncSync: fail });
    for (const call of [() => minibase.readAt(3, 0, 1, 0), () => minibase.write(3, 0, 1), () => minibase.fsync(3)]) {
      assert.equal(call(), -1);
      const n = minibase.error(1000, 200);
      assert.equal(text(mem, 1000, n), want);
    }
  }
});

test('the error text is cut to the room given, on a character boundary', () => {
  const { go, mem } = fakeGo();
  const { minibase } = minibaseImports(go, {
    fsyncSync() {
      throw Object.assign(new Error('é'.repeat(100)), { code: 'EIO' });
    },
  });
  assert.equal(minibase.fsync(1), -1);
  const n = minibase.error(0, 7); // room for one more byte, not for a second é
  assert.equal(text(mem, 0, n), 'EIO\né');
});

test('without node fs (browsers) every call fails and says why', () => {
  const { go, mem } = fakeGo();
  const { minibase } = minibaseImports(go);
  assert.equal(minibase.readAt(3, 0, 1, 0), -1);
  const n = minibase.error(0, 200);
  assert.match(text(mem, 0, n), /^\n.+/);
  assert.equal(minibase.fsync(3), -1);
});
