package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// rebalanceUnits is how many instances TestRebalance starts: all in pod a
// while pod b's only machine is drained, so balancing them, 8–8, takes 8
// moves, more than flotad's default rate of 6 a minute.
const rebalanceUnits = 16

// rebalancePerMinute is the machines' flotad --rebalance-per-minute: the
// default, as the harness's flotad settings (flotadEnv) are the whole
// cluster's and every test's; a rate of the test's own would change them
// for all.
const rebalancePerMinute = 6

// TestRebalance starts instances with SpreadBy=pod on the plain cluster
// while flota-m3 (pod b) is drained, so they all go to pod a (flota-m1,
// flota-m2), then undrains it: rebalancing moves units there, at most 6
// begin in any minute (read back from the move records' start times), each
// with its reason, until the pods hold 8 each; then nothing would move.
func TestRebalance(t *testing.T) {
	c := up(t)
	ids := c.machineIDs(t)
	var units []string
	for i := 1; i <= rebalanceUnits; i++ {
		units = append(units, fmt.Sprintf("rb@%d.service", i))
	}
	c.destroyAtEnd(t, append(slices.Clone(units), "rb@.service")...)
	c.must(t, "drain", "--no-block", ids["flota-m3"])
	t.Cleanup(func() { c.ctl(t, 10*time.Second, "undrain", ids["flota-m3"]) }) // shared cluster: leave it undrained
	c.must(t, "submit", unitFile(t, "rb@.service", sleeper+"\n[X-Fleet]\nSpreadBy=pod\n"))
	c.must(t, append([]string{"start", "--no-block"}, units...)...)
	eventually(t, 2*time.Minute, "every instance active in pod a", func() (bool, string) {
		pods, running := c.rebalancePods(t, ids)
		return running == rebalanceUnits && pods["a"] == rebalanceUnits, fmt.Sprint(pods, running)
	})

	undrained := time.Now()
	c.must(t, "undrain", ids["flota-m3"])
	eventually(t, 4*time.Minute, "the pods balanced, 8–8", func() (bool, string) {
		pods, running := c.rebalancePods(t, ids)
		return running == rebalanceUnits && pods["a"] == rebalanceUnits/2 && pods["b"] == rebalanceUnits/2, fmt.Sprint(pods, running)
	})
	took := time.Since(undrained)
	if r := c.must(t, "plan", "--rebalance"); !strings.Contains(r.out, "No unit would move now.") {
		t.Errorf("balanced, yet plan --rebalance shows:\n%s", r.out)
	}

	// The move records: one per unit moved, each to flota-m3, with its
	// reason; no minute saw more than the rate begin.
	r := c.must(t, "list-unit-files", "--full", "--no-legend", "--fields=unit,moved")
	var since []time.Time
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		f := strings.Split(line, "\t")
		f = slices.DeleteFunc(f, func(s string) bool { return s == "" })
		if len(f) != 2 || !strings.HasPrefix(f[0], "rb@") || f[1] == "-" {
			continue
		}
		words, at, ok := strings.Cut(f[1], ", ")
		if !ok || !strings.HasPrefix(words, "rebalance: spread over pod (a–b) improved from ") {
			t.Errorf("%s moved: %q", f[0], f[1])
			continue
		}
		ts, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatalf("%s moved at %q: %v", f[0], at, err)
		}
		since = append(since, ts)
	}
	if len(since) != rebalanceUnits/2 {
		t.Fatalf("%d units moved, want %d:\n%s", len(since), rebalanceUnits/2, r.out)
	}
	slices.SortFunc(since, func(a, b time.Time) int { return a.Compare(b) })
	for i := range since {
		n := 0
		for j := i; j < len(since) && since[j].Sub(since[i]) < time.Minute; j++ {
			n++
		}
		if n > rebalancePerMinute {
			t.Errorf("%d moves began within a minute of %s, the rate is %d: %v", n, since[i].Format(time.TimeOnly), rebalancePerMinute, since)
		}
	}
	if span := since[len(since)-1].Sub(since[0]); span < time.Minute {
		t.Errorf("8 moves within %s: the rate did not hold them back", span)
	}
	t.Logf("balanced %d–%d in %s; moves began at %v", rebalanceUnits/2, rebalanceUnits/2, took.Round(time.Second), since)
}

// rebalancePods counts TestRebalance's instances by the pod of the machine
// they are placed on (an instance placed on two machines, moving, counts
// on neither), and how many are active on one machine.
func (c *cluster) rebalancePods(t *testing.T, ids map[string]string) (map[string]int, int) {
	t.Helper()
	pod := map[string]string{}
	for i := 1; i <= machines; i++ {
		pod[ids[fmt.Sprintf("flota-m%d", i)]] = podOf(i)
	}
	placed := map[string][]row{}
	for _, r := range c.units(t) {
		if strings.HasPrefix(r.unit, "rb@") {
			placed[r.unit] = append(placed[r.unit], r)
		}
	}
	pods := map[string]int{}
	running := 0
	for _, rs := range placed {
		if len(rs) != 1 {
			continue
		}
		pods[pod[rs[0].machine]]++
		if rs[0].active == "active" {
			running++
		}
	}
	return pods, running
}
