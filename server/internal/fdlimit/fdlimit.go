//go:build unix

// Package fdlimit raises the process's open-file limit: every connected
// device's event stream holds a descriptor (in the server, and in the load
// generator that simulates the devices), and the usual soft limit (1024) is
// below what one server is meant to hold.
package fdlimit

import "syscall"

// Raise lifts the soft limit on open files to the hard one and returns it.
func Raise() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
