package agent_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
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
