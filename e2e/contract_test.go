package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
)

// TestSystemdContract runs the contract suite of the agent's systemd port
// against the real systemd of a harness machine: the suite the fake passes
// in agent/systemd, here on the real thing.
func TestSystemdContract(t *testing.T) {
	c := up(t)
	out, err := c.harness("pid", "flota-m1")
	if err != nil {
		t.Fatal(err)
	}
	root := "/proc/" + strings.TrimSpace(out) + "/root"
	bus := "unix:path=" + root + "/run/dbus/system_bus_socket"
	systemdtest.Run(t, func(t *testing.T) agent.Systemd {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := systemd.Connect(ctx, bus, systemd.Config{Dir: "/run/flota-contract/units", Root: root})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		return conn
	})
}
