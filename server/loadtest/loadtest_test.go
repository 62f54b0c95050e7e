//go:build !js

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallRun is the load generator at a size for `make test`: 20 devices
// with offline periods and a server killed (SIGKILL) and restarted mid-run,
// a small fan-out and a small push burst. No figure is asserted, only the
// outcome: every device converges to the server, no op is applied twice,
// no dead letters, every notice arrives, every pushed row is stored.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server: not in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "minibase-server")
	out, err := exec.Command("go", "build", "-o", bin, "minibase/server/cmd/minibase-server").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cfg := config{serverBin: bin, dir: dir, seed: uint64(time.Now().UnixNano()),
		devices: 20, duration: 3 * time.Second, sharedKeys: 10, kill: true,
		fanout: 30, probes: 2, pullProbes: 2, quiet: 500 * time.Millisecond,
		pushers: 3, perPusher: 300}
	t.Logf("seed %d", cfg.seed)
	res, err := run(context.Background(), cfg, t.Logf)
	require.NoError(t, err)

	m := res.Mixed
	require.NotNil(t, m)
	assert.True(t, m.Killed)
	assert.Positive(t, m.OpsApplied)
	assert.Positive(t, m.Notices)
	assert.Equal(t, m.Devices, m.Converged, "every device equals the server")
	assert.Zero(t, m.AppliedTwice, "no op applied twice")
	assert.Zero(t, m.DeadLetters)

	f := res.Fanout
	require.NotNil(t, f)
	assert.Zero(t, f.Missed, "every device got every notice")
	assert.Equal(t, f.Devices, f.Converged)

	tp := res.Throughput
	require.NotNil(t, tp)
	assert.Equal(t, tp.Changes, tp.ServerRows, "every pushed change is stored")

	report := markdown(cfg, res, time.Second, "test")
	assert.Contains(t, report, "every device converged")
}
