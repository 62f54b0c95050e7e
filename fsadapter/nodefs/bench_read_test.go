//go:build js && wasm

package nodefs_test

import (
	"testing"

	"minibase/fsadapter"
)

// BenchmarkReadRange is a point lookup's cost of reading one 4 KB block
// that the block cache missed, across the boundary into node's fs.
func BenchmarkReadRange(b *testing.B) {
	fsys := newFS(b)
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
}
