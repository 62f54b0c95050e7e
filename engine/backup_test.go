package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"

	"minibase/engine/value"
	"minibase/fsadapter/faultfs"
	"minibase/fsadapter/memfs"
)

// backupOf reads a whole backup in pieces of about piece bytes.
func backupOf(t testing.TB, c *Conn, piece int) []byte {
	t.Helper()
	b, err := c.NewBackup()
	require.NoError(t, err)
	var out []byte
	for {
		p, err := b.Read(piece)
		require.NoError(t, err)
		if p == nil {
			return out
		}
		out = append(out, p...)
	}
}

func restoreInto(c *Conn, data []byte, piece int) error {
	var chk CheckBackup
	for i := 0; i < len(data); i += piece {
		if err := chk.Write(data[i:min(i+piece, len(data))]); err != nil {
			return err
		}
	}
	if _, err := chk.Close(); err != nil {
		return err
	}
	r, err := c.NewRestore()
	if err != nil {
		return err
	}
	for i := 0; i < len(data); i += piece {
		if err := r.Write(data[i:min(i+piece, len(data))]); err != nil {
			return err
		}
	}
	return r.Finish()
}

func allUsers(t testing.TB, c *Conn) string {
	t.Helper()
	return fmt.Sprint(selectRows(t, c, "users", obj("orderBy", "id")).Rows)
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	c := usersConn(t)
	for i := range 500 {
		insert(t, c, "users", obj("username", fmt.Sprintf("u%03d", i), "age", i%90, "profile", obj("n", i)))
	}
	// A backup is a snapshot: writes after it began are not in it.
	b, err := c.NewBackup()
	require.NoError(t, err)
	want := allUsers(t, c)
	insert(t, c, "users", obj("username", "late", "age", 1))
	var data []byte
	for {
		p, err := b.Read(4096)
		require.NoError(t, err)
		if p == nil {
			break
		}
		data = append(data, p...)
		insert(t, c, "users", obj("username", fmt.Sprintf("during%d", len(data)), "age", 2))
	}

	other, _ := testConn(t)
	require.NoError(t, other.CreateDatabase("gone", false))
	require.NoError(t, restoreInto(other, data, 1000))
	require.NoError(t, other.CheckIntegrity())
	require.Equal(t, want, allUsers(t, other))
	dbs, err := other.Databases()
	require.NoError(t, err)
	require.Equal(t, []string{"shop"}, dbs)
	// The restored store takes writes and keeps its autoIncrement counter.
	id := insert(t, other, "users", obj("username", "new", "age", 3))
	require.Equal(t, float64(501), id.Number())
}

func TestRestoreRefusesBadFilesAndChangesNothing(t *testing.T) {
	c := usersConn(t)
	for i := range 200 {
		insert(t, c, "users", obj("username", fmt.Sprintf("u%03d", i), "age", i))
	}
	good := backupOf(t, c, 1<<20)

	target := usersConn(t)
	insert(t, target, "users", obj("username", "keep", "age", 7))
	before := allUsers(t, target)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)-1],
		"flipped":   flipped,
		"export":    []byte(`{"format":"minibase-export","version":1}` + "\n"),
	} {
		err := restoreInto(target, data, 333)
		require.ErrorIs(t, err, ErrCorrupt, name)
		require.Equal(t, before, allUsers(t, target), name)
	}
}

func TestInterruptedRestoreDoesNotOpen(t *testing.T) {
	src := usersConn(t)
	for i := range 3000 {
		insert(t, src, "users", obj("username", fmt.Sprintf("user-%05d", i), "age", i%50, "profile", obj("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")))
	}
	data := backupOf(t, src, 1<<20)

	mem, err := memfs.New()
	require.NoError(t, err)
	ff := faultfs.Wrap(mem)
	c, err := Open(ff, Options{})
	require.NoError(t, err)
	r, err := c.NewRestore()
	require.NoError(t, err)
	require.NoError(t, r.Write(data[:len(data)/2]))
	c.Close() // the process dies mid-restore

	_, err = Open(ff, Options{})
	require.ErrorIs(t, err, ErrCorrupt)
	c, err = Open(ff, Options{Restore: true})
	require.NoError(t, err)
	require.NoError(t, restoreInto(c, data, 1<<16))
	require.NoError(t, c.Close())
	c, err = Open(ff, Options{})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.CheckIntegrity())
	require.Equal(t, allUsers(t, src), allUsers(t, c))
}

func TestExportPagesAndReplaceTables(t *testing.T) {
	c := usersConn(t)
	for i := range 250 {
		insert(t, c, "users", obj("username", fmt.Sprintf("u%03d", i), "age", i))
	}
	tx, err := c.Begin()
	require.NoError(t, err)
	var got []string
	var after []byte
	for {
		enc, next, err := tx.ExportPageTo("shop", "users", after, 100, []byte{0xAA})
		require.NoError(t, err)
		require.Equal(t, byte(0xAA), enc[0], "ExportPageTo appends to what it is given")
		rows, err := value.Decode(enc[1:])
		require.NoError(t, err)
		for _, r := range rows.Items() {
			name, _ := r.Get("username")
			got = append(got, name.Str())
		}
		if next == nil {
			break
		}
		after = next
		// Writes after the transaction began are not exported.
		insert(t, c, "users", obj("username", fmt.Sprintf("late%d", len(got)), "age", 1))
	}
	require.NoError(t, tx.Rollback())
	require.Len(t, got, 250)
	require.Equal(t, "u000", got[0])
	require.Equal(t, "u249", got[249])
	_, _, err = c.newExplicitTx().ExportPageTo("shop", "users", []byte("bogus"), 10, nil)
	require.ErrorIs(t, err, ErrBadQuery)

	// Stage a replacement in a system database and swap it in.
	sys, err := c.EnsureSystemDatabase("import")
	require.NoError(t, err)
	spec, err := ParseTableSpec(obj("columns", arr(
		obj("name", "id", "type", "number", "primaryKey", true),
		obj("name", "v", "type", "string", "unique", true))))
	require.NoError(t, err)
	require.NoError(t, c.CreateTable(sys, "t0", spec))
	require.NoError(t, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert(sys, "t0", obj("id", 1, "v", "one"))
		return err
	}))
	require.Error(t, c.ReplaceTables([]TableMove{{FromDB: sys, From: "t0", ToDB: "shop", To: "users"}, {FromDB: sys, From: "nope", ToDB: "x", To: "y"}}))
	require.Len(t, selectRows(t, c, "users", obj()).Rows, 250+2, "a failed replace changes nothing")
	require.NoError(t, c.ReplaceTables([]TableMove{{FromDB: sys, From: "t0", ToDB: "shop", To: "users"}}))
	res := selectRows(t, c, "users", obj())
	require.Equal(t, []string{"id", "v"}, res.Columns)
	require.Equal(t, "one", res.Rows[0][1].Str())
	require.NoError(t, c.CheckIntegrity())
}

func TestBackupFromNewerVersionIsVersionTooNew(t *testing.T) {
	c := usersConn(t)
	data := backupOf(t, c, 1<<20)
	data[8]++ // the format version; then the header's checksum is made right again
	crc := crc32.Checksum(data[:12], crc32.MakeTable(crc32.Castagnoli))
	binary.LittleEndian.PutUint32(data[12:], crc)
	var chk CheckBackup
	err := chk.Write(data)
	require.ErrorIs(t, err, &Error{Code: CodeVersionTooNew})
}

// A restore killed at any filesystem operation leaves the root either as it
// was, or wholly restored, or refusing to open until it is restored again;
// never a mix that opens.
func TestRestoreCrashAtEveryOperation(t *testing.T) {
	src := usersConn(t)
	for i := range 60 {
		insert(t, src, "users", obj("username", fmt.Sprintf("new%02d", i), "age", i))
	}
	data := backupOf(t, src, 1<<20)
	want := allUsers(t, src)

	// The root before: an older content, written with small files so the
	// restore's writes cross flushes and compactions.
	prepare := func() (*faultfs.FS, string) {
		mem, err := memfs.New()
		require.NoError(t, err)
		ffs := faultfs.Wrap(mem)
		c, err := Open(ffs, smallStore)
		require.NoError(t, err)
		require.NoError(t, c.CreateDatabase("shop", false))
		spec, err := ParseTableSpec(obj("columns", arr(
			obj("name", "id", "type", "number", "primaryKey", true, "autoIncrement", true),
			obj("name", "username", "type", "string", "unique", true, "notNull", true),
			obj("name", "age", "type", "number", "default", 0),
			obj("name", "city", "type", "string"),
			obj("name", "profile", "type", "object"),
		), "indexes", arr(obj("columns", arr("age")))))
		require.NoError(t, err)
		require.NoError(t, c.CreateTable("shop", "users", spec))
		for i := range 30 {
			insert(t, c, "users", obj("username", fmt.Sprintf("old%02d", i), "age", i))
		}
		old := allUsers(t, c)
		require.NoError(t, c.Close())
		ffs.Reset()
		return ffs, old
	}
	restore := func(ffs *faultfs.FS, opts Options) error {
		c, err := Open(ffs, opts)
		if err != nil {
			return err
		}
		defer c.Close()
		return restoreInto(c, data, 777)
	}

	ffs, _ := prepare()
	restoreOpts := smallStore
	restoreOpts.Restore = true
	require.NoError(t, restore(ffs, smallStore))
	total := ffs.Ops()
	require.Greater(t, total, 20)
	outcomes := map[string]int{}
	for n := 1; n <= total; n++ {
		ffs, old := prepare()
		ffs.CrashAt(n)
		_ = restore(ffs, smallStore)
		if !ffs.Crashed() {
			continue
		}
		ffs.Reset()
		c, err := Open(ffs, smallStore)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt, "crash at op %d", n)
			outcomes["refuses to open"]++
			require.NoError(t, restore(ffs, restoreOpts), "restoring again after a crash at op %d", n)
			c, err = Open(ffs, smallStore)
			require.NoError(t, err)
			require.Equal(t, want, allUsers(t, c))
		} else {
			got := allUsers(t, c)
			switch got {
			case old:
				outcomes["old"]++
			case want:
				outcomes["restored"]++
			default:
				t.Fatalf("crash at op %d: a mix opened: %s", n, got)
			}
		}
		require.NoError(t, c.CheckIntegrity(), "crash at op %d", n)
		require.NoError(t, c.Close())
	}
	t.Logf("%d operations: %v", total, outcomes)
	require.Greater(t, outcomes["refuses to open"], 0)
}

// Any cursor an export page is given either reads on from it or is refused;
// it never panics or reads another table.
func FuzzExportPageCursor(f *testing.F) {
	c := usersConn(f)
	for i := range 20 {
		insert(f, c, "users", obj("username", fmt.Sprintf("u%02d", i), "age", i))
	}
	other, err := ParseTableSpec(obj("columns", arr(obj("name", "k", "type", "string", "primaryKey", true))))
	require.NoError(f, err)
	require.NoError(f, c.CreateTable("shop", "other", other))
	require.NoError(f, c.Auto(func(tx *Tx) error {
		_, err := tx.Insert("shop", "other", obj("k", "not a user"))
		return err
	}))
	tx, err := c.Begin()
	require.NoError(f, err)
	_, next, err := tx.ExportPageTo("shop", "users", nil, 3, nil)
	require.NoError(f, err)
	f.Add(next)
	f.Add([]byte{})
	f.Add([]byte{0x01, 0, 0, 0, 1, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, after []byte) {
		out, _, err := tx.ExportPageTo("shop", "users", after, 50, nil)
		if err != nil {
			require.ErrorIs(t, err, ErrBadQuery)
			return
		}
		rows, err := value.Decode(out)
		require.NoError(t, err)
		for _, r := range rows.Items() {
			name, _ := r.Get("username")
			require.Equal(t, value.String, name.Kind(), "a row of another table came out")
		}
	})
}
