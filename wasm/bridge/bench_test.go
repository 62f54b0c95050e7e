package bridge

import (
	"fmt"
	"testing"

	"minibase/engine/value"
)

// Request handling without the wasm boundary: what one lookup costs the Go
// side (`go test -bench . ./wasm/bridge/`).

func benchBridge(b *testing.B) (*Bridge, value.Value) {
	br := newBridge(b)
	conn := ok(b, br, "open", o("adapter", s("memory"), "root", s("bench")))
	ok(b, br, "createDatabase", conn, s("d"), o())
	ok(b, br, "createTable", conn, s("d"), s("users"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true), "autoIncrement", value.BoolOf(true)),
		o("name", s("username"), "type", s("string"), "unique", value.BoolOf(true)),
		o("name", s("age"), "type", s("number")),
		o("name", s("city"), "type", s("string"))),
		"indexes", a(o("columns", a(s("age"))))))
	rows := make([]value.Value, 100000)
	for i := range rows {
		rows[i] = o("username", s(fmt.Sprintf("user%d", i)), "age", n(float64(i%1000)), "city", s("city"))
	}
	ok(b, br, "insertMany", conn, n(0), s("d"), s("users"), a(rows...))
	return br, conn
}

func BenchmarkHandleGet(b *testing.B) {
	br, conn := benchBridge(b)
	reqs := make([][]byte, 1000)
	for i := range reqs {
		reqs[i] = value.Encode(a(s("get"), conn, n(0), s("d"), s("users"), n(float64(i*97+1))))
	}
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = br.Handle(reqs[i%len(reqs)], out[:0])
	}
}

func BenchmarkHandleSelectEq(b *testing.B) {
	br, conn := benchBridge(b)
	reqs := make([][]byte, 1000)
	for i := range reqs {
		reqs[i] = value.Encode(a(s("selectEq"), conn, n(0), s("d"), s("users"), s("username"), s(fmt.Sprintf("user%d", i*97))))
	}
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = br.Handle(reqs[i%len(reqs)], out[:0])
	}
}
