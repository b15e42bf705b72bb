package ctl

import (
	"strings"
	"testing"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// TestNotesShown: the notes the Engine stores on a placed unit are worded
// by list-unit-files' notes field, and fleet's columns are unchanged.
func TestNotesShown(t *testing.T) {
	c := newCluster(t)
	c.register("m1aaaaaaaaaa", "127.0.0.11", nil)
	dir := t.TempDir()
	writeFile(t, dir, "web@.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSoftConflicts=web@*\n")
	c.must("submit", dir+"/web@.service", dir+"/web@1.service", dir+"/web@2.service")
	c.place("web@1.service", "m1aaaaaaaaaa", "")
	c.place("web@2.service", "m1aaaaaaaaaa", "")
	c.notes("web@1.service", reason.Note{Code: reason.SoftConflictsShared, Args: []string{"web@2.service"}},
		reason.Note{Code: reason.PreferUnmet, Args: []string{"disk=ssd"}})

	r := c.must("list-unit-files", "--no-legend", "--fields=unit,notes")
	for _, want := range []string{
		"web@1.service\tSoftConflicts: shares its machine with web@2.service; PreferMachineMetadata \"disk=ssd\": not met\n",
		"web@2.service\t-\n",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if r := c.must("list-unit-files", "--no-legend"); strings.Contains(r.out, "SoftConflicts") {
		t.Errorf("notes in fleet's default columns:\n%s", r.out)
	}
}

// notes stores a unit's notes as the Engine does.
func (c *cluster) notes(unitName string, ns ...reason.Note) {
	c.t.Helper()
	c.apply(func(*registry.Cluster) registry.Change { return registry.Change{Unit: unitName, Notes: &ns} })
}
