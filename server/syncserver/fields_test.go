package syncserver

import (
	"regexp"
	"testing"
)

// The byte-loop field checks must accept exactly what these expressions
// (the protocol's wording) accept.
var (
	opOracle     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	hlcOracle    = regexp.MustCompile(`^[0-9]{15}-[0-9]{5}$`)
	originOracle = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

func FuzzFieldChecks(f *testing.F) {
	for _, s := range []string{"", "a", "op-1_X", "001732370000000-00000", "00173237000000-000000", "dev a", "dev\n",
		"é", "x\x7f", string(make([]byte, 65)), "0017323700000000-0000", "~!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validOp(s) != opOracle.MatchString(s) {
			t.Fatalf("validOp(%q) = %v", s, validOp(s))
		}
		if validHLC(s) != hlcOracle.MatchString(s) {
			t.Fatalf("validHLC(%q) = %v", s, validHLC(s))
		}
		if validOrigin(s) != originOracle.MatchString(s) {
			t.Fatalf("validOrigin(%q) = %v", s, validOrigin(s))
		}
	})
}
