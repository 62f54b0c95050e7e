//go:build js && wasm && !wx

package main

import (
	"fmt"
	"path"

	"minibase/fsadapter"
	"minibase/fsadapter/nodefs"
)

func init() { adapters["node"] = openNode }

func openNode(root string) (fsadapter.FS, error) {
	fs := hostValue("fs")
	if fs.IsUndefined() || fs.IsNull() {
		return nil, fmt.Errorf("open: the node adapter needs node's fs module (host.fs)")
	}
	return nodefs.New(fs, path.Clean(root))
}
