//go:build js && wasm

package jscall_test

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/fsadapter/internal/jscall"
)

var errThrown = errors.New("thrown")

// describe records what was thrown, so the test sees what Call passed on.
func describe(got *js.Value) func(js.Value) error {
	return func(v js.Value) error { *got = v; return errThrown }
}

func TestCall(t *testing.T) {
	obj := js.Global().Get("Object").New()
	obj.Set("ok", js.FuncOf(func(this js.Value, args []js.Value) any { return args[0].Int() + 1 }))
	obj.Set("fails", js.Global().Get("Function").New(`throw { errMsg: "readFileSync:fail no such file or directory" }`))
	obj.Set("notAFunction", 42)

	var thrown js.Value
	v, err := jscall.Call(obj, "ok", describe(&thrown), 41)
	require.NoError(t, err)
	assert.Equal(t, 42, v.Int())

	_, err = jscall.Call(obj, "fails", describe(&thrown))
	assert.ErrorIs(t, err, errThrown, "a thrown value goes to describe")
	assert.Equal(t, "readFileSync:fail no such file or directory", thrown.Get("errMsg").String())

	_, err = jscall.Call(obj, "notAFunction", describe(&thrown))
	require.Error(t, err)
	assert.NotErrorIs(t, err, errThrown, "a wrong-typed call is not a thrown exception")
	assert.Contains(t, err.Error(), "notAFunction")
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"text", "text"}, {1.5, "1.5"}, {true, "true"}, {nil, ""}, {js.Undefined(), ""},
		{js.Global().Get("Object").New(), "<object>"},
	} {
		assert.Equal(t, c.want, jscall.String(js.ValueOf(c.v)), "%v", c.v)
	}
}

// A listing comes back sorted, whatever the host's order, names with any
// character but NUL whole, and an array whose join does not split back into
// its elements (a name with a NUL) element by element.
func TestSortedStrings(t *testing.T) {
	array := func(items ...any) js.Value { return js.Global().Get("Array").Call("of", items...) }
	tests := []struct {
		name string
		list js.Value
		want []string
	}{
		{"empty", array(), []string{}},
		{"sorted", array("b.sst", "a.log", "c d\ne", "é"), []string{"a.log", "b.sst", "c d\ne", "é"}},
		{"a NUL in a name", array("b", "a\x00c"), []string{"a\x00c", "b"}},
		{"one", array("only"), []string{"only"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, jscall.SortedStrings(tc.list))
		})
	}
}
