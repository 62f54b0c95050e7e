//go:build !js

package main

import (
	"bufio"
	"context"
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

// raiseFileLimit lifts the soft limit on open files to the hard one: every
// simulated device holds an event stream (and the server one per device).
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
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
