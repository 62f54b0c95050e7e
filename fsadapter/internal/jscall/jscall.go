//go:build js && wasm

// Package jscall is what the JS-backed filesystem adapters (nodefs, wxfs)
// share: calling a host function whose failures are thrown exceptions, and
// describing a thrown value without calling back into JS.
package jscall

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall/js"
)

// Call invokes obj[method](args...) and turns a thrown JS exception into the
// error describe makes of it (each host words its failures differently), and
// a wrong-typed call into an error naming the method. Any other panic is a
// bug and is not caught.
func Call(obj js.Value, method string, describe func(thrown js.Value) error, args ...any) (v js.Value, err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case js.Error:
			err = describe(r.Value)
		case *js.ValueError: // a JS value of the wrong type
			err = fmt.Errorf("call %s: %w", method, r)
		case string: // syscall/js panics with a string when the property is not a function
			if !strings.HasPrefix(r, "syscall/js: ") {
				panic(r)
			}
			err = fmt.Errorf("call %s: %s", method, r)
		default:
			panic(r)
		}
	}()
	return obj.Call(method, args...), nil
}

// String renders a JS value without calling into JS, which could throw
// again (a toString that throws).
func String(v js.Value) string {
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case js.TypeBoolean:
		return strconv.FormatBool(v.Bool())
	case js.TypeUndefined, js.TypeNull:
		return ""
	default:
		return "<" + v.Type().String() + ">"
	}
}

// SortedStrings copies a JS array of strings (a directory listing) into Go,
// sorted: hosts list a directory in whatever order their OS keeps. An
// array is joined with NUL in JS (no file name holds one) and split in Go:
// two crossings instead of two per name (a store's open lists a directory
// of hundreds of segments, twice).
func SortedStrings(list js.Value) []string {
	n := list.Length()
	out := []string{}
	if join := list.Get("join"); n > 0 && join.Type() == js.TypeFunction {
		out = strings.Split(list.Call("join", "\x00").String(), "\x00")
	}
	if len(out) != n {
		out = make([]string, n)
		for i := range out {
			out[i] = list.Index(i).String()
		}
	}
	slices.Sort(out)
	return out
}
