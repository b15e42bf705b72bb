package sim_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/sim"
)

// TestControl drives a fleet as flota-scale drives a flota-sim process:
// it says when its machines are registered, kills the machines it is
// told to, and reports what its live machines lost; its machines are
// numbered from First.
func TestControl(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	eps := registrytest.Etcd(t)
	reg := registrytest.Registry(t, eps)
	regs := []*registry.Registry{reg}
	fleet, err := sim.New(regs, sim.Config{Machines: 3, First: 7, TTL: ttl}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fleetDone := make(chan error, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- sim.Control(ctx, fleet, regs, time.Now(), inR, outW); outW.Close() }()
	answers := bufio.NewScanner(outR)
	next := func() string {
		t.Helper()
		if !answers.Scan() {
			t.Fatalf("no answer: %v", answers.Err())
		}
		return answers.Text()
	}
	ask := func(cmd string) string {
		t.Helper()
		if _, err := io.WriteString(inW, cmd+"\n"); err != nil {
			t.Fatal(err)
		}
		return next()
	}
	if a := next(); !strings.HasPrefix(a, "ready ") {
		t.Fatalf("first answer %q, want ready", a)
	}
	ms, err := reg.Machines(ctx)
	if err != nil || len(ms) != 3 || ms[0].ID != "sim-00007" || ms[2].ID != "sim-00009" {
		t.Fatalf("machines %+v, err %v; want sim-00007 to sim-00009", ms, err)
	}
	if a := ask("kill sim-00008 sim-00099"); a != "killed 1" {
		t.Fatalf("kill: %q", a)
	}
	if !fleet.Machines()[1].Killed() || fleet.Machines()[0].Killed() {
		t.Fatal("the wrong machine was killed")
	}
	// The gap between answers needs two answers of a lease: wait for them
	// on a lease of the test's own, on the fleet's client, renewed on the
	// same stream as the machines'.
	probe, err := reg.Register(ctx, registry.Machine{ID: "probe"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the registration, then two answers
		select {
		case <-probe.Acked():
		case <-ctx.Done():
			t.Fatal("no keep-alive answers")
		}
	}
	st, err := sim.ParseStats(ask("stats"))
	if err != nil || st.Lost != 0 || st.Fences != 0 || st.Gap <= 0 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
	if a := ask("frobnicate"); !strings.HasPrefix(a, "error ") {
		t.Fatalf("an unknown command answered %q", a)
	}
	inW.Close() // the driver is gone
	if err := <-ctlDone; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-fleetDone; err != nil {
		t.Fatal(err)
	}
}
