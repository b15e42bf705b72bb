package ctl

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// TestSeveralUnits checks the commands on several units when some of them
// are not there: each acts on the others, names each missing unit on
// stderr in fleetctl's words, and exits 1. fleetctl's destroy, stop and
// unload skipped missing units without a word (and exited 0); flota's
// destroy used to destroy nothing.
func TestSeveralUnits(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	const text = "[Service]\nExecStart=/bin/true\n"
	for _, n := range []string{"a.service", "b.service", "c.service", "d.service", "web@.service"} {
		writeFile(t, dir, n, text)
	}
	in := func(n string) string { return filepath.Join(dir, n) }
	nowhere := filepath.Join(t.TempDir(), "missing.service")
	const notFound = "unable to find Unit(missing.service) in Registry or on filesystem\n"
	steps := []struct {
		name     string
		args     []string
		code     int
		out, err string
		desired  map[string]registry.State // "" for a unit that must not exist
	}{
		{"submit submits those it finds", []string{"submit", in("a.service"), nowhere, in("b.service")}, 1,
			"Unit a.service inactive\nUnit b.service inactive\n", notFound,
			map[string]registry.State{"a.service": "inactive", "b.service": "inactive", "missing.service": ""}},
		{"submit of only missing units", []string{"submit", nowhere, filepath.Join(dir, "nope@1.service")}, 1,
			"", notFound + "unable to find template Unit(nope@.service) in Registry or on filesystem\n", nil},
		{"start starts those it finds", []string{"start", "--no-block", in("a.service"), nowhere, in("c.service")}, 1,
			"Unit c.service inactive\nTriggered unit a.service start\nTriggered unit c.service start\n", notFound,
			map[string]registry.State{"a.service": "launched", "c.service": "launched", "missing.service": ""}},
		{"start of an instance without a template", []string{"start", "--no-block", "b", filepath.Join(t.TempDir(), "x@1")}, 1,
			"Triggered unit b.service start\n", "unable to find template Unit(x@.service) in Registry or on filesystem\n",
			map[string]registry.State{"b.service": "launched", "x@1.service": ""}},
		{"load loads those it finds", []string{"load", "--no-block", in("d.service"), nowhere, "a"}, 1,
			"Unit d.service inactive\nTriggered unit d.service load\nTriggered unit a.service load\n", notFound,
			map[string]registry.State{"a.service": "loaded", "d.service": "loaded"}},
		{"stop stops those that exist and are not inactive", []string{"stop", "--no-block", "a", "missing", "b", "e"}, 1,
			"Triggered unit a.service stop\nTriggered unit b.service stop\n",
			"Unit missing.service not found\nUnit e.service not found\nSuccessfully stopped units [a.service b.service].\n",
			map[string]registry.State{"a.service": "loaded", "b.service": "loaded"}},
		{"stop of one that exists and one that does not", []string{"stop", "--no-block", "c", "e"}, 1,
			"Triggered unit c.service stop\n", "Unit e.service not found\nSuccessfully stopped units [c.service].\n",
			map[string]registry.State{"c.service": "loaded"}},
		{"unload unloads those that exist", []string{"unload", "--no-block", "missing", "a", "b"}, 1,
			"Triggered unit a.service unload\nTriggered unit b.service unload\n",
			"Unit missing.service not found\nSuccessfully unloaded units [a.service b.service].\n",
			map[string]registry.State{"a.service": "inactive", "b.service": "inactive"}},
		{"stop of inactive units", []string{"stop", "--no-block", "a", "b"}, 1, "",
			"Unable to stop unit a.service in state inactive\nUnable to stop unit b.service in state inactive\n",
			map[string]registry.State{"a.service": "inactive", "b.service": "inactive"}},
		{"stop skips an inactive unit", []string{"stop", "--no-block", "a", "d"}, 1,
			"Triggered unit d.service stop\n", "Unable to stop unit a.service in state inactive\nSuccessfully stopped units [d.service].\n",
			map[string]registry.State{"a.service": "inactive", "d.service": "loaded"}},
		{"unload of only missing units", []string{"unload", "x", "y"}, 1, "", "Unit x.service not found\nUnit y.service not found\n", nil},
		// fleet's functional tests clean up this way: instances and a
		// template that was never submitted.
		{"destroy instances and a template never submitted", []string{"destroy", "a", "web@.service", "b"}, 1,
			"Destroyed a.service\nDestroyed b.service\n", "Unit web@.service not found\n",
			map[string]registry.State{"a.service": "", "b.service": "", "c.service": "loaded"}},
		{"destroy --no-block", []string{"destroy", "--no-block", "missing", "c", "d"}, 1,
			"Destroyed c.service\nDestroyed d.service\n", "Unit missing.service not found\n",
			map[string]registry.State{"c.service": "", "d.service": ""}},
		{"destroy of only missing units", []string{"destroy", "a", "b"}, 1, "", "Unit a.service not found\nUnit b.service not found\n", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			check(t, c.ctl(s.args...), s.code, s.out, s.err)
			for n, want := range s.desired {
				u, err := c.reg.Unit(context.Background(), n)
				switch {
				case want == "" && !errors.Is(err, registry.ErrNotFound):
					t.Errorf("%s: %v %v, want no such unit", n, u.Desired, err)
				case want != "" && (err != nil || u.Desired != want):
					t.Errorf("%s: desired %s, %v; want %s", n, u.Desired, err, want)
				}
			}
		})
	}
}

// TestSeveralUnitsBlocking checks the same on a cluster that places and
// runs units: the units that exist reach their state and are said, as
// when all of them exist; the missing ones are said first.
func TestSeveralUnitsBlocking(t *testing.T) {
	c := newCluster(t)
	c.startEngine()
	c.startAgent(c.register(m1, "127.0.0.2", nil), m1, 50*time.Millisecond)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/web %i\n")
	on := " on 54a526e2.../127.0.0.2\n"
	steps := []struct {
		name     string
		args     []string
		out, err string
		sorted   bool // the units arrive in any order
	}{
		{"start", []string{"start", filepath.Join(dir, "web@1.service"), filepath.Join(dir, "missing.service"), filepath.Join(dir, "web@2.service")},
			"Unit web@1.service inactive\nUnit web@2.service inactive\nUnit web@1.service launched" + on + "Unit web@2.service launched" + on,
			"unable to find Unit(missing.service) in Registry or on filesystem\n", true},
		{"stop", []string{"stop", "web@1", "missing"}, "Unit web@1.service loaded" + on,
			"Unit missing.service not found\nSuccessfully stopped units [web@1.service].\n", false},
		{"restart", []string{"restart", "missing", "web@2"}, "Unit web@2.service loaded" + on + "Unit web@2.service launched" + on,
			"Unit missing.service not found\n", false},
		{"unload", []string{"unload", "web@1", "missing"}, "Unit web@1.service inactive\n",
			"Unit missing.service not found\nSuccessfully unloaded units [web@1.service].\n", false},
		{"destroy", []string{"destroy", "web@1", "web@2", "web@.service"}, "Destroyed web@1.service\nDestroyed web@2.service\n",
			"Unit web@.service not found\n", true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := c.start(context.Background(), s.args...)
			code := r.wait(t, 20*time.Second)
			out := r.out.String()
			if s.sorted {
				lines := strings.SplitAfter(out, "\n")
				slices.Sort(lines)
				out = strings.Join(lines, "")
				want := strings.SplitAfter(s.out, "\n")
				slices.Sort(want)
				s.out = strings.Join(want, "")
			}
			check(t, result{code, out, r.errOut.String()}, 1, s.out, s.err)
		})
	}
	t.Run("nothing left", func(t *testing.T) {
		eventually(t, "the machine to drop the units", func() bool {
			st, err := c.reg.ReadStatus(context.Background())
			return err == nil && len(st.Units) == 0 && len(st.Placements) == 0 && len(st.States) == 0
		})
	})
}
