//go:build js && wasm

package wxfs

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"syscall/js"
)

// maxAppendFDs bounds the append descriptors kept open over the process;
// files opened for appending past it append by path (appendFileSync).
const maxAppendFDs = 4

// appendFDs are the appending files that write through a descriptor of
// their own (openSync flag "a", writeSync from a reused ArrayBuffer): an
// append by path costs the runtime an open, a write and a close, and this
// side a new ArrayBuffer of exactly the bytes.
var appendFDs appendRegistry

type appendRegistry struct {
	mu     sync.Mutex
	live   []*appendFile // those with a descriptor
	view   js.Value      // Uint8Array over the reused ArrayBuffer
	buf    js.Value      // the ArrayBuffer
	bufLen int
	req    js.Value // the writeSync argument object, reused
	reqFD  js.Value // req.fd
	reqBuf js.Value // req.data
	reqLen int      // req.length
}

// open gives a a descriptor of its file when the runtime has writeSync and
// fewer than maxAppendFDs are open; otherwise a appends by path.
func (r *appendRegistry) open(a *appendFile) {
	if !a.fs.fdWrite {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.live) >= maxAppendFDs {
		return
	}
	fd, err := a.fs.call("openSync", map[string]any{"filePath": a.path, "flag": "a"})
	if err != nil {
		return
	}
	a.fd = fd
	r.live = append(r.live, a)
}

// detach makes the appending files of path p (through w's manager) append
// by path from now on: p is about to be replaced or removed, and their
// descriptor would go on writing into the file that was there.
func (r *appendRegistry) detach(w *FS, p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < len(r.live); {
		if a := r.live[i]; a.path == p && a.fs.mgr.Equal(w.mgr) {
			r.closeAt(i)
			continue
		}
		i++
	}
}

// release closes a's descriptor, if it has one.
func (r *appendRegistry) release(a *appendFile) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, l := range r.live {
		if l == a {
			return r.closeAt(i)
		}
	}
	return nil
}

// closeAt closes r.live[i]'s descriptor and forgets it. r.mu must be held.
func (r *appendRegistry) closeAt(i int) error {
	a := r.live[i]
	r.live = append(r.live[:i], r.live[i+1:]...)
	fd := a.fd
	a.fd = js.Undefined()
	_, err := a.fs.call("closeSync", map[string]any{"fd": fd})
	return err
}

// write appends p through a's descriptor. ok is false when a has none (or
// it went bad before anything was written): the caller appends by path.
func (r *appendRegistry) write(a *appendFile, p []byte) (ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.fd.IsUndefined() {
		return false, nil
	}
	for len(p) > 0 {
		chunk := p[:min(len(p), maxScratch)]
		r.fill(a.fs, chunk)
		res, err := a.fs.call("writeSync", r.request(a.fd, len(chunk)))
		if err != nil {
			if errors.Is(err, syscall.EBADF) {
				for i, l := range r.live {
					if l == a {
						_ = r.closeAt(i)
						break
					}
				}
				if !ok {
					return false, nil // nothing of p written: the path takes all of it
				}
			}
			return true, err
		}
		n := 0
		if v := res.Get("bytesWritten"); v.Type() == js.TypeNumber {
			n = v.Int()
		}
		if n <= 0 || n > len(chunk) {
			return true, io.ErrShortWrite
		}
		ok = true
		p = p[n:]
	}
	return true, nil
}

// fill copies p into the reused buffer, growing it to fit.
func (r *appendRegistry) fill(w *FS, p []byte) {
	if r.bufLen < len(p) {
		size := 4096
		for size < len(p) {
			size *= 2
		}
		r.view = w.uint8Array.New(size)
		r.buf = r.view.Get("buffer")
		r.bufLen = size
	}
	js.CopyBytesToJS(r.view, p)
}

// request returns writeSync's argument { fd, data, offset: 0, length },
// one object with only the members that changed set again.
func (r *appendRegistry) request(fd js.Value, n int) js.Value {
	if r.req.IsUndefined() {
		r.req = js.Global().Get("Object").New()
		r.req.Set("offset", 0)
		r.reqLen = -1
	}
	if !r.reqFD.Equal(fd) {
		r.req.Set("fd", fd)
		r.reqFD = fd
	}
	if !r.reqBuf.Equal(r.buf) {
		r.req.Set("data", r.buf)
		r.reqBuf = r.buf
	}
	if r.reqLen != n {
		r.req.Set("length", n)
		r.reqLen = n
	}
	return r.req
}
