package lsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"minibase/engine/lsm"
	"minibase/fsadapter"
)

// prefetchFS is a write-once backend that loads files on demand: nothing is
// loaded until Prefetch named it, and it records what it was asked for.
type prefetchFS struct {
	writeOnceFS
	asked  [][]string
	loaded map[string]bool
}

func (p *prefetchFS) Prefetch(names []string) error {
	p.asked = append(p.asked, slices.Clone(names))
	missing := 0
	for _, n := range names {
		if !p.loaded[n] {
			p.loaded[n] = true
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("prefetch: %w", fsadapter.ErrNotResident)
	}
	return nil
}

func (p *prefetchFS) ReadFile(name string) ([]byte, error) {
	if (strings.HasSuffix(name, ".log") || strings.HasSuffix(name, ".manifest")) && !p.loaded[name] {
		return nil, fmt.Errorf("read %s: %w", name, fsadapter.ErrNotResident)
	}
	return p.writeOnceFS.ReadFile(name)
}

// Recovery names every log and manifest it will read in one Prefetch before
// reading any, so a backend loading on demand needs one retry, not one per file.
func TestOpenPrefetchesLogsAndManifests(t *testing.T) {
	mem := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 4 << 10}
	s := open(t, writeOnceFS{mem}, opts)
	want := state{}
	for i := range 200 {
		b := numberedBatch(i)
		require.NoError(t, s.Apply(b))
		want.apply(b)
	}
	require.NoError(t, s.Close())
	logs := storeFiles(t, mem, ".log")
	require.Greater(t, len(logs), 3, "several one-commit logs to replay")

	p := &prefetchFS{writeOnceFS: writeOnceFS{mem}, loaded: map[string]bool{}}
	_, err := lsm.Open(p, opts)
	require.ErrorIs(t, err, fsadapter.ErrNotResident, "the first open asks and fails")
	require.Len(t, p.asked, 1)
	for _, l := range logs {
		assert.Contains(t, p.asked[0], l, "every log in the one request")
	}
	again, err := lsm.Open(p, opts)
	require.NoError(t, err, "the second open finds everything loaded")
	checkStore(t, again, want)
	require.NoError(t, again.Close())
}

// coldSegments is a backend (memfs, which reads ranges) on which no segment range is loaded until asked
// for: a read fails with ErrNotResident and notes the range, until
// loadMissed loads what was noted. warm turns it off.
type coldSegments struct {
	fsadapter.FS
	warm   bool
	loaded map[string]bool
	missed map[string]bool
}

func (c *coldSegments) ReadRange(name string, off int64, n int) ([]byte, error) {
	key := fmt.Sprintf("%s@%d+%d", name, off, n)
	if !c.warm && strings.HasSuffix(name, ".sst") && !c.loaded[key] {
		c.missed[key] = true
		return nil, fmt.Errorf("read %s: %w", name, fsadapter.ErrNotResident)
	}
	return c.FS.(fsadapter.RangeReader).ReadRange(name, off, n)
}

// loadMissed makes what reads missed readable, as the host does before it
// runs the call again.
func (c *coldSegments) loadMissed() {
	for k := range c.missed {
		c.loaded[k] = true
	}
	c.missed = map[string]bool{}
}

// Opening reads no segment, so a backend that loads on demand opens a
// store of many segments at the first try. (Segments of manifests from
// before segment descriptions are opened at open, going on past one whose
// index is not loaded so that one open names all of them.)
func TestOpenNamesEverySegmentItLacks(t *testing.T) {
	mem := newMemFS(t)
	opts := lsm.Options{MemtableBytes: 2 << 10, SegmentBytes: 2 << 10}
	s := open(t, writeOnceFS{mem}, opts)
	want := state{}
	for i := range 400 {
		b := numberedBatch(i)
		require.NoError(t, s.Apply(b))
		want.apply(b)
	}
	require.NoError(t, s.Close())
	segs := storeFiles(t, mem, ".sst")
	require.Greater(t, len(segs), 4)

	c := &coldSegments{FS: mem, loaded: map[string]bool{}, missed: map[string]bool{}}
	opens := 0
	var got *lsm.Store
	for ; opens < 10; opens++ {
		var err error
		got, err = lsm.Open(c, opts)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, fsadapter.ErrNotResident)
		require.NotEmpty(t, c.missed)
		c.loadMissed()
	}
	require.NotNil(t, got)
	assert.Zero(t, opens, "failed opens before one succeeds, with %d segments", len(segs))
	require.NoError(t, got.Close())
	again := open(t, writeOnceFS{mem}, opts)
	checkStore(t, again, want)
}
