package syncserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"minibase/engine/replica/wire"
)

// schemaVersion is bumped when the tables below change shape.
const schemaVersion = "3"

// The store is one portable SQL schema (SQLite and D1, which is SQLite).
// mb_sync_rows is the compacted change feed: one row per synced row holding its
// winning version and the seq of that version; pulling "seq > since" in seq
// order is reading the feed. A tenant's cursor is the greater of its highest
// row seq and its horizon, so seq is computed inside the one statement that
// writes the row; that keeps seq allocation atomic with the write on D1,
// which has no transactions in the Go driver.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS mb_sync_rows (
		tenant TEXT NOT NULL,
		tbl TEXT NOT NULL,
		key TEXT NOT NULL,
		row TEXT,
		hlc TEXT NOT NULL,
		origin TEXT NOT NULL,
		op TEXT NOT NULL,
		seq INTEGER NOT NULL,
		deleted INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, tbl, key)
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS mb_sync_rows_seq ON mb_sync_rows (tenant, seq)`,
	// Tombstones only (purge reads them by age): a live row's write does not
	// touch this index. Version 2 indexed every row.
	`DROP INDEX IF EXISTS mb_sync_rows_tomb`,
	`CREATE INDEX IF NOT EXISTS mb_sync_rows_tombs ON mb_sync_rows (updated_at) WHERE deleted = 1`,
	`CREATE TABLE IF NOT EXISTS mb_sync_ops (
		tenant TEXT NOT NULL,
		op TEXT NOT NULL,
		seq INTEGER NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (tenant, op)
	)`,
	`CREATE INDEX IF NOT EXISTS mb_sync_ops_at ON mb_sync_ops (at)`,
	// The op log is kept by the rows table itself, so a stored version and its
	// op id are written by one statement (atomic on D1 too).
	`CREATE TRIGGER IF NOT EXISTS mb_sync_rows_op_insert AFTER INSERT ON mb_sync_rows BEGIN
		INSERT OR IGNORE INTO mb_sync_ops (tenant, op, seq, at) VALUES (NEW.tenant, NEW.op, NEW.seq, NEW.updated_at);
	END`,
	`CREATE TRIGGER IF NOT EXISTS mb_sync_rows_op_update AFTER UPDATE OF seq ON mb_sync_rows BEGIN
		INSERT OR IGNORE INTO mb_sync_ops (tenant, op, seq, at) VALUES (NEW.tenant, NEW.op, NEW.seq, NEW.updated_at);
	END`,
	`CREATE TABLE IF NOT EXISTS mb_sync_tenants (
		tenant TEXT NOT NULL PRIMARY KEY,
		horizon INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE IF NOT EXISTS mb_sync_meta (k TEXT NOT NULL PRIMARY KEY, v TEXT NOT NULL)`,
	`INSERT INTO mb_sync_meta (k, v) VALUES ('schema', '` + schemaVersion + `') ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
}

// sqlUpsertBatch stores a chunk of changes (a JSON array, ?2) in one
// statement: D1 counts queries per request, and one statement per change
// would not fit a 1000-change push. A change is skipped when its op is
// already recorded, and wins only if its (hlc, origin) is greater than the
// stored one: last writer wins on the clock, never on arrival. seq is the
// tenant's cursor (read once; the SELECT is evaluated before the inserts)
// plus the change's rank among the candidates, so it is atomic with the
// write even without a transaction. Candidates are filtered against the
// stored state first, so only a batch holding two versions of one row,
// newer first, leaves a gap. RETURNING names the winners. The op log is
// written by trigger, in the same statement.
var sqlUpsertBatch = upsertSQL("json_each(?2) AS j", func(f string) string { return "j.value ->> '" + f + "'" }, "j.key")

// upsertSQL writes the batch statement over a source of changes: src names
// it j, field gives the SQL of one of its fields (t table, k key, r row, h
// hlc, o origin, p op) and ord its order. ?1 is the tenant, ?3 the time.
func upsertSQL(src string, field func(string) string, ord string) string {
	t, k, r, h, o, p := field("t"), field("k"), field("r"), field("h"), field("o"), field("p")
	return `INSERT INTO mb_sync_rows (tenant, tbl, key, row, hlc, origin, op, deleted, updated_at, seq)
SELECT ?1, ` + t + `, ` + k + `, ` + r + `, ` + h + `, ` + o + `, ` + p + `,
	(` + r + `) IS NULL, ?3,
	(SELECT MAX(COALESCE((SELECT MAX(seq) FROM mb_sync_rows WHERE tenant = ?1), 0),
	            COALESCE((SELECT horizon FROM mb_sync_tenants WHERE tenant = ?1), 0)))
		+ ROW_NUMBER() OVER (ORDER BY ` + ord + `)
FROM ` + src + `
WHERE NOT EXISTS (SELECT 1 FROM mb_sync_ops AS o WHERE o.tenant = ?1 AND o.op = ` + p + `)
  AND NOT EXISTS (SELECT 1 FROM mb_sync_rows AS r
	WHERE r.tenant = ?1 AND r.tbl = ` + t + ` AND r.key = ` + k + `
	  AND (r.hlc > ` + h + ` OR (r.hlc = ` + h + ` AND r.origin >= ` + o + `)))
ORDER BY ` + ord + `
ON CONFLICT (tenant, tbl, key) DO UPDATE SET
	row = excluded.row, hlc = excluded.hlc, origin = excluded.origin, op = excluded.op,
	deleted = excluded.deleted, updated_at = excluded.updated_at, seq = excluded.seq
WHERE excluded.hlc > mb_sync_rows.hlc
   OR (excluded.hlc = mb_sync_rows.hlc AND excluded.origin > mb_sync_rows.origin)
RETURNING op, seq`
}

// valuesFields are the columns of upsertValues' source, in the order
// upsertRows binds them.
var valuesFields = map[string]string{"t": "j.column1", "k": "j.column2", "r": "j.column3", "h": "j.column4", "o": "j.column5", "p": "j.column6"}

// upsertValues is the batch statement over n changes bound as arguments
// (?4 on, six per change; anonymous, because the driver looks up every
// argument's name and SQLite finds a numbered one by a linear search) instead of a JSON array: where a push is one
// transaction anyway (SQLite), it spares encoding the changes as JSON and
// SQLite parsing that JSON again for every field it reads, and it is still
// one statement, so the pages it writes are journaled once, not once per
// change as one statement per change would.
func upsertValues(n int) string {
	var b strings.Builder
	b.WriteString("(VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(?, ?, ?, ?, ?, ?, %d)", i)
	}
	b.WriteString(") AS j")
	return upsertSQL(b.String(), func(f string) string { return valuesFields[f] }, "j.column7")
}

const (

	// sqlOpsOf finds recorded ops among the changes of a chunk that did not
	// win. CROSS JOIN keeps the changes the outer loop (SQLite's order
	// constraint): the planner would otherwise walk every op of the tenant
	// and scan the JSON for each.
	sqlOpsOf = `SELECT j.key, o.seq FROM json_each(?2) AS j
CROSS JOIN mb_sync_ops AS o ON o.tenant = ?1 AND o.op = j.value ->> 'p'`

	// sqlCurrentOf reads the stored versions of the rows of those changes
	// (CROSS JOIN as above).
	sqlCurrentOf = `SELECT j.key, r.op, r.row, r.hlc, r.origin, r.seq FROM json_each(?2) AS j
CROSS JOIN mb_sync_rows AS r ON r.tenant = ?1 AND r.tbl = j.value ->> 't' AND r.key = j.value ->> 'k'`

	sqlCursor = `SELECT MAX(COALESCE((SELECT MAX(seq) FROM mb_sync_rows WHERE tenant = ?1), 0),
	COALESCE((SELECT horizon FROM mb_sync_tenants WHERE tenant = ?1), 0)),
	COALESCE((SELECT horizon FROM mb_sync_tenants WHERE tenant = ?1), 0)`
)

// querier is what both *sql.DB and *sql.Tx offer; on D1 pushes run on the DB.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func migrate(ctx context.Context, db *sql.DB) error {
	var v string
	if err := db.QueryRowContext(ctx, `SELECT v FROM mb_sync_meta WHERE k = 'schema'`).Scan(&v); err == nil && v == schemaVersion {
		return nil // the common case on Workers, where New runs per request
	}
	for _, m := range migrations {
		if _, err := db.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("syncserver: migrate: %w", err)
		}
	}
	return nil
}

// chunkBytes bounds the JSON handed to one statement (D1 caps a bound
// string at 2 MB).
const chunkBytes = 900 << 10

// wireIn is a change as the batch statement reads it from JSON.
type wireIn struct {
	P string  `json:"p"`
	T string  `json:"t"`
	K string  `json:"k"`
	R *string `json:"r"`
	H string  `json:"h"`
	O string  `json:"o"`
}

func toWireIn(c *change) wireIn {
	w := wireIn{P: c.Op, T: c.Table, K: c.Key, H: c.HLC, O: c.Origin}
	if c.Row != nil {
		r := string(c.Row)
		w.R = &r
	}
	return w
}

// applyChanges stores validated changes and reports each one's fate, and
// the tenant's cursor after them when batch gave it (else -1). It is
// correct inside a transaction (tx, SQLite: changes bound as arguments), as one batch (D1
// with batch, one transaction), and chunk by chunk without either (D1):
// each statement decides winners and assigns seq by itself.
func applyChanges(ctx context.Context, q querier, tx *writeTx, batch BatchFunc, tenant string, changes []change, nowMS int64) ([]wire.PushResult, bool, int64, error) {
	results := make([]wire.PushResult, len(changes))
	// A repeated op id within one push is answered like its first occurrence
	// and never reaches the store twice.
	first := make(map[string]int, len(changes))
	var todo []int
	for i := range changes {
		if _, ok := first[changes[i].Op]; !ok {
			first[changes[i].Op] = i
			todo = append(todo, i)
		}
	}
	var chunks []chunk
	var wons []map[string]int64
	cursor := int64(-1)
	if tx != nil {
		// One chunk: its changes go as arguments, never as JSON.
		chunks = []chunk{{idx: todo}}
		won, err := upsertRows(ctx, tx, tenant, changes, todo, nowMS)
		if err != nil {
			return nil, false, -1, err
		}
		wons = []map[string]int64{won}
	} else {
		var err error
		if chunks, err = planChunks(changes, todo); err != nil {
			return nil, false, -1, err
		}
		wons = make([]map[string]int64, len(chunks))
		if batch != nil {
			if wons, cursor, err = upsertBatch(ctx, batch, tenant, chunks, nowMS); err != nil {
				return nil, false, -1, err
			}
		} else {
			for i, c := range chunks {
				if wons[i], err = upsertChunk(ctx, q, tenant, c.raw, nowMS); err != nil {
					return nil, false, -1, err
				}
			}
		}
	}
	applied := false
	for i, c := range chunks {
		if err := resolveChunk(ctx, q, tenant, changes, c.idx, wons[i], results); err != nil {
			return nil, false, -1, err
		}
		applied = applied || len(wons[i]) > 0
	}
	for i := range changes {
		f := first[changes[i].Op]
		if f == i {
			continue
		}
		results[i] = results[f]
		if results[f].Status == wire.Applied {
			results[i].Status = wire.Duplicate
		}
	}
	return results, applied, cursor, nil
}

// chunk is a run of changes (indexes into the push) and their JSON as the
// batch statement reads it.
type chunk struct {
	idx []int
	raw string
}

func planChunks(changes []change, todo []int) ([]chunk, error) {
	var out []chunk
	for len(todo) > 0 {
		n, size := 0, 0
		var batch []wireIn
		for n < len(todo) && (n == 0 || size < chunkBytes) {
			w := toWireIn(&changes[todo[n]])
			batch = append(batch, w)
			size += len(w.K) + len(w.P) + 64
			if w.R != nil {
				size += len(*w.R)
			}
			n++
		}
		raw, err := json.Marshal(batch)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk{idx: todo[:n], raw: string(raw)})
		todo = todo[n:]
	}
	return out, nil
}

// upsertRows stores changes (indexes todo) inside tx, maxValuesRows to a
// statement, and returns the winners' seqs by op.
func upsertRows(ctx context.Context, tx *writeTx, tenant string, changes []change, todo []int, nowMS int64) (map[string]int64, error) {
	won := make(map[string]int64, len(todo))
	for len(todo) > 0 {
		n := min(len(todo), maxValuesRows)
		args := make([]any, 3, 3+6*n)
		args[0], args[1], args[2] = tenant, nil, nowMS
		for _, i := range todo[:n] {
			c := &changes[i]
			var row any // NULL for a delete
			if c.Row != nil {
				row = string(c.Row)
			}
			args = append(args, c.Table, c.Key, row, c.HLC, c.Origin, c.Op)
		}
		var rows *sql.Rows
		var err error
		if n == maxValuesRows && tx.full != nil {
			st := tx.StmtContext(ctx, tx.full)
			rows, err = st.QueryContext(ctx, args...)
			defer st.Close()
		} else {
			rows, err = tx.QueryContext(ctx, upsertValues(n), args...)
		}
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var op string
			var seq int64
			if err := rows.Scan(&op, &seq); err != nil {
				rows.Close()
				return nil, err
			}
			won[op] = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		todo = todo[n:]
	}
	return won, nil
}

// writeTx is a SQLite write transaction and, when prepared, the statement
// of a full upsertValues (maxValuesRows changes): parsing that one costs
// about as much as a tenth of storing its changes, and a full push is the
// common case under load.
type writeTx struct {
	*sql.Tx
	full *sql.Stmt
}

// maxValuesRows bounds the changes of one upsertValues statement: six
// arguments each stay far under SQLite's 32766.
const maxValuesRows = 1000

// upsertChunk runs the batch statement on one chunk and returns the winners'
// seqs by op.
func upsertChunk(ctx context.Context, q querier, tenant, raw string, nowMS int64) (map[string]int64, error) {
	won := make(map[string]int64)
	err := scanEach(ctx, q, sqlUpsertBatch, tenant, raw, func(r *sql.Rows) error {
		var op string
		var seq int64
		if err := r.Scan(&op, &seq); err != nil {
			return err
		}
		won[op] = seq
		return nil
	}, nowMS)
	return won, err
}

// upsertBatch runs every chunk's statement and then the cursor's as one
// batch (one transaction): a push is stored whole or not at all.
func upsertBatch(ctx context.Context, batch BatchFunc, tenant string, chunks []chunk, nowMS int64) ([]map[string]int64, int64, error) {
	stmts := make([]Statement, 0, len(chunks)+1)
	for _, c := range chunks {
		stmts = append(stmts, Statement{Query: sqlUpsertBatch, Args: []any{tenant, c.raw, nowMS}})
	}
	stmts = append(stmts, Statement{Query: sqlCursor, Args: []any{tenant}})
	out, err := batch(ctx, stmts)
	if err != nil {
		return nil, -1, err
	}
	if len(out) != len(stmts) {
		return nil, -1, fmt.Errorf("batch answered %d results for %d statements", len(out), len(stmts))
	}
	wons := make([]map[string]int64, len(chunks))
	for i := range chunks {
		wons[i] = make(map[string]int64, len(out[i]))
		for _, row := range out[i] {
			if len(row) < 2 {
				return nil, -1, fmt.Errorf("batch: short row %v", row)
			}
			op, ok := row[0].(string)
			seq, ok2 := asInt64(row[1])
			if !ok || !ok2 {
				return nil, -1, fmt.Errorf("batch: bad row %v", row)
			}
			wons[i][op] = seq
		}
	}
	last := out[len(chunks)]
	if len(last) != 1 || len(last[0]) < 1 {
		return nil, -1, fmt.Errorf("batch: no cursor")
	}
	cursor, ok := asInt64(last[0][0])
	if !ok {
		return nil, -1, fmt.Errorf("batch: bad cursor %v", last[0][0])
	}
	return wons, cursor, nil
}

// asInt64 reads an integer column from a batch row: int64 from Go drivers,
// float64 from JavaScript.
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// resolveChunk records the winners of a chunk as applied and tells the
// others apart: duplicate (op already stored) or stale (a greater version
// is stored; it comes back as current).
func resolveChunk(ctx context.Context, q querier, tenant string, changes []change, chunk []int, won map[string]int64, results []wire.PushResult) error {
	var lost []wireIn
	var lostIdx []int // index into changes
	for _, i := range chunk {
		c := &changes[i]
		if seq, ok := won[c.Op]; ok {
			results[i] = wire.PushResult{Op: c.Op, Status: wire.Applied, Seq: seq}
			continue
		}
		lost = append(lost, toWireIn(c))
		lostIdx = append(lostIdx, i)
	}
	if len(lost) == 0 {
		return nil
	}
	raw, err := json.Marshal(lost)
	if err != nil {
		return err
	}
	dup := make(map[int]int64)
	if err := scanEach(ctx, q, sqlOpsOf, tenant, string(raw), func(r *sql.Rows) error {
		var k int
		var seq int64
		if err := r.Scan(&k, &seq); err != nil {
			return err
		}
		dup[k] = seq
		return nil
	}); err != nil {
		return err
	}
	cur := make(map[int]*wire.Change)
	if len(dup) < len(lost) {
		if err := scanEach(ctx, q, sqlCurrentOf, tenant, string(raw), func(r *sql.Rows) error {
			var (
				k               int
				op, hlc, origin string
				row             sql.NullString
				seq             int64
			)
			if err := r.Scan(&k, &op, &row, &hlc, &origin, &seq); err != nil {
				return err
			}
			if k >= 0 && k < len(lost) {
				v := storedChange(op, lost[k].T, lost[k].K, row, hlc, origin, seq)
				cur[k] = &v
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for k, i := range lostIdx {
		c := &changes[i]
		if seq, ok := dup[k]; ok {
			results[i] = wire.PushResult{Op: c.Op, Status: wire.Duplicate, Seq: seq}
			continue
		}
		v := cur[k]
		switch {
		case v == nil:
			// Neither stored nor recorded: only a purge racing this push (D1, no
			// transaction) can do that. Fail; the client's retry is safe.
			return fmt.Errorf("change %q: row vanished during the push", c.Op)
		case v.Op == c.Op:
			// The row's version is this op though its op id is no longer in the
			// log (purged): still at most once.
			results[i] = wire.PushResult{Op: c.Op, Status: wire.Duplicate, Seq: v.Seq}
		default:
			results[i] = wire.PushResult{Op: c.Op, Status: wire.Stale, Current: v}
		}
	}
	return nil
}

func scanEach(ctx context.Context, q querier, query, tenant, arg string, each func(*sql.Rows) error, more ...any) error {
	rows, err := q.QueryContext(ctx, query, append([]any{tenant, arg}, more...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// storedChange is a stored version as the protocol shows it: a change and
// its seq (never 0, so the seq member is always there).
func storedChange(op, table, key string, row sql.NullString, hlc, origin string, seq int64) wire.Change {
	w := wire.Change{Op: op, Table: table, Key: wire.RawJSON(key), HLC: hlc, Origin: origin, Seq: seq}
	if row.Valid {
		w.Row = wire.RawJSON(row.String)
	}
	return w
}

// cursorOf returns the tenant's latest seq and its retention horizon.
func cursorOf(ctx context.Context, q querier, tenant string) (cursor, horizon int64, err error) {
	err = q.QueryRowContext(ctx, sqlCursor, tenant).Scan(&cursor, &horizon)
	return cursor, horizon, err
}

// pullRows reads up to limit+1 versions after since, so the caller can tell
// whether more remain.
func pullRows(ctx context.Context, q querier, tenant string, since int64, tables []string, limit int) ([]wire.Change, error) {
	var b strings.Builder
	b.WriteString(`SELECT tbl, key, row, hlc, origin, op, seq FROM mb_sync_rows WHERE tenant = ? AND seq > ?`)
	args := []any{tenant, since}
	if len(tables) > 0 {
		b.WriteString(` AND tbl IN (?` + strings.Repeat(`, ?`, len(tables)-1) + `)`)
		for _, t := range tables {
			args = append(args, t)
		}
	}
	b.WriteString(` ORDER BY seq LIMIT ?`)
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wire.Change
	for rows.Next() {
		var (
			tbl, key, hlc, origin, op string
			row                       sql.NullString
			seq                       int64
		)
		if err := rows.Scan(&tbl, &key, &row, &hlc, &origin, &op, &seq); err != nil {
			return nil, err
		}
		out = append(out, storedChange(op, tbl, key, row, hlc, origin, seq))
	}
	return out, rows.Err()
}

// purge drops op ids and tombstones older than cutoff (unix ms). A tenant's
// horizon is raised to the newest purged tombstone's seq before the
// tombstones go, so seq values are never reused and a client whose cursor
// predates a vanished tombstone is told to resync.
func purge(ctx context.Context, q querier, cutoffMS int64) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM mb_sync_ops WHERE at < ?`, cutoffMS); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT tenant, MAX(seq) FROM mb_sync_rows WHERE deleted = 1 AND updated_at < ? GROUP BY tenant`, cutoffMS)
	if err != nil {
		return err
	}
	type th struct {
		tenant string
		seq    int64
	}
	var todo []th
	for rows.Next() {
		var t th
		if err := rows.Scan(&t.tenant, &t.seq); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range todo {
		if _, err := q.ExecContext(ctx, `INSERT INTO mb_sync_tenants (tenant, horizon) VALUES (?, ?)
ON CONFLICT (tenant) DO UPDATE SET horizon = MAX(horizon, excluded.horizon)`, t.tenant, t.seq); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM mb_sync_rows WHERE tenant = ? AND deleted = 1 AND seq <= ?`, t.tenant, t.seq); err != nil {
			return err
		}
	}
	return nil
}
