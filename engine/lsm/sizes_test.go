package lsm_test

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/kv"
	"minibase/engine/lsm"
	"minibase/fsadapter"
)

// sizeFS lists a directory's sizes in one call (fsadapter.SizeLister), as
// the browser's OPFS host does, answering `wrong` for the names in it, or
// failing (errors.ErrUnsupported: a host without the call), and counts the
// Stat calls made of segments.
type sizeFS struct {
	fsadapter.FS
	wrong    map[string]int64
	fail     bool
	segStats int
}

func (f *sizeFS) Stat(name string) (fs.FileInfo, error) {
	if strings.HasSuffix(name, ".sst") {
		f.segStats++
	}
	return f.FS.Stat(name)
}

func (f *sizeFS) ReadDirSizes(dir string) (map[string]int64, error) {
	if f.fail {
		return nil, errors.ErrUnsupported
	}
	names, err := f.FS.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, n := range names {
		fi, err := f.FS.Stat(path.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out[n] = fi.Size()
		}
	}
	for n, size := range f.wrong {
		out[n] = size
	}
	return out, nil
}

// An open takes the segments' sizes from one listing when the backend can
// list them, and still finds a segment whose size is not the manifest's;
// a backend whose listing fails is asked per segment.
func TestOpenTakesSegmentSizesFromOneListing(t *testing.T) {
	base := newMemFS(t)
	opts := lsm.Options{SegmentBytes: 16 << 10}
	s, err := lsm.Open(base, opts)
	require.NoError(t, err)
	batch := &kv.Batch{}
	for i := range 20000 {
		batch.Set(benchKey(i), make([]byte, 40))
		if batch.Len() == 1000 {
			require.NoError(t, s.Apply(batch))
			batch = &kv.Batch{}
		}
	}
	require.NoError(t, s.Compact())
	segments := s.Stats().Segments
	require.Greater(t, segments, 4)
	require.NoError(t, s.Close())
	names, err := base.ReadDir(".")
	require.NoError(t, err)
	var seg string
	for _, n := range names {
		if strings.HasSuffix(n, ".sst") {
			seg = n
		}
	}
	require.NotEmpty(t, seg)

	tests := []struct {
		name     string
		fs       *sizeFS
		segStats int
		corrupt  bool
	}{
		{"listed", &sizeFS{FS: base}, 0, false},
		{"the host cannot list", &sizeFS{FS: base, fail: true}, segments, false},
		{"a listed size is not the manifest's", &sizeFS{FS: base, wrong: map[string]int64{seg: 12345}}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := lsm.Open(tc.fs, opts)
			if tc.corrupt {
				require.ErrorIs(t, err, kv.ErrCorrupt)
				assert.Contains(t, err.Error(), seg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.segStats, tc.fs.segStats)
			v, err := s.Get(benchKey(12345))
			require.NoError(t, err)
			assert.Len(t, v, 40)
			require.NoError(t, s.Close())
		})
	}
}
