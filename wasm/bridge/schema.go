package bridge

import (
	"minibase/engine"
	"minibase/engine/value"
)

// The ops of versioned schemas (js/src/schema.js drives them): every one
// takes [conn, tx, ...], tx being an explicit transaction, or 0 where a
// read of the committed state is meant.

// opSchemaVersion serves [conn, tx]: the version tx sees, or the committed one
// when tx is 0.
func opSchemaVersion(c *call, conn *engine.Conn) error {
	txID, err := c.handle(1)
	if err != nil {
		return err
	}
	var v uint64
	if txID == 0 {
		v, err = conn.SchemaVersion()
	} else {
		var tx *engine.Tx
		if tx, err = conn.Tx(txID); err == nil {
			v, err = tx.SchemaVersion()
		}
	}
	if err != nil {
		return err
	}
	return c.result(value.NumberOf(float64(v)))
}

func opSetSchemaVersion(c *call, tx *engine.Tx) error {
	v := c.arg(2)
	if !v.IsInteger() || v.Number() < 1 {
		return c.bad("the version must be a whole number from 1, got %s", v)
	}
	return c.done(tx.SetSchemaVersion(uint64(v.Number())))
}

// opDeclareTable serves [conn, tx, db, table, spec, { create }]: it answers the
// list of what it created.
func opDeclareTable(c *call, tx *engine.Tx) error {
	db, err := c.userDB(2, "database name")
	if err != nil {
		return err
	}
	table, err := c.str(3, "table name")
	if err != nil {
		return err
	}
	spec, err := engine.ParseTableSpec(c.arg(4))
	if err != nil {
		return err
	}
	create, err := c.flag(5, "create")
	if err != nil {
		return err
	}
	return c.strings(tx.Schema().Declare(db, table, spec, create))
}

// opTxSchema serves [conn, tx, op, ...args]: the schema op with its usual
// arguments after conn, run inside the transaction.
func opTxSchema(c *call, tx *engine.Tx) error {
	op, err := c.str(2, "schema operation")
	if err != nil {
		return err
	}
	inner := &call{b: c.b, op: op, args: append([]value.Value{c.arg(0)}, c.args[min(3, len(c.args)):]...), out: c.out, start: c.start}
	defer func() { c.out = inner.out }()
	spec := opsByName[op]
	if spec == nil || spec.schema == nil && spec.ddl == nil {
		return c.bad("unknown schema operation %q", op)
	}
	return spec.runSchema(inner, tx.Schema())
}
