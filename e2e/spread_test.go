package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRackSpread: the seed's Kubernetes story (topologySpreadConstraints
// with ScheduleAnyway) on the harness: 3 machines in 2 racks. The racks are
// the key pod of the plain cluster (plainMetadata: flota-m1 and flota-m2 in
// pod a, flota-m3 in pod b), as each machine's rack=rN is a rack of its own.
// A template with SpreadBy=pod: 2 instances take a pod each (not merely two
// machines: flota-m1 and flota-m2 would be two machines in one pod), and
// scaled to 4 all are placed, 2 per pod. Where each runs is read off
// list-units, its pod off list-machines: the cluster's own view.
func TestRackSpread(t *testing.T) {
	c := up(t)
	var units []string
	for i := 1; i <= 4; i++ {
		units = append(units, fmt.Sprintf("spr@%d.service", i))
	}
	c.destroyAtEnd(t, append(units, "spr@.service")...)
	// MachineMetadata=pod=*: only the machines in a pod (a machine without
	// the key would come last anyway; this keeps any machine another test
	// added out of the count).
	c.must(t, "submit", unitFile(t, "spr@.service", sleeper+"\n[X-Fleet]\nSpreadBy=pod\nMachineMetadata=pod=*\n"))
	pods := c.metadataOf(t, "pod")
	perPod := func(units []string) (map[string]int, string) {
		t.Helper()
		n := map[string]int{}
		var layout []string
		for _, u := range units {
			at := c.activeOn(t, u, 15*time.Second)
			n[pods[at.machine]]++
			layout = append(layout, fmt.Sprintf("%s on %s (pod %s)", u, c.machineName(t, at.ip), pods[at.machine]))
		}
		return n, strings.Join(layout, ", ")
	}

	c.must(t, "start", "spr@1", "spr@2")
	n, layout := perPod(units[:2])
	t.Logf("2 instances: %s", layout)
	if n["a"] != 1 || n["b"] != 1 {
		t.Fatalf("spr@1..2 (SpreadBy=pod) per pod %v, want one in a and one in b: %s", n, layout)
	}

	// Scaled to 4 in one start: the engine places both new instances in one
	// run, so the counts must follow within it.
	c.must(t, "start", "spr@3", "spr@4")
	n, layout = perPod(units)
	t.Logf("4 instances: %s", layout)
	if n["a"] != 2 || n["b"] != 2 {
		t.Fatalf("spr@1..4 (SpreadBy=pod) per pod %v, want 2 in a and 2 in b: %s", n, layout)
	}
}

// metadataOf maps each machine's full ID to its value of key, as
// list-machines shows it.
func (c *cluster) metadataOf(t *testing.T, key string) map[string]string {
	t.Helper()
	r := c.must(t, "list-machines", "--full", "--no-legend", "--fields=machine,metadata")
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		for _, kv := range strings.Split(f[1], ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == key {
				out[f[0]] = v
			}
		}
	}
	return out
}
