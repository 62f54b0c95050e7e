package engine

import "minibase/engine/internal/recycle"

// Every test of the package runs with reused read buffers poisoned: a
// consumer that keeps a key or value past what the iterators promise reads
// garbage and fails, instead of reading the old bytes by luck.
func init() { recycle.SetPoison(true) }
