package systemdtest_test

import (
	"context"
	"testing"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
)

// TestFakeContract runs the contract suite against the Fake; the same
// suite runs against real systemd in agent/systemd.
func TestFakeContract(t *testing.T) {
	systemdtest.Run(t, func(t *testing.T) agent.Systemd { return systemdtest.NewFake() })
}

// TestFakeIsStricter checks where the Fake is deliberately stricter than
// systemd, so that an Agent that forgets a reload fails its tests.
func TestFakeIsStricter(t *testing.T) {
	ctx := context.Background()
	unit := []byte("[Service]\nExecStart=/bin/sleep 3600\n")
	t.Run("a new file cannot start before a reload", func(t *testing.T) {
		f := systemdtest.NewFake()
		if err := f.WriteUnitFile(ctx, "a.service", unit); err != nil {
			t.Fatal(err)
		}
		if err := f.Start(ctx, "a.service"); err == nil {
			t.Fatal("Start before Reload succeeded")
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
	t.Run("a service without ExecStart is not loaded", func(t *testing.T) {
		f := systemdtest.NewFake()
		_ = f.WriteUnitFile(ctx, "a.service", []byte("[Unit]\nDescription=x\n"))
		_ = f.Reload(ctx)
		if got := f.Status("a.service"); got.Load != "bad-setting" {
			t.Fatalf("Status = %+v, want bad-setting", got)
		}
	})
}
