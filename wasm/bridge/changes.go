package bridge

import (
	"encoding/hex"
	"strings"

	"minibase/engine"
	"minibase/engine/value"
)

// Change feed and read ranges, for live queries (js/src/live.js). Store keys
// travel as lowercase hex strings: hex keeps the byte order, so JS compares
// them with < as the engine compares the keys.
//
//	changesWatch [conn, on]                    → feed id (connections that share an engine.Conn share it)
//	changesTake  [conn]                        → {changes: [{db, table, op, key, row, keys}], schema, overflow}
//	readRanges   [conn, tx, db, table, query]  → [[lo, hi], ...]
//	keyRange     [conn, tx, db, table, key]    → [[lo, hi]]

func (c *call) runChanges() (bool, error) {
	switch c.op {
	case "changesWatch":
		conn, err := c.conn()
		if err != nil {
			return true, err
		}
		on := c.arg(1)
		if on.Kind() != value.Bool {
			return true, c.bad("on must be a boolean")
		}
		conn.WatchChanges(on.Bool())
		h, _ := c.handle(0)
		return true, c.result(value.StringOf(c.b.conns[uint32(h)].key))
	case "changesTake":
		conn, err := c.conn()
		if err != nil {
			return true, err
		}
		cs, schema, overflow := conn.TakeChanges()
		list := make([]value.Value, len(cs))
		for i, ch := range cs {
			ks := make([]value.Value, len(ch.Keys))
			for j, k := range ch.Keys {
				ks[j] = value.StringOf(hex.EncodeToString(k))
			}
			row := ch.Row
			if strings.HasPrefix(ch.DB, engine.SystemPrefix) {
				row = value.NullValue // a store's sealed bytes: its watcher reads the value itself
			}
			list[i] = value.ObjectOf(
				value.Member{Key: "db", Value: value.StringOf(ch.DB)},
				value.Member{Key: "table", Value: value.StringOf(ch.Table)},
				value.Member{Key: "op", Value: value.StringOf(ch.Op)},
				value.Member{Key: "key", Value: ch.Key},
				value.Member{Key: "row", Value: row},
				value.Member{Key: "keys", Value: value.ArrayOf(ks)},
			)
		}
		return true, c.result(value.ObjectOf(
			value.Member{Key: "changes", Value: value.ArrayOf(list)},
			value.Member{Key: "schema", Value: value.BoolOf(schema)},
			value.Member{Key: "overflow", Value: value.BoolOf(overflow)},
		))
	case "readRanges", "keyRange":
		return true, c.tableOp(func(tx *engine.Tx, db, table string) error {
			var rs []engine.KeyRange
			if c.op == "keyRange" {
				r, err := tx.KeyReadRange(db, table, c.arg(4))
				if err != nil {
					return err
				}
				rs = []engine.KeyRange{r}
			} else {
				q, err := engine.ParseQuery(c.arg(4))
				if err != nil {
					return err
				}
				if rs, err = tx.ReadRanges(db, table, q); err != nil {
					return err
				}
			}
			out := make([]value.Value, len(rs))
			for i, r := range rs {
				out[i] = value.ArrayOf([]value.Value{
					value.StringOf(hex.EncodeToString(r.Lo)),
					value.StringOf(hex.EncodeToString(r.Hi)),
				})
			}
			return c.result(value.ArrayOf(out))
		})
	}
	return false, nil
}
