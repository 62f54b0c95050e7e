// Package nodefs is the Node.js fsadapter backend under js/wasm: it calls
// node's synchronous fs functions (openSync, readSync, writeSync, fsyncSync,
// …). Reads, writes and syncs of open files, the calls of every lookup and
// every commit, go through wasm imports of the host's (module "minibase",
// js/src/imports.js) that view Go's memory in place; the rest go through
// syscall/js.
//
// Go's own os package under js/wasm goes through node's callback API, so a
// file operation parks the calling goroutine until the event loop runs again
// — which never happens inside a synchronous //go:wasmexport call. The *Sync
// functions return before control goes back to JS, so this backend can be
// used from the fast path.
//
// # Caveats
//
//   - Built only for js/wasm (build tag js && wasm); natively the package is empty.
//   - A JS exception thrown by node becomes a Go error; its code maps to
//     fs.ErrNotExist (ENOENT), fs.ErrExist (EEXIST), syscall.ENOTDIR,
//     syscall.ENOTEMPTY, … and fsadapter.ErrNoSpace (ENOSPC, EDQUOT).
//   - A wasm build with this package in it needs the host's minibase
//     imports to instantiate (js/src/imports.js; js/test/go-wasm-exec runs
//     test binaries with them).
//   - Through NewHost (an fs-like object the imports do not serve), bytes
//     cross into JS through one Uint8Array per filesystem, reused and grown
//     up to 1 MiB; larger writes get a one-off array.
//   - The first sync of a file this backend created also fsyncs its parent
//     directory (best effort: Windows refuses); MkdirAll does not sync.
package nodefs
