package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
)

// A delete (and an update patching rows) appends its writes unlooked-up only into an overlay with no
// writes yet; in a transaction that already wrote the same rows and index
// entries, the delete must replace those writes, and reads inside the
// transaction and after its commit see the rows gone, with every index
// entry gone with them.
func TestDeleteAfterWritesInOneTransaction(t *testing.T) {
	for _, autocommit := range []bool{true, false} {
		c := usersConn(t)
		for i := range 50 {
			insert(t, c, "users", obj("username", fmt.Sprintf("u%d", i), "age", i%5, "city", "x"))
		}
		body := func(tx *Tx) error {
			if !autocommit {
				for i := 50; i < 80; i++ {
					if _, err := tx.Insert("shop", "users", obj("username", fmt.Sprintf("u%d", i), "age", i%5)); err != nil {
						return err
					}
				}
				if _, err := tx.Update("shop", "users", obj("age", 3), query(t, obj("where", obj("age", 1)))); err != nil {
					return err
				}
				// Patched in place, over rows this transaction wrote.
				if _, err := tx.Update("shop", "users", obj("city", "patched"), query(t, obj("where", obj("age", 4)))); err != nil {
					return err
				}
				res, err := tx.Select("shop", "users", query(t, obj("where", obj("city", "patched"))))
				require.NoError(t, err)
				require.Len(t, res.Rows, 16)
				res, err = tx.Select("shop", "users", query(t, obj("where", obj("username", "u54")))) // inserted, then patched, in this transaction
				require.NoError(t, err)
				require.Equal(t, "patched", res.Rows[0][3].Str())

			}
			n, err := tx.Delete("shop", "users", query(t, obj("where", obj("age", obj("<=", 3)))))
			if err != nil {
				return err
			}
			require.NotZero(t, n)
			for _, q := range []value.Value{obj("where", obj("age", 3)), obj("where", obj("username", "u1")), obj("where", obj("age", obj("<", 4)))} {
				res, err := tx.Select("shop", "users", query(t, q))
				require.NoError(t, err)
				require.Empty(t, res.Rows, "inside: %v", q)
			}
			return nil
		}
		if autocommit {
			require.NoError(t, c.Auto(body))
		} else {
			tx, err := c.Begin()
			require.NoError(t, err)
			require.NoError(t, body(tx))
			require.NoError(t, tx.Commit())
		}
		res := selectRows(t, c, "users", obj("orderBy", "id"))
		for _, r := range res.Rows {
			require.Equal(t, 4.0, r[2].Number(), "autocommit %v: only age 4 is left", autocommit)
			if !autocommit {
				require.Equal(t, "patched", r[3].Str())
			}
		}
		require.NotEmpty(t, res.Rows)
		require.NoError(t, c.CheckIntegrity())
	}
}
