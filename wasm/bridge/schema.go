package bridge

import (
	"minibase/engine"
	"minibase/engine/value"
)

// The ops of versioned schemas (js/src/schema.js drives them): every one
// takes [conn, tx, ...], tx being an explicit transaction, or 0 where a
// read of the committed state is meant.

// runSchema serves the schema ops; ok is false for any other op.
func (c *call) runSchema() (ok bool, err error) {
	switch c.op {
	case "schemaVersion", "setSchemaVersion", "declareTable", "txSchema":
	default:
		return false, nil
	}
	conn, err := c.conn()
	if err != nil {
		return true, err
	}
	txID, err := c.handle(1)
	if err != nil {
		return true, err
	}
	var tx *engine.Tx
	if txID != 0 {
		if tx, err = conn.Tx(txID); err != nil {
			return true, err
		}
	} else if c.op != "schemaVersion" {
		return true, c.bad("needs an explicit transaction")
	}
	switch c.op {
	case "schemaVersion":
		var v uint64
		if tx != nil {
			v, err = tx.SchemaVersion()
		} else {
			v, err = conn.SchemaVersion()
		}
		if err != nil {
			return true, err
		}
		return true, c.result(value.NumberOf(float64(v)))
	case "setSchemaVersion":
		v := c.arg(2)
		if !v.IsInteger() || v.Number() < 1 {
			return true, c.bad("the version must be a whole number from 1, got %s", v)
		}
		if err := tx.SetSchemaVersion(uint64(v.Number())); err != nil {
			return true, err
		}
		return true, c.result(value.NullValue)
	case "declareTable":
		return true, c.declareTable(tx)
	}
	return true, c.txSchema(tx)
}

// declareTable is [conn, tx, db, table, spec, { create }]: it answers the
// list of what it created.
func (c *call) declareTable(tx *engine.Tx) error {
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
	done, err := tx.Schema().Declare(db, table, spec, create)
	if err != nil {
		return err
	}
	return c.result(stringArray(done))
}

// txSchema is [conn, tx, op, ...args]: the schema op with its usual
// arguments after conn, run inside the transaction.
func (c *call) txSchema(tx *engine.Tx) error {
	op, err := c.str(2, "schema operation")
	if err != nil {
		return err
	}
	inner := &call{b: c.b, op: op, args: append([]value.Value{c.arg(0)}, c.args[min(3, len(c.args)):]...), out: c.out}
	defer func() { c.out = inner.out }()
	s := tx.Schema()
	switch op {
	case "createDatabase", "dropDatabase":
		name, err := inner.userDB(1, "database name")
		if err != nil {
			return err
		}
		if op == "createDatabase" {
			var ifNotExists bool
			if ifNotExists, err = inner.flag(2, "ifNotExists"); err == nil {
				err = s.CreateDatabase(name, ifNotExists)
			}
		} else {
			var ifExists bool
			if ifExists, err = inner.flag(2, "ifExists"); err == nil {
				err = s.DropDatabase(name, ifExists)
			}
		}
		if err != nil {
			return err
		}
		return inner.result(value.NullValue)
	case "showDatabases":
		names, err := s.Databases()
		if err != nil {
			return err
		}
		return inner.result(stringArray(names))
	case "showTables":
		db, err := inner.dbArg(1)
		if err != nil {
			return err
		}
		names, err := s.Tables(db)
		if err != nil {
			return err
		}
		return inner.result(stringArray(names))
	}
	fn, ok := ddlOps[op]
	if !ok {
		return c.bad("unknown schema operation %q", op)
	}
	db, err := inner.dbArg(1)
	if err != nil {
		return err
	}
	table, err := inner.str(2, "table name")
	if err != nil {
		return err
	}
	return fn(inner, s, db, table)
}
