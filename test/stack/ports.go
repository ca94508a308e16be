package stack

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/filelock"
)

// Servers the stack runs take their ports as flags, so a port must be chosen
// before the server binds it, and between the two anyone may bind it. Two
// kinds of someone, two guards:
//   - The kernel hands out ports from its ephemeral range
//     (net.ipv4.ip_local_port_range) to every listen on port 0 and every
//     outgoing connection, so on a busy machine a port taken from that range
//     and released for a child goes to another process in between: CI saw
//     fulcio lose its metrics port that way. Ports are chosen below that
//     range, where the kernel never hands one out.
//   - Test processes of this repository choose there too, so a chosen port
//     is reserved, with a flock on a file named for it, until its server is
//     ready (or its test ends): no two of them hold the same port.
// Anything else that binds the port first (a service on the machine) makes
// the server exit with "address already in use", and onFreePorts starts it
// again on new ports.

// errPortTaken marks a server that exited because a port it was given was
// already bound.
var errPortTaken = errors.New("a port was taken before the server bound it")

// portTries is how many sets of ports onFreePorts tries.
const portTries = 3

// onFreePorts calls start with n reserved free loopback ports, and again with
// new ports when start fails because one of them was taken before the server
// bound it. The reservation ends when start returns.
func onFreePorts(n int, start func(ports []int) error) error {
	var err error
	for range portTries {
		ports, release, rerr := reservePorts(n)
		if rerr != nil {
			return rerr
		}
		err = start(ports)
		release()
		if !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

// onFreePortsValue is onFreePorts for a start that returns what it started.
func onFreePortsValue[T any](n int, start func(ports []int) (T, error)) (T, error) {
	var v T
	err := onFreePorts(n, func(ports []int) (err error) {
		v, err = start(ports)
		return err
	})
	return v, err
}

// FreePort returns a free loopback port for a server t starts itself,
// reserved until t ends.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, release, err := reservePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return ports[0]
}

// reservePorts returns n different ports, each free on every address when
// chosen and reserved until release is called.
func reservePorts(n int) (ports []int, release func(), err error) {
	dir := filepath.Join(os.TempDir(), "signet-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	var unlocks []func()
	release = func() {
		for _, u := range unlocks {
			u()
		}
	}
	lo, hi := portRange()
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			release()
			return nil, nil, fmt.Errorf("no free port in [%d, %d) after %d tries", lo, hi, tries)
		}
		port := lo + rand.IntN(hi-lo)
		unlock, err := filelock.TryLock(filepath.Join(dir, strconv.Itoa(port)))
		if err != nil {
			release()
			return nil, nil, err
		}
		if unlock == nil {
			continue // another test holds it
		}
		if !bindable(port) {
			unlock()
			continue
		}
		unlocks = append(unlocks, unlock)
		ports = append(ports, port)
	}
	return ports, release, nil
}

// bindable reports whether port can be bound now on every address, as a
// server's ":port" (fulcio's metrics) binds it.
func bindable(port int) bool {
	l, err := net.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// firstPort is the lowest port chosen: above the well-known and common
// registered service ports.
const firstPort = 20000

// portRange is where ports are chosen on this machine.
func portRange() (lo, hi int) { return portRangeFor(ephemeralRange()) }

// portRangeFor is [firstPort, the first ephemeral port), or the range above
// the ephemeral one when only that leaves room. With no room on either side
// it is every port from firstPort, and onFreePorts' retries are all that is
// left.
func portRangeFor(ephemeralLo, ephemeralHi int) (lo, hi int) {
	const room = 4096
	switch {
	case ephemeralLo-firstPort >= room:
		return firstPort, ephemeralLo
	case 65536-(ephemeralHi+1) >= room:
		return ephemeralHi + 1, 65536
	default:
		return firstPort, 65536
	}
}

// ephemeralRange reads the kernel's ephemeral port range, or Linux's default.
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && 0 < l && l <= h && h < 65536 {
				return l, h
			}
		}
	}
	return 32768, 60999
}

// lostPort reports whether a server's output says a bind failed because the
// address was in use (Go's and C's wording are the same).
func lostPort(output []byte) bool {
	return bytes.Contains(output, []byte("address already in use"))
}
