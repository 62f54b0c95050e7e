package bridge

import (
	"encoding/binary"
	"strings"

	"minibase/engine"
	"minibase/engine/value"
)

// A once envelope, ["once", from, seq, op, ...args], runs [op, ...args] as
// call seq of caller from (wasm/PROTOCOL.md): a caller that resends a call
// whose answer it lost gets the answer of the run that committed instead of
// a second run. For the ops declared once, the answer is committed with the
// call's writes as a call record (engine/calls.go), and found there when the
// call comes again; other ops just run.

// maxCallerBytes bounds a caller's name: it is part of every record's key.
const maxCallerBytes = 256

// nullAnswer is the response of an op that answers null.
var nullAnswer = []byte{StatusOK, value.TagNull}

// unwrapOnce reads the head of a once envelope and returns the call's id and
// the request inside it, [op, ...args], which it writes in place over the
// envelope's head (so that insertMany inside an envelope still streams from
// the request). It reports false for anything else, including a malformed
// envelope, which then reaches opOnce to be reported.
func unwrapOnce(req []byte) (engine.CallID, []byte, bool) {
	d := value.NewDecoder(req)
	n, err := d.ArrayHeader()
	if err != nil || n < 4 {
		return engine.CallID{}, nil, false
	}
	if op, ok := d.StringView(); !ok || op != "once" {
		return engine.CallID{}, nil, false
	}
	from, ok := d.StringView()
	if !ok || len(from) > maxCallerBytes {
		return engine.CallID{}, nil, false
	}
	from = strings.Clone(from) // a view of bytes about to be overwritten
	seq, err := d.Next()
	if err != nil || !seq.IsInteger() || seq.Number() < 0 {
		return engine.CallID{}, nil, false
	}
	head := binary.AppendUvarint([]byte{value.TagArray}, uint64(n-3))
	at := d.Offset() - len(head) // the envelope's head is longer: it also held "once", from and seq
	copy(req[at:], head)
	return engine.CallID{From: from, Seq: uint64(seq.Number())}, req[at:], true
}

// handleOnce runs inner as call id: from its record when it committed
// before, else with its record committed with its writes.
func (b *Bridge) handleOnce(id engine.CallID, inner []byte, out []byte) []byte {
	d := value.NewDecoder(inner)
	_, _ = d.ArrayHeader()
	op, _ := d.StringView()
	spec := opsByName[op]
	if spec == nil || !spec.once {
		return b.handle(inner, out)
	}
	if h, err := d.Next(); err == nil && h.IsInteger() {
		if sh, ok := b.conns[uint32(h.Number())]; ok {
			answer, ok, err := sh.conn.CallAnswer(id)
			if err != nil {
				return appendError(out, engine.CodeOf(err), op+": "+err.Error())
			}
			if ok {
				return append(out, answer...)
			}
		}
	}
	b.once = &id
	defer func() { b.once = nil }()
	return b.handle(inner, out)
}

// opOnce is reached only by an envelope unwrapOnce could not read.
func opOnce(c *call) error {
	return c.bad("a once envelope is [\"once\", from (string of at most %d bytes), seq (whole number >= 0), op, ...args]", maxCallerBytes)
}

// opSettle serves [conn, from, floor]: caller from has the answers of its
// calls numbered below floor, whose records go; it answers how many went.
func opSettle(c *call, conn *engine.Conn) error {
	from, err := c.caller()
	if err != nil {
		return err
	}
	floor := c.arg(2)
	if !floor.IsInteger() || floor.Number() < 0 {
		return c.bad("floor must be a whole number >= 0")
	}
	return c.number(conn.SettleCalls(from, uint64(floor.Number())))
}

// opRecorded serves [conn, from, seq]: null when call seq of from has no
// record, else [status, value], the response it was answered with. A caller
// asks before it would refuse a resent call (its handles are of an older
// owner's), which a once envelope could not name a connection for.
func opRecorded(c *call, conn *engine.Conn) error {
	from, err := c.caller()
	if err != nil {
		return err
	}
	seq := c.arg(2)
	if !seq.IsInteger() || seq.Number() < 0 {
		return c.bad("seq must be a whole number >= 0")
	}
	answer, ok, err := conn.CallAnswer(engine.CallID{From: from, Seq: uint64(seq.Number())})
	if err != nil {
		return err
	}
	if !ok {
		return c.result(value.NullValue)
	}
	if len(answer) < 2 {
		return &engine.Error{Code: engine.CodeCorrupt, Msg: "recorded: call record is corrupt"}
	}
	// The record is a response: its status, then its value's encoding, copied as it is.
	c.out = append(c.out, value.TagArray, 2)
	c.out = value.AppendNumber(c.out, float64(answer[0]))
	c.out = append(c.out, answer[1:]...)
	return nil
}

// caller reads argument 1, a caller's name.
func (c *call) caller() (string, error) {
	from, err := c.str(1, "caller")
	if err == nil && len(from) > maxCallerBytes {
		err = c.bad("caller must be at most %d bytes", maxCallerBytes)
	}
	return from, err
}
