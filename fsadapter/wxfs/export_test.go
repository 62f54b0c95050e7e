//go:build js && wasm

package wxfs

// MaxReadFDs is maxReadFDs, for the tests.
const MaxReadFDs = maxReadFDs

// MaxAppendFDs is maxAppendFDs, for the tests.
const MaxAppendFDs = maxAppendFDs
