package stack

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/signet-dev/signet/test/filelock"
)

// TestPortsAreReservedBelowTheEphemeralRange: chosen ports differ, lie where
// the kernel never hands a port out (when its range leaves room elsewhere,
// as Linux's default does), and no other test process can take one (its
// lock file is held) until they are released.
func TestPortsAreReservedBelowTheEphemeralRange(t *testing.T) {
	ephemeralLo, ephemeralHi := ephemeralRange()
	lo, hi := portRange()
	outside := hi <= ephemeralLo || lo > ephemeralHi
	if !outside {
		t.Logf("the kernel's ephemeral range [%d, %d] leaves no room: ports come from [%d, %d) and only the retry guards them", ephemeralLo, ephemeralHi, lo, hi)
	}
	ports, release, err := reservePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	lockOf := func(p int) string { return filepath.Join(os.TempDir(), "signet-test-ports", strconv.Itoa(p)) }
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d chosen twice in %v", p, ports)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Errorf("port %d is outside the chosen range [%d, %d)", p, lo, hi)
		}
		if outside && p >= ephemeralLo && p <= ephemeralHi {
			t.Errorf("port %d is in the kernel's ephemeral range [%d, %d]", p, ephemeralLo, ephemeralHi)
		}
		if unlock, err := filelock.TryLock(lockOf(p)); err != nil || unlock != nil {
			t.Errorf("port %d: another process could reserve it while it is held (err %v)", p, err)
		}
	}
	release()
	for _, p := range ports {
		unlock, err := filelock.TryLock(lockOf(p))
		if err != nil || unlock == nil {
			t.Errorf("port %d is still reserved after release (err %v)", p, err)
			continue
		}
		unlock()
	}
}

// TestPortRangeAvoidsTheEphemeralRange: below the kernel's range when there
// is room (Linux's default), above it when only there is, and everything
// from firstPort when neither side has room.
func TestPortRangeAvoidsTheEphemeralRange(t *testing.T) {
	for _, c := range []struct {
		ephemeralLo, ephemeralHi int
		lo, hi                   int
	}{
		{32768, 60999, firstPort, 32768}, // Linux's default
		{49152, 65535, firstPort, 49152}, // IANA's
		{15000, 60000, 60001, 65536},
		{1024, 65535, firstPort, 65536},
	} {
		if lo, hi := portRangeFor(c.ephemeralLo, c.ephemeralHi); lo != c.lo || hi != c.hi {
			t.Errorf("ephemeral [%d, %d]: ports from [%d, %d), want [%d, %d)", c.ephemeralLo, c.ephemeralHi, lo, hi, c.lo, c.hi)
		}
	}
}

// TestAServerThatLostItsPortStartsOnNewOnes: when another process binds a
// port between its choice and the server's start, the real registry exits
// with "address already in use" and onFreePorts starts it again on a new port.
func TestAServerThatLostItsPortStartsOnNewOnes(t *testing.T) {
	ctx := context.Background()
	s := &Stack{Dir: t.TempDir(), opts: Options{Logf: t.Logf}}
	t.Cleanup(func() {
		for _, p := range s.procs {
			_ = p.stop()
		}
	})
	var tried []int
	var r *Registry
	err := onFreePorts(1, func(ports []int) (err error) {
		tried = append(tried, ports[0])
		if len(tried) == 1 {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
		}
		r, err = s.startRegistryOn(ctx, ports[0])
		return err
	})
	if err != nil {
		t.Fatalf("registry did not start after losing its port (ports tried %v): %v", tried, err)
	}
	if len(tried) != 2 || tried[0] == tried[1] {
		t.Fatalf("ports tried %v, want the taken one and then another", tried)
	}
	if r.Host != fmt.Sprintf("127.0.0.1:%d", tried[1]) {
		t.Errorf("registry at %s, want the second port %d", r.Host, tried[1])
	}
}
