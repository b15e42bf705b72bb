package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestLabels relabels harness machines with flotactl label, with no flotad
// restart: exactly the unit that stops matching its MachineMetadata= moves
// (a -zone removes the zone flota-m1's flags give), and every other unit
// keeps running where it ran, with the same main PID. The labels are reset
// at the end: the cluster is shared, and its flags' metadata is what the
// other tests count on.
//
// TestSecuredCluster runs it on the secured cluster too: flotactl label is
// an operator's write, the engine's read.
func TestLabels(t *testing.T) { labels(t, up(t)) }

func labels(t *testing.T, c *cluster) {
	m1, m2 := c.machineID(t, "flota-m1"), c.machineID(t, "flota-m2")
	c.destroyAtEnd(t, "lbl-zone.service", "lbl-rack.service", "lbl-label.service", "lbl-free.service")
	t.Cleanup(func() {
		for _, id := range []string{m1, m2} {
			if r := c.ctl(t, time.Minute, "label", "--reset", id); r.code != 0 {
				t.Errorf("reset the labels of %s: exit %d: %s", id, r.code, r.errOut)
			}
		}
	})

	// Only flota-m1 has lbltest, so each unit that asks for it starts there.
	c.must(t, "label", m1[:8], "lbltest=a")
	units := map[string]string{
		"lbl-zone.service":  "MachineMetadata=\"zone=dmz\" \"lbltest=*\"\n", // a flag's key and a label's
		"lbl-rack.service":  "MachineMetadata=rack=r1\n",                    // only the flags'
		"lbl-label.service": "MachineMetadata=lbltest=a\n",                  // only the label's
		"lbl-free.service":  "",                                             // no rule
	}
	for name, rule := range units {
		c.must(t, "start", unitFile(t, name, sleeper+"\n[X-Fleet]\n"+rule))
	}
	on, pid := map[string]string{}, map[string]string{}
	for name := range units {
		on[name] = c.activeName(t, name, 30*time.Second)
		pid[name] = c.mainPID(t, on[name], name)
		if units[name] != "" && on[name] != "flota-m1" {
			t.Fatalf("%s started on %s, want flota-m1 (the only machine with lbltest)", name, on[name])
		}
	}

	// flota-m2 matches too now; nothing moves for it.
	c.must(t, "label", m2, "lbltest=a")
	// flota-m1 loses the zone its flags give: only lbl-zone.service stops
	// matching, and flota-m2 is the one machine with both its keys.
	r := c.must(t, "label", m1[:8], "-zone")
	if r.out != "lbltest=a\n-zone\n" {
		t.Errorf("label printed %q, want flota-m1's labels", r.out)
	}
	eventually(t, 30*time.Second, "lbl-zone.service running on flota-m2", func() (bool, string) {
		rs := c.where(t, "lbl-zone.service")
		return len(rs) == 1 && rs[0].active == "active" && c.machineName(t, rs[0].ip) == "flota-m2", ""
	})
	line := lineOf(c.must(t, "list-machines", "--full", "--no-legend", "--fields=machine,metadata,labels").out, m1)
	if f := strings.Fields(line); len(f) != 3 || f[1] != "lbltest=a,pod=a,rack=r1" || f[2] != "lbltest=a,-zone" {
		t.Errorf("list-machines shows flota-m1 as %q, want its flags' metadata less zone, plus lbltest", line)
	}
	for name := range units {
		if name == "lbl-zone.service" {
			continue
		}
		now := c.activeName(t, name, 10*time.Second)
		if now != on[name] {
			t.Errorf("%s moved from %s to %s, though it still matches", name, on[name], now)
			continue
		}
		if p := c.mainPID(t, now, name); p != pid[name] {
			t.Errorf("%s restarted on %s: main PID %s, was %s", name, now, p, pid[name])
		}
	}
}

// machineID is the full ID of a harness machine, from list-machines.
func (c *cluster) machineID(t *testing.T, name string) string {
	t.Helper()
	out := c.must(t, "list-machines", "--full", "--no-legend", "--fields=machine,ip").out
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && c.machineName(t, f[1]) == name {
			return f[0]
		}
	}
	t.Fatalf("no machine %s in list-machines:\n%s", name, out)
	return ""
}

// mainPID is a unit's main PID on a harness machine, as systemd says it.
func (c *cluster) mainPID(t *testing.T, machine, unit string) string {
	t.Helper()
	pid := c.exec(t, machine, "systemctl", "show", "-p", "MainPID", "--value", unit)
	if pid == "" || pid == "0" {
		t.Fatalf("%s has no main PID on %s", unit, machine)
	}
	return pid
}
