package lsm

import "errors"

// ErrTooLarge is returned (wrapped) by Apply when a batch's log record would
// exceed wal.MaxPayload. Nothing of the batch is applied.
var ErrTooLarge = errors.New("lsm: batch too large")

// ErrNotStore is returned (wrapped) by Open when the directory holds files
// but none of a store's, unless Options.AdoptDir is set.
var ErrNotStore = errors.New("lsm: not a database directory")

// ErrLogDamaged is returned (wrapped) by Apply after a failed log write left
// bytes in the log that could neither be cut off nor moved past. Reads and
// Compact still work; writes are refused until the store is reopened, which
// repairs the log.
var ErrLogDamaged = errors.New("lsm: log damaged by a failed write")
