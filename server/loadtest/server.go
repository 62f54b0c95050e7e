//go:build !js

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nativeServer is the native sync server (the minibase-server command) as a
// child process on 127.0.0.1, on a file database that outlives it, so it can
// be killed (SIGKILL, no shutdown) and started again on the same data.
type nativeServer struct {
	bin, dir, addr, secretFile string
	cmd                        *exec.Cmd
	exited                     chan struct{}
	log                        *os.File
}

func startNative(bin, dir string, secret string) (*nativeServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &nativeServer{bin: bin, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port), secretFile: filepath.Join(dir, "secret")}
	if err := os.WriteFile(s.secretFile, []byte(secret), 0o600); err != nil {
		return nil, err
	}
	return s, s.start()
}

func (s *nativeServer) url() string { return "http://" + s.addr }

func (s *nativeServer) start() error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := range 20 { // the port of a killed server may take a moment to free
		cmd := exec.Command(s.bin, "-addr", s.addr, "-db", filepath.Join(s.dir, "sync.db"), "-secret-file", s.secretFile,
			"-max-streams", "100000", "-max-tenant-streams", "100000", "-retention", "720h")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if lastErr = waitHealthy(s.url(), exited, 15*time.Second); lastErr == nil {
			s.cmd, s.exited, s.log = cmd, exited, logf
			return nil
		}
		_ = cmd.Process.Kill()
		<-exited
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	logf.Close()
	return fmt.Errorf("server did not start: %w (log: %s)", lastErr, filepath.Join(s.dir, "server.log"))
}

// kill ends the server at once, as a crash or an OOM kill would.
func (s *nativeServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.log.Close()
	s.cmd = nil
}

// stop ends the server gracefully (SIGTERM), then kills it if it lingers.
func (s *nativeServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
	s.log.Close()
	s.cmd = nil
}

// rss is the server process's resident memory in bytes (Linux /proc).
func (s *nativeServer) rss() (int64, error) {
	if s.cmd == nil {
		return 0, errors.New("server not running")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

func waitHealthy(url string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("the server exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/health", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			cancel()
			if res.StatusCode == 200 {
				return nil
			}
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no healthy answer in time")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cpu is the CPU time the server process has used (user + system), from
// /proc (clock ticks of 1/100 s, Linux's USER_HZ).
func (s *nativeServer) cpu() (time.Duration, error) {
	if s.cmd == nil {
		return 0, errors.New("server not running")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at state.
	_, rest, ok := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// target is the server under load: the native command or the Worker under
// wrangler dev.
type target interface {
	url() string
	kill()
	start() error
	stop()
	// rss and cpu are the server process's memory and CPU time (native only).
	rss() (int64, error)
	cpu() (time.Duration, error)
	// queries is how many D1 statements the Worker has run (Worker only).
	queries() (int64, error)
}

func (s *nativeServer) queries() (int64, error) { return 0, errors.New("not a Worker") }

// workerServer is the Worker build under `wrangler dev` with a local D1,
// started through server/worker/dev.mjs (which builds it), counting D1
// statements.
type workerServer struct {
	root, secret, base string
	cmd                *exec.Cmd
	exited             chan struct{}
	log                *os.File
}

func startWorker(root, dir, secret string) (*workerServer, error) {
	w := &workerServer{root: root, secret: secret}
	logf, err := os.Create(filepath.Join(dir, "wrangler.log"))
	if err != nil {
		return nil, err
	}
	w.log = logf
	cmd := exec.Command("node", filepath.Join(root, "server/worker/dev.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MINIBASE_SYNC_SECRET="+secret, "MINIBASE_SYNC_COUNT_QUERIES=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.cmd, w.exited = cmd, make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if _, u, ok := strings.Cut(line, "ready on "); ok {
				if u, _, _ = strings.Cut(u, " "); u != "" {
					select {
					case found <- u:
					default:
					}
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(w.exited) }()
	select {
	case w.base = <-found:
		return w, nil
	case <-w.exited:
		return nil, fmt.Errorf("wrangler dev exited (log: %s)", logf.Name())
	case <-time.After(3 * time.Minute):
		w.stop()
		return nil, fmt.Errorf("wrangler dev not ready in 3 minutes (log: %s)", logf.Name())
	}
}

func (w *workerServer) url() string { return w.base }
func (w *workerServer) kill()       { w.stop() }
func (w *workerServer) start() error {
	return errors.New("the Worker is not restarted by the load test")
}

func (w *workerServer) stop() {
	if w.cmd == nil {
		return
	}
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.exited
	}
	w.log.Close()
	w.cmd = nil
}

func (w *workerServer) rss() (int64, error) { return 0, errors.New("not measured on the Worker") }
func (w *workerServer) cpu() (time.Duration, error) {
	return 0, errors.New("not measured on the Worker")
}

func (w *workerServer) queries() (int64, error) {
	res, err := http.Get(w.base + "/__minibase/queries")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var v struct{ Queries int64 }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return 0, err
	}
	return v.Queries, nil
}
