//go:build js && wasm

package wxfs

// MaxReadFDs is maxReadFDs, for the tests.
const MaxReadFDs = maxReadFDs
