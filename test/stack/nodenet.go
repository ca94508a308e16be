package stack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// podNetwork is the node's pod network: a Linux bridge the test creates, whose
// address is the pods' gateway and the host's only address on that subnet. The
// CNI bridge plugin attaches each pod's network namespace to it; nothing is
// routed beyond it (no masquerade, no iptables). The host reaches pods on their
// pod IPs, and pods reach the host's loopback servers (registry, apiserver)
// through forwarders listening on the gateway address.
type podNetwork struct {
	Bridge  string // interface name, unique per stack
	Subnet  *net.IPNet
	Gateway net.IP // first address of Subnet, on the bridge
	fwd     []*forwarder
}

// choosePodNetwork picks a free /24 in 10.200.0.0/13 (no route or address on the
// machine already uses it) and a bridge name of its own. Nothing is created yet.
func choosePodNetwork() (*podNetwork, error) {
	used, err := usedNets()
	if err != nil {
		return nil, err
	}
	for try := 0; try < 64; try++ {
		b := randomBytes(2)
		ip := net.IPv4(10, 200+b[0]%8, b[1], 0).To4()
		sub := &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}
		if overlapsAny(sub, used) {
			continue
		}
		gw := net.IPv4(ip[0], ip[1], ip[2], 1).To4()
		return &podNetwork{Bridge: "sgn" + randomHex(4), Subnet: sub, Gateway: gw}, nil
	}
	return nil, errors.New("no free /24 for the pod network in 10.200.0.0/13")
}

// usedNets are the networks of the machine's addresses and routes.
func usedNets() ([]*net.IPNet, error) {
	var nets []*net.IPNet
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			nets = append(nets, n)
		}
	}
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "default" {
			continue
		}
		dst := f[0]
		if len(f) > 1 && (f[0] == "local" || f[0] == "broadcast" || f[0] == "unicast") {
			dst = f[1]
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		if _, n, err := net.ParseCIDR(dst); err == nil {
			nets = append(nets, n)
		}
	}
	return nets, nil
}

func overlapsAny(n *net.IPNet, others []*net.IPNet) bool {
	for _, o := range others {
		if o.Contains(n.IP) || n.Contains(o.IP) {
			return true
		}
	}
	return false
}

// create adds the bridge with the gateway address and brings it up.
func (pn *podNetwork) create() error {
	ones, _ := pn.Subnet.Mask.Size()
	for _, args := range [][]string{
		{"link", "add", pn.Bridge, "type", "bridge"},
		{"addr", "add", fmt.Sprintf("%s/%d", pn.Gateway, ones), "dev", pn.Bridge},
		{"link", "set", pn.Bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// remove stops the forwarders and deletes the bridge (the veths of stopped pods
// are already gone with their namespaces).
func (pn *podNetwork) remove() error {
	for _, f := range pn.fwd {
		f.Close()
	}
	if !pn.exists() {
		return nil
	}
	if out, err := exec.Command("ip", "link", "del", pn.Bridge).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link del %s: %v: %s", pn.Bridge, err, out)
	}
	return nil
}

func (pn *podNetwork) exists() bool {
	_, err := net.InterfaceByName(pn.Bridge)
	return err == nil
}

// forward listens on the gateway address (same port as target when free) and
// copies each connection to target, a loopback server.
func (pn *podNetwork) forward(target string) (string, error) {
	_, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(pn.Gateway.String(), port))
	if err != nil {
		if l, err = net.Listen("tcp", net.JoinHostPort(pn.Gateway.String(), "0")); err != nil {
			return "", err
		}
	}
	f := &forwarder{l: l, target: target, conns: map[net.Conn]struct{}{}}
	pn.fwd = append(pn.fwd, f)
	go f.serve()
	return l.Addr().String(), nil
}

// forwarder is a TCP relay that closes every connection it holds on Close.
type forwarder struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func (f *forwarder) serve() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.relay(c)
		}()
	}
}

func (f *forwarder) relay(c net.Conn) {
	var d net.Dialer
	up, err := d.DialContext(context.Background(), "tcp", f.target)
	if err != nil {
		c.Close()
		return
	}
	if !f.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	f.untrack(c, up)
}

func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil { // closed
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(f.conns, c)
	}
}

// Close stops accepting, closes every relayed connection and waits for the relays.
func (f *forwarder) Close() {
	f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
