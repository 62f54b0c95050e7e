package kv_test

import (
	"fmt"

	"minibase/engine/kv"
)

// A transaction reads its own writes through an overlay and commits them
// with one Apply of o.Batch().
func ExampleOverlay() {
	o := kv.NewOverlay(nil) // normally over a store Snapshot
	o.Set([]byte("user/1"), []byte("ann"))
	o.Set([]byte("user/2"), []byte("bob"))
	o.Delete([]byte("user/2"))

	it := o.NewIter(kv.IterOptions{Lower: []byte("user/")})
	for it.Next() {
		fmt.Printf("%s=%s\n", it.Key(), it.Value())
	}
	_ = it.Close()
	fmt.Println(o.Batch().Len(), "writes to commit")
	// Output:
	// user/1=ann
	// 2 writes to commit
}
