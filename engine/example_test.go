package engine_test

import (
	"fmt"

	"minibase/engine"
	"minibase/engine/value"
	"minibase/fsadapter/memfs"
)

func Example() {
	fs, _ := memfs.New()
	c, _ := engine.Open(fs, engine.Options{})
	defer c.Close()

	_ = c.CreateDatabase("shop", true)
	spec, _ := engine.ParseTableSpec(value.ObjectOf(
		value.Member{Key: "columns", Value: value.ArrayOf([]value.Value{
			value.ObjectOf(
				value.Member{Key: "name", Value: value.StringOf("id")},
				value.Member{Key: "type", Value: value.StringOf("number")},
				value.Member{Key: "primaryKey", Value: value.BoolOf(true)},
				value.Member{Key: "autoIncrement", Value: value.BoolOf(true)}),
			value.ObjectOf(
				value.Member{Key: "name", Value: value.StringOf("username")},
				value.Member{Key: "type", Value: value.StringOf("string")},
				value.Member{Key: "unique", Value: value.BoolOf(true)}),
		})},
	))
	_ = c.CreateTable("shop", "users", spec)

	err := c.Auto(func(tx *engine.Tx) error {
		id, err := tx.Insert("shop", "users", value.ObjectOf(value.Member{Key: "username", Value: value.StringOf("ann")}))
		fmt.Println("inserted", id)
		return err
	})
	if err != nil {
		fmt.Println(err)
	}
	err = c.Auto(func(tx *engine.Tx) error {
		_, err := tx.Insert("shop", "users", value.ObjectOf(value.Member{Key: "username", Value: value.StringOf("ann")}))
		return err
	})
	fmt.Println(engine.CodeOf(err), err)
	// Output:
	// inserted 1
	// UNIQUE_VIOLATION unique violation on users.username: "ann"
}
