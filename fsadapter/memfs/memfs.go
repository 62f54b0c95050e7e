//go:build !wx

// Package memfs is the in-memory fsadapter backend, over hackpadfs/mem
// (in the mini-program build, -tags wx, a compact map of its own: compact.go).
//
// Nothing survives the process; it serves tests, the 'memory' adapter of the
// JS API, and crash tests (wrapped in faultfs), where the same FS value plays
// the disk that outlives a simulated crash.
package memfs

import (
	"fmt"

	"github.com/hack-pad/hackpadfs/mem"

	"minibase/fsadapter"
)

// New returns an empty in-memory filesystem. Appending is cheap (a write
// grows the file's buffer instead of re-saving it); there is nothing to sync.
func New() (fsadapter.FS, error) {
	m, err := mem.NewFS()
	if err != nil {
		return nil, fmt.Errorf("memfs: create filesystem: %w", err)
	}
	return fsadapter.New(m, fsadapter.Caps{Name: "memory", AppendCheap: true, Sync: false}), nil
}
