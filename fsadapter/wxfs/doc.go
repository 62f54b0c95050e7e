// Package wxfs is the fsadapter backend for mini-program runtimes under
// js/wasm: it drives a FileSystemManager (wx.getFileSystemManager() in
// WeChat, and any object of the same shape: Alipay's my, Douyin's tt)
// through its synchronous *Sync methods via syscall/js.
//
// The *Sync methods return before control goes back to JS, so this backend
// can be used from the synchronous //go:wasmexport fast path, like nodefs.
//
// # Caveats
//
//   - Built only for js/wasm (build tag js && wasm); natively the package is empty.
//   - The runtime reports failures as thrown errors whose errMsg (or message)
//     reads "<method>:fail <reason> ..."; the reason is matched by text:
//     "no such file or directory" is fs.ErrNotExist, "file already exists"
//     fs.ErrExist, "not a directory" syscall.ENOTDIR, "directory not empty"
//     syscall.ENOTEMPTY, and "the maximum size of the file storage limit is
//     exceeded" fsadapter.ErrNoSpace (which the engine reports as
//     QUOTA_EXCEEDED).
//   - The runtime has no flush: Caps().Sync is false and 'strict' durability
//     survives the app being killed, not power loss.
//   - Data crosses as one ArrayBuffer per write (writeFileSync and
//     appendFileSync take string or ArrayBuffer, not a typed-array view).
//   - An appending file writes through a descriptor of its own (openSync
//     flag "a", writeSync from one reused ArrayBuffer: no open and close per
//     append, no new buffer) where the runtime has writeSync, at most 4 at
//     once; others, and every file after it is removed or replaced through
//     any FS, append by path with appendFileSync (which fails on a removed
//     file, where a descriptor would write on into the removed one).
//   - Devices refuse a write of zero bytes ("data to write is empty"): an
//     empty file (WriteFile with no data, OpenAppend of a missing file, since
//     appendFileSync fails on a missing file) is written with one byte and
//     cut back with truncateSync.
//   - truncateSync is required (WeChat base library 2.16.1+); Douyin's takes
//     positional arguments (Options.PositionalTruncate).
//   - ReadRange reads a block with one readSync({ fd, arrayBuffer, offset,
//     length, position }) into a reused ArrayBuffer, on a descriptor from
//     openSync({ filePath, flag: "r" }) kept open between calls (WeChat base
//     library 2.16.1+, Douyin 3.74.0+; feature-detected). The runtime caps
//     open descriptors ("exceed max concurrent fd limit", a number it does not
//     document), so at most 8 are kept, least recently used closed first, for
//     the whole process (every FS shares them: a connection opened again
//     leaks none). A file's descriptor is closed before the file is replaced,
//     cut or removed through any FS, since one of a removed file still reads
//     the old bytes; a file removed by other code while open is not noticed.
//   - Without descriptors, or when opening or reading through one fails,
//     ReadRange uses readFileSync with position and length (base library
//     2.10.0+), which throws on a range past the end of the file; ReadRange
//     reports that as io.ErrUnexpectedEOF, like a short read elsewhere.
//   - Douyin words the storage limit "user dir saved file size limit
//     exceeded"; it is fsadapter.ErrNoSpace too.
//   - No Locker: a mini-program runs one instance of itself.
package wxfs
