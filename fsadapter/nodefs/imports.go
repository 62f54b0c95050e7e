//go:build js && wasm

package nodefs

import (
	"bytes"
	"io"
	"unsafe"
)

// The host's "minibase" imports (js/src/imports.js): node's readSync,
// writeSync and fsyncSync on a descriptor, reading into and writing from
// Go's memory in place. A call answers -1 when node threw; hostError then
// describes what was thrown. The buffer p points into is live for the
// call and Go's heap does not move, so JS may view it during the call.

//go:wasmimport minibase readAt
//go:noescape
func hostReadAt(fd int32, p unsafe.Pointer, n int32, off float64) int32

//go:wasmimport minibase write
//go:noescape
func hostWrite(fd int32, p unsafe.Pointer, n int32) int32

//go:wasmimport minibase fsync
func hostFsync(fd int32) int32

//go:wasmimport minibase error
//go:noescape
func hostErrorText(p unsafe.Pointer, n int32) int32

// maxHostIO is the most bytes one import call moves: n is an int32, and
// node's calls take no more than 2 GiB - 1 either.
const maxHostIO = 1 << 30

// hostError describes what the last failing import call threw. It must be
// the next import call after the failure.
func hostError() *jsError {
	var buf [512]byte
	n := hostErrorText(unsafe.Pointer(&buf[0]), int32(len(buf)))
	return parseHostError(buf[:max(0, min(int(n), len(buf)))])
}

// parseHostError reads hostErrorText's "code\nmessage" as newJSError would
// have described the thrown value.
func parseHostError(text []byte) *jsError {
	code, msg, _ := bytes.Cut(text, []byte{'\n'})
	e := &jsError{code: string(code), msg: string(msg)}
	if e.msg == "" {
		e.msg = "JavaScript exception " + e.code
	}
	return e
}

// readAt fills p from fd at off, as far as the file goes: fewer bytes only
// at its end.
func readAt(fd int, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		chunk := min(len(p)-done, maxHostIO)
		got := hostReadAt(int32(fd), unsafe.Pointer(&p[done]), int32(chunk), float64(off+int64(done)))
		if got < 0 {
			return done, hostError()
		}
		if got == 0 {
			break
		}
		done += int(got)
	}
	return done, nil
}

// write writes all of p to fd at its position.
func write(fd int, p []byte) (int, error) {
	done := 0
	for done < len(p) {
		chunk := min(len(p)-done, maxHostIO)
		wrote := hostWrite(int32(fd), unsafe.Pointer(&p[done]), int32(chunk))
		if wrote < 0 {
			return done, hostError()
		}
		if wrote == 0 {
			return done, io.ErrShortWrite
		}
		done += int(wrote)
	}
	return done, nil
}

func fsync(fd int) error {
	if hostFsync(int32(fd)) < 0 {
		return hostError()
	}
	return nil
}
