// Package osfs is the native disk fsadapter backend, over hackpadfs/os,
// rooted at a directory.
//
// It is built for native targets only (build tag !js): under js/wasm Go's os
// package goes through node's asynchronous fs, which must not be waited on
// from a synchronous wasm export; use nodefs there.
//
// # Durability
//
// WriteFile with sync and AppendFile.Sync call fsync on the file; the first
// sync of a file this adapter created also fsyncs its parent directory (best
// effort: Windows cannot), so the new name survives power loss too.
// Directories made by MkdirAll are not synced.
package osfs
