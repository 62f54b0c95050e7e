package fsadapter

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// ErrLocked is returned (wrapped) by Lock when a live process, or another
// engine instance in this process, holds the lock. The engine reports it as
// LOCKED.
var ErrLocked = errors.New("locked by another engine")

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
	// Start identifies when this process started (see StartTime); "" when
	// the backend cannot tell. It tells this process apart from an earlier
	// one that had the same pid, which containers hand out again and again.
	Start string
	// StartOf returns the start of a running process in Start's form, or
	// "" when it cannot tell; nil means never. It tells a live process from
	// a dead lock holder whose pid was reused.
	StartOf func(pid int) string
	// Instance identifies the engine instance taking the lock; "" means
	// InstanceID(). Several Go instances run in one process (a worker
	// thread each, or two copies of a JS module), all with the same pid.
	Instance string
}

// held records the locks this instance holds, by PIDLockOps.Key.
var (
	heldMu sync.Mutex
	held   = map[string]bool{}
)

var (
	instanceOnce sync.Once
	instanceID   string
)

// InstanceID is a random name for this Go instance (this copy of the
// program's globals), written into the locks it takes. Two wasm instances in
// one process each have their own.
func InstanceID() string {
	instanceOnce.Do(func() {
		b := make([]byte, 12)
		_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
		instanceID = hex.EncodeToString(b)
	})
	return instanceID
}

// lockOwner is what a lock file says about its holder. The current format is
//
//	minibase-lock 2
//	pid <pid>
//	start <process start, see StartTime>
//	instance <InstanceID>
//
// and the format before it was the bare pid, which is still understood.
type lockOwner struct {
	pid      int
	start    string
	instance string
}

const lockHeader = "minibase-lock 2"

func (o lockOwner) encode() []byte {
	return fmt.Appendf(nil, "%s\npid %d\nstart %s\ninstance %s\n", lockHeader, o.pid, o.start, o.instance)
}

// parseLockOwner reads a lock file; ok is false for an empty or garbled one
// (its writer died between creating and writing it).
func parseLockOwner(data []byte) (o lockOwner, ok bool) {
	text := strings.TrimSpace(string(data))
	if pid, err := strconv.Atoi(text); err == nil {
		return lockOwner{pid: pid}, pid > 0
	}
	lines := strings.Split(text, "\n")
	if len(lines) == 0 || lines[0] != lockHeader {
		return o, false
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch k {
		case "pid":
			o.pid, _ = strconv.Atoi(v)
		case "start":
			o.start = v
		case "instance":
			o.instance = v
		}
	}
	return o, o.pid > 0 && o.instance != ""
}

// StartTolerance is how far apart two readings of one process's start may
// be when they come from the wall clock ("ms:" starts): the wall clock minus
// the uptime moves a little between readings.
const StartTolerance = 2000

// SameStart reports whether two process starts (PIDLockOps.Start) may be one
// process's. Unknown starts match anything, so a lock is taken from a live
// process only when it is certain to be another one.
func SameStart(a, b string) bool {
	if a == "" || b == "" || a == b {
		return true
	}
	am, aok := strings.CutPrefix(a, "ms:")
	bm, bok := strings.CutPrefix(b, "ms:")
	if !aok || !bok {
		return false
	}
	x, err1 := strconv.ParseInt(am, 10, 64)
	y, err2 := strconv.ParseInt(bm, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	d := x - y
	return -StartTolerance <= d && d <= StartTolerance
}

// ProcStatStart returns a process's start in PIDLockOps.Start's form from the
// content of its /proc/<pid>/stat (Linux): the start time in clock ticks
// since boot, which never changes for one process and differs for the next
// one given the same pid. ok is false for content it cannot parse.
func ProcStatStart(stat []byte) (start string, ok bool) {
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its closing parenthesis are plain numbers.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(string(stat[i+1:]))
	const startField = 22 - 3 // field 22, counted from field 3
	if len(fields) <= startField {
		return "", false
	}
	if _, err := strconv.ParseUint(fields[startField], 10, 64); err != nil {
		return "", false
	}
	return "proc:" + fields[startField], true
}

// PIDLock implements Locker with a lock file naming its holder: the process
// (pid and start) and the engine instance in it. It is created exclusively
// and taken over only when its holder is certainly gone: the process is
// dead, the pid now belongs to a process that started later, or the holder
// is this very instance (a store it never closed). A lock of another
// instance in this process is live: that instance releases it when it closes,
// and the host releases it when the instance dies (see the JS loader). Two
// processes taking over one stale lock race on the exclusive create, and
// exactly one wins.
func PIDLock(name string, ops PIDLockOps) (func() error, error) {
	heldMu.Lock()
	defer heldMu.Unlock()
	if held[ops.Key] {
		return nil, fmt.Errorf("%s is already held in this process: %w", name, ErrLocked)
	}
	me := lockOwner{pid: ops.Self, start: ops.Start, instance: ops.Instance}
	if me.instance == "" {
		me.instance = InstanceID()
	}
	for attempt := 0; attempt < 3; attempt++ {
		err := ops.CreateExclusive(name, me.encode())
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
		if owner, ok := parseLockOwner(data); ok {
			if err := liveHolder(name, owner, me, ops); err != nil {
				return nil, err
			}
		}
		if err := ops.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("take over stale lock %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("take lock %s: contended: %w", name, ErrLocked)
}

// liveHolder returns an error wrapping ErrLocked when owner may still hold
// the lock, nil when it is certainly gone.
func liveHolder(name string, owner, me lockOwner, ops PIDLockOps) error {
	if owner.pid != me.pid {
		if !ops.Alive(owner.pid) {
			return nil
		}
		if ops.StartOf != nil && owner.start != "" && !SameStart(owner.start, ops.StartOf(owner.pid)) {
			return nil // the pid was reused by a process that started later
		}
		return fmt.Errorf("%s is held by process %d: %w", name, owner.pid, ErrLocked)
	}
	switch {
	case owner.instance == "":
		// The old format cannot tell instances apart; this pid in it is a
		// lock this process left behind, as it was always read.
		return nil
	case !SameStart(owner.start, me.start):
		return nil // an earlier process with our pid, now dead
	case owner.instance == me.instance:
		return nil // this instance's own, from a store it never closed
	}
	return fmt.Errorf("%s is held by another minibase engine in this process %d (a worker thread, or a second copy of the module loaded through both import and require): %w",
		name, owner.pid, ErrLocked)
}
