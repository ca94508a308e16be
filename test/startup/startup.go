// Package startup measures what a signet binary costs before main runs: Go
// initialises every linked package first, so a command pays for every
// package its binary links, used or not. It reads the runtime's
// GODEBUG=inittrace=1 report; BenchmarkStartup (startup_test.go) is the
// figure `make bench` prints for issue 13's start-up target.
package startup

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Trace sums one process's inittrace.
type Trace struct {
	Inits  int     // package inits that ran
	InitMS float64 // their total wall-clock time, in milliseconds
}

// ParseInittrace reads the runtime's lines
// "init <pkg> @<start> ms, <clock> ms clock, <n> bytes, <n> allocs" and
// skips everything else (the program's own output).
func ParseInittrace(r io.Reader) (Trace, error) {
	var t Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 || f[0] != "init" || !strings.HasPrefix(f[2], "@") || f[6] != "clock," {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return t, fmt.Errorf("inittrace line %q: %w", sc.Text(), err)
		}
		t.Inits++
		t.InitMS += ms
	}
	return t, sc.Err()
}

// Inittrace runs bin with args under GODEBUG=inittrace=1 and sums its trace.
// The exit status is not checked (a lint that finds errors still starts up).
func Inittrace(ctx context.Context, bin string, args ...string) (Trace, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return Trace{}, err
		}
	}
	t, err := ParseInittrace(&stderr)
	if err == nil && t.Inits == 0 {
		err = fmt.Errorf("%s printed no inittrace", bin)
	}
	return t, err
}
