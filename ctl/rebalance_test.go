package ctl

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// TestPlanRebalance: plan --rebalance shows what rebalancing would move
// now, with each move's reason, and writes nothing; list-unit-files' moved
// field shows a unit's last move, outside fleet's default columns.
func TestPlanRebalance(t *testing.T) {
	c := newCluster(t)
	c.register("m1aaaaaaaaaa", "127.0.0.11", map[string]string{"pod": "a"})
	c.register("m2bbbbbbbbbb", "127.0.0.12", map[string]string{"pod": "a"})
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSpreadBy=pod\n")
	var files []string
	for i := 1; i <= 4; i++ {
		files = append(files, fmt.Sprintf("%s/web@%d.service", dir, i))
	}
	c.must(append([]string{"submit", dir + "/web@.service"}, files...)...)
	c.must("start", "--no-block", "web@1", "web@2", "web@3", "web@4")
	for i, m := range []string{"m1aaaaaaaaaa", "m2bbbbbbbbbb", "m1aaaaaaaaaa", "m2bbbbbbbbbb"} {
		c.place(fmt.Sprintf("web@%d.service", i+1), m, "")
	}

	t.Run("balanced as it stands: nothing would move", func(t *testing.T) {
		r := c.must("plan", "--rebalance")
		if strings.TrimSpace(r.out) != "No unit would move now." {
			t.Fatalf("output:\n%s", r.out)
		}
	})
	c.register("m3cccccccccc", "127.0.0.13", map[string]string{"pod": "b"})
	t.Run("a pod joins: two moves, with their reasons", func(t *testing.T) {
		r := c.must("plan", "--rebalance")
		for _, want := range []string{
			"UNIT\t\tFROM\t\t\tTO\t\t\tREASON",
			"web@1.service\tm1aaaaaa.../127.0.0.11\tm3cccccc.../127.0.0.13\trebalance: spread over pod (a–b) improved from 4–0 to 3–1",
			"web@2.service\tm2bbbbbb.../127.0.0.12\tm3cccccc.../127.0.0.13\trebalance: spread over pod (a–b) improved from 3–1 to 2–2",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
		if strings.Contains(r.out, "web@3") {
			t.Errorf("a third move:\n%s", r.out)
		}
	})
	t.Run("at the rate given", func(t *testing.T) {
		r := c.must("plan", "--rebalance", "--rebalance-per-minute=1")
		if !strings.Contains(r.out, "web@1.service") || strings.Contains(r.out, "web@2.service") {
			t.Fatalf("output:\n%s", r.out)
		}
		r = c.ctl("plan", "--rebalance", "web@1")
		if r.code != exitUsage || !strings.Contains(r.errOut, "--rebalance takes no UNIT") {
			t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
		}
	})
	t.Run("nothing was written", func(t *testing.T) {
		r := c.must("list-unit-files", "--no-legend", "--fields=unit,target,moved")
		if strings.Contains(r.out, "m3cccccc") || strings.Contains(r.out, "rebalance") {
			t.Fatalf("plan wrote moves:\n%s", r.out)
		}
	})
	t.Run("list-unit-files shows the last move", func(t *testing.T) {
		since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		c.apply(func(cl *registry.Cluster) registry.Change {
			u := cl.Units["web@1.service"]
			return registry.Change{Unit: "web@1.service",
				Put:    []registry.Placement{{Unit: "web@1.service", Machine: "m3cccccccccc", Hash: u.Hash, Desired: u.Desired}},
				Delete: []registry.Placement{cl.Placements["web@1.service"]["m1aaaaaaaaaa"]},
				Move: &registry.Move{From: "m1aaaaaaaaaa", To: "m3cccccccccc", Since: since,
					Reason: reason.Moved{Code: reason.RebalanceSpread, Args: []string{"pod", "a", "b", "4", "0", "3", "1"}}}}
		})
		r := c.must("list-unit-files", "--no-legend", "--fields=unit,moved")
		for _, want := range []string{
			"web@1.service\trebalance: spread over pod (a–b) improved from 4–0 to 3–1, 2026-12-01T10:00:00Z\n",
			"web@2.service\t-\n",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
		if r := c.must("list-unit-files", "--no-legend"); strings.Contains(r.out, "rebalance") {
			t.Errorf("the move in fleet's default columns:\n%s", r.out)
		}
	})
}

// TestPlanRebalanceLoad: plan --rebalance moves plain units for load only
// when told the engine's --rebalance-load-gap.
func TestPlanRebalanceLoad(t *testing.T) {
	c := newCluster(t)
	c.register("m1aaaaaaaaaa", "127.0.0.11", nil)
	c.register("m2bbbbbbbbbb", "127.0.0.12", nil)
	dir := t.TempDir()
	writeFile(t, dir, "app@.service", "[Service]\nExecStart=/bin/true\n")
	c.must("submit", dir+"/app@.service", dir+"/app@1.service", dir+"/app@2.service", dir+"/app@3.service", dir+"/app@4.service")
	c.must("start", "--no-block", "app@1", "app@2", "app@3", "app@4")
	for i := 1; i <= 4; i++ {
		c.place(fmt.Sprintf("app@%d.service", i), "m1aaaaaaaaaa", "")
	}
	if r := c.must("plan", "--rebalance"); strings.TrimSpace(r.out) != "No unit would move now." {
		t.Fatalf("without --rebalance-load-gap:\n%s", r.out)
	}
	r := c.must("plan", "--rebalance", "--rebalance-load-gap=2")
	for _, want := range []string{
		"app@1.service\tm1aaaaaa.../127.0.0.11\tm2bbbbbb.../127.0.0.12\trebalance: load evened from 4–0 to 3–1 units",
		"app@2.service\tm1aaaaaa.../127.0.0.11\tm2bbbbbb.../127.0.0.12\trebalance: load evened from 3–1 to 2–2 units",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "app@3") || strings.Contains(r.out, "app@4") {
		t.Errorf("more than two moves:\n%s", r.out)
	}
}
