package fsadapter

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/hack-pad/hackpadfs"

	"minibase/fsadapter/internal/fsutil"
)

// New adapts any hackpadfs filesystem to FS. caps must describe hfs truthfully:
// Sync is only attempted when caps.Sync is true, so a backend whose files have
// no Sync method (hackpadfs/mem, whose SyncFile fails with ENOSYS) must say
// Sync: false.
//
// Files are created with permission 0o644 and directories with 0o755.
// The adapter does not rely on what hackpadfs/keyvalue (behind mem and
// indexeddb) gets wrong: it ignores O_EXCL on an existing file, its files
// panic when used after Close, and it reads a directory as an empty file.
func New(hfs hackpadfs.FS, caps Caps) FS {
	return &hackpadFS{fs: hfs, caps: caps}
}

const (
	filePerm = 0o644
	dirPerm  = 0o755
)

// hackpadFS implements FS over the hackpadfs helper functions, which fall back
// to the basic interfaces when a backend lacks an optimized method.
type hackpadFS struct {
	fs   hackpadfs.FS
	caps Caps
}

func (h *hackpadFS) Caps() Caps { return h.caps }

func (h *hackpadFS) ReadFile(name string) ([]byte, error) {
	if err := fsutil.CheckPath("read", name); err != nil {
		return nil, err
	}
	data, err := hackpadfs.ReadFile(h.fs, name)
	if err != nil {
		return nil, wrapErr("read", name, err)
	}
	return data, nil
}

// ReadRange reads n bytes of name at off (RangeReader), so a segment block
// read costs the block, not the file.
func (h *hackpadFS) ReadRange(name string, off int64, n int) ([]byte, error) {
	return fsutil.ReadRange(name, n, func(dst []byte) error { return h.ReadRangeInto(name, off, dst) })
}

// ReadRangeInto is ReadRange into dst (RangeIntoReader).
func (h *hackpadFS) ReadRangeInto(name string, off int64, dst []byte) error {
	if err := fsutil.CheckPath("read", name); err != nil {
		return err
	}
	if off < 0 {
		return wrapErr("read", name, fs.ErrInvalid)
	}
	f, err := h.fs.Open(name)
	if err != nil {
		return wrapErr("read", name, err)
	}
	defer f.Close()
	got, err := hackpadfs.ReadAtFile(f, dst, off)
	if got == len(dst) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return wrapErr("read", name, err)
}

// WriteFile hands data to the backend in exactly one Write call (none for
// empty data), because on IndexedDB every Write re-saves the whole file.
func (h *hackpadFS) WriteFile(name string, data []byte, sync bool) error {
	if err := fsutil.CheckPath("write", name); err != nil {
		return err
	}
	sync = sync && h.caps.Sync
	// A new directory entry is only durable once the directory is synced too;
	// knowing whether the file is new saves that fsync on replacement. Stat
	// rather than O_EXCL, because hackpadfs/keyvalue ignores O_EXCL.
	created := false
	if sync {
		_, err := hackpadfs.Stat(h.fs, name)
		created = errors.Is(err, fs.ErrNotExist)
	}
	f, err := hackpadfs.OpenFile(h.fs, name, hackpadfs.FlagWriteOnly|hackpadfs.FlagCreate|hackpadfs.FlagTruncate, filePerm)
	if err != nil {
		return wrapErr("write", name, err)
	}
	if len(data) > 0 {
		err = writeFull(f, data)
	}
	if err == nil && sync {
		err = hackpadfs.SyncFile(f)
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return wrapErr("write", name, err)
	}
	if created {
		h.syncDir(path.Dir(name))
	}
	return nil
}

func (h *hackpadFS) OpenAppend(name string) (AppendFile, error) {
	if err := fsutil.CheckPath("open", name); err != nil {
		return nil, err
	}
	created := false
	if h.caps.Sync {
		_, err := hackpadfs.Stat(h.fs, name)
		created = errors.Is(err, fs.ErrNotExist)
	}
	f, err := hackpadfs.OpenFile(h.fs, name, hackpadfs.FlagWriteOnly|hackpadfs.FlagAppend|hackpadfs.FlagCreate, filePerm)
	if err != nil {
		return nil, wrapErr("open", name, err)
	}
	return &appendFile{Appender: fsutil.NewAppender(name, created, wrapErr), fs: h, name: name, f: f}, nil
}

func (h *hackpadFS) Truncate(name string, size int64) error {
	if err := fsutil.CheckPath("truncate", name); err != nil {
		return err
	}
	if size < 0 {
		return wrapErr("truncate", name, fs.ErrInvalid)
	}
	f, err := hackpadfs.OpenFile(h.fs, name, hackpadfs.FlagWriteOnly, 0)
	if err != nil {
		return wrapErr("truncate", name, err)
	}
	err = hackpadfs.TruncateFile(f, size)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return wrapErr("truncate", name, err)
}

func (h *hackpadFS) Remove(name string) error {
	if err := fsutil.CheckPath("remove", name); err != nil {
		return err
	}
	return wrapErr("remove", name, hackpadfs.Remove(h.fs, name))
}

func (h *hackpadFS) ReadDir(dir string) ([]string, error) {
	if err := fsutil.CheckPath("readdir", dir); err != nil {
		return nil, err
	}
	entries, err := hackpadfs.ReadDir(h.fs, dir)
	if err != nil {
		return nil, wrapErr("readdir", dir, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	// Not every backend sorts (io/fs.ReadDir does, a ReadDirFS need not).
	slices.Sort(names)
	return names, nil
}

func (h *hackpadFS) MkdirAll(dir string) error {
	if err := fsutil.CheckPath("mkdir", dir); err != nil {
		return err
	}
	return wrapErr("mkdir", dir, hackpadfs.MkdirAll(h.fs, dir, dirPerm))
}

func (h *hackpadFS) Stat(name string) (fs.FileInfo, error) {
	if err := fsutil.CheckPath("stat", name); err != nil {
		return nil, err
	}
	info, err := hackpadfs.Stat(h.fs, name)
	if err != nil {
		return nil, wrapErr("stat", name, err)
	}
	return info, nil
}

// syncDir makes a new directory entry durable. It is best effort: not every
// backend can open or sync a directory (Windows cannot), and the file's own
// data is already synced.
func (h *hackpadFS) syncDir(dir string) {
	d, err := h.fs.Open(dir)
	if err != nil {
		return
	}
	_ = hackpadfs.SyncFile(d)
	_ = d.Close()
}

// appendFile is an AppendFile over a hackpadfs file opened with O_APPEND.
type appendFile struct {
	*fsutil.Appender
	fs   *hackpadFS
	name string
	f    hackpadfs.File // nil once closed: hackpadfs/mem files panic when used after Close
}

func (a *appendFile) Write(p []byte) (int, error) {
	return a.Appender.Write(p, func(p []byte) (int, error) {
		n, err := hackpadfs.WriteFile(a.f, p)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		return n, err
	})
}

func (a *appendFile) Sync() error {
	if !a.fs.caps.Sync {
		return a.Appender.Sync(nil, nil)
	}
	return a.Appender.Sync(func() error { return hackpadfs.SyncFile(a.f) }, func() { a.fs.syncDir(path.Dir(a.name)) })
}

func (a *appendFile) Close() error {
	return a.Appender.Close(func() error {
		err := a.f.Close()
		a.f = nil
		return err
	})
}

// writeFull writes p in one Write call and reports a short write as an error.
func writeFull(f hackpadfs.File, p []byte) error {
	n, err := hackpadfs.WriteFile(f, p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// wrapErr words err as every backend does (fsutil.WrapErr), and makes
// every flavour of "out of space" match ErrNoSpace while keeping the
// original error.
func wrapErr(op, name string, err error) error {
	if isNoSpace(err) && !errors.Is(err, ErrNoSpace) {
		return fmt.Errorf("fsadapter: %s %s: %w: %w", op, name, ErrNoSpace, err)
	}
	return fsutil.WrapErr(op, name, err)
}

// isNoSpace reports whether err means the backend ran out of space or quota:
// ErrNoSpace itself, ENOSPC or EDQUOT, or an error whose message says "no
// space" or "quota", because JS backends (IndexedDB's QuotaExceededError, the
// wx storage limit) report it only in words.
func isNoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no space") || strings.Contains(msg, "quota")
}
