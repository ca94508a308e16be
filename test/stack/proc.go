package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	logFrom int64 // where this run's output starts in LogPath (a restart appends)
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
	logFrom, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		logf.Close()
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
	p := &process{name: name, cmd: cmd, LogPath: logPath, logFrom: logFrom, done: make(chan struct{})}
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

// output is what this run of the server wrote to its log.
func (p *process) output() []byte {
	b, _ := os.ReadFile(p.LogPath)
	if int64(len(b)) < p.logFrom {
		return nil
	}
	return b[p.logFrom:]
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
			err := fmt.Errorf("%s exited before ready (%v): %v\n--- %s log tail ---\n%s", p.name, p.waitErr, last, p.name, p.logTail())
			if lostPort(p.output()) {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v\n--- %s log tail ---\n%s", p.name, timeout, last, p.name, p.logTail())
		case <-tick.C:
		}
	}
}

// processGone reports whether pid no longer exists (after it was waited for).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// ProcessRunning reports whether pid exists (including as a zombie), for leak checks.
func ProcessRunning(pid int) bool { return !processGone(pid) }
