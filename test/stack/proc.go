package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopGrace is how long a server gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// process is one child server. Its output goes to a log file so a readiness
// failure can show what the server said.
type process struct {
	name    string
	cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	waitErr error
}

// startProcess runs bin in its own process group; Pdeathsig kills it if the test
// binary dies without running cleanups.
func startProcess(name, bin, dir string, env []string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// PID of the child (the leader of its process group).
func (p *process) PID() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, SIGKILL after stopGrace, and waits.
func (p *process) stop() error {
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(stopGrace)
		select {
		case <-p.done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Anything the leader left behind in its group goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return nil
}

// logTail returns the end of the server's log, for error messages.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.LogPath)
	return tail(b, 3000)
}

// waitReady polls check until it succeeds, the process exits, or ctx/timeout expires.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before ready (%v): %v\n--- %s log tail ---\n%s", p.name, p.waitErr, last, p.name, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v\n--- %s log tail ---\n%s", p.name, timeout, last, p.name, p.logTail())
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for an unused loopback port. Another process could take
// it before the server binds; readiness then fails with the server's own error.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	// Hold all listeners until every port is chosen, so the n ports differ.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// processGone reports whether pid no longer exists (after it was waited for).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// ProcessRunning reports whether pid exists (including as a zombie), for leak checks.
func ProcessRunning(pid int) bool { return !processGone(pid) }
