package bridge

import (
	"fmt"
	"strconv"
	"strings"

	"minibase/engine"
	"minibase/engine/value"
)

// Moving data in and out of a root: export pages, staged imports, backups
// and restores (js/src/backup.js drives them). Long work is a handle and a
// call per bounded piece, so no call holds more than a piece in memory.

// importDB is the system database an import stages its tables in.
const importDB = "import"

// maxPiece bounds a backup piece one call returns.
const maxPiece = 4 << 20

// restoreJob is a restore under way: it owns its own connection to the
// root, which nothing else may have open.
type restoreJob struct {
	conn *engine.Conn
	r    *engine.Restore
	key  string
	own  bool // conn was opened for the restore and closes with it
}

func (c *call) job(i int) (uint32, any, error) {
	h, err := c.handle(i)
	if err != nil {
		return 0, nil, err
	}
	j, ok := c.b.jobs[uint32(h)]
	if !ok {
		return 0, nil, &engine.Error{Code: engine.CodeClosed, Msg: c.op + ": the backup or restore is finished or was never started"}
	}
	return uint32(h), j, nil
}

func (c *call) newJob(j any) error {
	if c.b.jobs == nil {
		c.b.jobs = map[uint32]any{}
	}
	c.b.next++
	c.b.jobs[c.b.next] = j
	return c.result(value.NumberOf(float64(c.b.next)))
}

func (c *call) bytesArg(i int, what string) ([]byte, error) {
	v := c.arg(i)
	if v.Kind() != value.Bytes {
		return nil, c.bad("%s must be bytes, got %s", what, v.Kind())
	}
	return []byte(v.Str()), nil
}

func opCheckIntegrity(c *call, conn *engine.Conn) error {
	return c.done(conn.CheckIntegrity())
}

// exportPage: conn, tx, db, table, after (bytes or null), limit →
// [rows, next]: rows in primary key order after the cursor.
func opExportPage(c *call, tx *engine.Tx, db, table string) error {
	var after []byte
	if !c.arg(4).IsNull() {
		var err error
		if after, err = c.bytesArg(4, "cursor"); err != nil {
			return err
		}
	}
	limit := c.arg(5)
	if !limit.IsInteger() || limit.Number() < 1 || limit.Number() > 100000 {
		return c.bad("limit must be a whole number from 1 to 100000")
	}
	// [rows, next]: the rows go out as a rowset copied from the
	// stored bytes, then the cursor.
	out := append(c.out, value.TagArray, 2)
	out, next, err := tx.ExportPageTo(db, table, after, int(limit.Number()), out)
	if err != nil {
		return err
	}
	nextV := value.NullValue
	if next != nil {
		nextV = value.BytesOf(next)
	}
	c.out = value.Append(out, nextV)
	return nil
}

// importStage: conn, [table spec, ...] → import handle. Creates table
// i of the list as staging table i of the import; what imports that are
// no longer under way left behind (the process died) goes first.
func opImportStage(c *call, conn *engine.Conn) error {
	specs := c.arg(1)
	if specs.Kind() != value.Array {
		return c.bad("the table specs must be an array")
	}
	if err := dropStaging(conn, func(id uint32) bool { _, live := c.b.jobs[id]; return !live }); err != nil {
		return err
	}
	sys, err := conn.EnsureSystemDatabase(importDB)
	if err != nil {
		return err
	}
	c.b.next++
	job := &importJob{id: c.b.next, conn: conn, sys: sys}
	for i, sv := range specs.Items() {
		spec, err := engine.ParseTableSpec(sv)
		if err == nil {
			spec.IfNotExists = false
			err = conn.CreateTable(sys, job.staging(i), spec)
		}
		if err != nil {
			dropStaging(conn, func(id uint32) bool { return id == job.id })
			return err
		}
		job.tables++
	}
	if c.b.jobs == nil {
		c.b.jobs = map[uint32]any{}
	}
	c.b.jobs[job.id] = job
	return c.result(value.NumberOf(float64(job.id)))
}

// importRows is served by handleImportRows; this answers the requests
// it cannot read (and words their errors).
func opImportRows(c *call) error {
	job, err := c.importJob()
	if err != nil {
		return err
	}
	i := c.arg(1)
	if !i.IsInteger() || i.Number() < 0 || int(i.Number()) >= job.tables {
		return c.bad("table %v is not one the import staged", i)
	}
	return c.bad("rows must be an array")
}

// importFinish: h, [[db, table], ...] → null: staging table i replaces
// table i of the list, all in one commit.
func opImportFinish(c *call) error {
	job, err := c.importJob()
	if err != nil {
		return err
	}
	targets := c.arg(1)
	if targets.Kind() != value.Array || targets.Len() != job.tables {
		return c.bad("the targets must be an array of %d [database, table]", job.tables)
	}
	moves := make([]engine.TableMove, targets.Len())
	for i, t := range targets.Items() {
		if t.Kind() != value.Array || t.Len() != 2 || t.Index(0).Kind() != value.String || t.Index(1).Kind() != value.String {
			return c.bad("target %d must be [database, table]", i)
		}
		moves[i] = engine.TableMove{FromDB: job.sys, From: job.staging(i), ToDB: t.Index(0).Str(), To: t.Index(1).Str()}
	}
	if err := job.conn.ReplaceTables(moves); err != nil {
		return err
	}
	delete(c.b.jobs, job.id)
	return c.result(value.NullValue)
}

// importAbort: h → null: drops what the import staged.
func opImportAbort(c *call) error {
	job, err := c.importJob()
	if err != nil {
		return err
	}
	delete(c.b.jobs, job.id)
	return c.done(dropStaging(job.conn, func(id uint32) bool { return id == job.id }))
}

// backupOpen: conn → handle of a backup reading a snapshot taken now.
func opBackupOpen(c *call, conn *engine.Conn) error {
	bk, err := conn.NewBackup()
	if err != nil {
		return err
	}
	return c.newJob(bk)
}

// backupRead: h, max bytes → the next piece of the file, or null at its end.
func opBackupRead(c *call) error {
	h, j, err := c.job(0)
	if err != nil {
		return err
	}
	bk, ok := j.(*engine.Backup)
	if !ok {
		return c.bad("not a backup handle")
	}
	max := c.arg(1)
	if !max.IsInteger() || max.Number() < 1 {
		return c.bad("max must be a positive whole number")
	}
	p, err := bk.Read(min(int(max.Number()), maxPiece))
	if err != nil || p == nil {
		delete(c.b.jobs, h)
		if err != nil {
			return err
		}
		return c.result(value.NullValue)
	}
	return c.result(value.BytesOf(p))
}

// backupCheck: → handle of a check of a backup file fed in pieces.
func opBackupCheck(c *call) error { return c.newJob(&engine.CheckBackup{}) }

// restoreOpen: { adapter, root, durability } → handle of a restore
// into that root, which no connection of this instance may have open.
func opRestoreOpen(c *call) error {
	opts := c.arg(0)
	if opts.Kind() != value.Object {
		return c.bad("options must be an object")
	}
	adapter, root := "memory", ""
	eo := engine.Options{Restore: true}
	for i := 0; i < opts.Len(); i++ {
		f := opts.Index(i)
		switch opts.KeyAt(i) {
		case "adapter":
			adapter = f.Str()
		case "root", "name":
			root = f.Str()
		case "durability":
			if f.Str() == "strict" {
				eo.Durability = engine.Strict
			}
		default:
			return c.bad("unknown option %q (adapter, root, durability)", opts.KeyAt(i))
		}
	}
	if root == "" {
		return c.bad("root must be a non-empty string")
	}
	key := adapter + "\x00" + root
	if _, open := c.b.byRoot[key]; open {
		return &engine.Error{Code: engine.CodeLocked, Msg: fmt.Sprintf("restore: %s is open; close its connections first", root)}
	}
	for _, j := range c.b.jobs {
		if rj, ok := j.(*restoreJob); ok && rj.key == key {
			return &engine.Error{Code: engine.CodeLocked, Msg: fmt.Sprintf("restore: a restore into %s is under way", root)}
		}
	}
	fs, err := c.b.openFS(adapter, root)
	if err != nil {
		return err
	}
	conn, err := engine.Open(fs, eo)
	if err != nil {
		return err
	}
	r, err := conn.NewRestore()
	if err != nil {
		conn.Close()
		return err
	}
	return c.newJob(&restoreJob{conn: conn, r: r, key: key, own: true})
}

// restoreConn: conn → handle of a restore through that connection,
// which must be the only one open on its root (the browser's, whose
// files only the owning tab's open connection can write).
func opRestoreConn(c *call) error {
	h, err := c.handle(0)
	if err != nil {
		return err
	}
	sh, ok := c.b.conns[uint32(h)]
	if !ok {
		return &engine.Error{Code: engine.CodeClosed, Msg: c.op + ": the connection is closed"}
	}
	if sh.refs > 1 {
		return &engine.Error{Code: engine.CodeLocked, Msg: fmt.Sprintf("restore: %d connections are open on this root; close the others first", sh.refs)}
	}
	for _, st := range c.b.stores {
		if st.conn == uint32(h) {
			return &engine.Error{Code: engine.CodeLocked, Msg: "restore: a storage manager is open on this connection"}
		}
	}
	for _, j := range c.b.jobs {
		if rj, ok := j.(*restoreJob); ok && rj.key == sh.key {
			return &engine.Error{Code: engine.CodeLocked, Msg: "restore: a restore into this root is under way"}
		}
	}
	r, err := sh.conn.NewRestore()
	if err != nil {
		return err
	}
	return c.newJob(&restoreJob{conn: sh.conn, r: r, key: sh.key})
}

// write: h, bytes → null: the next piece for a check or a restore.
func opBackupWrite(c *call) error {
	h, j, err := c.job(0)
	if err != nil {
		return err
	}
	p, err := c.bytesArg(1, "piece")
	if err != nil {
		return err
	}
	switch j := j.(type) {
	case *engine.CheckBackup:
		err = j.Write(p)
	case *restoreJob:
		err = j.r.Write(p)
	default:
		return c.bad("not a check or restore handle")
	}
	if err != nil {
		endJob(c.b, h, j)
		return err
	}
	return c.result(value.NullValue)
}

// backupEnd: h → { keys } for a check, null for a restore (which
// finishes and closes its connection); h, true ends either early.
func opBackupEnd(c *call) error {
	h, j, err := c.job(0)
	if err != nil {
		return err
	}
	abort := c.arg(1).Bool()
	defer endJob(c.b, h, j)
	switch j := j.(type) {
	case *engine.CheckBackup:
		n, err := j.Close()
		if err != nil && !abort {
			return err
		}
		return c.result(value.ObjectOf(value.Member{Key: "keys", Value: value.NumberOf(float64(n))}))
	case *restoreJob:
		if !abort {
			if err := j.r.Finish(); err != nil {
				return err
			}
		}
		return c.result(value.NullValue)
	case *engine.Backup:
		return c.result(value.NullValue)
	}
	return c.bad("not a backup handle")
}

// endJob forgets a handle, closing what it holds.
func endJob(b *Bridge, h uint32, j any) {
	delete(b.jobs, h)
	switch j := j.(type) {
	case *restoreJob:
		if j.own {
			j.conn.Close()
		}
	case *engine.Backup:
		j.Close()
	}
}

// handleImportRows serves importRows (h, i, rows → number inserted into
// staging table i, in one commit) decoding the rows one at a time as they
// are inserted, like insertMany (handleStream).
func (b *Bridge) handleImportRows(req []byte, out []byte) ([]byte, bool) {
	d := value.NewDecoder(req)
	n, err := d.ArrayHeader()
	if err != nil || n != 4 {
		return nil, false
	}
	op, ok := d.StringView()
	if !ok || op != "importRows" {
		return nil, false
	}
	hv, err1 := d.Next()
	iv, err2 := d.Next()
	if err1 != nil || err2 != nil || !hv.IsInteger() || !iv.IsInteger() || iv.Number() < 0 {
		return nil, false
	}
	job, ok := b.jobs[uint32(hv.Number())].(*importJob)
	if !ok || int(iv.Number()) >= job.tables {
		return nil, false
	}
	count, err := d.ArrayHeader()
	if err != nil {
		return nil, false
	}
	var inserted int
	err = job.conn.Auto(func(tx *engine.Tx) error {
		var err error
		inserted, err = tx.InsertEncoded(job.sys, job.staging(int(iv.Number())), d, count)
		return err
	})
	if err != nil {
		return appendError(out, engine.CodeOf(err), err.Error()), true
	}
	return value.Append(append(out, StatusOK), value.NumberOf(float64(inserted))), true
}

// importJob is an import under way: its rows go to staging tables named
// after its handle in the system database importDB, so two imports into one
// root never share one.
type importJob struct {
	id     uint32
	conn   *engine.Conn
	sys    string
	tables int
}

func (j *importJob) staging(i int) string {
	return "s" + strconv.FormatUint(uint64(j.id), 10) + "_" + strconv.Itoa(i)
}

func (c *call) importJob() (*importJob, error) {
	_, j, err := c.job(0)
	if err != nil {
		return nil, err
	}
	job, ok := j.(*importJob)
	if !ok {
		return nil, c.bad("not an import handle")
	}
	return job, nil
}

// stagingImport reads the import handle out of a staging table's name
// (importJob.staging).
func stagingImport(name string) (uint32, bool) {
	rest, ok := strings.CutPrefix(name, "s")
	digits, _, ok2 := strings.Cut(rest, "_")
	id, err := strconv.ParseUint(digits, 10, 32)
	return uint32(id), ok && ok2 && err == nil
}

// dropStaging drops the staging tables of the imports drop picks.
func dropStaging(conn *engine.Conn, drop func(id uint32) bool) error {
	sys, err := conn.EnsureSystemDatabase(importDB)
	if err != nil {
		return err
	}
	names, err := conn.Tables(sys)
	if err != nil {
		return err
	}
	for _, n := range names {
		if id, ok := stagingImport(n); ok && !drop(id) {
			continue
		}
		if err := conn.DropTable(sys, n, true); err != nil {
			return err
		}
	}
	return nil
}
