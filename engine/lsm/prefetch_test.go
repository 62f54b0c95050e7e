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
