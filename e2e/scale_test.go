package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestScale: flotactl scale on the harness cluster, where the victim order
// must pick other instances than "the highest numbers" would.
//
// Unplaced first: scl@.service runs on the plain cluster's three racks,
// and scl@2 has a file of its own beside the template (scale makes each
// instance as "start DIR/scl@N" would) that no machine satisfies. Scaled up
// to 4, scl@1, scl@3 and scl@4 run and scl@2 waits; scaled down to 2, the
// victims are scl@2 (unplaced) and then scl@4 (the highest number), not
// scl@4 and scl@3.
//
// Most notes next: sft@.service avoids its own instances (SoftConflicts=)
// on two racks. Scaled to 3, two of them share a machine and carry a note;
// scaled down to 1, those two go and the one alone stays, whichever
// number it has.
func TestScale(t *testing.T) {
	c := up(t)
	t.Run("unplaced first, then the highest number", func(t *testing.T) {
		dir := t.TempDir()
		units := []string{"scl@1.service", "scl@2.service", "scl@3.service", "scl@4.service", "scl@.service"}
		c.destroyAtEnd(t, units...)
		racks := "\n[X-Fleet]\nMachineMetadata=\"rack=r1\" \"rack=r2\" \"rack=r3\"\nSoftConflicts=scl@*\n"
		tmpl := writeUnit(t, dir, "scl@.service", sleeper+racks)
		writeUnit(t, dir, "scl@2.service", sleeper+"\n[X-Fleet]\nMachineMetadata=rack=nowhere\n")

		r := c.must(t, "scale", "--no-block", tmpl, "4")
		if want := "Unit scl@.service inactive\nTriggered unit scl@1.service start\nTriggered unit scl@2.service start\nTriggered unit scl@3.service start\nTriggered unit scl@4.service start\n"; r.out != want {
			t.Fatalf("scale up: stdout %q, want %q", r.out, want)
		}
		// start of launched units waits (on the status watch) until they run.
		c.must(t, "start", "scl@1", "scl@3", "scl@4")
		if line := c.reasonLine(t, "scl@2.service"); !strings.Contains(line, `MachineMetadata "rack=nowhere"`) {
			t.Fatalf("scl@2 should wait for its MachineMetadata: %q", line)
		}

		p := c.must(t, "plan", "--scale", "scl@", "2")
		t.Logf("plan --scale scl@ 2:\n%s", p.out)
		for _, want := range []string{
			"scl@.service: 4 instances, scaled to 2: 2 to destroy, first to last\n",
			"1\tscl@2.service\tunplaced\tplaced on no machine\n",
			"2\tscl@4.service\tnumber\t\tinstance number 4\n",
			"Kept: scl@1.service scl@3.service\n",
		} {
			if !strings.Contains(p.out, want) {
				t.Errorf("plan --scale lacks %q:\n%s", want, p.out)
			}
		}

		d := c.must(t, "scale", "scl@", "2")
		t.Logf("scale scl@ 2:\n%s%s", d.out, d.errOut)
		if want := "Destroyed scl@2.service\nDestroyed scl@4.service\n"; d.out != want {
			t.Errorf("scale down: stdout %q, want %q", d.out, want)
		}
		for _, want := range []string{"Destroying scl@2.service (unplaced: placed on no machine)", "Destroying scl@4.service (number: instance number 4)"} {
			if !strings.Contains(d.errOut, want) {
				t.Errorf("scale down: stderr lacks %q:\n%s", want, d.errOut)
			}
		}
		left := c.instances(t, "scl@")
		if want := []string{"scl@1.service", "scl@3.service"}; !slices.Equal(left, want) {
			t.Errorf("after scale down: %v, want %v", left, want)
		}
		for _, u := range left {
			c.activeOn(t, u, 15*time.Second)
		}
	})

	t.Run("the most notes, whatever their numbers", func(t *testing.T) {
		units := []string{"sft@1.service", "sft@2.service", "sft@3.service", "sft@.service"}
		c.destroyAtEnd(t, units...)
		tmpl := unitFile(t, "sft@.service", sleeper+"\n[X-Fleet]\nSoftConflicts=sft@*\nMachineMetadata=\"rack=r1\" \"rack=r2\"\n")
		c.must(t, "scale", tmpl, "3")
		on := map[string][]string{} // machine -> instances
		for _, u := range units[:3] {
			m := c.activeName(t, u, 15*time.Second)
			on[m] = append(on[m], u)
		}
		var alone string
		for _, us := range on {
			if len(us) == 1 {
				alone = us[0]
			}
		}
		if len(on) != 2 || alone == "" {
			t.Fatalf("sft@1..3 on %v, want two machines, one instance alone", on)
		}
		// The two together carry the note; the one alone does not.
		r := c.must(t, "list-unit-files", "--no-legend", "--fields=unit,notes")
		for _, u := range units[:3] {
			if noted := strings.Contains(lineOf(r.out, u), "SoftConflicts"); noted == (u == alone) {
				t.Fatalf("%s noted %v (alone: %s):\n%s", u, noted, alone, r.out)
			}
		}
		p := c.must(t, "plan", "--scale", "sft@", "1")
		t.Logf("%v; plan --scale sft@ 1:\n%s", on, p.out)
		if !strings.Contains(p.out, "Kept: "+alone+"\n") || strings.Count(p.out, "\tnotes\t") != 2 {
			t.Errorf("plan --scale sft@ 1 should keep %s, and both victims go by their notes:\n%s", alone, p.out)
		}
		c.must(t, "scale", "sft@", "1")
		if left := c.instances(t, "sft@"); !slices.Equal(left, []string{alone}) {
			t.Errorf("after scale down: %v, want %s (the one alone)", left, alone)
		}
	})
}

// instances lists the instances in the cluster whose names start with
// prefix (the template left out), sorted.
func (c *cluster) instances(t *testing.T, prefix string) []string {
	t.Helper()
	r := c.must(t, "list-unit-files", "--no-legend", "--fields=unit")
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		u := strings.TrimSpace(line)
		if strings.HasPrefix(u, prefix) && !strings.HasPrefix(u, prefix+".") {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}
