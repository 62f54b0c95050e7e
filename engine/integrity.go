package engine

import (
	"bytes"
	"fmt"

	"minibase/engine/keys"
	"minibase/engine/kv"
)

// CheckIntegrity verifies the store's files whole (every segment block's
// checksum and key order, where the store can check itself) and that every
// table's indexes agree with its rows: each row has exactly its index
// entries, each entry points at a row, and unique indexes hold no
// duplicates; and that the call records (calls.go) are well formed. Tests
// run it after every test; crash tests run it after every recovery.
func (c *Conn) CheckIntegrity() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	if st, ok := c.store.(interface{ Check() error }); ok {
		if err := st.Check(); err != nil {
			return storageErr("integrity of the store", err)
		}
	}
	if err := checkCalls(c.store); err != nil {
		return fmt.Errorf("integrity of the call records: %w", err)
	}
	for db, tables := range c.cat.DBs {
		for _, t := range tables {
			if err := checkTable(c.store, t); err != nil {
				return fmt.Errorf("integrity of %s.%s: %w", db, t.Name, err)
			}
		}
	}
	return nil
}

func checkTable(r kv.Reader, t *Table) error {
	want := map[string]string{} // expected index entry → primary key suffix
	rows := 0
	err := eachRow(r, t, func(key []byte, row row) error {
		rows++
		if err := t.checkRow(row); err != nil {
			return err
		}
		pk := key[len(t.primaryPrefix):]
		if len(t.pkPos) > 0 {
			k, err := t.pkKey(nil, row, 0)
			if err != nil || !bytes.Equal(k, key) {
				return errorf(CodeCorrupt, "row key does not match its primary key columns")
			}
		}
		for i := range t.Indexes {
			e, err := t.indexEntry(i, row, pk)
			if err != nil {
				return err
			}
			if _, dup := want[string(e)]; dup {
				return errorf(CodeCorrupt, "two rows share the entry of unique index %s", t.Indexes[i].Name)
			}
			want[string(e)] = string(pk)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range t.Indexes {
		it := r.NewIter(kv.IterOptions{Lower: t.idxPrefix[i], Upper: keys.PrefixEnd(t.idxPrefix[i])})
		for it.Next() {
			pk, ok := want[string(it.Key())]
			if !ok {
				it.Close()
				return errorf(CodeCorrupt, "index %s has an entry for no row", t.Indexes[i].Name)
			}
			if pk != string(it.Value()) {
				it.Close()
				return errorf(CodeCorrupt, "index %s entry points at the wrong row", t.Indexes[i].Name)
			}
			delete(want, string(it.Key()))
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		return errorf(CodeCorrupt, "%d index entries are missing", len(want))
	}
	return nil
}
