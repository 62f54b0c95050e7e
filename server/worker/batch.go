//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"minibase/server/syncserver"
)

// The D1 driver of syumai/workers has no transactions, but D1's own
// db.batch([...]) runs its statements in order as one transaction (if any
// fails, none takes effect). d1Batch calls it directly, so a push is stored
// all or nothing.
func d1Batch(db js.Value, failTenant string) syncserver.BatchFunc {
	return func(ctx context.Context, stmts []syncserver.Statement) ([][][]any, error) {
		list := make([]any, 0, len(stmts)+1)
		for i, st := range stmts {
			list = append(list, db.Call("prepare", st.Query).Call("bind", st.Args...))
			if i == 0 && failTenant != "" && len(st.Args) > 0 && st.Args[0] == failTenant {
				// Test-only fault: after the first write, a statement that fails
				// only if that write is visible, i.e. in the middle of the batch.
				list = append(list, db.Call("prepare", `SELECT json(CASE WHEN EXISTS
					(SELECT 1 FROM mb_sync_rows WHERE tenant = ?1) THEN 'injected failure' END)`).Call("bind", failTenant))
			}
		}
		res, err := await(db.Call("batch", js.ValueOf(list)))
		if err != nil {
			return nil, err
		}
		if res.Length() != len(list) {
			return nil, fmt.Errorf("d1 batch: %d results for %d statements", res.Length(), len(list))
		}
		out := make([][][]any, 0, len(stmts))
		for i := 0; i < res.Length(); i++ {
			if len(list) > len(stmts) && i == 1 {
				continue // the injected statement
			}
			rows := res.Index(i).Get("results")
			var got [][]any
			if rows.Truthy() {
				for j := 0; j < rows.Length(); j++ {
					vals := js.Global().Get("Object").Call("values", rows.Index(j))
					row := make([]any, vals.Length())
					for k := range row {
						row[k] = goValue(vals.Index(k))
					}
					got = append(got, row)
				}
			}
			out = append(out, got)
		}
		return out, nil
	}
}

func goValue(v js.Value) any {
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return v.Float()
	case js.TypeBoolean:
		return v.Bool()
	}
	return nil
}

// await waits for a JavaScript promise.
func await(p js.Value) (js.Value, error) {
	type answer struct {
		v   js.Value
		err error
	}
	ch := make(chan answer, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- answer{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- answer{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	a := <-ch
	return a.v, a.err
}
