// Package idbfs is the IndexedDB fsadapter backend for browsers (js/wasm):
// a synchronous in-memory mirror of one database's small files, and large
// files (segments) read a range at a time from the JS host's cache of
// chunks, whose every change is also handed to the JS host that persists it.
//
// IndexedDB is asynchronous, and the engine runs inside synchronous
// //go:wasmexport calls that cannot wait for a Promise to settle, so
// hackpadfs/indexeddb, which parks the goroutine on a Promise for every
// operation and saves the whole file on every Write, cannot serve the fast
// path. Instead the JS loader reads all of a database's records before the
// engine opens it (host.take), every file the engine writes or removes is
// queued in JS (host.put, host.del), and after each engine call that wrote,
// JS commits the queue in one IndexedDB readwrite transaction and only then
// resolves the caller's promise. The store writes each file once, so a
// commit is one small put.
//
// # Caveats
//
//   - Built only for js/wasm (build tag js && wasm); natively the package is empty.
//   - Files smaller than the host's chunkBytes (manifests, logs) live in
//     memory (the mirror) as well as in IndexedDB. Larger ones are stored in
//     chunks and not held here: a read of a chunk the host has not loaded
//     fails with ErrNotResident, the host notes the chunk, and it runs the
//     engine call again once the chunk is loaded (IndexedDB cannot be waited
//     for inside a call). A chunk gone or damaged in IndexedDB is an error
//     wrapping fsadapter.ErrCorrupt.
//   - Appending to or truncating a chunked file needs all of its chunks loaded
//     (the engine does neither on this backend: Caps().AppendCheap is false).
//   - Durability is the JS host's job: a WriteFile here succeeds once the
//     bytes are in the mirror and queued; the promise of the engine call that
//     wrote them resolves only after the IndexedDB transaction completed.
//   - Directories are records too (so an empty directory survives a reload).
//   - ReadRange serves part of a file without copying the rest (the optional
//     range-read interface a storage engine may use for block reads).
package idbfs
