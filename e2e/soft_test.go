package e2e

import (
	"testing"
	"time"
)

// TestSoftConflicts: the seed's definition of soft anti-affinity, on the
// harness: 3 instances that would rather not meet, 2 eligible machines
// (racks r1 and r2): all 3 placed, two of them together. The strict form
// (Conflicts=) leaves the third waiting instead, as TestSeedStory shows.
func TestSoftConflicts(t *testing.T) {
	c := up(t)
	units := []string{"soft@1.service", "soft@2.service", "soft@3.service"}
	c.destroyAtEnd(t, append(units, "soft@.service")...)
	c.must(t, "submit", unitFile(t, "soft@.service", sleeper+"\n[X-Fleet]\nSoftConflicts=soft@*\nMachineMetadata=\"rack=r1\" \"rack=r2\"\n"))
	c.must(t, "start", "soft@1", "soft@2", "soft@3")
	on := map[string]int{}
	for _, u := range units {
		on[c.machineName(t, c.activeOn(t, u, 15*time.Second).ip)]++
	}
	if len(on) != 2 || on["flota-m3"] != 0 {
		t.Fatalf("soft@1..3 on %v, want all on flota-m1 and flota-m2", on)
	}
}
