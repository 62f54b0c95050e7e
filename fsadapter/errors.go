package fsadapter

import "errors"

// ErrNoSpace is returned (wrapped) when the backend has run out of space or
// quota: ENOSPC on disk, QuotaExceededError in IndexedDB, the storage limit of
// the wx user-data directory. The engine reports it as QUOTA_EXCEEDED.
var ErrNoSpace = errors.New("fsadapter: no space left")

// ErrCorrupt is returned (wrapped) when the backend finds its own records
// damaged or missing (a chunk of a file gone from IndexedDB). The engine
// reports it as CORRUPT.
var ErrCorrupt = errors.New("fsadapter: stored data damaged")

// ErrNotResident is returned (wrapped) by a backend that loads bytes on
// demand and cannot wait for them inside a call (IndexedDB under wasm): the
// read failed, the backend noted what it needs, and the same call is run
// again once it is loaded. A reader may read on to name more of what it
// needs before it fails (the engine's scans do, a bounded number of rows).
var ErrNotResident = errors.New("fsadapter: not loaded yet")
