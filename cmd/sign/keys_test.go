package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/signet-dev/signet/sign"
)

// envWithout is the test's environment minus the named variables.
func envWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && k != n
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// TestGenerateKeyPairPassword: without COSIGN_PASSWORD, generate-key-pair
// asks on its terminal (a real pseudo-terminal here) twice, without echo,
// and the key is encrypted with what was typed; two different answers are
// refused; without a terminal it is a usage error instead of a hang.
func TestGenerateKeyPairPassword(t *testing.T) {
	cases := []struct {
		name          string
		first, second string
		wantErr       string
	}{
		{"the password typed twice encrypts the key", "s3cret pw", "s3cret pw", ""},
		{"two different passwords are refused", "s3cret pw", "s3cret typo", "the passwords do not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := filepath.Join(t.TempDir(), "release")
			master, slave := openPTY(t)
			cmd := exec.Command(signBin, "generate-key-pair", "--output-key-prefix", prefix)
			cmd.Env = envWithout("COSIGN_PASSWORD")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			tm := newTerminal(master)
			tm.waitFor(t, "Enter password for private key: ")
			tm.waitEchoOff(t)
			master.WriteString(c.first + "\r")
			tm.waitFor(t, "Enter password for private key again: ")
			tm.waitEchoOff(t)
			master.WriteString(c.second + "\r")
			err := cmd.Wait()
			screen := tm.drain()
			if strings.Contains(screen, "s3cret") {
				t.Fatalf("the password was echoed:\n%s", screen)
			}
			_, statErr := os.Stat(prefix + ".key")
			if c.wantErr != "" {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(screen, c.wantErr) || statErr == nil {
					t.Fatalf("want exit %d with %q and no key; got %v, key written %v:\n%s", exitUsage, c.wantErr, err, statErr == nil, screen)
				}
				return
			}
			if err != nil {
				t.Fatalf("generate-key-pair: %v\n%s", err, screen)
			}
			if _, err := sign.LoadKey(prefix+".key", []byte(c.first)); err != nil {
				t.Fatalf("the key does not open with the typed password: %v", err)
			}
			if _, err := sign.LoadKey(prefix+".key", []byte("other")); err == nil {
				t.Fatal("the key opens with another password")
			}
		})
	}
	t.Run("without a terminal or COSIGN_PASSWORD it is a usage error", func(t *testing.T) {
		cmd := exec.Command(signBin, "generate-key-pair", "--output-key-prefix", filepath.Join(t.TempDir(), "k"))
		cmd.Env = envWithout("COSIGN_PASSWORD")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), "COSIGN_PASSWORD") {
			t.Fatalf("want exit %d naming COSIGN_PASSWORD, got %v:\n%s", exitUsage, err, out)
		}
	})
}
