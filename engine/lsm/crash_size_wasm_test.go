//go:build wasm

package lsm_test

// crashBatches is the crash-point workload size; wasm runs a smaller one to
// stay within its time budget.
const crashBatches = 100
