package ctl

import (
	"encoding/json"
	"path/filepath"
	"slices"
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
	t.Run("-o json: the same as data", func(t *testing.T) {
		r := c.ctl("plan", "-o", "json", filepath.Join(dir, "db.service"), filepath.Join(dir, "web@1"), filepath.Join(dir, "web@2"), filepath.Join(dir, "web@3"))
		if r.code != exitUnplaceable {
			t.Fatalf("exit %d, want %d\n%s%s", r.code, exitUnplaceable, r.out, r.errOut)
		}
		var got struct {
			Units []struct {
				Unit     string   `json:"unit"`
				Machines []string `json:"machines"`
				Reason   *struct {
					Code    string `json:"code"`
					Filters []struct {
						Code     string   `json:"code"`
						Args     []string `json:"args"`
						Machines int      `json:"machines"`
					} `json:"filters"`
				} `json:"reason"`
				Scores []struct {
					Machine string   `json:"machine"`
					Total   *float64 `json:"total"`
					Parts   []struct {
						Scorer string  `json:"scorer"`
						Value  float64 `json:"value"`
					} `json:"parts"`
					Rejected *struct {
						Code string `json:"code"`
					} `json:"rejected"`
				} `json:"scores"`
			} `json:"units"`
		}
		if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got.Units) != 4 {
			t.Fatalf("%v: %s", err, r.out)
		}
		db, web3 := got.Units[0], got.Units[3]
		if db.Unit != "db.service" || len(db.Machines) != 1 || db.Machines[0] != "m2bbbbbbbbbb" || db.Scores[0].Total == nil || *db.Scores[0].Total != 50 {
			t.Errorf("db.service: %+v", db)
		}
		if !slices.ContainsFunc(db.Scores[0].Parts, func(p struct {
			Scorer string  `json:"scorer"`
			Value  float64 `json:"value"`
		}) bool {
			return p.Scorer == "prefer" && p.Value == 50
		}) {
			t.Errorf("db.service's best score has no prefer part of 50: %+v", db.Scores[0])
		}
		if web3.Unit != "web@3.service" || len(web3.Machines) != 0 || web3.Reason == nil || web3.Reason.Code != "no-eligible" ||
			len(web3.Reason.Filters) != 1 || web3.Reason.Filters[0].Code != "distinct-by" || web3.Reason.Filters[0].Machines != 2 {
			t.Errorf("web@3.service: %+v", web3)
		}
		if r := c.ctl("plan", "-o", "yaml", filepath.Join(dir, "db.service")); r.code != exitUsage {
			t.Errorf("-o yaml: exit %d", r.code)
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
