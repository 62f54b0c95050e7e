// Package engine is minibase's relational layer: a Conn holds databases,
// their tables and schemas, and runs queries and transactions over an
// ordered, crash-safe key-value store (engine/lsm) that sees storage only
// through fsadapter.
//
// # Basics
//
// Open a Conn on a filesystem adapter, create a database and tables, and
// read and write through a Tx: either an explicit one from Begin (committed
// with Commit, discarded with Rollback) or an autocommit statement run by
// Auto. Rows are value.Value objects; queries are parsed from the same JSON
// shapes the JS API accepts (ParseQuery, ParseTableSpec).
//
//	c, _ := engine.Open(fs, engine.Options{})
//	_ = c.CreateDatabase("shop", true)
//	spec, _ := engine.ParseTableSpec(specValue)
//	_ = c.CreateTable("shop", "users", spec)
//	_ = c.Auto(func(tx *engine.Tx) error {
//		_, err := tx.Insert("shop", "users", row)
//		return err
//	})
//
// Every row lives under its primary key (or a hidden row id); every unique
// and secondary index entry is a key of its own pointing at the primary key.
// One mutate path writes rows and keeps all indexes in step, so constraints
// hold for every statement, and change observers can hang off it later.
//
// # Caveats
//
//   - Transactions use snapshot isolation with first-committer-wins: Commit
//     fails with TX_CONFLICT when a commit made after the transaction began
//     wrote one of its keys. Write skew between disjoint keys is possible.
//   - Schema changes are autocommit and migrate rows in one batch, so their
//     cost grows with the table.
//   - Rows live in an LSM store (engine/lsm): recent writes in a memtable
//     made durable by a log, the rest in sorted segment files read one
//     block at a time through a block cache, so memory is bounded by the
//     memtable and cache sizes, not by the data. A transaction's own
//     writes are held in memory until it commits.
//   - A caller that may send a call twice (a browser tab resending to a new
//     owner) names it with a CallID and attaches its answer to the commit
//     (Tx.RecordCall): the answer is durable with the data or not at all,
//     and CallAnswer finds it when the call comes again (calls.go). A commit
//     that writes nothing records nothing.
//
// Errors are *Error values with a stable Code; match them with errors.Is
// against the Err… sentinels, or read the code with CodeOf.
package engine
