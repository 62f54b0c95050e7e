//go:build js && wasm

package wxfs

import (
	"errors"
	"sync"
	"syscall"
	"syscall/js"
)

// maxReadFDs bounds the read descriptors kept open, over every FS of the
// process: descriptors are the runtime's, which fails an openSync past its
// own limit ("exceed max concurrent fd limit", a number it does not
// document), and a connection closed and opened again must not leak them.
const maxReadFDs = 8

// maxScratch bounds the reused read buffer; a larger read gets a buffer of
// its own.
const maxScratch = 1 << 20

// readFDs is the process's cache of read descriptors, least recently used
// first.
var readFDs fdCache

type fdCache struct {
	mu     sync.Mutex
	open   []openFD
	buf    js.Value // ArrayBuffer readSync reads into, reused
	view   js.Value // Uint8Array over buf
	bufLen int
	req    js.Value // the readSync argument object, reused
	reqBuf js.Value // the ArrayBuffer req.arrayBuffer holds
	reqFD  js.Value // the fd req.fd holds
	reqLen int      // req.length
}

// openFD is a descriptor of path (as the runtime sees it) opened through mgr.
type openFD struct {
	mgr  js.Value
	path string
	fd   js.Value // a string on WeChat; kept as the runtime gave it
}

// get returns a descriptor of p opened through w's manager, opening one (and
// closing the least recently used, past maxReadFDs) when there is none.
// c.mu must be held.
func (c *fdCache) get(w *FS, p string) (js.Value, error) {
	for i, f := range c.open {
		if f.path == p && f.mgr.Equal(w.mgr) {
			if i != len(c.open)-1 {
				copy(c.open[i:], c.open[i+1:])
				c.open[len(c.open)-1] = f
			}
			return f.fd, nil
		}
	}
	if len(c.open) >= maxReadFDs {
		c.closeAt(0)
	}
	fd, err := w.call("openSync", map[string]any{"filePath": p, "flag": "r"})
	if err != nil {
		if errors.Is(err, syscall.EMFILE) {
			// The runtime's limit is lower than ours (or others hold
			// descriptors too): give back the oldest of this runtime's,
			// so that the next open finds room rather than failing
			// every time.
			for i, f := range c.open {
				if f.mgr.Equal(w.mgr) {
					c.closeAt(i)
					break
				}
			}
		}
		return js.Value{}, err
	}
	c.open = append(c.open, openFD{mgr: w.mgr, path: p, fd: fd})
	return fd, nil
}

// drop closes the descriptor of p opened through w's manager, if any.
// c.mu must be held.
func (c *fdCache) drop(w *FS, p string) {
	for i, f := range c.open {
		if f.path == p && f.mgr.Equal(w.mgr) {
			c.closeAt(i)
			return
		}
	}
}

// closeAt closes and forgets c.open[i]; a failure to close leaves nothing
// to do (the descriptor is gone from the cache either way).
func (c *fdCache) closeAt(i int) {
	f := c.open[i]
	c.open = append(c.open[:i], c.open[i+1:]...)
	_, _ = callOn(f.mgr, "closeSync", map[string]any{"fd": f.fd})
}

// scratch returns an ArrayBuffer of at least n bytes and a Uint8Array over
// it, the reused pair when n fits maxScratch.
func (c *fdCache) scratch(w *FS, n int) (buf, view js.Value) {
	if n > maxScratch {
		view = w.uint8Array.New(n)
		return view.Get("buffer"), view
	}
	if c.bufLen < n {
		size := 4096
		for size < n {
			size *= 2
		}
		c.view = w.uint8Array.New(size)
		c.buf = c.view.Get("buffer")
		c.bufLen = size
	}
	return c.buf, c.view
}

// request returns readSync's argument { fd, arrayBuffer, offset: 0, length,
// position }: one object reused, only the members that changed set again
// (each set is a call out of wasm).
func (c *fdCache) request(fd, buf js.Value, n int, off int64) js.Value {
	if c.req.IsUndefined() {
		c.req = js.Global().Get("Object").New()
		c.req.Set("offset", 0)
		c.reqLen = -1
	}
	if !c.reqFD.Equal(fd) {
		c.req.Set("fd", fd)
		c.reqFD = fd
	}
	if !c.reqBuf.Equal(buf) {
		c.req.Set("arrayBuffer", buf)
		c.reqBuf = buf
	}
	if c.reqLen != n {
		c.req.Set("length", n)
		c.reqLen = n
	}
	c.req.Set("position", float64(off))
	return c.req
}
