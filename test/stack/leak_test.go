package stack_test

import (
	"os"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// Close must leave no server behind: every child was waited for, so Kill(pid, 0)
// must report ESRCH (a zombie would still answer).
func TestCloseLeavesNoProcess(t *testing.T) {
	t.Run("registry fulcio rekor etcd kube-apiserver", func(t *testing.T) {
		s, err := stack.Start(t.Context(), stack.Options{Registry: true, Fulcio: true, Rekor: true, Kube: true, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		assertClosed(t, s, 5, s.Close)
	})
	t.Run("shared stack with TSA", func(t *testing.T) {
		s := sharedStack(t) // a later test simply starts a new shared stack
		assertClosed(t, s, 4, stack.CloseShared)
	})
}

func assertClosed(t *testing.T, s *stack.Stack, want int, closeFn func() error) {
	t.Helper()
	pids := s.PIDs()
	if len(pids) != want {
		t.Fatalf("started %d processes, want %d", len(pids), want)
	}
	for _, pid := range pids {
		if !stack.ProcessRunning(pid) {
			t.Fatalf("pid %d not running before Close", pid)
		}
	}
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if stack.ProcessRunning(pid) {
			t.Errorf("pid %d still exists after Close", pid)
		}
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("stack dir %s not removed: %v", s.Dir, err)
	}
}
