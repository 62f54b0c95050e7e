package fsadapter

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// ErrLocked is returned (wrapped) by Lock when a live process holds the
// lock. The engine reports it as LOCKED.
var ErrLocked = errors.New("fsadapter: locked by another process")

// Locker is implemented by backends that several processes can open at the
// same time (a disk shared by Node processes). The store takes its lock at
// open and releases it at close, so two processes never write one set of
// files — which would lose acknowledged writes.
type Locker interface {
	// Lock takes the lock file name, or fails with ErrLocked while a live
	// process holds it. A lock left behind by a process that died (killed,
	// crashed) is taken over.
	Lock(name string) (release func() error, err error)
}

// PIDLockOps are the primitives a backend gives PIDLock.
type PIDLockOps struct {
	// Key names the lock file uniquely in this process (its absolute path),
	// so that a second Lock of it here fails even though the pid matches.
	Key string
	// CreateExclusive creates name holding data, failing with fs.ErrExist
	// when it exists; the check and the creation are one atomic step.
	CreateExclusive func(name string, data []byte) error
	ReadFile        func(name string) ([]byte, error)
	Remove          func(name string) error
	// Self is this process's id; Alive reports whether a process runs.
	Self  int
	Alive func(pid int) bool
}

// held records the locks this process holds, by PIDLockOps.Key: the pid in
// a lock file cannot tell two holders in one process apart.
var (
	heldMu sync.Mutex
	held   = map[string]bool{}
)

// PIDLock implements Locker with a lock file holding the owner's process id:
// created exclusively, and taken over when the process it names is gone.
// Two processes taking over one stale lock race on the exclusive create,
// and exactly one wins.
func PIDLock(name string, ops PIDLockOps) (func() error, error) {
	heldMu.Lock()
	defer heldMu.Unlock()
	if held[ops.Key] {
		return nil, fmt.Errorf("open: %s is already held in this process: %w", name, ErrLocked)
	}
	me := []byte(strconv.Itoa(ops.Self))
	for attempt := 0; attempt < 3; attempt++ {
		err := ops.CreateExclusive(name, me)
		if err == nil {
			held[ops.Key] = true
			return func() error {
				heldMu.Lock()
				delete(held, ops.Key)
				heldMu.Unlock()
				if err := ops.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("release lock %s: %w", name, err)
				}
				return nil
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("take lock %s: %w", name, err)
		}
		data, err := ops.ReadFile(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // released meanwhile: try again
			}
			return nil, fmt.Errorf("take lock %s: %w", name, err)
		}
		pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
		// Our own pid in a file we do not hold is a lock this process left
		// without releasing (an engine instance that died); an empty or
		// garbled file is one whose writer died between creating and writing.
		if perr == nil && pid > 0 && pid != ops.Self && ops.Alive(pid) {
			return nil, fmt.Errorf("open: %s is held by process %d: %w", name, pid, ErrLocked)
		}
		if err := ops.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("take over stale lock %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("take lock %s: contended: %w", name, ErrLocked)
}
