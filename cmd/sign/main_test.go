package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/signet-dev/signet/test/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// signBin is the sign binary built once for this package's tests: the
// specification is checked through the binary users run, not only the library.
var signBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "signet-sign-test")
	if err != nil {
		panic(err)
	}
	signBin = filepath.Join(dir, "sign")
	build := exec.Command("go", "build", "-o", signBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building sign: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runSign runs the binary and returns stdout, stderr and the exit code.
func runSign(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runSignCmd(t, exec.Command(signBin, args...), env)
}

// runSignStdin is runSign with stdin.
func runSignStdin(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(signBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	return runSignCmd(t, cmd, nil)
}

func runSignCmd(t *testing.T, cmd *exec.Cmd, env []string) (string, string, int) {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}
