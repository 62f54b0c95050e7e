//go:build !js

// Command loadtest drives the native sync server (the minibase-server
// command, run as a child process on 127.0.0.1) with many simulated
// devices, each a real minibase engine with the sync client state machine
// (engine/replica) over HTTP and an event stream, and writes a report.
//
// Three phases, each on a fresh server and database:
//
//   - mixed: devices write shared and private rows at random, sync, pull on
//     notices, go offline for a while; halfway through the server is killed
//     (SIGKILL) and restarted on the same file. Afterwards every device syncs
//     until nothing moves, and each must equal the server, no op may have
//     been applied twice, and no device may hold dead letters.
//
//   - fan-out: many idle devices hold event streams; the server's memory per
//     stream is measured, then commits are timed until every device has the
//     notice (and has pulled the change).
//
//   - throughput: devices push queued changes at once.
//
//     go run ./server/loadtest -server-bin path/to/minibase-server -out bench/sync-report.md
//
// Every loop is bounded; the server binds 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := cli(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func cli(args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.serverBin, "server-bin", "", "the minibase-server binary (default: built into a temp dir)")
	fs.IntVar(&cfg.devices, "devices", 200, "mixed phase: devices (0 skips the phase)")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "mixed phase: length")
	fs.IntVar(&cfg.sharedKeys, "shared-keys", 50, "mixed phase: rows every device writes")
	fs.BoolVar(&cfg.kill, "kill", true, "mixed phase: SIGKILL and restart the server halfway")
	fs.IntVar(&cfg.fanout, "fanout", 2000, "fan-out phase: idle connected devices (0 skips)")
	fs.IntVar(&cfg.probes, "probes", 20, "fan-out phase: timed commits while devices do not pull")
	fs.IntVar(&cfg.pullProbes, "pull-probes", 20, "fan-out phase: timed commits while every device pulls on each notice")
	fs.IntVar(&cfg.pushers, "pushers", 50, "throughput phase: devices pushing at once (0 skips)")
	fs.IntVar(&cfg.perPusher, "per-pusher", 2000, "throughput phase: changes per device")
	fs.DurationVar(&cfg.quiet, "quiet", 3*time.Second, "fan-out phase: time given to connections and catch-up pulls to settle")
	worker := fs.Bool("worker", false, "load the Worker build under wrangler dev (local D1) instead of the native server; no kill, no throughput phase")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	out := fs.String("out", "", "write the Markdown report here (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.seed = *seed
	if *worker {
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			return fmt.Errorf("finding the repository: %w", err)
		}
		cfg.worker, cfg.kill, cfg.pushers = strings.TrimSpace(string(root)), false, 0
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	if cfg.duration > 10*time.Minute || cfg.fanout > 20000 || cfg.devices > 20000 {
		return fmt.Errorf("runs are bounded: duration ≤ 10m, devices and fan-out ≤ 20000")
	}
	dir, err := os.MkdirTemp("", "minibase-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.dir = dir
	if cfg.serverBin == "" && cfg.worker == "" {
		cfg.serverBin = filepath.Join(dir, "minibase-server")
		build := exec.Command("go", "build", "-o", cfg.serverBin, "minibase/server/cmd/minibase-server")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the server: %w", err)
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, "loadtest: "+f+"\n", a...) }
	started := time.Now()
	res, err := run(ctx, cfg, logf)
	if err != nil {
		return err
	}
	report := markdown(cfg, res, time.Since(started), strings.Join(append([]string{"go run ./server/loadtest"}, args...), " "))
	if *out == "" {
		fmt.Print(report)
		return nil
	}
	return os.WriteFile(*out, []byte(report), 0o644)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func markdown(cfg config, r *results, took time.Duration, cmd string) string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	if cfg.worker != "" {
		p("# Sync load report (Worker under wrangler dev, local D1)\n\n")
	} else {
		p("# Sync load report (native server)\n\n")
	}
	p("`%s` (seed %d) on %s, %d CPUs, Go %s, %s; open-file limit %d. ", cmd, cfg.seed, runtime.GOOS+"/"+runtime.GOARCH,
		runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), r.FileLimit)
	if cfg.worker != "" {
		p("The server is the Worker build (Go → wasm, D1 through one batch per push, event streams in a Durable Object per tenant) ")
		p("under `wrangler dev --local` on 127.0.0.1, started by `server/worker/dev.mjs`; every device is a ")
	} else {
		p("The server is the `minibase-server` command on a SQLite file (WAL), a child process on 127.0.0.1; every device is a ")
	}
	p("minibase engine on a memory filesystem with the sync client state machine (`engine/replica`) over HTTP and an event ")
	p("stream, all in the load generator's one process, on the same cores as the server (so the figures include the ")
	p("clients' own CPU). Whole run: %.0f s.\n\n", took.Seconds())
	if m := r.Mixed; m != nil {
		ok := m.Converged == m.Devices && m.AppliedTwice == 0 && m.DeadLetters == 0
		p("## Mixed: %d devices, %.0f s, random writes, offline periods", m.Devices, m.Seconds)
		if m.Killed {
			p(", server killed (SIGKILL) halfway and restarted")
		}
		p("\n\n| | |\n|---|---|\n")
		p("| local writes | %d |\n", m.Writes)
		p("| pushes | %d (%.0f/s), %d failed (server down; attempts while offline are not sent) |\n", m.Pushes, float64(m.Pushes)/m.Seconds, m.PushErrs)
		p("| pulls | %d (%.0f/s), %d failed |\n", m.Pulls, float64(m.Pulls)/m.Seconds, m.PullErrs)
		p("| notices received | %d |\n", m.Notices)
		p("| ops applied | %d; applied twice: %d |\n", m.OpsApplied, m.AppliedTwice)
		p("| settle | %d rounds of sync after the run |\n", m.SettleRounds)
		p("| convergence | %d of %d devices equal to the server (%d rows) |\n", m.Converged, m.Devices, m.ServerRows)
		p("| dead letters | %d |\n", m.DeadLetters)
		p("| verdict | %s |\n\n", map[bool]string{true: "every device converged, no op applied twice, no dead letters", false: "**FAILED**"}[ok])
	}
	if f := r.Fanout; f != nil {
		p("## Fan-out: %d idle connected devices of one tenant\n\n", f.Devices)
		p("| | | target |\n|---|---|---|\n")
		p("| event streams opened | %d in %.1f s | |\n", f.Devices, f.ConnectSeconds)
		if f.Worker {
			p("| D1 statements while the streams sat idle | %.2f per second | 0: %s |\n", f.IdleQueriesPerSec, verdict(f.IdleQueriesPerSec == 0))
			p("| D1 statements per commit (its push included) | %.1f | |\n", f.QueriesPerNotice)
			p("| commit → notice on every device, devices not pulling (%d commits × %d devices) | p50 %s, p99 %s, max %s | p99 ≤ 500 ms: %s |\n",
				f.Probes, f.Devices, ms(f.QuietP50), ms(f.QuietP99), ms(f.QuietMax), verdict(f.QuietP99 <= 500*time.Millisecond && f.Missed == 0))
		} else {
			p("| server RSS | %.1f MB before, %.1f MB with the streams | |\n", float64(f.RSSBefore)/(1<<20), float64(f.RSSAfter)/(1<<20))
			p("| server memory per idle connected device | %.1f KB | ≤ 20 KB: %s |\n", f.BytesPerIdleDevice/1024, verdict(f.BytesPerIdleDevice <= 20<<10))
			p("| commit → notice on every device, devices not pulling (%d commits × %d devices) | p50 %s, p99 %s, max %s | p99 ≤ 250 ms: %s |\n",
				f.Probes, f.Devices, ms(f.QuietP50), ms(f.QuietP99), ms(f.QuietMax), verdict(f.QuietP99 <= 250*time.Millisecond && f.Missed == 0))
		}
		p("| commit → notice on every device, every device pulling on each notice (%d commits) | p50 %s, p99 %s, max %s | |\n",
			f.PullProbes, ms(f.NoticeP50), ms(f.NoticeP99), ms(f.NoticeMax))
		p("| commit → change pulled on every device | p50 %s, p99 %s | |\n", ms(f.PulledP50), ms(f.PulledP99))
		p("| notices missed (10 s wait) | %d | 0 |\n", f.Missed)
		p("| convergence | %d of %d devices | all |\n\n", f.Converged, f.Devices)
		p("The clock starts before the commit's push is sent, so a notice's time includes that push. With every device ")
		p("pulling at once, %d engines and %d pulls per commit share the 2 cores with the server and the notices ", f.Devices, f.Devices)
		p("still being read: that row measures this machine as much as the server.\n\n")
	}
	if t := r.Throughput; t != nil {
		n := t.Changes / 2
		p("## Push throughput: %d devices pushing %d changes each at once\n\n", t.Pushers, n/max(t.Pushers, 1))
		p("| | | target |\n|---|---|---|\n")
		p("| server: requests read and encoded before the clock, answers decoded and applied after it | %d changes in %d pushes (≤ 1000 changes each), %.2f s: **%.0f changes/s** | ≥ 20,000: %s |\n",
			n, t.Pushes, t.Seconds, t.ChangesPerSec, verdict(t.ChangesPerSec >= 20000))
		p("| its server CPU | %.2f s, %.0f changes per server CPU-second | |\n", t.ServerCPU, float64(n)/max(t.ServerCPU, 0.01))
		p("| end to end: every client step inside the clock | %d changes, %.2f s: %.0f changes/s (server CPU %.2f s) | |\n",
			n, t.E2ESeconds, t.E2EChangesPerSec, t.E2EServerCPU)
		p("| rows on the server | %d | %d |\n\n", t.ServerRows, t.Changes)
	}
	return b.String()
}
