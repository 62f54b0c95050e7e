//go:build js && wasm && !wx

package main

import (
	"minibase/fsadapter"
	"minibase/fsadapter/idbfs"
)

func init() { adapters["indexeddb"] = openIndexedDB }

// openIndexedDB opens the database named root, whose records the browser
// loader has read already.
func openIndexedDB(root string) (fsadapter.FS, error) {
	return idbfs.New(hostValue("idb"), root)
}
