package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/ctl"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/sim"
)

const ttl = 2 * time.Second

// TestFleet runs 50 simulated machines on two shared clients against a
// real embedded etcd and the real engine, and drives them with flotactl:
// a blocking start of 40 Conflicts= instances and a global unit completes
// (the agents publish the states flotactl waits for), a unit the failure
// glob names is reported failed, and the units of killed machines are
// running elsewhere once their leases end, with no live machine lost.
func TestFleet(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	eps := registrytest.Etcd(t)
	regs := []*registry.Registry{registrytest.Registry(t, eps), registrytest.Registry(t, eps)}
	fleet, err := sim.New(regs, sim.Config{
		Machines: 50, TTL: ttl,
		Metadata: func(i int) map[string]string { return map[string]string{"zone": fmt.Sprintf("z%d", i%2)} },
		Systemd:  systemdtest.Options{StartDelay: 20 * time.Millisecond, Fail: []string{"doomed*"}},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fleetDone := make(chan error, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()
	eng := engine.New(registrytest.Registry(t, eps), engine.Config{ID: "e1", LeaderTTL: ttl, MachineTTL: ttl}, slog.New(slog.DiscardHandler))
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-fleetDone; err != nil {
			t.Errorf("fleet: %v", err)
		}
		<-engDone
	}()
	select {
	case <-fleet.Ready():
	case <-ctx.Done():
		t.Fatal("the machines did not all register")
	}

	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flotactl := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := func(k string) string {
			if k == "FLOTACTL_ENDPOINT" {
				return eps[0]
			}
			return ""
		}
		code := ctl.Main(ctx, args, env, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	tmpl := write("web@.service", "[Service]\nExecStart=/bin/web %i\n\n[X-Fleet]\nConflicts=web@*\n")
	glob := write("g.service", "[Service]\nExecStart=/bin/g\n\n[X-Fleet]\nGlobal=true\nMachineMetadata=zone=z0\n")
	doomed := write("doomed.service", "[Service]\nExecStart=/bin/doomed\n")
	if code, _, errOut := flotactl("submit", tmpl); code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}

	t.Run("a blocking start completes", func(t *testing.T) {
		args := []string{"start", glob}
		for i := 1; i <= 40; i++ {
			args = append(args, fmt.Sprintf("web@%d", i))
		}
		code, out, errOut := flotactl(args...)
		if code != 0 || errOut != "" {
			t.Fatalf("start = %d, stderr %q", code, errOut)
		}
		if n := strings.Count(out, " launched on "); n != 40 {
			t.Fatalf("start said launched %d times, want 40:\n%s", n, out)
		}
		st := status(t, ctx, regs[0])
		machines := map[string]bool{}
		globals := 0
		for _, s := range st.States {
			if s.Active != "active" || s.State != registry.StateLaunched {
				t.Errorf("%s on %s: %s/%s (%s), want active and launched", s.Unit, s.Machine, s.Active, s.Sub, s.State)
			}
			switch {
			case s.Unit == "g.service":
				globals++
			case machines[s.Machine]:
				t.Errorf("two web instances on %s despite Conflicts=", s.Machine)
			default:
				machines[s.Machine] = true
			}
		}
		if globals != 25 || len(machines) != 40 {
			t.Errorf("states: g.service on %d machines (want the 25 of zone z0), web on %d (want 40)", globals, len(machines))
		}
	})

	t.Run("a failure is reported", func(t *testing.T) {
		code, _, errOut := flotactl("start", "--block-attempts=2", doomed)
		if code != 1 || !strings.Contains(errOut, "Unit doomed.service failed on ") {
			t.Fatalf("start = %d, stderr %q; want 1 and the failure said", code, errOut)
		}
		for _, s := range status(t, ctx, regs[0]).States {
			if s.Unit == "doomed.service" && (s.Active != "failed" || s.State != registry.StateLoaded) {
				t.Errorf("doomed.service: %s/%s (%s), want failed and loaded", s.Active, s.Sub, s.State)
			}
		}
	})

	t.Run("killed machines' units move", func(t *testing.T) {
		before := status(t, ctx, regs[0])
		victims := map[string]bool{}
		var moving []string
		for _, s := range before.States {
			if strings.HasPrefix(s.Unit, "web@") && len(victims) < 5 {
				victims[s.Machine] = true
				moving = append(moving, s.Unit)
			}
		}
		gone := machinesGone(t, ctx, eps, len(victims))
		for _, m := range fleet.Machines() {
			if victims[m.ID] {
				m.Kill()
			}
		}
		select {
		case <-gone:
		case <-ctx.Done():
			t.Fatal("the killed machines' leases did not end")
		}
		// flotactl waits for the moved instances to be active elsewhere.
		code, _, errOut := flotactl(append([]string{"start"}, moving...)...)
		if code != 0 {
			t.Fatalf("start of the moved units = %d, %s", code, errOut)
		}
		for _, s := range status(t, ctx, regs[0]).States {
			if victims[s.Machine] {
				t.Errorf("%s still has a state on killed machine %s", s.Unit, s.Machine)
			}
		}
		if n := fleet.Lost(); n != 0 {
			t.Errorf("%d registrations of live machines were lost", n)
		}
		if n := fleet.Fences(); n != 0 {
			t.Errorf("the fence rose %d times on live machines", n)
		}
	})
}

func status(t *testing.T, ctx context.Context, r *registry.Registry) *registry.Status {
	t.Helper()
	st, err := r.ReadStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// machinesGone closes its channel once n machine records were deleted.
func machinesGone(t *testing.T, ctx context.Context, eps []string, n int) <-chan struct{} {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	wch := cli.Watch(ctx, registry.DefaultPrefix+"cluster/machines/", clientv3.WithPrefix(), clientv3.WithFilterPut())
	done := make(chan struct{})
	go func() {
		for resp := range wch {
			if n -= len(resp.Events); n <= 0 {
				close(done)
				return
			}
		}
	}()
	return done
}
