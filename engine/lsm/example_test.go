package lsm_test

import (
	"fmt"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter/memfs"
)

func ExampleOpen() {
	fsys, err := memfs.New()
	if err != nil {
		panic(err)
	}
	s, err := lsm.Open(fsys, lsm.Options{Dir: "db"})
	if err != nil {
		panic(err)
	}
	b := &kv.Batch{}
	b.Set([]byte("greeting"), []byte("hello"))
	if err := s.Apply(b); err != nil { // durable when it returns
		panic(err)
	}
	_ = s.Close()

	s, err = lsm.Open(fsys, lsm.Options{Dir: "db"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	v, err := s.Get([]byte("greeting"))
	fmt.Println(string(v), err)
	// Output: hello <nil>
}
