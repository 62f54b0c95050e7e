package fsutil

import (
	"errors"
	"io/fs"
	"testing"
	"time"
)

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		root, name, want string
		invalid          bool
	}{
		{"/data/db", ".", "/data/db", false},
		{"/data/db", "a", "/data/db/a", false},
		{"/data/db", "a/b", "/data/db/a/b", false},
		{"/", "a", "/a", false},
		{"/", ".", "/", false},
		{"wxfile://usr/mb", "x", "wxfile://usr/mb/x", false},
		{"/data/db", "../x", "", true},
		{"/data/db", "/x", "", true},
		{"/data/db", "a/", "", true},
		{"/data/db", "", "", true},
		{"/data/db", "a//b", "", true},
		{"/data/db", "a/./b", "", true},
	} {
		got, err := Join("read", tc.root, tc.name)
		if tc.invalid {
			if !errors.Is(err, fs.ErrInvalid) || got != "" {
				t.Errorf("Join(%q, %q) = %q, %v; want fs.ErrInvalid", tc.root, tc.name, got, err)
			}
			if err != nil && err.Error() != "fsadapter: read "+tc.name+": invalid argument" {
				t.Errorf("Join(%q, %q): error reads %q", tc.root, tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Join(%q, %q) = %q, %v; want %q", tc.root, tc.name, got, err, tc.want)
		}
	}
}

func TestWrapErr(t *testing.T) {
	if WrapErr("read", "x", nil) != nil {
		t.Error("WrapErr of nil is not nil")
	}
	err := WrapErr("read", "a/b", fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "fsadapter: read a/b: file does not exist" {
		t.Errorf("WrapErr = %v", err)
	}
}

func TestFileInfo(t *testing.T) {
	mt := time.UnixMilli(1700000000123)
	fi := NewFileInfo("d", 42, fs.ModeDir|0o755, mt)
	if fi.Name() != "d" || fi.Size() != 42 || !fi.IsDir() || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(mt) || fi.Sys() != nil {
		t.Errorf("FileInfo = %+v", fi)
	}
	if NewFileInfo("f", 0, 0o644, mt).IsDir() {
		t.Error("a file says it is a directory")
	}
}

func TestAppender(t *testing.T) {
	boom := errors.New("boom")
	syncs, dirSyncs, closes := 0, 0, 0
	sync := func() error { syncs++; return nil }
	syncDir := func() { dirSyncs++ }

	a := NewAppender("log", true, WrapErr)
	if n, err := a.Write([]byte("abc"), func(p []byte) (int, error) { return len(p), nil }); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, err := a.Write([]byte("abc"), func(p []byte) (int, error) { return 1, boom }); n != 1 || !errors.Is(err, boom) ||
		err.Error() != "fsadapter: append log: boom" {
		t.Fatalf("failed Write = %d, %v", n, err)
	}
	// A failed sync leaves the directory pending; the next good one syncs it, once.
	if err := a.Sync(func() error { return boom }, syncDir); !errors.Is(err, boom) || dirSyncs != 0 {
		t.Fatalf("failed Sync = %v, dir syncs %d", err, dirSyncs)
	}
	for range 3 {
		if err := a.Sync(sync, syncDir); err != nil {
			t.Fatal(err)
		}
	}
	if syncs != 3 || dirSyncs != 1 {
		t.Errorf("syncs %d, dir syncs %d; want 3, 1", syncs, dirSyncs)
	}
	// A failing close still closes: the handle must not be used again.
	if err := a.Close(func() error { closes++; return boom }); !errors.Is(err, boom) {
		t.Errorf("Close = %v", err)
	}
	wrote := false
	if _, err := a.Write([]byte("x"), func(p []byte) (int, error) { wrote = true; return len(p), nil }); !errors.Is(err, fs.ErrClosed) || wrote {
		t.Errorf("Write after Close = %v (reached the host: %v)", err, wrote)
	}
	if err := a.Sync(sync, syncDir); !errors.Is(err, fs.ErrClosed) || syncs != 3 {
		t.Errorf("Sync after Close = %v", err)
	}
	if err := a.Close(func() error { closes++; return nil }); !errors.Is(err, fs.ErrClosed) || closes != 1 {
		t.Errorf("second Close = %v, host closes %d", err, closes)
	}

	// No host flush (nil sync): only the closed check.
	b := NewAppender("x", true, WrapErr)
	if err := b.Sync(nil, nil); err != nil {
		t.Error(err)
	}
	if err := b.Close(nil); err != nil {
		t.Error(err)
	}
	if err := b.Sync(nil, nil); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Sync after Close = %v", err)
	}
}

// TestAppenderWrapsWithTheAdapters checks that an adapter's own wording
// (the hackpadfs adapter's adds ErrNoSpace) is used for every error.
func TestAppenderWrapsWithTheAdapters(t *testing.T) {
	var ops []string
	wrap := func(op, name string, err error) error {
		if err == nil {
			return nil
		}
		ops = append(ops, op)
		return WrapErr(op, name, err)
	}
	a := NewAppender("f", false, wrap)
	_ = a.Close(nil)
	_, _ = a.Write(nil, nil)
	_ = a.Sync(nil, nil)
	_ = a.Close(nil)
	if want := []string{"append", "sync", "close"}; len(ops) != 3 || ops[0] != want[0] || ops[1] != want[1] || ops[2] != want[2] {
		t.Errorf("wrapped %v, want %v", ops, want)
	}
}
