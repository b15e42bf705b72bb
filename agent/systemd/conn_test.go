package systemd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
)

// contractDir is the unit directory of the contract suite on a real
// machine: its own, so it never touches a running agent's units.
const contractDir = "/run/flota-contract/units"

func TestContractRealSystemd(t *testing.T) {
	bus, root := systemdtest.RealBus(t)
	systemdtest.Run(t, func(t *testing.T) agent.Systemd {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := systemd.Connect(ctx, bus, systemd.Config{Dir: contractDir, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	})
}

func TestConnectNamesAnUnreachableBus(t *testing.T) {
	const bus = "unix:path=/nonexistent/flota-test/bus"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := systemd.Connect(ctx, bus, systemd.Config{})
	if !errors.Is(err, systemd.ErrUnavailable) || !strings.Contains(err.Error(), bus) {
		t.Fatalf("Connect = %v, want ErrUnavailable naming %s", err, bus)
	}
}
