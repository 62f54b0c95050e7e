package storage_test

import (
	"fmt"
	"time"

	"minibase/engine"
	"minibase/engine/storage"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

func Example() {
	fs, _ := memfs.New()
	conn, _ := engine.Open(fs, engine.Options{})
	defer conn.Close()

	// KDFIterations is lowered only to keep the example fast; keep the default.
	m, err := storage.Open(conn, storage.Options{Prefix: "mp_", Passphrase: "correct horse", KDFIterations: 1000})
	if err != nil {
		panic(err)
	}
	_ = m.Set("token", value.StringOf("s3cr3t"), storage.SetOptions{Expire: time.Hour, Encrypt: true})
	_ = m.Set("theme", value.StringOf("dark"), storage.SetOptions{})

	v, found, _ := m.Get("token")
	keys, _ := m.Keys()
	fmt.Println(v.Str(), found, keys)

	_, err = storage.Open(conn, storage.Options{Prefix: "mp_", Passphrase: "wrong"})
	fmt.Println(engine.CodeOf(err))
	// Output:
	// s3cr3t true [theme token]
	// WRONG_SECRET
}
