// Package e2e runs signet against real servers: the distribution registry,
// Fulcio, the timestamp authority, Rekor v2, kube-apiserver, the cosign
// v2/v3 CLIs and the notation CLI, all built and started by test/stack.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verify"
)

// signBin and enforceBin are the binaries under test; plainEnforceBin is
// enforce built without the race detector, whose memory is what a cluster
// sees (a race-built binary needs several times more).
var signBin, enforceBin, plainEnforceBin string

// raceBuilt says signBin and enforceBin are built with the race detector:
// SIGNET_E2E_RACE=1, as `make test` sets it. A race-built binary that
// detects a race exits with status 66 (GORACE's default), which fails the
// test that ran it.
var raceBuilt = os.Getenv("SIGNET_E2E_RACE") != ""

// Which tests run side by side. Every test that only waits, on its own
// stack's servers (each stack has its own TSA, stack.ToolTSA) or on the
// machine's one node (stack.New's node lock), calls t.Parallel. The tests
// that assert a deadline, or count connections, descriptors or metrics of
// the process (TestFaultyRegistry, TestWebhook*, TestCloudToken...) do not.
// They run first and alone, because beside a CPU-heavy neighbour their
// deadlines would measure the neighbour. make test gives the package
// -parallel 4: most of these tests wait on servers, not on the CPU.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signet-e2e-")
	if err != nil {
		panic(err)
	}
	build(dir, false)
	signBin, enforceBin = filepath.Join(dir, "sign"), filepath.Join(dir, "enforce")
	plainEnforceBin = enforceBin
	if raceBuilt {
		race := filepath.Join(dir, "race")
		build(race, true)
		signBin, enforceBin = filepath.Join(race, "sign"), filepath.Join(race, "enforce")
	}
	code := m.Run()
	if err := stack.CloseShared(); err != nil { // the node benchmarks' stack
		fmt.Fprintln(os.Stderr, "closing the shared stack:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string, race bool) {
	args := []string{"build", "-o", dir + "/"}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/signet-dev/signet/cmd/sign", "github.com/signet-dev/signet/cmd/enforce")...)
	if race {
		// The race detector needs cgo, which make test turns off for the
		// plain builds (they share the release's static compile).
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		panic("building sign and enforce: " + err.Error())
	}
}

// signVerify runs `sign verify -o json` and returns the single decision and
// the exit code.
func signVerify(t *testing.T, policyPath, image string) (*verify.Decision, int) {
	t.Helper()
	cmd := exec.Command(signBin, "verify", "--policy", policyPath, "-o", "json", image)
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
	var res verify.Report
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Decisions) != 1 {
		t.Fatalf("sign verify output (%v):\n%s\n%s", err, out.String(), errb.String())
	}
	return res.Decisions[0], code
}

func writePolicy(t *testing.T, dir, tmpl string, repl map[string]string) string {
	t.Helper()
	for k, v := range repl {
		tmpl = strings.ReplaceAll(tmpl, k, v)
	}
	p := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(p, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
