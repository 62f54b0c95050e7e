package bridge

import (
	"encoding/hex"
	"strings"
	"unsafe"

	"minibase/engine"
	"minibase/engine/value"
)

// Change feed and read ranges, for live queries (js/src/live.js). Store keys
// travel as lowercase hex strings: hex keeps the byte order, so JS compares
// them with < as the engine compares the keys.
//
//	changesWatch  [conn, on]                   → [feed id, flag address] (connections that share an engine.Conn share both)
//	changesFilter [conn, all, [[lo, hi], ...]] → null: keep only changes with a key in the ranges, unless all
//
// The flag is a uint32 in the instance's linear memory that the engine bumps
// whenever a commit leaves changes in the feed: JS reads it after a write
// and calls changesTake only when it moved, so a write no watcher reads
// costs no second call.
//	changesTake  [conn, rows]                  → {changes: [{db, table, op, key, row, keys}], schema, overflow}
//	                                              (row is null unless rows is true: live queries need only the keys)
//	readRanges   [conn, tx, db, table, query]  → [[lo, hi], ...]
//	keyRange     [conn, tx, db, table, key]    → [[lo, hi]]

// feedFlags holds each watched connection's flag. Go's heap does not move,
// so the address JS was given stays valid until the feed is turned off.
var feedFlags = map[*engine.Conn]*uint32{}

func opChangesWatch(c *call, conn *engine.Conn) error {
	on := c.arg(1)
	if on.Kind() != value.Bool {
		return c.bad("on must be a boolean")
	}
	conn.WatchChanges(on.Bool())
	h, _ := c.handle(0)
	flag := feedFlags[conn]
	if !on.Bool() {
		delete(feedFlags, conn)
	} else if flag == nil {
		flag = new(uint32)
		feedFlags[conn] = flag
		conn.OnChanges(func() { *flag++ })
	}
	addr := 0.0
	if flag != nil {
		addr = float64(uintptr(unsafe.Pointer(flag)))
	}
	return c.result(value.ArrayOf([]value.Value{value.StringOf(c.b.conns[uint32(h)].key), value.NumberOf(addr)}))
}

func opChangesFilter(c *call, conn *engine.Conn) error {
	all := c.arg(1)
	list := c.arg(2)
	if all.Kind() != value.Bool || list.Kind() != value.Array {
		return c.bad("expects all (a boolean) and an array of [lo, hi] ranges")
	}
	rs := make([]engine.KeyRange, 0, list.Len())
	for _, r := range list.Items() {
		if r.Kind() != value.Array || r.Len() != 2 || r.Index(0).Kind() != value.String || r.Index(1).Kind() != value.String {
			return c.bad("a range is [lo, hi], two hex strings")
		}
		lo, err1 := hex.DecodeString(r.Index(0).Str())
		hi, err2 := hex.DecodeString(r.Index(1).Str())
		if err1 != nil || err2 != nil {
			return c.bad("a range bound is not hex")
		}
		rs = append(rs, engine.KeyRange{Lo: lo, Hi: hi})
	}
	conn.FilterChanges(all.Bool(), rs)
	return c.result(value.NullValue)
}

func opChangesTake(c *call, conn *engine.Conn) error {
	withRows := c.arg(1).Kind() == value.Bool && c.arg(1).Bool()
	cs, schema, overflow := conn.TakeChanges()
	list := make([]value.Value, len(cs))
	for i, ch := range cs {
		ks := make([]value.Value, len(ch.Keys))
		for j, k := range ch.Keys {
			ks[j] = value.StringOf(hex.EncodeToString(k))
		}
		row := value.NullValue
		if withRows {
			row = ch.RowValue()
		}
		if !withRows || strings.HasPrefix(ch.DB, engine.SystemPrefix) {
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
	return c.result(value.ObjectOf(
		value.Member{Key: "changes", Value: value.ArrayOf(list)},
		value.Member{Key: "schema", Value: value.BoolOf(schema)},
		value.Member{Key: "overflow", Value: value.BoolOf(overflow)},
	))
}

func opReadRanges(c *call, tx *engine.Tx, db, table string) error {
	q, err := engine.ParseQuery(c.arg(4))
	if err != nil {
		return err
	}
	rs, err := tx.ReadRanges(db, table, q)
	if err != nil {
		return err
	}
	return c.result(hexRanges(rs))
}

func opKeyRange(c *call, tx *engine.Tx, db, table string) error {
	r, err := tx.KeyReadRange(db, table, c.arg(4))
	if err != nil {
		return err
	}
	return c.result(hexRanges([]engine.KeyRange{r}))
}

// hexRanges renders ranges as [[lo, hi], ...] of hex strings.
func hexRanges(rs []engine.KeyRange) value.Value {
	out := make([]value.Value, len(rs))
	for i, r := range rs {
		out[i] = value.ArrayOf([]value.Value{
			value.StringOf(hex.EncodeToString(r.Lo)),
			value.StringOf(hex.EncodeToString(r.Hi)),
		})
	}
	return value.ArrayOf(out)
}
