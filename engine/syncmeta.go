package engine

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"minibase/engine/hlc"
	"minibase/engine/keys"
	"minibase/engine/kv"
	"minibase/engine/value"
)

// This file is the engine's side of offline sync: what a synced table keeps
// beside its rows, and the outbox. The sync client (engine/replica) drives
// push and pull through the exported methods here.
//
// Key space, all under tag 0x02 so no user row, index or catalog key can
// collide with it (user columns never hold any of it either):
//
//	0x02 'm' tableID(4) pk…   per-row metadata {h: hlc, o: origin, d: deleted};
//	                          a deleted row keeps it as its tombstone
//	0x02 'o' seq(8)           outbox: local changes not yet acknowledged
//	0x02 'x' seq(8)           dead letters: changes the server rejected
//	0x02 'c' seq(8)           conflicts waiting for the app's merge function
//	0x02 's' name             sync state (client id, clock, cursors)
//
// Every write to a synced table goes through mutate, which adds the row's
// metadata and its outbox entry to the same overlay: they commit in the
// same batch as the row, so a change and its outbox entry are durable
// together or not at all.

const syncTag = 0x02

// SyncList names one of the ordered lists of sync entries.
type SyncList byte

// The lists.
const (
	Outbox      SyncList = 'o'
	DeadLetters SyncList = 'x'
	Conflicts   SyncList = 'c'
)

var (
	syncStatePrefix = []byte{syncTag, 's'}
	syncClockKey    = []byte("\x02sclock")
	syncClientKey   = []byte("\x02sclient")
)

func metaPrefix(tableID uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{syncTag, 'm'}, tableID)
}

func listKey(l SyncList, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{syncTag, byte(l)}, seq)
}

// SyncEntry is one entry of a sync list: a change to one row of a synced
// table. Row is null for a delete; Base is the row before the change (null
// when it did not exist). Note carries what the list adds: the server's
// error for a dead letter, the remote change for a conflict.
type SyncEntry struct {
	Seq     uint64 // position in its list
	Op      string
	DB      string
	Table   string // empty when the table has since been dropped
	TableID uint32
	Key     value.Value
	Row     value.Value
	Base    value.Value
	HLC     string
	Origin  string
	Note    value.Value
}

// RowMeta is a synced row's version: the clock and origin of the change
// that wrote it last. Deleted marks a tombstone.
type RowMeta struct {
	HLC     string
	Origin  string
	Deleted bool
}

// syncState is the connection's sync bookkeeping, loaded on first use.
type syncState struct {
	clock  *hlc.Clock
	seq    uint64 // last list sequence number handed out
	client string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// syncInit loads (or creates) the client id and the clock. The caller holds
// the connection lock. The client id is stored at once, on its own: it is
// the same whichever transaction first needs it.
func (c *Conn) syncInit() (*syncState, error) {
	if c.syncSt != nil {
		return c.syncSt, nil
	}
	now := c.now
	if now == nil {
		now = time.Now
	}
	st := &syncState{}
	var last hlc.Timestamp
	raw, err := c.store.Get(syncClockKey)
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, storageErr("read sync clock", err)
	default:
		v, derr := value.Decode(raw)
		h, _ := v.Get("h")
		s, _ := v.Get("s")
		if derr == nil {
			last, derr = parseStoredClock(h.Str())
		}
		if derr != nil || s.Kind() != value.Number {
			return nil, errorf(CodeCorrupt, "sync clock is corrupt")
		}
		st.seq = uint64(s.Number())
	}
	st.clock = hlc.New(func() int64 { return now().UnixMilli() }, last)
	raw, err = c.store.Get(syncClientKey)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		st.client = randomHex(12)
		b := &kv.Batch{}
		b.Set(syncClientKey, []byte(st.client))
		if err := c.store.Apply(b); err != nil {
			return nil, storageErr("store sync client id", err)
		}
	case err != nil:
		return nil, storageErr("read sync client id", err)
	default:
		st.client = string(raw)
	}
	c.syncSt = st
	return st, nil
}

// observe moves the sync clock past a reading received from the server.
// A reading the clock refuses (malformed, or further ahead of this device's
// clock than hlc.DefaultMaxAhead) is an error of the change it came with:
// adopting it would stamp every later local change with it, and could run
// the clock out of readings.
func (st *syncState) observe(ts string) error {
	h, err := hlc.Parse(ts)
	if err == nil {
		err = st.clock.Observe(h)
	}
	if err != nil {
		return clockErr(err, "observe sync clock reading %q", ts)
	}
	return nil
}

// clockErr is a BAD_VALUE that keeps the clock's error (hlc.ErrAhead,
// hlc.ErrExhausted, hlc.ErrBad) for errors.Is.
func clockErr(err error, format string, args ...any) error {
	e := errorf(CodeBadValue, format+": %v", append(args, err)...).(*Error)
	e.Err = err
	return e
}

// parseStoredClock reads the persisted clock. A 16-digit wall is what
// builds that let the clock run past its maximum wrote after adopting a
// far-future reading; it is read as the maximum, which the clock then
// leaves for the wall clock (a reading far ahead of the wall clock is not
// kept), instead of failing every later write as a corrupt clock.
func parseStoredClock(s string) (hlc.Timestamp, error) {
	ts, err := hlc.Parse(s)
	if err != nil && len(s) == 22 && s[0] == '1' && s[16] == '-' && digitsOnly(s[:16]) && digitsOnly(s[17:]) {
		return hlc.Timestamp{Wall: hlc.MaxWall, Logical: hlc.MaxLogical}, nil
	}
	return ts, err
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// writeSyncClock persists the clock and list counter in a commit batch. It
// writes the connection's current values (not the transaction's), so a
// transaction committing late never moves them backwards.
func (c *Conn) writeSyncClock(b *kv.Batch) {
	b.Set(syncClockKey, c.syncClockValue())
}

func (c *Conn) syncClockValue() []byte {
	st := c.syncSt
	return value.Encode(value.ObjectOf(mem("h", str(st.clock.Last().String())), mem("s", num(st.seq))))
}

// EnableSync makes an existing table synced (conn.sync({ tables })): from
// now on its writes are queued, and every row it already holds is queued
// too, in the same batch as the schema change, so the server learns them.
// A table that is already synced is left alone.
func (c *Conn) EnableSync(db, name string) error {
	return c.ddl(func(cat *catalog, w *kv.Overlay) error {
		tables, ok := cat.DBs[db]
		if !ok {
			return errorf(CodeNoSuchDatabase, "no database %q", db)
		}
		t, ok := tables[name]
		if !ok {
			return errorf(CodeNoSuchTable, "no table %q in database %q", name, db)
		}
		if t.Sync {
			return nil
		}
		if err := checkSyncable(t); err != nil {
			return err
		}
		nt := t.clone()
		nt.Sync = true
		nt.Version++
		nt.prepare()
		tables[name] = nt
		if _, err := c.syncInit(); err != nil {
			return err
		}
		tx := &Tx{c: c}
		err := eachRow(w, nt, func(key []byte, r row) error {
			return tx.syncChange(w, nt, append([]byte(nil), key...), nil, r)
		})
		if err != nil {
			return err
		}
		w.Set(syncClockKey, c.syncClockValue())
		return nil
	})
}

// syncKey is a row's key as the sync protocol names it: the primary key
// value, or an array of the values of a compound key.
func (t *Table) syncKey(r row) value.Value {
	if len(t.pkPos) == 1 {
		return r[t.pkPos[0]]
	}
	out := make([]value.Value, len(t.pkPos))
	for i, p := range t.pkPos {
		out[i] = r[p]
	}
	return value.ArrayOf(out)
}

// keyFromSync turns a protocol key back into the row's store key.
func (t *Table) keyFromSync(key value.Value) ([]byte, error) {
	r := make(row, len(t.Columns))
	if len(t.pkPos) == 1 {
		r[t.pkPos[0]] = key
	} else {
		if key.Kind() != value.Array || key.Len() != len(t.pkPos) {
			return nil, errorf(CodeBadValue, "key of %s must be an array of %d values", t.Name, len(t.pkPos))
		}
		for i, p := range t.pkPos {
			r[p] = key.Index(i)
		}
	}
	for _, p := range t.pkPos {
		if err := t.checkType(p, r[p]); err != nil {
			return nil, err
		}
		if r[p].IsNull() {
			return nil, errorf(CodeBadValue, "key of %s has a null part", t.Name)
		}
	}
	k, err := t.pkKey(nil, r, 0)
	if err != nil {
		return nil, errorf(CodeTypeMismatch, "key of %s: %v", t.Name, err)
	}
	return k, nil
}

func encodeMeta(m RowMeta) []byte {
	return value.Encode(value.ObjectOf(mem("h", str(m.HLC)), mem("o", str(m.Origin)), mem("d", value.BoolOf(m.Deleted))))
}

func decodeMeta(b []byte) (RowMeta, error) {
	v, err := value.Decode(b)
	if err != nil || v.Kind() != value.Object {
		return RowMeta{}, errorf(CodeCorrupt, "sync metadata is corrupt")
	}
	h, _ := v.Get("h")
	o, _ := v.Get("o")
	d, _ := v.Get("d")
	return RowMeta{HLC: h.Str(), Origin: o.Str(), Deleted: d.Kind() == value.Bool && d.Bool()}, nil
}

func encodeEntry(e *SyncEntry) []byte {
	return value.Encode(value.ObjectOf(
		mem("op", str(e.Op)), mem("t", num(uint64(e.TableID))), mem("k", e.Key), mem("r", e.Row),
		mem("b", e.Base), mem("h", str(e.HLC)), mem("o", str(e.Origin)), mem("n", e.Note)))
}

func (c *Conn) decodeEntry(seq uint64, b []byte) (SyncEntry, error) {
	v, err := value.Decode(b)
	if err != nil || v.Kind() != value.Object {
		return SyncEntry{}, errorf(CodeCorrupt, "sync entry %d is corrupt", seq)
	}
	get := func(k string) value.Value { f, _ := v.Get(k); return f }
	e := SyncEntry{Seq: seq, Op: get("op").Str(), TableID: uint32(get("t").Number()), Key: get("k"),
		Row: get("r"), Base: get("b"), HLC: get("h").Str(), Origin: get("o").Str(), Note: get("n")}
	for db, tables := range c.cat.DBs {
		for name, t := range tables {
			if t.ID == e.TableID {
				e.DB, e.Table = db, name
			}
		}
	}
	return e, nil
}

// recordSync is mutate's hook for synced tables: it writes the row's
// metadata and, for a local write, the outbox entry, into the same overlay
// as the row. A primary-key change is a delete of the old key and a write of
// the new one.
func (tx *Tx) recordSync(w *kv.Overlay, t *Table, oldKey []byte, old row, newKey []byte, newRow row) error {
	if old == nil && newRow == nil {
		return tx.syncChange(w, t, tx.remoteKey, nil, nil)
	}
	if old != nil && (newRow == nil || string(oldKey) != string(newKey)) {
		if err := tx.syncChange(w, t, oldKey, old, nil); err != nil {
			return err
		}
		old = nil
	}
	if newRow != nil {
		return tx.syncChange(w, t, newKey, old, newRow)
	}
	return nil
}

func (tx *Tx) syncChange(w *kv.Overlay, t *Table, key []byte, old, newRow row) error {
	c := tx.c
	st, err := c.syncInit()
	if err != nil {
		return err
	}
	mk := append(metaPrefix(t.ID), key[len(t.primaryPrefix):]...)
	if tx.remoteMeta != nil {
		m := *tx.remoteMeta
		m.Deleted = newRow == nil
		w.Set(mk, encodeMeta(m))
		return nil
	}
	now, err := st.clock.Now()
	if err != nil {
		return clockErr(err, "issue a sync clock reading")
	}
	ts := now.String()
	w.Set(mk, encodeMeta(RowMeta{HLC: ts, Origin: st.client, Deleted: newRow == nil}))
	e := SyncEntry{Op: randomHex(16), TableID: t.ID, Row: value.NullValue, Base: value.NullValue, HLC: ts, Origin: st.client}
	if newRow != nil {
		e.Key, e.Row = t.syncKey(newRow), t.rowObject(newRow)
	} else {
		e.Key = t.syncKey(old)
	}
	if old != nil {
		e.Base = t.rowObject(old)
	}
	st.seq++
	w.Set(listKey(Outbox, st.seq), encodeEntry(&e))
	tx.syncDirty = true
	return nil
}

// syncTable looks up a table that must be synced.
func (tx *Tx) syncTable(db, table string) (*Table, error) {
	t, err := tx.lookupTable(db, table)
	if err != nil {
		return nil, err
	}
	if !t.Sync {
		return nil, errorf(CodeBadQuery, "table %q is not synced (create it with sync: true)", table)
	}
	return t, nil
}

// SyncClientID is this database file's sync client id (its origin in the
// protocol), created on first use and stored.
func (c *Conn) SyncClientID() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return "", err
	}
	st, err := c.syncInit()
	if err != nil {
		return "", err
	}
	return st.client, nil
}

// SyncTables lists the synced tables of a database, sorted.
func (c *Conn) SyncTables(db string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tables, ok := c.cat.DBs[db]
	if !ok {
		return nil, errorf(CodeNoSuchDatabase, "no database %q", db)
	}
	var out []string
	for _, n := range sortedKeys(tables) {
		if tables[n].Sync {
			out = append(out, n)
		}
	}
	return out, nil
}

// PutSynced writes row (null: deletes the row) under key in a synced table,
// replacing the row whole. With meta nil it is a local write: it gets a
// fresh clock reading and an outbox entry. With meta it applies a change
// received from the server: the row takes that version, nothing is queued,
// and the clock moves past it. It reports whether the stored row changed.
func (tx *Tx) PutSynced(db, table string, key, rowVal value.Value, meta *RowMeta) (bool, error) {
	defer tx.lock()()
	changed := false
	err := tx.statement(func(w *kv.Overlay) error {
		t, err := tx.syncTable(db, table)
		if err != nil {
			return err
		}
		if _, err := tx.c.syncInit(); err != nil {
			return err
		}
		var nr row
		if !rowVal.IsNull() {
			if nr, _, err = t.rowFromObject(rowVal); err != nil {
				return err
			}
			if !value.Equal(t.syncKey(nr), key) {
				return errorf(CodeBadValue, "row of %s does not carry its key %s", t.Name, key)
			}
		}
		k, err := t.keyFromSync(key)
		if err != nil {
			return err
		}
		var old row
		raw, err := w.Get(k)
		switch {
		case err == nil:
			if old, err = decodeRow(t, raw); err != nil {
				return err
			}
		case !errors.Is(err, kv.ErrNotFound):
			return storageErr("read row", err)
		}
		changed = !sameRow(old, nr)
		if meta != nil {
			if err := tx.c.syncSt.observe(meta.HLC); err != nil {
				return err
			}
			tx.syncDirty = true
			tx.remoteMeta, tx.remoteKey = meta, k
			defer func() { tx.remoteMeta, tx.remoteKey = nil, nil }()
		} else if !changed && old == nil {
			return nil // deleting a row that is not there queues nothing
		}
		oldKey := k
		if old == nil {
			oldKey = nil
		}
		return tx.mutate(w, t, oldKey, old, nr, 0, false)
	})
	return changed, err
}

func sameRow(a, b row) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !value.Equal(a[i], b[i]) || a[i].Kind() != b[i].Kind() {
			return false
		}
	}
	return true
}

// SyncRow reads a synced row and its version. row is null when absent; ok
// is false when the row has no metadata (never written while synced).
func (tx *Tx) SyncRow(db, table string, key value.Value) (rowVal value.Value, meta RowMeta, ok bool, err error) {
	defer tx.lock()()
	if err = tx.check(); err != nil {
		return
	}
	t, err := tx.syncTable(db, table)
	if err != nil {
		return
	}
	k, err := t.keyFromSync(key)
	if err != nil {
		return
	}
	rowVal = value.NullValue
	r := tx.reader()
	raw, gerr := r.Get(k)
	switch {
	case gerr == nil:
		rw, derr := decodeRow(t, raw)
		if derr != nil {
			return rowVal, meta, false, derr
		}
		rowVal = t.rowObject(rw)
	case !errors.Is(gerr, kv.ErrNotFound):
		return rowVal, meta, false, storageErr("read row", gerr)
	}
	raw, gerr = r.Get(append(metaPrefix(t.ID), k[len(t.primaryPrefix):]...))
	switch {
	case gerr == nil:
		meta, err = decodeMeta(raw)
		ok = err == nil
	case !errors.Is(gerr, kv.ErrNotFound):
		err = storageErr("read sync metadata", gerr)
	}
	return
}

// ObserveSyncClock moves the sync clock past a timestamp received from the
// server, even when the change it came with is not applied (a local change
// that wins, say): every later local change is then ordered after it.
func (tx *Tx) ObserveSyncClock(ts string) error {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return err
	}
	st, err := tx.c.syncInit()
	if err != nil {
		return err
	}
	if err := st.observe(ts); err != nil {
		return err
	}
	tx.syncDirty = true
	return nil
}

// NextSyncClock issues a fresh sync clock reading, for a change sent again
// with a new time (one the server refused because the device's clock ran
// ahead of it).
func (tx *Tx) NextSyncClock() (string, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return "", err
	}
	st, err := tx.c.syncInit()
	if err != nil {
		return "", err
	}
	ts, err := st.clock.Now()
	if err != nil {
		return "", clockErr(err, "issue a sync clock reading")
	}
	tx.syncDirty = true
	return ts.String(), nil
}

// SyncRows calls fn with the key of every live row of a synced table.
func (tx *Tx) SyncRows(db, table string, fn func(key value.Value) error) error {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return err
	}
	t, err := tx.syncTable(db, table)
	if err != nil {
		return err
	}
	return eachRow(tx.reader(), t, func(_ []byte, r row) error { return fn(t.syncKey(r)) })
}

// SyncEntries lists up to limit entries (0: all) of a list in order, those
// of database db only (all databases when db is empty).
func (tx *Tx) SyncEntries(l SyncList, db string, limit int) ([]SyncEntry, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return nil, err
	}
	lo := []byte{syncTag, byte(l)}
	it := tx.reader().NewIter(kv.IterOptions{Lower: lo, Upper: keys.PrefixEnd(lo)})
	var out []SyncEntry
	for it.Next() && (limit <= 0 || len(out) < limit) {
		if len(it.Key()) != 10 {
			continue
		}
		e, err := tx.c.decodeEntry(binary.BigEndian.Uint64(it.Key()[2:]), it.Value())
		if err != nil {
			it.Close()
			return nil, err
		}
		if db == "" || e.DB == db || e.Table == "" {
			out = append(out, e)
		}
	}
	if err := it.Close(); err != nil {
		return nil, storageErr("scan sync list", err)
	}
	return out, nil
}

// SyncDelete removes an entry from a list.
func (tx *Tx) SyncDelete(l SyncList, seq uint64) error {
	defer tx.lock()()
	return tx.statement(func(w *kv.Overlay) error {
		w.Delete(listKey(l, seq))
		return nil
	})
}

// SyncAppend adds an entry at the end of a list and returns its position.
// Moving an outbox entry to the dead letters (or back) keeps its op id, so
// a retried op is still applied at most once.
func (tx *Tx) SyncAppend(l SyncList, e SyncEntry) (uint64, error) {
	defer tx.lock()()
	var seq uint64
	err := tx.statement(func(w *kv.Overlay) error {
		st, err := tx.c.syncInit()
		if err != nil {
			return err
		}
		if e.Table != "" {
			t, err := tx.syncTable(e.DB, e.Table)
			if err != nil {
				return err
			}
			e.TableID = t.ID
		}
		st.seq++
		seq = st.seq
		tx.syncDirty = true
		w.Set(listKey(l, seq), encodeEntry(&e))
		return nil
	})
	return seq, err
}

// SyncState reads a named sync state value (null when unset).
func (tx *Tx) SyncState(name string) (value.Value, error) {
	defer tx.lock()()
	if err := tx.check(); err != nil {
		return value.Value{}, err
	}
	raw, err := tx.reader().Get(append(append([]byte(nil), syncStatePrefix...), "u"+name...))
	if errors.Is(err, kv.ErrNotFound) {
		return value.NullValue, nil
	} else if err != nil {
		return value.Value{}, storageErr("read sync state", err)
	}
	v, err := value.Decode(raw)
	if err != nil {
		return value.Value{}, errorf(CodeCorrupt, "sync state %q is corrupt", name)
	}
	return v, nil
}

// SetSyncState stores a named sync state value in the transaction, so a
// pull cursor commits together with the rows it covers.
func (tx *Tx) SetSyncState(name string, v value.Value) error {
	defer tx.lock()()
	return tx.statement(func(w *kv.Overlay) error {
		w.Set(append(append([]byte(nil), syncStatePrefix...), "u"+name...), value.Encode(v))
		return nil
	})
}

// dropSyncData removes a dropped synced table's metadata and queued entries.
func dropSyncData(w *kv.Overlay, t *Table) error {
	if err := deleteRange(w, metaPrefix(t.ID)); err != nil {
		return err
	}
	for _, l := range []SyncList{Outbox, DeadLetters, Conflicts} {
		lo := []byte{syncTag, byte(l)}
		var del [][]byte
		it := w.NewIter(kv.IterOptions{Lower: lo, Upper: keys.PrefixEnd(lo)})
		for it.Next() {
			if v, err := value.Decode(it.Value()); err == nil {
				if id, _ := v.Get("t"); uint32(id.Number()) == t.ID {
					del = append(del, append([]byte(nil), it.Key()...))
				}
			}
		}
		if err := it.Close(); err != nil {
			return storageErr("scan sync list", err)
		}
		for _, k := range del {
			w.Delete(k)
		}
	}
	return nil
}

// checkSyncable says whether a table can be synced: its rows need a key the
// app chooses (generated ids would collide across devices) and values the
// JSON protocol carries.
func checkSyncable(t *Table) error {
	if len(t.PK) == 0 {
		return badSpec("createTable "+t.Name, "a synced table needs a primary key")
	}
	for _, c := range t.Columns {
		if c.AutoIncrement {
			return badSpec("createTable "+t.Name, "a synced table cannot use autoIncrement (ids would collide across devices); use app-chosen keys such as random strings")
		}
		if c.Type == TypeBytes {
			return badSpec("createTable "+t.Name, "a synced table cannot have bytes column %q (the sync protocol is JSON)", c.Name)
		}
	}
	return nil
}
