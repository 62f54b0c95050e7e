// Package recycle lets tests catch a reader of a reused buffer. The engine
// reuses some buffers (a scan's read-ahead chunks) where it used to
// allocate one per use; a caller that kept a slice into one past what the
// owner's contract allows would then read bytes of a later use, which most
// of the time look plausible enough to go unnoticed. With poisoning on,
// every recycled buffer is overwritten with garbage before it is used
// again, so that such a caller reads garbage and its test fails.
package recycle

import "sync/atomic"

var poison atomic.Bool

// SetPoison turns poisoning on or off for the whole process and returns
// the previous setting. Tests turn it on; it costs one atomic load per
// recycled buffer when off.
func SetPoison(on bool) (was bool) { return poison.Swap(on) }

// Garbage is the byte poisoned buffers are filled with.
const Garbage = 0xd7

// Reuse is called on a buffer, its whole capacity, just before it is used
// again: under poisoning it overwrites every byte with Garbage.
func Reuse(b []byte) {
	if !poison.Load() {
		return
	}
	b = b[:cap(b)]
	for i := range b {
		b[i] = Garbage
	}
}
