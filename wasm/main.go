//go:build js && wasm

// Command wasm is minibase's WebAssembly module: it exposes the engine to
// JS through three //go:wasmexport functions over a byte buffer in linear
// memory (see PROTOCOL.md). It is the only code that touches syscall/js for
// the API.
package main

import (
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"syscall/js"
	"unsafe"

	"minibase/fsadapter"
	"minibase/fsadapter/memfs"
	"minibase/wasm/bridge"
)

// bulkRequest is the request size past which a call counts as bulk work.
const bulkRequest = 1 << 20

// Calls yield to the Go scheduler once every yieldEvery calls, and after
// any request larger than yieldRequest (see mbCall).
const (
	yieldEvery   = 16
	yieldRequest = 64 << 10
)

var (
	calls   uint32 // calls so far, for the periodic yield
	b       *bridge.Bridge
	reqBuf  = make([]byte, 64<<10)
	respBuf = make([]byte, 0, 64<<10)
	// host holds what the loader passed in globalThis.__minibaseHost: node's
	// fs (host.fs), the IndexedDB host (host.idb), the mini-program
	// FileSystemManager (host.wxfs) and its options (host.wxfsOptions).
	host = js.Undefined()
)

// adapters opens a filesystem by adapter name. Each backend registers itself
// from a file of its own, so a build tag keeps a backend out of a build that
// cannot use it: the mini-program build (-tags wx) carries neither node's
// nor IndexedDB's.
var adapters = map[string]func(root string) (fsadapter.FS, error){"memory": openMemory}

// maxRequest bounds one request. Running out of wasm memory is fatal to the
// Go runtime (every connection of the process would end), so a larger
// request is refused before anything is allocated for it: mb_alloc answers
// 0 and the bridge reports TOO_LARGE.
const maxRequest = 64 << 20

//go:wasmexport mb_alloc
func mbAlloc(n uint32) uint32 {
	if n > maxRequest {
		return 0
	}
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
	if cap(respBuf) > bulkRequest {
		// Do not keep the last huge answer's buffer (JS has read it by now)
		// alive for this one.
		respBuf = make([]byte, 0, 64<<10)
	}
	if n > bulkRequest {
		b.TakeBack() // the bulk call runs as it would without a loan
	}
	respBuf = b.Handle(reqBuf[:n], respBuf[:0])
	if len(reqBuf) > bulkRequest {
		// The next request is most likely small: a bulk one's buffer must
		// not stay allocated for the instance's life.
		reqBuf = make([]byte, 64<<10)
	}
	if n > bulkRequest || b.TookBulk() {
		// Bulk work leaves a heap full of garbage; collected later, the
		// next heap target would be set from it and wasm memory (which never
		// shrinks) would grow to match, and the next calls would pay for
		// the collection. Collect now, while it is cheap to know what stays
		// live and the caller is waiting on a long call anyway.
		runtime.GC()
		// What the call grew wasm memory by is held for good: the block
		// caches may keep blocks in part of it, the warm's among them.
		b.LendIdleMemory()
		b.WarmCaches()
	}
	// Under GOOS=js the scheduler runs only while Go is executing: once a
	// call returns, no goroutine runs until the next one. A collection
	// started during a call needs its mark workers scheduled; without
	// yields they never were on the synchronous path (every call a
	// wasmexport), no cycle ever finished, and the heap (and wasm memory,
	// which never shrinks) grew with every write. A yield costs ~10 µs in
	// wasm, a third of a point read, so small calls yield once every
	// yieldEvery calls: a cycle then finishes within a few calls (the
	// allocating calls assist it meanwhile).
	calls++
	if calls%yieldEvery == 0 || n > yieldRequest {
		runtime.Gosched()
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

// Memory filesystems are kept per root so that a reconnect within the same
// instance finds its data.
var memRoots = map[string]fsadapter.FS{}

func openMemory(root string) (fsadapter.FS, error) {
	if fs, ok := memRoots[root]; ok {
		return fs, nil
	}
	fs, err := memfs.New()
	if err != nil {
		return nil, err
	}
	memRoots[root] = fs
	return fs, nil
}

func openFS(adapter, root string) (fsadapter.FS, error) {
	open, ok := adapters[adapter]
	if !ok {
		return nil, fmt.Errorf("open: adapter %q is not in this build of the engine (it has %s)", adapter, strings.Join(slices.Sorted(maps.Keys(adapters)), ", "))
	}
	return open(root)
}

// hostValue is host[name], or undefined when the loader passed no host.
func hostValue(name string) js.Value {
	if host.Type() != js.TypeObject {
		return js.Undefined()
	}
	return host.Get(name)
}

func main() {
	host = js.Global().Get("__minibaseHost")
	if host.Type() == js.TypeObject {
		// The loader releases this instance's lock files should it die
		// (a Go fatal error ends the instance, not the process).
		host.Set("instance", fsadapter.InstanceID())
		js.Global().Delete("__minibaseHost")
	}
	// Small heaps make Go collect very often, and in wasm a collection is
	// costly; trade some memory for fewer collections, up to a soft limit
	// sized from the open stores (Bridge.MemoryBudget), past which the
	// heap is collected back instead of growing wasm memory for good.
	debug.SetGCPercent(200)
	b = bridge.New(openFS)
	b.OnBudget = func(n int64) { debug.SetMemoryLimit(n) }
	b.HostBytes = hostBytes
	b.Burst = func(open func()) {
		// Collect only at the memory limit while a store opens.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		open()
	}
	b.OnBudget(b.MemoryBudget())
	select {}
}

// hostBytes is the memory the Go runtime has taken from the host: in wasm,
// the linear memory it has grown.
func hostBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
