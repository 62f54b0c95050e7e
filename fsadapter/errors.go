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
