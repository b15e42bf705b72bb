package systemdtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/clock/clocktest"
)

// TestFakeContract runs the contract suite against the Fake; the same
// suite runs against real systemd in agent/systemd.
func TestFakeContract(t *testing.T) {
	systemdtest.Run(t, func(t *testing.T) agent.Systemd { return systemdtest.NewFake() })
}

// TestFakeIsStricter checks where the Fake is deliberately stricter than
// systemd, so that an Agent that forgets a load or a reload fails its
// tests.
func TestFakeIsStricter(t *testing.T) {
	ctx := context.Background()
	unit := []byte("[Service]\nExecStart=/bin/sleep 3600\n")
	t.Run("Units loads nothing", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", unit)
		if st, _ := f.Units(ctx, []string{"a.service"}); st["a.service"].Load != "not-found" {
			t.Fatalf("Units loaded a.service: %+v", st["a.service"])
		}
		if st, _ := f.Load(ctx, []string{"a.service"}); st["a.service"].Load != "loaded" {
			t.Fatalf("Load = %+v, want loaded", st["a.service"])
		}
	})
	t.Run("a rewritten file runs its old definition until a reload", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", unit)
		_ = f.Reload(ctx)
		_ = f.WriteUnitFile(ctx, "a.service", []byte("[Service]\nType=oneshot\nExecStart=/bin/false\n"))
		if err := f.Start(ctx, "a.service"); err != nil {
			t.Fatalf("Start ran the new definition before a reload: %v", err)
		}
	})
	t.Run("a rewritten file needs a reload", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", unit)
		_, _ = f.Load(ctx, []string{"a.service"})
		if need(f, "a.service") {
			t.Fatal("NeedReload of a unit just loaded")
		}
		_ = f.WriteUnitFile(ctx, "a.service", []byte("[Service]\nExecStart=/bin/sleep 7200\n"))
		if !need(f, "a.service") {
			t.Fatal("no NeedReload after its file changed")
		}
		_ = f.Reload(ctx)
		if need(f, "a.service") {
			t.Fatal("NeedReload after a reload")
		}
	})
	t.Run("a link in the tick of the map's last build is not found until a reload", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", unit)
		_, _ = f.Load(ctx, []string{"a.service"}) // builds the map
		f.HoldMtime(true)
		_ = f.WriteUnitFile(ctx, "b.service", unit)
		if st, _ := f.Load(ctx, []string{"b.service"}); st["b.service"].Load != "not-found" {
			t.Fatalf("Load = %+v, want not-found: the search path's mtime did not change", st["b.service"])
		}
		if err := f.Start(ctx, "b.service"); err == nil {
			t.Fatal("Start of a unit systemd did not find succeeded")
		}
		f.HoldMtime(false)
		_ = f.Reload(ctx)
		if err := f.Start(ctx, "b.service"); err != nil {
			t.Fatalf("Start after a reload: %v", err)
		}
	})
	t.Run("a service without ExecStart is not loaded", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", []byte("[Unit]\nDescription=x\n"))
		_ = f.Reload(ctx)
		if got := f.Status("a.service"); got.Load != "bad-setting" {
			t.Fatalf("Status = %+v, want bad-setting", got)
		}
	})
}

func need(f *systemdtest.Fake, name string) bool {
	n, _ := f.NeedReload(context.Background(), []string{name})
	return n[name]
}

// TestDelayedFakeContract runs the contract suite against a Fake whose
// start jobs take a while and whose units named *-doomed.service fail:
// the simulated machines' Fake is as faithful as the tests'.
func TestDelayedFakeContract(t *testing.T) {
	systemdtest.Run(t, func(t *testing.T) agent.Systemd {
		return systemdtest.NewFakeWith(systemdtest.Options{StartDelay: 5 * time.Millisecond, Fail: []string{"*-doomed.service"}})
	})
}

// TestStartDelay checks that a delayed start job is activating until its
// time has come, then active; that a stop meanwhile cancels it; and that a
// unit named by a Fail glob fails with ErrJobFailed.
func TestStartDelay(t *testing.T) {
	ctx := context.Background()
	sleeper := []byte("[Service]\nExecStart=/bin/sleep 3600\n")
	newFake := func(t *testing.T) (*systemdtest.Fake, *clocktest.Fake) {
		clk := clocktest.New(time.Unix(0, 0))
		f := systemdtest.NewFakeWith(systemdtest.Options{Clock: clk, StartDelay: time.Second, Fail: []string{"bad-*"}})
		for _, n := range []string{"a.service", "bad-1.service"} {
			if err := f.WriteUnitFile(ctx, n, sleeper); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		return f, clk
	}
	// start runs Start in the background once the clock's waiter is set.
	start := func(f *systemdtest.Fake, clk *clocktest.Fake, name string) <-chan error {
		armed := clk.Armed()
		done := make(chan error, 1)
		go func() { done <- f.Start(ctx, name) }()
		<-armed
		return done
	}
	t.Run("activating, then active", func(t *testing.T) {
		f, clk := newFake(t)
		done := start(f, clk, "a.service")
		if got := f.Status("a.service"); got.Active != "activating" {
			t.Fatalf("during the job: %+v, want activating", got)
		}
		clk.Advance(time.Second)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := f.Status("a.service"); got != (agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"}) {
			t.Fatalf("after the job: %+v, want active/running", got)
		}
	})
	t.Run("a stop cancels the job", func(t *testing.T) {
		f, clk := newFake(t)
		done := start(f, clk, "a.service")
		if err := f.Stop(ctx, "a.service"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if err := <-done; !errors.Is(err, agent.ErrJobFailed) {
			t.Fatalf("Start = %v, want a canceled job (ErrJobFailed)", err)
		}
		if got := f.Status("a.service"); got.Active != "inactive" {
			t.Fatalf("after the stop: %+v, want inactive", got)
		}
	})
	t.Run("a unit the glob names fails", func(t *testing.T) {
		f, clk := newFake(t)
		done := start(f, clk, "bad-1.service")
		clk.Advance(time.Second)
		if err := <-done; !errors.Is(err, agent.ErrJobFailed) || !strings.Contains(err.Error(), "bad-1.service") {
			t.Fatalf("Start = %v, want ErrJobFailed naming the unit", err)
		}
		if got := f.Status("bad-1.service"); got != (agent.UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"}) {
			t.Fatalf("after the job: %+v, want failed/failed", got)
		}
	})
}
