//go:build !js

package syncserver

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
)

func groupServer(t *testing.T) *Server {
	t.Helper()
	db, err := sqlitestore.Open(t.TempDir() + "/group.db")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := New(Config{DB: db, Secret: []byte("test-secret-of-at-least-32-bytes")})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func groupChanges(prefix string, keys ...string) []change {
	out := make([]change, len(keys))
	for i, k := range keys {
		out[i] = change{Op: fmt.Sprintf("%s-%d", prefix, i), Table: "todos", Key: `"` + k + `"`,
			Row: []byte(`{"id":"` + k + `"}`), HLC: fmt.Sprintf("001732370000000-%05d", i), Origin: prefix}
	}
	return out
}

// storedOps lists the ops the rows table holds, by key.
func storedOps(t *testing.T, s *Server, tenant string) map[string]string {
	rows, err := s.cfg.DB.Query(`SELECT key, op FROM mb_sync_rows WHERE tenant = ?`, tenant)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, op string
		require.NoError(t, rows.Scan(&k, &op))
		out[k] = op
	}
	return out
}

// TestGroupCommitIsolatesAFailingPush: a push that fails inside a group
// (here: a trigger refusing its key) fails alone; the pushes grouped with
// it before and after are stored and answered as if each had run alone.
func TestGroupCommitIsolatesAFailingPush(t *testing.T) {
	s := groupServer(t)
	_, err := s.cfg.DB.Exec(`CREATE TRIGGER poison BEFORE INSERT ON mb_sync_rows WHEN NEW.key = '"poison"'
		BEGIN SELECT RAISE(ABORT, 'poisoned'); END`)
	require.NoError(t, err)
	jobs := []*pushJob{
		{tenant: "a", changes: groupChanges("a", "k1", "k2")},
		{tenant: "b", changes: groupChanges("b", "k1", "poison")},
		{tenant: "a", changes: groupChanges("c", "k3")},
	}
	s.commitGroup(jobs)
	require.NoError(t, jobs[0].err)
	require.ErrorContains(t, jobs[1].err, "poisoned")
	require.NoError(t, jobs[2].err)
	assert.Equal(t, map[string]string{`"k1"`: "a-0", `"k2"`: "a-1", `"k3"`: "c-0"}, storedOps(t, s, "a"))
	assert.Empty(t, storedOps(t, s, "b"), "the failed push stored nothing")
	assert.Equal(t, int64(2), jobs[0].cursor)
	assert.Equal(t, int64(3), jobs[2].cursor)
	for _, r := range append(jobs[0].results, jobs[2].results...) {
		assert.Equal(t, "applied", r.Status)
	}
}

// TestGroupCommitManyAtOnce: pushes racing through the committer are each
// answered once, with their own results; every change is stored once, and
// the seqs handed out are distinct and gapless.
func TestGroupCommitManyAtOnce(t *testing.T) {
	s := groupServer(t)
	const pushers, pushes = 16, 8
	var wg sync.WaitGroup
	seqs := make(chan int64, pushers*pushes*3)
	for p := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range pushes {
				prefix := fmt.Sprintf("p%d-%d", p, i)
				res, cursor, applied, err := s.push(context.Background(), "t", groupChanges(prefix, prefix+"x", prefix+"y", "shared"))
				if !assert.NoError(t, err) || !assert.Len(t, res, 3) {
					return
				}
				assert.True(t, applied)
				for k, r := range res {
					assert.Equal(t, fmt.Sprintf("%s-%d", prefix, k), r.Op)
					if r.Status == "applied" {
						assert.LessOrEqual(t, r.Seq, cursor)
						seqs <- r.Seq
					}
				}
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for q := range seqs {
		assert.False(t, seen[q], "seq %d handed out twice", q)
		seen[q] = true
	}
	for q := int64(1); q <= int64(len(seen)); q++ {
		assert.True(t, seen[q], "seq %d missing", q)
	}
	assert.Len(t, storedOps(t, s, "t"), pushers*pushes*2+1)
	assert.Empty(t, s.group.pending)
	assert.False(t, s.group.busy)
}

// TestFullPushUsesThePreparedStatement: pushes of exactly maxValuesRows
// changes (the prepared statement) answer as smaller ones do: applied, then
// duplicate when sent again, then stale for older versions.
func TestFullPushUsesThePreparedStatement(t *testing.T) {
	s := groupServer(t)
	keys := make([]string, maxValuesRows)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%04d", i)
	}
	newer := groupChanges("new", keys...)
	for round, want := range []string{"applied", "duplicate"} {
		res, cursor, _, err := s.push(context.Background(), "t", newer)
		require.NoError(t, err, "round %d", round)
		require.Len(t, res, maxValuesRows)
		assert.Equal(t, int64(maxValuesRows), cursor)
		for i, r := range res {
			assert.Equal(t, want, r.Status, "round %d change %d", round, i)
			assert.Equal(t, int64(i+1), r.Seq)
		}
	}
	older := groupChanges("old", keys...)
	for i := range older {
		older[i].HLC = "000000000000001-00000"
	}
	res, _, applied, err := s.push(context.Background(), "t", older)
	require.NoError(t, err)
	assert.False(t, applied)
	for _, r := range res {
		assert.Equal(t, "stale", r.Status)
	}
	require.NotNil(t, s.full, "the full-size statement was prepared")
}

// TestLosersAreLookedUpByKey: the queries that explain a push's losing
// changes walk the changes and look each one up by its key; walking the
// tenant's ops or rows instead made a re-sent push cost the tenant's
// history times its size.
func TestLosersAreLookedUpByKey(t *testing.T) {
	s := groupServer(t)
	for _, c := range []struct{ query, search string }{
		{sqlOpsOf, "SEARCH o USING INDEX sqlite_autoindex_mb_sync_ops_1 (tenant=? AND op=?)"},
		{sqlCurrentOf, "SEARCH r USING INDEX sqlite_autoindex_mb_sync_rows_1 (tenant=? AND tbl=? AND key=?)"},
	} {
		rows, err := s.cfg.DB.Query("EXPLAIN QUERY PLAN "+c.query, "t", "[]")
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		require.Len(t, plan, 2, "%q", plan)
		assert.Contains(t, plan[0], "SCAN j", "the changes are the outer loop")
		assert.Equal(t, c.search, plan[1])
	}
}
