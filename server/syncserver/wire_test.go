package syncserver

import (
	"reflect"
	"strings"
	"testing"

	"minibase/engine/replica/wire"
)

func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}

// TestWireChangeMirrorsTheProtocol checks that the validator's view of a
// pushed change reads the members of wire.Change: a member added to the
// protocol and not validated, or validated under another name, fails here.
func TestWireChangeMirrorsTheProtocol(t *testing.T) {
	in, out := jsonNames(reflect.TypeOf(wireChange{})), jsonNames(reflect.TypeOf(wire.Change{}))
	delete(out, "seq") // the server assigns it; a push carries none
	if !reflect.DeepEqual(in, out) {
		t.Errorf("wireChange reads %v, the protocol's change has %v", in, out)
	}
}
