package stack_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/stack"
)

// The package's tests share one Sigstore + registry stack (Kube is started by its
// own test so the other tests don't wait for it).
func TestMain(m *testing.M) {
	code := m.Run()
	if err := stack.CloseShared(); err != nil {
		fmt.Fprintln(os.Stderr, "closing stack:", err)
		code = 1
	}
	os.Exit(code)
}

func sharedStack(t *testing.T) *stack.Stack {
	t.Helper()
	t0 := time.Now()
	s, err := stack.Shared(stack.Options{Registry: true, Fulcio: true, TSA: true, Rekor: rekorEnabled, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Logf("shared stack started in %s", d.Round(time.Millisecond))
	}
	return s
}

const rekorEnabled = true
