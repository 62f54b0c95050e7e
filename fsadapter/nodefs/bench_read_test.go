//go:build js && wasm

package nodefs_test

import (
	"testing"

	"minibase/fsadapter"
)

// paths are the two ways nodefs reaches node: the minibase imports (New)
// and syscall/js (NewHost), benchmarked side by side in one process.
var paths = []struct {
	name string
	open func(testing.TB) fsadapter.FS
}{{"imports", newFS}, {"host", newHostFS}}

// BenchmarkReadRange is a point lookup's cost of reading one 4 KB block
// that the block cache missed, across the boundary into node's fs.
func BenchmarkReadRange(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			fsys := p.open(b)
			data := make([]byte, 8<<20)
			if err := fsys.WriteFile("seg", data, false); err != nil {
				b.Fatal(err)
			}
			rr := fsys.(fsadapter.RangeReader)
			x := uint32(42)
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x = x*1103515245 + 12345
				if _, err := rr.ReadRange("seg", int64(x%2047)*4096, 4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend is an autocommit insert's log append: about 200 bytes
// (the log record of a row with two index entries), not synced.
func BenchmarkAppend(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			f, err := p.open(b).OpenAppend("log")
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rec := make([]byte, 202)
			b.SetBytes(int64(len(rec)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
