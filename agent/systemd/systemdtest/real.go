package systemdtest

import (
	"os"
	"regexp"
	"testing"
)

// RealBus returns the bus of the real systemd to test against
// (FLOTA_TEST_BUS, e.g. `harness/cluster bus flota-m1`) and the host path
// of that machine's root (see machineRoot), or skips the test.
//
// The harness is not wired into CI yet, so it is FLOTA_E2E=1, not CI=true,
// that turns a missing real systemd into a failure instead of a skip.
func RealBus(t testing.TB) (bus, root string) {
	t.Helper()
	bus = os.Getenv("FLOTA_TEST_BUS")
	if bus == "" {
		if os.Getenv("FLOTA_E2E") == "1" {
			t.Fatal("FLOTA_E2E=1 but FLOTA_TEST_BUS is not set: this test must run against a real systemd (FLOTA_TEST_BUS=$(harness/cluster bus flota-m1))")
		}
		t.Skip("no real systemd: set FLOTA_TEST_BUS to its bus address, e.g. $(harness/cluster bus flota-m1)")
	}
	return bus, machineRoot(bus)
}

// machineRoot is FLOTA_TEST_ROOT, else /proc/PID/root when the bus is a
// machine's socket seen from its host, else "" (this machine's own bus).
func machineRoot(bus string) string {
	if r := os.Getenv("FLOTA_TEST_ROOT"); r != "" {
		return r
	}
	if m := regexp.MustCompile(`^unix:path=(/proc/[0-9]+/root)/`).FindStringSubmatch(bus); m != nil {
		return m[1]
	}
	return ""
}
