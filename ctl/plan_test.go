package ctl

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPlan: flotactl plan shows where units would go and each machine's
// score, writes nothing, and exits 3 when one cannot be placed.
func TestPlan(t *testing.T) {
	c := newCluster(t)
	c.register("m1aaaaaaaaaa", "127.0.0.11", map[string]string{"disk": "hdd", "rack": "r1"})
	c.register("m2bbbbbbbbbb", "127.0.0.12", map[string]string{"disk": "ssd", "rack": "r2"})
	dir := t.TempDir()
	writeFile(t, dir, "db.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nPreferMachineMetadata=disk=ssd:50\n")
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nDistinctBy=rack\n")

	t.Run("a preference decides, and the table shows it", func(t *testing.T) {
		r := c.ctl("plan", filepath.Join(dir, "db.service"))
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		for _, want := range []string{
			"db.service\tm2bbbbbb.../127.0.0.12\twould be placed",
			"db.service: machines, best first",
			"MACHINE\t\t\tTOTAL\tLOAD\tSOFT-CONFLICTS\tPREFER\tREJECTED",
			"m2bbbbbb.../127.0.0.12\t50\t0\t0\t\t50\t-",
			"m1aaaaaa.../127.0.0.11\t0\t0\t0\t\t0\t-",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
	})
	t.Run("nothing was written", func(t *testing.T) {
		if r := c.ctl("list-unit-files", "--no-legend"); strings.TrimSpace(r.out) != "" {
			t.Fatalf("plan wrote units:\n%s", r.out)
		}
	})
	t.Run("a unit that cannot be placed: its reason, the rejections, exit 3", func(t *testing.T) {
		r := c.ctl("plan", filepath.Join(dir, "web@1"), filepath.Join(dir, "web@2"), filepath.Join(dir, "web@3"))
		if r.code != exitUnplaceable {
			t.Fatalf("exit %d, want %d\n%s%s", r.code, exitUnplaceable, r.out, r.errOut)
		}
		for _, want := range []string{
			"web@1.service\tm1aaaaaa.../127.0.0.11\twould be placed",
			"web@2.service\tm2bbbbbb.../127.0.0.12\twould be placed",
			`web@3.service\t-\t\t\tcannot be placed: no eligible machine among 2: DistinctBy "rack" filtered 2 machines`,
			`DistinctBy "rack"`,
		} {
			if !strings.Contains(r.out, strings.ReplaceAll(want, `\t`, "\t")) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
	})
	t.Run("soft rules given up are noted", func(t *testing.T) {
		writeFile(t, dir, "soft@.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSoftConflicts=soft@*\n")
		r := c.ctl("plan", filepath.Join(dir, "soft@1"), filepath.Join(dir, "soft@2"), filepath.Join(dir, "soft@3"))
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		for _, want := range []string{
			"soft@1.service\tm1aaaaaa.../127.0.0.11\twould be placed; SoftConflicts: shares its machine with soft@3.service",
			"soft@2.service\tm2bbbbbb.../127.0.0.12\twould be placed\n",
			"soft@3.service\tm1aaaaaa.../127.0.0.11\twould be placed; SoftConflicts: shares its machine with soft@1.service",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
	})
	t.Run("a unit not found anywhere is a failure", func(t *testing.T) {
		if r := c.ctl("plan", filepath.Join(dir, "nope.service")); r.code != exitFailure {
			t.Fatalf("exit %d, want %d\n%s%s", r.code, exitFailure, r.out, r.errOut)
		}
	})
}
