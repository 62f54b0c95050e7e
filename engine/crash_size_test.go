//go:build !wasm

package engine

// crashRows is the number of rows the crash workload inserts; wasm runs a
// smaller workload to stay within its time budget.
const crashRows = 120
