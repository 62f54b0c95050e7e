package bridge

import (
	"fmt"
	"testing"

	"minibase/engine/value"
)

// The peers benchmark's workloads (js/bench/workloads.mjs) on the Go side of
// the boundary: the same schema, rows and queries, as request bytes in and
// response bytes out. Run natively and under wasm to see what the engine
// costs apart from JS:
//
//	go test -run '^$' -bench Workload -benchtime 3x ./wasm/bridge/
//	GOOS=js GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_js_wasm_exec" -run '^$' -bench Workload ./wasm/bridge/

const workloadRows = 100_000

func workloadRow(i int) value.Value {
	ages := max(10, workloadRows/100)
	plan := "free"
	if i%3 == 0 {
		plan = "pro"
	}
	return o("id", n(float64(i+1)), "username", s(fmt.Sprintf("user%d", i)), "age", n(float64(i%ages)),
		"city", s(fmt.Sprintf("city%d", i%37)), "score", n(float64((i*7919)%workloadRows)),
		"profile", o("plan", s(plan), "tags", a(s("a"), s("b")), "verified", value.BoolOf(i%2 == 0)))
}

func workloadBridge(b *testing.B) (*Bridge, value.Value, []byte) {
	br := newBridge(b)
	conn := ok(b, br, "open", o("adapter", s("memory"), "root", s("bench")))
	ok(b, br, "createDatabase", conn, s("d"), o())
	ok(b, br, "createTable", conn, s("d"), s("users"), o("columns", a(
		o("name", s("id"), "type", s("number"), "primaryKey", value.BoolOf(true)),
		o("name", s("username"), "type", s("string"), "unique", value.BoolOf(true), "notNull", value.BoolOf(true)),
		o("name", s("age"), "type", s("number")),
		o("name", s("city"), "type", s("string")),
		o("name", s("score"), "type", s("number")),
		o("name", s("profile"), "type", s("object"))),
		"indexes", a(o("columns", a(s("age"))), o("columns", a(s("city"))))))
	rows := make([]value.Value, workloadRows)
	for i := range rows {
		rows[i] = workloadRow(i)
	}
	req := value.Encode(a(s("insertMany"), conn, n(0), s("d"), s("users"), a(rows...)))
	return br, conn, req
}

func mustOK(b *testing.B, resp []byte) []byte {
	if len(resp) == 0 || resp[0] != StatusOK {
		v, _ := value.Decode(resp[1:])
		b.Fatalf("request failed: %s", v)
	}
	return resp
}

func BenchmarkWorkloadBulk(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br, _, req := workloadBridge(b)
		b.StartTimer()
		mustOK(b, br.Handle(req, nil))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*workloadRows)/1000, "µs/row")
}

func loadedWorkload(b *testing.B) (*Bridge, value.Value) {
	br, conn, req := workloadBridge(b)
	mustOK(b, br.Handle(req, nil))
	return br, conn
}

func benchRequests(b *testing.B, br *Bridge, reqs [][]byte, perOp float64, unit string) {
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = mustOK(b, br.Handle(reqs[i%len(reqs)], out[:0]))
	}
	if perOp > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perOp/1000, unit)
	}
}

func BenchmarkWorkloadScan(b *testing.B) {
	br, conn := loadedWorkload(b)
	q := o("where", o("score", o("<", n(workloadRows/100))))
	benchRequests(b, br, [][]byte{value.Encode(a(s("select"), conn, n(0), s("d"), s("users"), q))}, workloadRows, "µs/row")
}

func BenchmarkWorkloadCount(b *testing.B) {
	br, conn := loadedWorkload(b)
	q := o("where", o("score", o("<", n(workloadRows/100))))
	benchRequests(b, br, [][]byte{value.Encode(a(s("count"), conn, n(0), s("d"), s("users"), q))}, workloadRows, "µs/row")
}

func BenchmarkWorkloadRange(b *testing.B) {
	br, conn := loadedWorkload(b)
	var reqs [][]byte
	for lo := 0; lo < 100; lo += 7 {
		q := o("where", o("age", o(">=", n(float64(lo)), "<", n(float64(lo+2)))), "orderBy", a(s("age")), "limit", n(100))
		reqs = append(reqs, value.Encode(a(s("select"), conn, n(0), s("d"), s("users"), q)))
	}
	benchRequests(b, br, reqs, 0, "")
}

func BenchmarkWorkloadTopK(b *testing.B) {
	br, conn := loadedWorkload(b)
	q := o("where", o("city", s("city3")), "orderBy", o("score", s("desc")), "limit", n(10))
	benchRequests(b, br, [][]byte{value.Encode(a(s("select"), conn, n(0), s("d"), s("users"), q))}, 0, "")
}

func BenchmarkWorkloadGet(b *testing.B) {
	br, conn := loadedWorkload(b)
	reqs := make([][]byte, 1000)
	for i := range reqs {
		reqs[i] = value.Encode(a(s("get"), conn, n(0), s("d"), s("users"), n(float64(i*97+1))))
	}
	benchRequests(b, br, reqs, 0, "")
}

func BenchmarkWorkloadUnique(b *testing.B) {
	br, conn := loadedWorkload(b)
	reqs := make([][]byte, 1000)
	for i := range reqs {
		reqs[i] = value.Encode(a(s("selectEq"), conn, n(0), s("d"), s("users"), s("username"), s(fmt.Sprintf("user%d", i*97))))
	}
	benchRequests(b, br, reqs, 0, "")
}

func BenchmarkWorkloadInsertOne(b *testing.B) {
	br, conn := loadedWorkload(b)
	b.ReportAllocs()
	b.ResetTimer()
	var out []byte
	for i := 0; i < b.N; i++ {
		req := value.Encode(a(s("insert"), conn, n(0), s("d"), s("users"), workloadRow(workloadRows+i)))
		out = mustOK(b, br.Handle(req, out[:0]))
	}
}

func BenchmarkWorkloadUpdate10(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br, conn := loadedWorkload(b)
		req := value.Encode(a(s("update"), conn, n(0), s("d"), s("users"), o("score", n(-1)), o("where", o("age", o("<", n(100))))))
		b.StartTimer()
		mustOK(b, br.Handle(req, nil))
	}
}

func BenchmarkWorkloadDelete10(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br, conn := loadedWorkload(b)
		req := value.Encode(a(s("delete"), conn, n(0), s("d"), s("users"), o("where", o("age", o(">=", n(900))))))
		b.StartTimer()
		mustOK(b, br.Handle(req, nil))
	}
}
