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
//   - appendFileSync fails on a missing file, so OpenAppend creates it first.
//   - truncateSync exists from WeChat base library 2.16.0; without it,
//     Truncate reads the file and writes back the part it keeps.
//   - No Locker: a mini-program runs one instance of itself.
package wxfs
