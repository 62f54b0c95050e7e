package kvstore

import (
	"fmt"

	"minibase/engine"
	"minibase/engine/value"
)

// OpKind names what a batch operation does.
type OpKind string

// The batch operations.
const (
	OpSet    OpKind = "set"
	OpGet    OpKind = "get"
	OpHas    OpKind = "has"
	OpRemove OpKind = "remove"
)

// Op is one operation of a Batch.
type Op struct {
	Kind    OpKind
	Key     string
	Value   value.Value // set: the value
	Options SetOptions  // set: its options
	Default value.Value // get: returned when the key is missing or expired
}

// Batch runs ops in order in one transaction and returns one result per op:
// get → the value (or the op's Default), has → a boolean, remove → whether
// the key held a live value, set → null. The writes apply atomically: when
// any op fails, none of them does, and the error names the failing op. Reads
// see the batch's own earlier writes.
func (m *Manager) Batch(ops []Op) ([]value.Value, error) {
	// Validate and build every record first: a bad op then fails the batch
	// before the transaction starts, and no crypto runs under the lock.
	sets := make([]prepared, len(ops))
	fulls := make([]string, len(ops))
	for i, op := range ops {
		var err error
		switch op.Kind {
		case OpSet:
			sets[i], err = m.prepareSet(op.Key, op.Value, op.Options)
			fulls[i] = sets[i].full
		case OpGet, OpHas, OpRemove:
			fulls[i], err = m.fullKey(op.Key)
		default:
			err = badValue(fmt.Sprintf("unknown type %q (set, get, has, remove)", op.Kind))
		}
		if err != nil {
			return nil, opErr(i, err)
		}
	}
	out := make([]value.Value, len(ops))
	now := m.nowMs()
	err := m.conn.Auto(func(tx *engine.Tx) error {
		for i, op := range ops {
			var err error
			switch op.Kind {
			case OpSet:
				out[i] = value.NullValue
				err = m.applySet(tx, sets[i])
			case OpGet, OpHas:
				var it item
				var found bool
				it, found, _, err = m.lookup(tx, fulls[i], now)
				switch {
				case err != nil:
				case op.Kind == OpHas:
					out[i] = value.BoolOf(found)
				case !found:
					out[i] = op.Default // the zero Value is null
				default:
					// Decoded inside the transaction: a value that fails to
					// decrypt fails the batch before anything commits.
					out[i], err = decodeRecord(fulls[i], it.rec, m.aead)
				}
			case OpRemove:
				var found bool
				found, err = m.applyRemove(tx, fulls[i], now)
				out[i] = value.BoolOf(found)
			}
			if err != nil {
				return opErr(i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func opErr(i int, err error) error {
	return &engine.Error{Code: engine.CodeOf(err), Msg: fmt.Sprintf("batch op %d: %v", i, err), Err: err}
}
