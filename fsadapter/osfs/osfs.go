//go:build !js

package osfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	return fsadapter.New(sub, fsadapter.Caps{Name: "os", AppendCheap: true, Sync: true}), nil
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
