package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the test drives the master, the
// child gets the slave as its controlling terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening pty slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// terminal collects what the child writes to the master side.
type terminal struct {
	master *os.File
	out    chan []byte
	buf    bytes.Buffer
}

func newTerminal(master *os.File) *terminal {
	tm := &terminal{master: master, out: make(chan []byte, 64)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			if n > 0 {
				tm.out <- append([]byte(nil), b[:n]...)
			}
			if err != nil {
				close(tm.out)
				return
			}
		}
	}()
	return tm
}

// waitFor reads until the screen shows s (the condition), or fails after a
// generous bound.
func (tm *terminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(tm.buf.String(), s) {
		select {
		case b, ok := <-tm.out:
			if !ok {
				t.Fatalf("terminal closed before %q appeared:\n%s", s, tm.buf.String())
			}
			tm.buf.Write(b)
		case <-deadline:
			t.Fatalf("%q never appeared on the terminal:\n%s", s, tm.buf.String())
		}
	}
}

// drain reads what is left after the child exited.
func (tm *terminal) drain() string {
	for {
		select {
		case b, ok := <-tm.out:
			if !ok {
				return tm.buf.String()
			}
			tm.buf.Write(b)
		case <-time.After(200 * time.Millisecond):
			return tm.buf.String()
		}
	}
}

// waitEchoOff waits until the program has switched the terminal's echo off
// (on Linux the master shares the slave's termios), so what the test types
// next is read as a password and not echoed by the line discipline.
func (tm *terminal) waitEchoOff(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(tm.master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatalf("reading the terminal's mode: %v", err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program never switched echo off:\n%s", tm.buf.String())
		}
		time.Sleep(5 * time.Millisecond) // polling the condition, not waiting for a guess
	}
}
