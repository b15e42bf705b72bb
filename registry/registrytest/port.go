package registrytest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// FreePort is a loopback port nothing listens on now, for a server a test
// starts on a fixed address (etcd takes URLs, not listeners).
//
// It is taken below the kernel's ephemeral range: a port the kernel hands
// out with "127.0.0.1:0" is also one it hands out as the source port of an
// outgoing connection, and an etcd member's peers dial many, so between
// the pick and the member's bind another member's client could own it
// ("bind: address already in use", seen in CI). Below the range only
// explicit binders compete; the ports this process handed out are never
// handed out again, and other processes (test packages run in parallel)
// pick at random among ~20,000.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, _ := ephemeralRange()
	for range 200 {
		p := 10000 + rand.IntN(lo-10000)
		if !ports.claim(p) {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p
	}
	t.Fatalf("free port: no free loopback port among 200 tried below %d", lo)
	return 0
}

// handed are the ports FreePort gave this process's tests, so two tests
// never get the same one. Process-wide because every test shares the
// loopback interface.
type handed struct {
	mu sync.Mutex
	m  map[int]bool
}

var ports = &handed{m: map[int]bool{}}

func (h *handed) claim(p int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m[p] {
		return false
	}
	h.m[p] = true
	return true
}

// ephemeralRange is the kernel's range for source ports, Linux's default
// when it cannot be read.
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	var l, h int
	if _, err := fmt.Sscan(string(b), &l, &h); err != nil || l <= 11000 {
		return lo, hi
	}
	return l, h
}
