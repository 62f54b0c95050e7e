//go:build js && wasm

package nodefs

import (
	"errors"
	"fmt"
	"syscall/js"

	"minibase/fsadapter"
)

var _ fsadapter.Locker = (*FS)(nil)

// Lock takes an exclusive lock file (see fsadapter.PIDLock): several Node
// processes may point at one directory, and only one may write it.
func (n *FS) Lock(name string) (func() error, error) {
	process := js.Global().Get("process")
	if process.Type() != js.TypeObject || process.Get("kill").Type() != js.TypeFunction {
		return nil, fmt.Errorf("nodefs: lock %s: no process object", name)
	}
	p, err := n.path("lock", name)
	if err != nil {
		return nil, err
	}
	return fsadapter.PIDLock(name, fsadapter.PIDLockOps{
		Key: p,
		CreateExclusive: func(name string, data []byte) error {
			fd, err := n.call("openSync", p, "wx")
			if err != nil {
				return wrapErr("lock", name, err)
			}
			defer n.call("closeSync", fd)
			buf := n.uint8Array.New(len(data))
			js.CopyBytesToJS(buf, data)
			if _, err := n.call("writeSync", fd, buf, 0, len(data)); err != nil {
				return wrapErr("lock", name, err)
			}
			return nil
		},
		ReadFile: n.ReadFile,
		Remove:   n.Remove,
		Self:     process.Get("pid").Int(),
		Alive: func(pid int) bool {
			// kill(pid, 0) sends nothing: it throws ESRCH when no such process
			// runs, EPERM when one runs that is not ours.
			err := callKill(process, pid)
			var je *jsError
			return err == nil || !errors.As(err, &je) || je.code != "ESRCH"
		},
	})
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
