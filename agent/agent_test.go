package agent_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitPlacements waits, on the agent's own change signal, until cond holds.
func waitPlacements(t *testing.T, a *agent.Agent, what string, cond func(map[string]registry.Placement) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ps, changed := a.Placements()
		if cond(ps) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; agent sees %v", what, ps)
		}
	}
}

func TestAgentFollowsItsPlacements(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eps := registrytest.Etcd(t)
	reg := registrytest.Registry(t, eps)

	a := agent.New(registrytest.Registry(t, eps), agent.Config{MachineID: "m1", PublicIP: "127.0.0.1", Metadata: map[string]string{"zone": "dmz"}, TTL: time.Second}, quiet())
	done := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() { done <- a.Run(actx) }()
	defer func() { stopAgent(); <-done }()
	eng := engine.New(registrytest.Registry(t, eps), engine.Config{ID: "e1", LeaderTTL: time.Second}, quiet())
	go func() { _ = eng.Run(ctx) }()

	f, err := unit.Parse("web.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\nMachineMetadata=zone=dmz\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}

	t.Run("registered with its identity", func(t *testing.T) {
		var ms []registry.Machine
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ms, err = reg.Machines(ctx); err == nil && len(ms) == 1 {
				break
			}
		}
		if len(ms) != 1 || ms[0].ID != "m1" || ms[0].IP != "127.0.0.1" || ms[0].Metadata["zone"] != "dmz" {
			t.Fatalf("machines %+v", ms)
		}
	})
	t.Run("sees the unit placed on it", func(t *testing.T) {
		waitPlacements(t, a, "web.service launched", func(ps map[string]registry.Placement) bool {
			p, ok := ps["web.service"]
			return ok && p.Desired == registry.StateLaunched && p.Hash == f.Hash
		})
	})
	t.Run("sees a desired state change", func(t *testing.T) {
		if err := reg.SetDesiredState(ctx, []string{"web.service"}, registry.StateLoaded); err != nil {
			t.Fatal(err)
		}
		waitPlacements(t, a, "web.service loaded", func(ps map[string]registry.Placement) bool {
			return ps["web.service"].Desired == registry.StateLoaded
		})
	})
	t.Run("sees the unit leave", func(t *testing.T) {
		if err := reg.DestroyUnits(ctx, []string{"web.service"}); err != nil {
			t.Fatal(err)
		}
		waitPlacements(t, a, "no placements", func(ps map[string]registry.Placement) bool { return len(ps) == 0 })
	})
}

func TestAgentRefusesABadMachineID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := agent.New(registrytest.Registry(t, registrytest.Etcd(t)), agent.Config{MachineID: "rack1/m2"}, quiet())
	if err := a.Run(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Run = %v (ctx %v), want an immediate error", err, ctx.Err())
	}
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		bad      bool
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "pairs", in: "zone=dmz, rack=r1", want: map[string]string{"zone": "dmz", "rack": "r1"}},
		{name: "no equals", in: "zone", bad: true},
		{name: "empty key", in: "=x", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := agent.ParseMetadata(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseMetadata(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("ParseMetadata(%q) = %v, %v", tc.in, got, err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("ParseMetadata(%q)[%s] = %q, want %q", tc.in, k, got[k], v)
				}
			}
		})
	}
}

// TestAgentRunsItsUnits runs a whole Agent (etcd, Engine, fake systemd):
// units placed on the machine run, their states reach the registry, and a
// unit that leaves is removed with its row.
func TestAgentRunsItsUnits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eps := registrytest.Etcd(t)
	reg := registrytest.Registry(t, eps)
	sd := systemdtest.NewFake()
	a := agent.New(registrytest.Registry(t, eps), agent.Config{MachineID: "m1", TTL: time.Second, Systemd: sd}, quiet())
	done := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() { done <- a.Run(actx) }()
	defer func() { stopAgent(); <-done }()
	eng := engine.New(registrytest.Registry(t, eps), engine.Config{ID: "e1", LeaderTTL: time.Second}, quiet())
	go func() { _ = eng.Run(ctx) }()

	var files []*unit.File
	for _, name := range []string{"web@1.service", "web@2.service", "db.service"} {
		f, err := unit.Parse(name, []byte("[Service]\nExecStart=/bin/sleep 3600\n"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := reg.CreateUnits(ctx, files, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	waitStates := func(t *testing.T, what string, cond func(map[string]registry.UnitState) bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ss, err := reg.States(ctx)
			byUnit := map[string]registry.UnitState{}
			for _, s := range ss {
				byUnit[s.Unit] = s
			}
			if err == nil && cond(byUnit) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; states %+v (%v)", what, byUnit, err)
			}
		}
	}

	t.Run("placed units run and publish launched", func(t *testing.T) {
		waitStates(t, "3 launched", func(ss map[string]registry.UnitState) bool {
			for _, f := range files {
				s := ss[f.Name]
				if s.State != registry.StateLaunched || s.Active != "active" || s.Sub != "running" || s.Hash != f.Hash || s.Machine != "m1" {
					return false
				}
			}
			return true
		})
		if got := sd.Calls("Reload"); got > 2 {
			t.Errorf("%d reloads for 3 units submitted at once", got)
		}
	})
	t.Run("a unit set to loaded is stopped", func(t *testing.T) {
		if err := reg.SetDesiredState(ctx, []string{"db.service"}, registry.StateLoaded); err != nil {
			t.Fatal(err)
		}
		waitStates(t, "db loaded", func(ss map[string]registry.UnitState) bool {
			return ss["db.service"].State == registry.StateLoaded && ss["db.service"].Active == "inactive"
		})
	})
	t.Run("a destroyed unit is removed with its row", func(t *testing.T) {
		if err := reg.DestroyUnits(ctx, []string{"web@2.service"}); err != nil {
			t.Fatal(err)
		}
		waitStates(t, "web@2 gone", func(ss map[string]registry.UnitState) bool {
			_, ok := ss["web@2.service"]
			return !ok && ss["web@1.service"].State == registry.StateLaunched
		})
		if _, ok := sd.File("web@2.service"); ok {
			t.Error("web@2.service's file is still there")
		}
	})
	t.Run("stopping the agent stops no unit", func(t *testing.T) {
		stopAgent()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
		done <- nil // for the deferred wait
		if st := sd.Status("web@1.service"); st.Active != "active" {
			t.Errorf("web@1.service %+v after the agent stopped, want it running", st)
		}
	})
}
