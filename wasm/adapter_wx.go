//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"

	"minibase/fsadapter"
	"minibase/fsadapter/wxfs"
)

func init() { adapters["wx"] = openWx }

func openWx(root string) (fsadapter.FS, error) {
	mgr := hostValue("wxfs")
	if mgr.IsUndefined() || mgr.IsNull() {
		return nil, fmt.Errorf("open: the wx adapter needs a FileSystemManager (host.wxfs): load minibase through its mini-program entry")
	}
	var opts wxfs.Options
	if o := hostValue("wxfsOptions"); o.Type() == js.TypeObject {
		opts.PositionalTruncate = o.Get("positionalTruncate").Truthy()
	}
	// Not path.Clean: it would turn "wxfile://usr" into "wxfile:/usr".
	return wxfs.New(mgr, root, opts)
}
