package ctl

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// revision is the cluster's etcd revision: each transaction adds one.
func (c *cluster) revision() int64 {
	c.t.Helper()
	st, err := c.reg.ReadStatus(context.Background())
	if err != nil {
		c.t.Fatalf("read status: %v", err)
	}
	return st.Revision
}

// unitsOf lists the units in the cluster whose names start with prefix.
func (c *cluster) unitsOf(prefix string) []string {
	c.t.Helper()
	st, err := c.reg.ReadStatus(context.Background())
	if err != nil {
		c.t.Fatalf("read status: %v", err)
	}
	var out []string
	for _, u := range st.Units {
		if strings.HasPrefix(u.Name, prefix) {
			out = append(out, u.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestScaleArgs: what is not a template, not a number of instances, or not
// an option of scale is named, and nothing is written.
func TestScaleArgs(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/true\n")
	tmpl := filepath.Join(dir, "web@.service")
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no operands", []string{"scale"}, exitUsage, "scale: missing TEMPLATE N"},
		{"no number", []string{"scale", tmpl}, exitUsage, "scale: missing TEMPLATE N"},
		{"too many", []string{"scale", tmpl, "2", "3"}, exitUsage, `scale: too many arguments: ["3"]`},
		{"a unit, not a template", []string{"scale", "web.service", "2"}, exitUsage, "scale: web.service is not a template: give one such as web@.service"},
		{"an instance, not a template", []string{"scale", "web@1", "2"}, exitUsage, "scale: web@1.service is not a template"},
		{"not a number", []string{"scale", tmpl, "two"}, exitUsage, `scale: invalid number of instances "two": want 0 or more`},
		{"negative", []string{"scale", tmpl, "--", "-1"}, exitUsage, `scale: invalid number of instances "-1": want 0 or more`},
		{"negative, as a flag", []string{"scale", tmpl, "-1"}, exitUsage, "unknown shorthand flag: '1' in -1"},
		{"unknown flag", []string{"scale", "--replace", tmpl, "2"}, exitUsage, "scale: unknown flag: --replace"},
		{"bad --block-attempts", []string{"scale", "--block-attempts=-1", tmpl, "2"}, exitUsage, "invalid --block-attempts -1"},
		{"a bad name", []string{"scale", "w!b@", "2"}, exitFailure, "invalid character '!' in unit name"},
		{"a template nowhere", []string{"scale", filepath.Join(dir, "nope@.service"), "2"}, exitFailure, "unable to find Unit(nope@.service) in Registry or on filesystem"},
		{"plan: no number", []string{"plan", "--scale", tmpl}, exitUsage, "plan: missing UNIT..."},
		{"plan: two operands", []string{"plan", "--scale", tmpl, "2", "web@1"}, exitUsage, "plan --scale " + tmpl + ": want one operand, the number of instances"},
		{"plan: not a template", []string{"plan", "--scale", "web", "2"}, exitUsage, "plan: web.service is not a template"},
		{"plan: not a number", []string{"plan", "--scale", tmpl, "1.5"}, exitUsage, `plan: invalid number of instances "1.5"`},
		{"plan: a template nowhere", []string{"plan", "--scale", "nope@", "1"}, exitFailure, "unable to find Unit(nope@.service) in Registry or on filesystem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.ctl(tt.args...)
			if r.code != tt.code || !strings.Contains(r.errOut, tt.err) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.errOut, tt.code, tt.err)
			}
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		if us := c.unitsOf(""); len(us) != 0 {
			t.Errorf("units %v", us)
		}
	})
	t.Run("help explains the victim order", func(t *testing.T) {
		r := c.must("scale", "--help")
		for _, want := range []string{"flotactl scale [command options] TEMPLATE N", "1. unplaced instances first", "5. then the instances that are not numbers", "--no-block", "plan --scale TEMPLATE N"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("help lacks %q:\n%s", want, r.out)
			}
		}
	})
}

// TestScaleUp: the template is submitted from its file, the missing
// instances are created launched in one transaction, gaps first, and a
// scale to the count there is writes nothing.
func TestScaleUp(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/web %i\n")
	tmpl := filepath.Join(dir, "web@.service")
	launched := func(t *testing.T, names ...string) {
		t.Helper()
		for _, n := range names {
			if u := c.unit(n); u.Desired != registry.StateLaunched {
				t.Errorf("%s: desired %s, want launched", n, u.Desired)
			}
		}
	}
	t.Run("from nothing, the template a local file", func(t *testing.T) {
		check(t, c.ctl("scale", "--no-block", tmpl, "3"), 0,
			"Unit web@.service inactive\nTriggered unit web@1.service start\nTriggered unit web@2.service start\nTriggered unit web@3.service start\n",
			"Scaled web@.service from 0 to 3 instances\n")
		launched(t, "web@1.service", "web@2.service", "web@3.service")
		if u := c.unit("web@.service"); u.Desired != registry.StateInactive {
			t.Errorf("the template is %s", u.Desired)
		}
	})
	c.must("destroy", "--no-block", "web@2")
	c.must("start", "--no-block", "web@5")
	c.must("submit", filepath.Join(dir, "web@foo.service"))
	t.Run("gaps first, in one transaction, every instance counted", func(t *testing.T) {
		// web@1 web@3 web@5 web@foo: 4 instances, one more is web@2.
		rev := c.revision()
		check(t, c.ctl("scale", "--no-block", "web@", "6"), 0,
			"Triggered unit web@2.service start\nTriggered unit web@4.service start\n",
			"Scaled web@.service from 4 to 6 instances\n")
		if d := c.revision() - rev; d != 1 {
			t.Errorf("%d transactions, want 1", d)
		}
		launched(t, "web@2.service", "web@4.service")
		if u := c.unit("web@foo.service"); u.Desired != registry.StateInactive {
			t.Errorf("web@foo was changed: %s", u.Desired)
		}
	})
	t.Run("as many as there are: nothing written", func(t *testing.T) {
		rev := c.revision()
		check(t, c.ctl("scale", "web@.service", "6"), 0, "", "web@.service has 6 instances already\n")
		if d := c.revision() - rev; d != 0 {
			t.Errorf("%d transactions, want none", d)
		}
	})
}

// TestScaleDown: the victims in the documented order, each with its rule,
// in plan --scale and in what scale destroys (in one transaction). The
// test acts as the Engine and the agents: it places the units, stores their
// notes and publishes one as failed.
func TestScaleDown(t *testing.T) {
	c := newCluster(t)
	const mA, mB, mC = "m1aaaaaaaaaa", "m2bbbbbbbbbb", "m3cccccccccc"
	c.register(mA, "127.0.0.11", nil)
	pB := c.register(mB, "127.0.0.12", nil)
	c.register(mC, "127.0.0.13", nil)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/web %i\n")
	writeFile(t, dir, "x.service", "[Service]\nExecStart=/bin/true\n")
	writeFile(t, dir, "y.service", "[Service]\nExecStart=/bin/true\n")
	in := func(n string) string { return filepath.Join(dir, n) }
	c.must("scale", "--no-block", in("web@.service"), "6")
	c.must("start", "--no-block", in("web@foo.service"), in("x.service"), in("y.service"))
	// mA: web@1 (2 notes), web@3 (1 note), web@foo: 3 units.
	// mB: web@2 (failed), web@5: 2 units.
	// mC: web@4, x, y: 3 units. web@6 is placed nowhere.
	for u, m := range map[string]string{
		"web@1.service": mA, "web@3.service": mA, "web@foo.service": mA,
		"web@2.service": mB, "web@5.service": mB,
		"web@4.service": mC, "x.service": mC, "y.service": mC,
	} {
		c.place(u, m, "")
	}
	c.notes("web@1.service", reason.Note{Code: reason.SoftConflictsShared, Args: []string{"web@3.service"}},
		reason.Note{Code: reason.PreferUnmet, Args: []string{"disk=ssd"}})
	c.notes("web@3.service", reason.Note{Code: reason.SoftConflictsShared, Args: []string{"web@1.service"}})
	if err := pB.PublishState(context.Background(), registry.UnitState{Unit: "web@2.service", Machine: mB, Load: "loaded", Active: "failed", Sub: "failed", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}

	t.Run("plan --scale lists the victims in order, with their rules", func(t *testing.T) {
		rev := c.revision()
		r := c.must("plan", "--scale", "web@", "2")
		want := strings.Join([]string{
			"web@.service: 7 instances, scaled to 2: 5 to destroy, first to last",
			"",
			"ORDER\tUNIT\t\tRULE\t\tWHY",
			"1\tweb@6.service\tunplaced\tplaced on no machine",
			"2\tweb@2.service\tfailed\t\tfailed on m2bbbbbb.../127.0.0.12",
			"3\tweb@1.service\tnotes\t\t2 notes: SoftConflicts: shares its machine with web@3.service; PreferMachineMetadata \"disk=ssd\": not met",
			"4\tweb@3.service\tnotes\t\t1 note: SoftConflicts: shares its machine with web@1.service",
			"5\tweb@foo.service\tnumber\t\tits instance is not a number",
			"",
			"Kept: web@4.service web@5.service",
			"",
		}, "\n")
		if r.out != want {
			t.Errorf("plan --scale:\n%s\nwant:\n%s", r.out, want)
		}
		if d := c.revision() - rev; d != 0 {
			t.Errorf("plan wrote %d transactions", d)
		}
	})
	t.Run("plan --scale to 1: the busiest machine decides", func(t *testing.T) {
		r := c.must("plan", "--scale", "web@", "1")
		for _, want := range []string{
			"6\tweb@4.service\tbusiest\t\tits machine m3cccccc.../127.0.0.13 runs 3 units\n",
			"Kept: web@5.service\n",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
	})
	t.Run("scale destroys those, in one transaction", func(t *testing.T) {
		rev := c.revision()
		check(t, c.ctl("scale", "--no-block", "web@", "2"), 0,
			"Destroyed web@6.service\nDestroyed web@2.service\nDestroyed web@1.service\nDestroyed web@3.service\nDestroyed web@foo.service\n",
			"Scaled web@.service from 7 to 2 instances\n"+
				"Destroying web@6.service (unplaced: placed on no machine)\n"+
				"Destroying web@2.service (failed: failed on m2bbbbbb.../127.0.0.12)\n"+
				"Destroying web@1.service (notes: 2 notes: SoftConflicts: shares its machine with web@3.service; PreferMachineMetadata \"disk=ssd\": not met)\n"+
				"Destroying web@3.service (notes: 1 note: SoftConflicts: shares its machine with web@1.service)\n"+
				"Destroying web@foo.service (number: its instance is not a number)\n")
		if d := c.revision() - rev; d != 1 {
			t.Errorf("%d transactions, want 1", d)
		}
		if got, want := c.unitsOf("web@"), []string{"web@.service", "web@4.service", "web@5.service"}; !slices.Equal(got, want) {
			t.Errorf("left %v, want %v", got, want)
		}
	})
	t.Run("to 0", func(t *testing.T) {
		r := c.must("plan", "--scale", "web@", "0")
		if !strings.Contains(r.out, "2 to destroy") || !strings.Contains(r.out, "\tall\t") || strings.Contains(r.out, "Kept") {
			t.Errorf("plan --scale to 0:\n%s", r.out)
		}
		c.must("scale", "--no-block", "web@", "0")
		if got := c.unitsOf("web@"); !slices.Equal(got, []string{"web@.service"}) {
			t.Errorf("left %v", got)
		}
	})
}

// TestScaleBlocking: on a cluster that places and runs units, scale waits
// as start does for the new instances and as destroy does for the victims;
// plan --scale up shows where the new ones would go.
func TestScaleBlocking(t *testing.T) {
	c := newCluster(t)
	c.startEngine()
	c.startAgent(c.register(m1, "127.0.0.2", nil), m1, 50*time.Millisecond)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/web %i\n")
	on := " on 54a526e2.../127.0.0.2\n"
	t.Run("plan --scale up, the template only a local file", func(t *testing.T) {
		r := c.must("plan", "--scale", filepath.Join(dir, "web@.service"), "2")
		for _, want := range []string{
			"web@.service: 0 instances, scaled to 2: 2 to create\n",
			"web@1.service\t54a526e2.../127.0.0.2\twould be placed",
			"web@2.service\t54a526e2.../127.0.0.2\twould be placed",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
		if us := c.unitsOf(""); len(us) != 0 {
			t.Errorf("plan wrote %v", us)
		}
	})
	t.Run("up waits until launched", func(t *testing.T) {
		r := c.start(context.Background(), "scale", filepath.Join(dir, "web@.service"), "2")
		code := r.wait(t, 20*time.Second)
		lines := strings.SplitAfter(r.out.String(), "\n")
		slices.Sort(lines)
		check(t, result{code, strings.Join(lines, ""), r.errOut.String()}, 0,
			"Unit web@.service inactive\nUnit web@1.service launched"+on+"Unit web@2.service launched"+on,
			"Scaled web@.service from 0 to 2 instances\n")
	})
	t.Run("down waits until gone", func(t *testing.T) {
		r := c.start(context.Background(), "scale", "web@", "1")
		code := r.wait(t, 20*time.Second)
		check(t, result{code, r.out.String(), r.errOut.String()}, 0, "Destroyed web@2.service\n",
			"Scaled web@.service from 2 to 1 instances\nDestroying web@2.service (number: instance number 2)\n")
		st, err := c.reg.ReadStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st.Placements {
			if p.Unit == "web@2.service" {
				t.Errorf("web@2 still placed on %s", p.Machine)
			}
		}
	})
}
