package ctl

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// result is what one flotactl invocation did.
type result struct {
	code        int
	out, errOut string
}

// runCtl runs Main with args and env (nil: empty environment).
func runCtl(ctx context.Context, env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := Main(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// cluster is a real etcd for one test, a Registry on it, and a flotactl
// pointed at it.
type cluster struct {
	t        *testing.T
	endpoint string
	reg      *registry.Registry
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	eps := registrytest.Etcd(t)
	return &cluster{t: t, endpoint: strings.Join(eps, ","), reg: registrytest.Registry(t, eps)}
}

// ctl runs flotactl against the cluster.
func (c *cluster) ctl(args ...string) result {
	c.t.Helper()
	return runCtl(context.Background(), nil, append([]string{"--endpoint", c.endpoint}, args...)...)
}

// must runs flotactl and fails the test unless it exits 0.
func (c *cluster) must(args ...string) result {
	c.t.Helper()
	r := c.ctl(args...)
	if r.code != 0 {
		c.t.Fatalf("flotactl %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.errOut)
	}
	return r
}

func (c *cluster) unit(name string) registry.Unit {
	c.t.Helper()
	u, err := c.reg.Unit(context.Background(), name)
	if err != nil {
		c.t.Fatalf("read unit %s: %v", name, err)
	}
	return u
}

// startEngine runs a real Engine on the cluster until the test ends.
func (c *cluster) startEngine() {
	ctx, cancel := context.WithCancel(context.Background())
	eng := engine.New(c.reg, engine.Config{ID: "e1", LeaderTTL: 2 * time.Second}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Run(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
}

// register registers a machine and returns its presence.
func (c *cluster) register(id, ip string, md map[string]string) *registry.Presence {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	p, err := c.reg.Register(ctx, registry.Machine{ID: id, IP: ip, Metadata: md}, 30*time.Second)
	if err != nil {
		c.t.Fatalf("register %s: %v", id, err)
	}
	return p
}

// place acts as the Engine for one decision: it places unit on machine
// under an election of its own, or records why it cannot when machine is "".
func (c *cluster) place(unitName, machine, unplaced string) {
	c.t.Helper()
	c.apply(func(cl *registry.Cluster) registry.Change {
		ch := registry.Change{Unit: unitName}
		if machine != "" {
			u := cl.Units[unitName]
			ch.Put = []registry.Placement{{Unit: unitName, Machine: machine, Hash: u.Hash, Desired: u.Desired}}
		} else {
			// Words stored as an older Engine did: read back and shown as
			// they are, so tests compare them as written.
			ch.Unplaced = &reason.Unplaced{Code: reason.Text, Args: []string{unplaced}}
		}
		return ch
	})
}

// apply writes the change change makes of the cluster, as the Engine
// does, under an election of its own.
func (c *cluster) apply(change func(*registry.Cluster) registry.Change) {
	c.t.Helper()
	ctx := context.Background()
	l, err := c.reg.Campaign(ctx, "test-engine", 5*time.Second)
	if err != nil {
		c.t.Fatalf("campaign: %v", err)
	}
	defer l.Resign(ctx)
	cl, err := c.reg.LoadCluster(ctx, nil)
	if err != nil {
		c.t.Fatalf("load cluster: %v", err)
	}
	if _, err := c.reg.Apply(ctx, l, cl, []registry.Change{change(cl)}); err != nil {
		c.t.Fatalf("apply: %v", err)
	}
}

// agent plays a machine's Agent: it follows the machine's Placements and,
// after delay, publishes the state each asks for (systemd's active/running
// for launched, inactive/dead for loaded), and deletes its row when the
// Placement goes. history records every state it published, per unit.
type agent struct {
	mu      sync.Mutex
	history map[string][]registry.State
}

func (c *cluster) startAgent(p *registry.Presence, machine string, delay time.Duration) *agent {
	a := &agent{history: map[string][]registry.State{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		ps, rev, err := c.reg.MachinePlacements(ctx, machine)
		if err != nil {
			return
		}
		events := c.reg.WatchPlacements(ctx, machine, rev)
		act := func(pl registry.Placement, removed bool) {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			if removed {
				_ = p.DeleteState(ctx, machine, pl.Unit)
				return
			}
			s := registry.UnitState{Unit: pl.Unit, Machine: machine, Hash: pl.Hash, Load: "loaded", Active: "inactive", Sub: "dead", State: pl.Desired}
			if pl.Desired == registry.StateLaunched {
				s.Active, s.Sub = "active", "running"
			}
			if err := p.PublishState(ctx, s); err == nil {
				a.mu.Lock()
				a.history[pl.Unit] = append(a.history[pl.Unit], pl.Desired)
				a.mu.Unlock()
			}
		}
		for _, pl := range ps {
			act(pl, false)
		}
		for ev := range events {
			if ev.Err == nil {
				act(ev.Placement, ev.Removed)
			}
		}
	}()
	return a
}

func (a *agent) states(unitName string) []registry.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]registry.State(nil), a.history[unitName]...)
}

// writeFile writes a unit file into dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// parse parses a unit file the way flotactl must have stored it.
func parse(t *testing.T, name, text string) *unit.File {
	t.Helper()
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

// deadEndpoint is a loopback address nothing listens on.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))
}

// check compares what an invocation did with what it should have done.
func check(t *testing.T, r result, code int, out, errOut string) {
	t.Helper()
	if r.code != code || r.out != out || r.errOut != errOut {
		t.Errorf("got exit %d\nstdout: %q\nstderr: %q\nwant exit %d\nstdout: %q\nstderr: %q", r.code, r.out, r.errOut, code, out, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe to read while Main writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a flotactl invocation in progress.
type running struct {
	out, errOut syncBuffer
	done        chan int
}

// start runs flotactl against the cluster in the background.
func (c *cluster) start(ctx context.Context, args ...string) *running {
	r := &running{done: make(chan int, 1)}
	args = append([]string{"--endpoint", c.endpoint}, args...)
	go func() {
		r.done <- Main(ctx, args, func(string) string { return "" }, strings.NewReader(""), &r.out, &r.errOut)
	}()
	return r
}

// wait returns the exit code, failing the test if flotactl runs too long.
func (r *running) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(limit):
		t.Fatalf("flotactl still running after %v\nstdout: %q\nstderr: %q", limit, r.out.String(), r.errOut.String())
		return -1
	}
}

// eventually waits until cond holds, for test set-up steps only.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
