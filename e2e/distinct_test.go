package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestDistinctBy: on the harness machines (each its own rack, all in zone
// dmz), instances of a template with DistinctBy=rack take a rack each, and
// with DistinctBy=zone only one runs while the other waits with its reason.
func TestDistinctBy(t *testing.T) {
	c := up(t)
	units := []string{"rk@1.service", "rk@2.service", "rk@3.service", "zn@1.service", "zn@2.service"}
	c.destroyAtEnd(t, append(units, "rk@.service", "zn@.service")...)
	tpl := func(name, rule string) string {
		return unitFile(t, name, sleeper+"\n[X-Fleet]\n"+rule+"\n")
	}
	c.must(t, "submit", tpl("rk@.service", "DistinctBy=rack"))
	c.must(t, "start", "rk@1", "rk@2", "rk@3")
	racks := map[string]bool{}
	for _, u := range units[:3] {
		racks[c.activeOn(t, u, 15*time.Second).machine] = true
	}
	if len(racks) != 3 {
		t.Fatalf("rk@1..3 (DistinctBy=rack) on %d machines, want 3", len(racks))
	}
	c.must(t, "submit", tpl("zn@.service", "DistinctBy=zone"))
	c.must(t, "start", "--no-block", "zn@1", "zn@2")
	c.activeOn(t, "zn@1.service", 15*time.Second)
	eventually(t, 15*time.Second, "zn@2 waiting with its reason", func() (bool, string) {
		line := c.reasonLine(t, "zn@2.service")
		return strings.Contains(line, `DistinctBy "zone" filtered 3 machines`), line
	})
}
