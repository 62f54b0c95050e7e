package kvstore_test

import (
	"fmt"
	"time"

	"minibase/engine"
	"minibase/engine/kvstore"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

func Example() {
	fs, _ := memfs.New()
	conn, _ := engine.Open(fs, engine.Options{})
	defer conn.Close()

	// KDFIterations is lowered only to keep the example fast; keep the default.
	m, err := kvstore.Open(conn, kvstore.Options{Prefix: "mp_", Passphrase: "correct horse", KDFIterations: 1000})
	if err != nil {
		panic(err)
	}
	_ = m.Set("token", value.StringOf("s3cr3t"), kvstore.SetOptions{Expire: time.Hour, Encrypt: true})
	_ = m.Set("theme", value.StringOf("dark"), kvstore.SetOptions{})

	v, found, _ := m.Get("token")
	keys, _ := m.Keys()
	fmt.Println(v.Str(), found, keys)

	_, err = kvstore.Open(conn, kvstore.Options{Prefix: "mp_", Passphrase: "wrong"})
	fmt.Println(engine.CodeOf(err))
	// Output:
	// s3cr3t true [theme token]
	// WRONG_SECRET
}
