//go:build !js

package syncserver_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/server/sqlitestore"
	"minibase/server/syncserver"
)

// sqliteBatch is a Config.Batch on SQLite, run as D1 runs a batch: in order,
// in one transaction. failAt ≥ 0 makes statement failAt fail after the ones
// before it ran (an injected fault mid-batch).
func sqliteBatch(db *sql.DB, failAt int) syncserver.BatchFunc {
	return func(ctx context.Context, stmts []syncserver.Statement) ([][][]any, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback()
		out := make([][][]any, len(stmts))
		for i, st := range stmts {
			if i == failAt {
				return nil, errors.New("injected failure mid-batch")
			}
			rows, err := tx.QueryContext(ctx, st.Query, st.Args...)
			if err != nil {
				return nil, err
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for j := range vals {
					ptrs[j] = &vals[j]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return nil, err
				}
				out[i] = append(out[i], vals)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		return out, tx.Commit()
	}
}

// bigPush is four changes of ~500 KB each: more than one ~900 KB chunk, so
// the store needs several statements for it.
func bigPush(prefix string) []ch {
	pad := strings.Repeat("x", 500<<10)
	var out []ch
	for i := range 4 {
		out = append(out, change(fmt.Sprintf("%s%d", prefix, i), i, todo(i, pad), hlc(1, 0), "a"))
	}
	return out
}

// TestD1BatchPushIsAtomic fails a multi-chunk push in its second statement,
// once from the batch runner and once from inside SQL (a trigger on the
// last row): with Config.Batch nothing of it is kept and no seq is used up;
// the chunked D1 path without it keeps the first chunk, which is what the
// batch is there to prevent (and shows the fault does land mid-push).
func TestD1BatchPushIsAtomic(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batch   bool
		trigger bool
		failAt  int
		partial bool
	}{
		{"batch, runner fails statement 2", true, false, 1, false},
		{"batch, SQL fails in chunk 2", true, true, -1, false},
		{"no batch, SQL fails in chunk 2", false, true, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlitestore.Open(":memory:")
			require.NoError(t, err)
			defer db.Close()
			cfg := syncserver.Config{DB: db, Dialect: "d1"}
			if tc.batch {
				cfg.Batch = sqliteBatch(db, tc.failAt)
			}
			e := newEnv(t, cfg)
			if tc.trigger {
				_, err = db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON mb_sync_rows WHEN NEW.key = '3'
					BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
				require.NoError(t, err)
			}
			tk := tok("t")
			st, body := e.push(tk, bigPush("b")...)
			assert.Equal(t, 500, st, "%v", body)
			_, body = e.pull(tk, "since=0")
			if tc.partial {
				assert.Len(t, changesOf(body), 2, "the chunked path keeps the first chunk")
				return
			}
			assert.Empty(t, changesOf(body), "nothing of the failed push was kept")
			// Heal the fault: the retry applies all four with the first seqs.
			if tc.trigger {
				_, err = db.Exec(`DROP TRIGGER boom`)
				require.NoError(t, err)
			}
			if tc.failAt >= 0 {
				e.srv.Close()
				cfg.Batch = sqliteBatch(db, -1)
				e = newEnv(t, cfg)
			}
			res := e.mustPush(tk, bigPush("b")...)
			for i, r := range res {
				assert.Equal(t, "applied", r["status"])
				assert.Equal(t, float64(i+1), r["seq"], "no seq was used up by the failed push")
			}
		})
	}
}
