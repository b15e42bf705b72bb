package e2e

import (
	"testing"
	"time"
)

// TestPreferences: PreferMachineMetadata= on the harness machines
// (zone=dmz,rack=rN for flota-mN) ranks machines and never blocks a unit:
//   - avoided (a negative weight): three instances avoiding rack r1 all run
//     on flota-m2 and flota-m3, though flota-m1 is then the least loaded,
//     where a unit without soft rules would go; a unit that may run only on
//     flota-m1 and avoids it runs there all the same;
//   - honoured: a unit preferring a value only one machine has runs there,
//     once by k=v and once by a regular expression, for two machines (both
//     cannot be the least loaded machine they would go to otherwise);
//   - given up: a unit preferring a value no machine has, one whose
//     MachineMetadata= excludes the preferred machine, and one whose
//     Conflicts= does, are all placed, the last two elsewhere.
func TestPreferences(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "avoid@1.service", "avoid@2.service", "avoid@3.service", "avoid@.service",
		"avoid-only.service", "pref-r2.service", "pref-r3.service",
		"pref-none.service", "pref-excl.service", "pref-cf.service")
	withRules := func(name, rules string) string { return unitFile(t, name, sleeper+"\n[X-Fleet]\n"+rules) }

	// Avoided while another machine is possible.
	c.must(t, "submit", withRules("avoid@.service", "PreferMachineMetadata=rack=r1:-100\n"))
	c.must(t, "start", "avoid@1", "avoid@2", "avoid@3")
	for _, u := range []string{"avoid@1.service", "avoid@2.service", "avoid@3.service"} {
		if m := c.activeName(t, u, 15*time.Second); m == "flota-m1" {
			t.Fatalf("%s (PreferMachineMetadata=rack=r1:-100) on flota-m1, want flota-m2 or flota-m3", u)
		}
	}
	// ... and taken when it is the only one.
	c.must(t, "start", withRules("avoid-only.service", "MachineMetadata=rack=r1\nPreferMachineMetadata=rack=r1:-100\n"))
	if m := c.activeName(t, "avoid-only.service", 15*time.Second); m != "flota-m1" {
		t.Fatalf("avoid-only.service (MachineMetadata=rack=r1, PreferMachineMetadata=rack=r1:-100) on %s, want flota-m1", m)
	}

	// Honoured.
	c.must(t, "start", withRules("pref-r2.service", "PreferMachineMetadata=rack=r2:50\n"))
	if m := c.activeName(t, "pref-r2.service", 15*time.Second); m != "flota-m2" {
		t.Fatalf("pref-r2.service (PreferMachineMetadata=rack=r2:50) on %s, want flota-m2", m)
	}
	c.must(t, "start", withRules("pref-r3.service", "PreferMachineMetadata=rack=~^r3$:50\n"))
	if m := c.activeName(t, "pref-r3.service", 15*time.Second); m != "flota-m3" {
		t.Fatalf("pref-r3.service (PreferMachineMetadata=rack=~^r3$:50) on %s, want flota-m3", m)
	}

	// Given up: nothing has the value, or the preferred machine is excluded.
	c.must(t, "start", withRules("pref-none.service", "PreferMachineMetadata=rack=r9:100\n"))
	c.activeOn(t, "pref-none.service", 15*time.Second)
	c.must(t, "start", withRules("pref-excl.service", "MachineMetadata=rack!=r2\nPreferMachineMetadata=rack=r2:100\n"))
	if m := c.activeName(t, "pref-excl.service", 15*time.Second); m == "flota-m2" {
		t.Fatalf("pref-excl.service (MachineMetadata=rack!=r2) on flota-m2")
	}
	c.must(t, "start", withRules("pref-cf.service", "Conflicts=pref-r2.service\nPreferMachineMetadata=rack=r2:100\n"))
	if m := c.activeName(t, "pref-cf.service", 15*time.Second); m == "flota-m2" {
		t.Fatalf("pref-cf.service (Conflicts=pref-r2.service, which runs on flota-m2) on flota-m2")
	}
}
