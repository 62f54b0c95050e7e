//go:build !js

package osfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hack-pad/hackpadfs"
	hpos "github.com/hack-pad/hackpadfs/os"

	"minibase/fsadapter"
)

// New returns a filesystem rooted at root, creating root (and its parents)
// when missing. A relative root is resolved against the working directory
// now, so a later chdir does not move the database.
func New(root string) (fsadapter.FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("osfs: resolve root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("osfs: create root %s: %w", abs, err)
	}
	sub, err := rooted(abs)
	if err != nil {
		return nil, fmt.Errorf("osfs: open root %s: %w", abs, err)
	}
	return &lockingFS{FS: fsadapter.New(sub, fsadapter.Caps{Name: "os", AppendCheap: true, Sync: true}), abs: abs}, nil
}

// lockingFS adds a cross-process lock to the disk filesystem.
type lockingFS struct {
	fsadapter.FS
	abs string
}

var (
	_ fsadapter.Locker          = (*lockingFS)(nil)
	_ fsadapter.RangeReader     = (*lockingFS)(nil)
	_ fsadapter.RangeIntoReader = (*lockingFS)(nil)
)

// ReadRange reads part of a file (the embedded interface hides the hackpadfs
// backend's method, so it is passed on by hand).
func (l *lockingFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	return l.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

// ReadRangeInto reads part of a file into dst, passed on by hand for the
// same reason as ReadRange.
func (l *lockingFS) ReadRangeInto(name string, off int64, dst []byte) error {
	return l.FS.(fsadapter.RangeIntoReader).ReadRangeInto(name, off, dst)
}

// Lock takes an exclusive lock file (see fsadapter.PIDLock).
func (l *lockingFS) Lock(name string) (func() error, error) {
	file := filepath.Join(l.abs, filepath.FromSlash(name))
	return fsadapter.PIDLock(name, fsadapter.PIDLockOps{
		Key: file,
		CreateExclusive: func(name string, data []byte) error {
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			_, err = f.Write(data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		},
		ReadFile: l.ReadFile,
		Remove:   l.Remove,
		Self:     os.Getpid(),
		Alive:    processAlive,
		Start:    procStart(os.Getpid()),
		StartOf:  procStart,
	})
}

// procStart reads a process's start from /proc (Linux); "" elsewhere, where
// the lock falls back to the pid alone.
func procStart(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	start, _ := fsadapter.ProcStatStart(stat)
	return start
}

// processAlive reports whether a process with this id runs. Signal 0
// delivers nothing; where it is unsupported the process counts as alive, so
// a lock is never taken from a process that might still run.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM) || !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

// rooted returns a hackpadfs/os filesystem whose "." is the absolute path abs.
// hackpadfs/os names every path relative to "/" (or a volume such as C:), so
// the root is its volume followed by a Sub of the rest.
func rooted(abs string) (hackpadfs.FS, error) {
	var fsys hackpadfs.FS = hpos.NewFS()
	vol := filepath.VolumeName(abs)
	if vol != "" {
		var err error
		if fsys, err = hpos.NewFS().SubVolume(vol); err != nil {
			return nil, err
		}
	}
	rest := strings.Trim(filepath.ToSlash(abs[len(vol):]), "/")
	if rest == "" {
		return fsys, nil
	}
	return hackpadfs.Sub(fsys, rest)
}
