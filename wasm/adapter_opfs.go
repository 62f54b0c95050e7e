//go:build js && wasm && !wx

package main

import (
	"fmt"
	"path"

	"minibase/fsadapter"
	"minibase/fsadapter/nodefs"
)

func init() { adapters["opfs"] = openOPFS }

// openOPFS opens database root in the Origin Private File System. It runs
// only in the dedicated Worker the browser loader starts (js/src/opfs-worker.js),
// whose host.opfs (js/src/browser-opfs.js) answers node's synchronous fs
// calls with FileSystemSyncAccessHandle reads and writes: nodefs works on it
// unchanged, calling it through syscall/js (the minibase imports serve
// node's fs only).
func openOPFS(root string) (fsadapter.FS, error) {
	host := hostValue("opfs")
	if host.IsUndefined() || host.IsNull() {
		return nil, fmt.Errorf("open: the opfs adapter runs only in the browser loader's OPFS worker")
	}
	fsys, err := nodefs.NewHost(host, path.Clean(root))
	if err != nil {
		return nil, err
	}
	return opfsFS{FS: fsys, rr: fsys.(fsadapter.RangeReader)}, nil
}

// opfsFS is nodefs over OPFS. It hides nodefs's lock files (they name a
// node process; one tab's worker owns an OPFS database through a Web Lock)
// and names itself in Caps.
type opfsFS struct {
	fsadapter.FS
	rr fsadapter.RangeReader
}

// Caps reports a real file: appends are appends, flush() is the sync.
func (o opfsFS) Caps() fsadapter.Caps {
	return fsadapter.Caps{Name: "opfs", AppendCheap: true, Sync: true}
}

// ReadRange reads one block (fsadapter.RangeReader).
func (o opfsFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	return o.rr.ReadRange(name, off, n)
}

// ReadRangeInto reads into the caller's buffer (fsadapter.RangeIntoReader):
// the embedded FS hides nodefs's method.
func (o opfsFS) ReadRangeInto(name string, off int64, dst []byte) error {
	return o.rr.(fsadapter.RangeIntoReader).ReadRangeInto(name, off, dst)
}
