// Package fsadapter is the only door between the engine and a filesystem.
//
// Backends: memory (memfs), the native disk (osfs), node's synchronous fs
// under wasm (nodefs), IndexedDB (idbfs) and the mini-program
// FileSystemManager (wxfs). New wraps a hackpadfs filesystem into the small
// FS contract the storage engine needs, together with Caps that say how the
// backend behaves; a backend may implement FS directly instead (most do,
// one host call per operation). Every backend passes the same conformance
// suite (fstest). The engine never branches on the
// backend's type: it reads Caps.
//
// # Contract
//
// Paths are slash-separated and relative to the adapter's root (io/fs.ValidPath);
// any other name fails with fs.ErrInvalid before it reaches the backend.
// Errors match io/fs sentinels with errors.Is (fs.ErrNotExist, fs.ErrExist,
// fs.ErrClosed, fs.ErrInvalid) and ErrNoSpace when the backend is out of space
// or quota, and read "fsadapter: <op> <name>: <cause>".
//
// The package fstest holds the conformance suite every backend passes;
// faultfs wraps any FS to inject failures and crashes.
package fsadapter

import (
	"io/fs"
)

// Caps describes how a backend behaves, so the engine can choose its file
// layout without guessing from the backend's type.
type Caps struct {
	// Name identifies the backend in stats and error messages ("memory", "os", "node").
	Name string
	// AppendCheap is true when appending to an existing file costs about as much
	// as the appended bytes (disk, wx appendFileSync). When false (IndexedDB, where
	// every write re-saves the whole file) the engine writes every file once, in
	// one WriteFile call, and never modifies it.
	AppendCheap bool
	// Sync is true when the backend can flush to stable storage (fsync).
	Sync bool
	// InMemory is true when the files are bytes in this process's memory:
	// reading a range is a copy, so blocks the store has just written are
	// not copied into its block cache as well.
	InMemory bool
	// LoadsOnDemand is true when a read of a large file may fail with
	// ErrNotResident until the host has loaded its bytes (IndexedDB): a read
	// the engine makes ahead of need has the host load, and keep, bytes
	// that may displace ones a later call needs.
	LoadsOnDemand bool
}

// Holder is a backend whose files are bytes in this process's memory
// (Caps.InMemory): it reports how many bytes they hold, which a host that
// bounds its heap must count as the store's own.
type Holder interface {
	HeldBytes() int64
}

// FS is the filesystem contract the storage engine is written against.
type FS interface {
	// Caps reports how the backend behaves.
	Caps() Caps
	// ReadFile returns the whole content of name, in a slice the caller owns.
	ReadFile(name string) ([]byte, error)
	// WriteFile creates or replaces name with data in a single backend write.
	// When sync is true and the backend can sync, the data is on stable storage
	// when it returns (a new file's directory entry too, where the backend can
	// sync a directory). The parent directory must exist (else
	// fs.ErrNotExist). data is not retained. On error the file may be left
	// empty or partly written; the engine detects that by checksum.
	WriteFile(name string, data []byte, sync bool) error
	// OpenAppend opens name for appending, creating it when missing; the
	// parent directory must exist. Callers use it only when
	// Caps().AppendCheap is true.
	OpenAppend(name string) (AppendFile, error)
	// Truncate cuts name to size bytes. A missing name is fs.ErrNotExist;
	// appends through an open AppendFile continue at the new end.
	Truncate(name string, size int64) error
	// Remove deletes a file or an empty directory. A missing name is fs.ErrNotExist.
	Remove(name string) error
	// ReadDir lists the names in dir, sorted. A missing dir is fs.ErrNotExist.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents; existing ones are fine.
	MkdirAll(dir string) error
	// Stat describes name. A missing name is fs.ErrNotExist.
	Stat(name string) (fs.FileInfo, error)
}

// AppendFile is a file opened for appending.
type AppendFile interface {
	// Write appends p at the current end of the file. The bytes are handed
	// to the backend when it returns (they survive the process being killed,
	// and ReadFile sees them), not necessarily synced. p is not retained.
	Write(p []byte) (int, error)
	// Sync flushes appended bytes to stable storage where the backend can; it
	// does nothing (and succeeds) where it cannot.
	Sync() error
	// Close releases the file. Every call after Close, Close included, fails
	// with fs.ErrClosed.
	Close() error
}

// RangeReader is implemented by backends that can read part of a file
// without reading all of it. The storage engine reads segment blocks through
// it when the backend has it; without it a block read costs the whole file.
type RangeReader interface {
	// ReadRange returns n bytes of name starting at off, in a slice the
	// caller owns; a file shorter than off+n is an error wrapping
	// io.ErrUnexpectedEOF.
	ReadRange(name string, off int64, n int) ([]byte, error)
}

// RangeIntoReader is implemented by backends that can read a range of a
// file into a buffer the caller owns, so that a reader going through a
// file chunk after chunk (a scan, a compaction) reuses one buffer instead
// of leaving one allocation per chunk for the collector. Backends without
// it are read through RangeReader.
type RangeIntoReader interface {
	// ReadRangeInto fills dst with the len(dst) bytes of name starting at
	// off; a file shorter than off+len(dst) is an error wrapping
	// io.ErrUnexpectedEOF. dst is not retained. On error its content is
	// unspecified.
	ReadRangeInto(name string, off int64, dst []byte) error
}

// SizeLister is implemented by backends that can list a directory's files
// with their sizes in one call where a Stat per file costs a crossing out of
// the engine each (the browser's OPFS host, whose pool holds every size): a
// store's open checks the size of every segment. ReadDirSizes fails with
// errors.ErrUnsupported when this backend's host cannot; callers then Stat.
type SizeLister interface {
	ReadDirSizes(dir string) (map[string]int64, error)
}

// Prefetcher is implemented by backends that load files on demand and cannot
// wait for them inside a call (IndexedDB under wasm). Prefetch says the
// caller is about to read the named files whole: when any of them is not
// loaded, it notes all of them and fails with an error wrapping
// ErrNotResident, so that the one call run again finds them all loaded.
type Prefetcher interface {
	Prefetch(names []string) error
}
