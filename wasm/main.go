//go:build js && wasm

// Command wasm is minibase's WebAssembly module: it exposes the engine to
// JS through three //go:wasmexport functions over a byte buffer in linear
// memory (see PROTOCOL.md). It is the only code that touches syscall/js for
// the API.
package main

import (
	"fmt"
	"path"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"unsafe"

	"minibase/fsadapter"
	"minibase/fsadapter/idbfs"
	"minibase/fsadapter/memfs"
	"minibase/fsadapter/nodefs"
	"minibase/fsadapter/wxfs"
	"minibase/wasm/bridge"
)

// bulkRequest is the request size past which a call counts as bulk work.
const bulkRequest = 1 << 20

var (
	b       *bridge.Bridge
	reqBuf  = make([]byte, 64<<10)
	respBuf = make([]byte, 0, 64<<10)
	hostFS  js.Value
	hostIDB js.Value // the browser loader's IndexedDB host (js/src/browser-idb.js)
	// hostWxFS is the mini-program FileSystemManager (host.wxfs), set by js/src/wx.js.
	hostWxFS js.Value
)

//go:wasmexport mb_alloc
func mbAlloc(n uint32) uint32 {
	if uint32(len(reqBuf)) < n {
		reqBuf = make([]byte, n+n/4)
	}
	return uint32(uintptr(unsafe.Pointer(&reqBuf[0])))
}

//go:wasmexport mb_call
func mbCall(n uint32) uint32 {
	if n > uint32(len(reqBuf)) {
		n = uint32(len(reqBuf))
	}
	respBuf = b.Handle(reqBuf[:n], respBuf[:0])
	if n > bulkRequest {
		// A bulk request leaves a heap full of garbage; collected later, the
		// next heap target would be set from it and wasm memory (which never
		// shrinks) would grow to match. Collect now, while it is cheap to know
		// what stays live.
		runtime.GC()
	}
	if cap(respBuf) > 16<<20 {
		// Do not keep a huge answer's buffer alive for the next small one.
		defer func() { respBuf = make([]byte, 0, 64<<10) }()
	}
	return uint32(len(respBuf))
}

//go:wasmexport mb_resp
func mbResp() uint32 {
	if cap(respBuf) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(respBuf))))
}

// openFS maps an adapter name to a filesystem. Memory filesystems are kept
// per root so that a reconnect within the same instance finds its data.
var memRoots = map[string]fsadapter.FS{}

func openFS(adapter, root string) (fsadapter.FS, error) {
	switch adapter {
	case "memory":
		if fs, ok := memRoots[root]; ok {
			return fs, nil
		}
		fs, err := memfs.New()
		if err != nil {
			return nil, err
		}
		memRoots[root] = fs
		return fs, nil
	case "node":
		if hostFS.IsUndefined() || hostFS.IsNull() {
			return nil, fmt.Errorf("open: the node adapter needs node's fs module (host.fs)")
		}
		return nodefs.New(hostFS, path.Clean(root))
	case "indexeddb":
		// root is the database's name; the loader has read its records already.
		return idbfs.New(hostIDB, root)
	case "wx":
		if hostWxFS.IsUndefined() || hostWxFS.IsNull() {
			return nil, fmt.Errorf("open: the wx adapter needs a FileSystemManager (host.wxfs): load minibase through its mini-program entry")
		}
		// Not path.Clean: it would turn "wxfile://usr" into "wxfile:/usr".
		return wxfs.New(hostWxFS, root)
	}
	return nil, fmt.Errorf("open: unknown adapter %q (memory or node)", adapter)
}

func main() {
	host := js.Global().Get("__minibaseHost")
	if host.Type() == js.TypeObject {
		hostFS = host.Get("fs")
		hostWxFS = host.Get("wxfs")
		hostIDB = host.Get("idb")
		// The loader releases this instance's lock files should it die
		// (a Go fatal error ends the instance, not the process).
		host.Set("instance", fsadapter.InstanceID())
		js.Global().Delete("__minibaseHost")
	}
	// Small heaps make Go collect very often, and in wasm a collection is
	// costly; trade some memory for fewer collections.
	debug.SetGCPercent(200)
	b = bridge.New(openFS)
	select {}
}
