package engine

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	"minibase/engine/keys"
	"minibase/engine/kv"
)

// Call records. A caller that may send the same call twice (a browser tab
// forwarding calls to the tab that owns the database resends the calls it
// had no answer to when the owner changes) names each call with a CallID.
// A commit that carries a call's record (Tx.RecordCall) writes the call's
// answer in the same batch as its data, so after any crash either both are
// durable or neither is: a resent call that finds its record was committed
// and is answered from it (CallAnswer) instead of being run again.
//
// A commit with nothing to write writes no record: such a call changed
// nothing, so running it again is harmless.
//
// Records are bookkeeping, not data: the change feed, the sync outbox,
// conflict checks, backups and integrity checks never see them. They go
// when their caller says it has the answers (SettleCalls), and past
// MaxCallRecords the oldest go in the batch that adds a new one, so a
// caller that never settles cannot make them grow without limit.
//
// Key of a record: callPrefix, uvarint(len(From)), From, Seq (8 bytes, big
// endian); value: the record's order (8 bytes, big endian, the order in
// which records were written) then the answer.

// MaxCallRecords bounds the call records a store keeps.
const MaxCallRecords = 4096

// CallID names a call: From is its caller, Seq the caller's number for it.
type CallID struct {
	From string
	Seq  uint64
}

func callFromPrefix(from string) []byte {
	k := append([]byte(nil), callPrefix...)
	k = binary.AppendUvarint(k, uint64(len(from)))
	return append(k, from...)
}

func callKey(id CallID) []byte {
	return binary.BigEndian.AppendUint64(callFromPrefix(id.From), id.Seq)
}

func isCallKey(k []byte) bool { return bytes.HasPrefix(k, callPrefix) }

// callLog is the connection's view of the records in the store, loaded at
// first use: the order of each record, so that a first run (no record)
// costs no store read and the oldest can be found without one.
type callLog struct {
	next  uint64            // order of the next record
	order map[string]uint64 // record key → its order
	queue []callEntry       // by order, oldest first; may hold keys since removed
}

type callEntry struct {
	order uint64
	key   string
}

// pendingCall is the record a transaction's commit writes.
type pendingCall struct {
	id     CallID
	answer []byte
}

// RecordCall makes the transaction's commit also record call id as
// answered with answer (copied), when the commit writes anything. It
// replaces a record set before.
func (tx *Tx) RecordCall(id CallID, answer []byte) {
	tx.call = &pendingCall{id: id, answer: append([]byte(nil), answer...)}
}

// calls loads the call log. The caller holds c.mu.
func (c *Conn) calls() (*callLog, error) {
	if c.callLog != nil {
		return c.callLog, nil
	}
	l := &callLog{order: map[string]uint64{}}
	it := c.store.NewIter(kv.IterOptions{Lower: callPrefix, Upper: keys.PrefixEnd(callPrefix)})
	for it.Next() {
		// A malformed record counts as the oldest, the first to go: it must
		// not stop every recorded commit (CheckIntegrity reports it).
		var o uint64
		if v := it.Value(); len(v) >= 8 {
			o = binary.BigEndian.Uint64(v)
		}
		k := string(it.Key())
		l.order[k] = o
		l.queue = append(l.queue, callEntry{o, k})
		l.next = max(l.next, o+1)
	}
	if err := it.Close(); err != nil {
		return nil, storageErr("read call records", err)
	}
	slices.SortFunc(l.queue, func(a, b callEntry) int { return cmp.Compare(a.order, b.order) })
	c.callLog = l
	return l, nil
}

// writeCall adds p's record to batch b, with the deletions of the oldest
// records past MaxCallRecords; the returned function, run once b is
// durable, brings the log in step.
func (c *Conn) writeCall(b *kv.Batch, p *pendingCall) (func(), error) {
	if p == nil {
		return func() {}, nil
	}
	l, err := c.calls()
	if err != nil {
		return nil, err
	}
	key := callKey(p.id)
	val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(p.answer)), l.next)
	b.Set(key, append(val, p.answer...))
	n := len(l.order)
	if _, ok := l.order[string(key)]; !ok {
		n++
	}
	var drop []string
	for _, e := range l.queue {
		if n <= MaxCallRecords {
			break
		}
		if o, ok := l.order[e.key]; ok && o == e.order && e.key != string(key) {
			b.Delete([]byte(e.key))
			drop = append(drop, e.key)
			n--
		}
	}
	return func() {
		for _, k := range drop {
			delete(l.order, k)
		}
		l.order[string(key)] = l.next
		l.queue = append(l.queue, callEntry{l.next, string(key)})
		l.next++
		l.compact()
	}, nil
}

// compact drops the queue's entries of removed records once they are most
// of it.
func (l *callLog) compact() {
	if len(l.queue) <= 2*len(l.order)+16 {
		return
	}
	keep := l.queue[:0]
	for _, e := range l.queue {
		if o, ok := l.order[e.key]; ok && o == e.order {
			keep = append(keep, e)
		}
	}
	clear(l.queue[len(keep):])
	l.queue = keep
}

// CallAnswer returns the recorded answer of call id, and whether there is
// one.
func (c *Conn) CallAnswer(id CallID) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, false, err
	}
	l, err := c.calls()
	if err != nil {
		return nil, false, err
	}
	key := callKey(id)
	if _, ok := l.order[string(key)]; !ok {
		return nil, false, nil
	}
	v, err := c.store.Get(key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, storageErr("read call record", err)
	case len(v) < 8:
		return nil, false, errorf(CodeCorrupt, "call record is corrupt")
	}
	return append([]byte(nil), v[8:]...), true, nil
}

// SettleCalls forgets the records of caller from's calls numbered below
// floor (the caller has their answers), in a commit of its own; it
// returns how many went.
func (c *Conn) SettleCalls(from string, floor uint64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return 0, err
	}
	l, err := c.calls()
	if err != nil {
		return 0, err
	}
	lo := callFromPrefix(from)
	hi := binary.BigEndian.AppendUint64(append([]byte(nil), lo...), floor)
	lo = binary.BigEndian.AppendUint64(lo, 0)
	b := &kv.Batch{}
	var drop []string
	for k := range l.order {
		if k >= string(lo) && k < string(hi) {
			b.Delete([]byte(k))
			drop = append(drop, k)
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	if err := c.store.Apply(b); err != nil {
		return 0, storageErr("settle calls", err)
	}
	for _, k := range drop {
		delete(l.order, k)
	}
	l.compact()
	return len(drop), nil
}

// CallRecords is the number of call records the store holds.
func (c *Conn) CallRecords() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return 0, err
	}
	l, err := c.calls()
	if err != nil {
		return 0, err
	}
	return len(l.order), nil
}

// checkCalls verifies the call records: each key names a caller and a call
// number, each value holds an order, and there are no more than
// MaxCallRecords.
func checkCalls(r kv.Reader) error {
	it := r.NewIter(kv.IterOptions{Lower: callPrefix, Upper: keys.PrefixEnd(callPrefix)})
	n := 0
	for it.Next() {
		n++
		k := it.Key()[len(callPrefix):]
		l, w := binary.Uvarint(k)
		if w <= 0 || l > uint64(len(k)) || uint64(len(k)-w) != l+8 || len(it.Value()) < 8 {
			it.Close()
			return errorf(CodeCorrupt, "call record %q is malformed", it.Key())
		}
	}
	if err := it.Close(); err != nil {
		return storageErr("read call records", err)
	}
	if n > MaxCallRecords {
		return errorf(CodeCorrupt, "%d call records, more than the %d kept", n, MaxCallRecords)
	}
	return nil
}
