//go:build js && wasm

package nodefs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"syscall/js"

	"minibase/fsadapter"
	"minibase/fsadapter/internal/fsutil"
)

var _ fsadapter.Locker = (*FS)(nil)

// Lock takes an exclusive lock file (see fsadapter.PIDLock): several Node
// processes may point at one directory, and only one may write it; so may
// several engine instances in one process (worker threads, or the module
// loaded twice), and only one may write it.
func (n *FS) Lock(name string) (func() error, error) {
	process := js.Global().Get("process")
	if process.Type() != js.TypeObject || process.Get("kill").Type() != js.TypeFunction {
		return nil, fmt.Errorf("nodefs: lock %s: no process object", name)
	}
	p, err := n.path("lock", name)
	if err != nil {
		return nil, err
	}
	self := process.Get("pid").Int()
	start := n.procStart(self)
	if start == "" {
		start = wallClockStart(process)
	}
	return fsadapter.PIDLock(name, fsadapter.PIDLockOps{
		Key: p,
		CreateExclusive: func(name string, data []byte) error {
			fd, err := n.call("openSync", p, "wx")
			if err != nil {
				return fsutil.WrapErr("lock", name, err)
			}
			defer n.call("closeSync", fd)
			if err := n.writeAll(fd.Int(), data); err != nil {
				return fsutil.WrapErr("lock", name, err)
			}
			return nil
		},
		ReadFile: n.ReadFile,
		Remove:   n.Remove,
		Self:     self,
		Alive: func(pid int) bool {
			// kill(pid, 0) sends nothing: it throws ESRCH when no such process
			// runs, EPERM when one runs that is not ours.
			err := callKill(process, pid)
			var je *jsError
			return err == nil || !errors.As(err, &je) || je.code != "ESRCH"
		},
		Start:   start,
		StartOf: n.procStart,
	})
}

// procStart reads a process's start from /proc (Linux); "" elsewhere.
func (n *FS) procStart(pid int) string {
	v, err := n.call("readFileSync", "/proc/"+strconv.Itoa(pid)+"/stat", "latin1")
	if err != nil || v.Type() != js.TypeString {
		return ""
	}
	start, _ := fsadapter.ProcStatStart([]byte(v.String()))
	return start
}

// wallClockStart is the process's start by the wall clock, where there is
// no /proc: now minus process.uptime(), which is the process's (not a worker
// thread's) and so agrees across the threads of one process to within
// fsadapter.StartTolerance.
func wallClockStart(process js.Value) string {
	uptime := process.Get("uptime")
	if uptime.Type() != js.TypeFunction {
		return ""
	}
	now := js.Global().Get("Date").Call("now").Float()
	ms := now - process.Call("uptime").Float()*1000
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return ""
	}
	return "ms:" + strconv.FormatInt(int64(ms), 10)
}

func callKill(process js.Value, pid int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = newJSError(je.Value)
				return
			}
			err = fmt.Errorf("kill %d: %v", pid, r)
		}
	}()
	process.Call("kill", pid, 0)
	return nil
}
