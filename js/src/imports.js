// The engine's own wasm imports (module "minibase"), beside the "gojs" ones
// of wasm_exec.js: fsadapter/nodefs reads, writes and syncs open files
// through them, with node's fs reading into and writing from Go's memory in
// place, rather than through syscall/js (a js.Value per argument and a
// Uint8Array to copy through: ~1 µs more per 4 KB read, more per append).
//
// Every host that instantiates a build with nodefs in it must provide them,
// or instantiation fails (module="minibase" is not an object): the node
// loader over node's fs, the browser loader with no fs (nodefs never runs
// there, and a call fails like one into a missing function), and
// js/test/go-wasm-exec for Go's test binaries. The mini-program build
// (-tags wx) has no nodefs and imports none.

/**
 * The "minibase" import module of one Go instance. Each function answers a
 * count (or 0) when node's call returns, -1 when it throws; the Go side then
 * asks `error` for what was thrown, as "code\nmessage" in UTF-8.
 * @param {{ _inst?: WebAssembly.Instance }} go the Go object of wasm_exec.js
 * @param {typeof import('node:fs')} [fs] node's fs; none outside Node
 */
export function minibaseImports(go, fs) {
  let thrown;
  // Taken anew each call: memory growth detaches the previous buffer.
  const bytes = (p, n) => new Uint8Array(go._inst.exports.mem.buffer, p, n);
  return {
    minibase: {
      // Reads n bytes at position pos (a float64: exact below 2^53) into p.
      readAt(fd, p, n, pos) {
        try {
          return fs.readSync(fd, bytes(p, n), 0, n, pos);
        } catch (e) {
          thrown = e;
          return -1;
        }
      },
      // Writes n bytes from p at the descriptor's position (its end for an append descriptor).
      write(fd, p, n) {
        try {
          return fs.writeSync(fd, bytes(p, n), 0, n);
        } catch (e) {
          thrown = e;
          return -1;
        }
      },
      fsync(fd) {
        try {
          fs.fsyncSync(fd);
          return 0;
        } catch (e) {
          thrown = e;
          return -1;
        }
      },
      // Writes what the last failing call threw into p (at most n bytes) and
      // returns the bytes written. Anything may be thrown, not only an Error.
      error(p, n) {
        const e = thrown;
        thrown = undefined;
        const text = e !== null && typeof e === 'object'
          ? `${typeof e.code === 'string' ? e.code : ''}\n${typeof e.message === 'string' ? e.message : ''}`
          : `\nJavaScript exception: ${String(e)}`;
        return new TextEncoder().encodeInto(text, bytes(p, n)).written;
      },
    },
  };
}
