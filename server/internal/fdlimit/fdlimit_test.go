//go:build unix

package fdlimit

import (
	"syscall"
	"testing"
)

func TestRaiseReachesTheHardLimit(t *testing.T) {
	n, err := Raise()
	if err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur != l.Max || n != l.Cur {
		t.Fatalf("soft %d, hard %d, returned %d", l.Cur, l.Max, n)
	}
}
