package e2e

import (
	"strings"
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
	at := map[string]string{}
	for _, u := range units {
		at[u] = c.machineName(t, c.activeOn(t, u, 15*time.Second).ip)
		on[at[u]]++
	}
	if len(on) != 2 || on["flota-m3"] != 0 {
		t.Fatalf("soft@1..3 on %v, want all on flota-m1 and flota-m2", on)
	}
	// The two together say so, in list-unit-files and in status; the one
	// alone says nothing.
	r := c.ctl(t, 10*time.Second, "list-unit-files", "--no-legend", "--fields=unit,notes")
	noted := 0
	for _, u := range units {
		line := lineOf(r.out, u)
		together := on[at[u]] == 2
		if has := strings.Contains(line, "SoftConflicts: shares its machine with soft@"); has != together {
			t.Errorf("%s (on %s with %d): notes line %q", u, at[u], on[at[u]], line)
		}
		if together {
			noted++
			if st := c.ctl(t, 10*time.Second, "status", u); !strings.Contains(st.out, "Note: SoftConflicts: shares its machine with soft@") {
				t.Errorf("status %s lacks the note:\n%s", u, st.out)
			}
		}
	}
	if noted != 2 {
		t.Errorf("%d units noted, want 2:\n%s", noted, r.out)
	}
}
