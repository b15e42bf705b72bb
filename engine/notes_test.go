package engine

import (
	"fmt"
	"testing"
)

// TestNotes: a placed unit says which of its soft rules its machine does
// not honour, and only those.
func TestNotes(t *testing.T) {
	tests := []struct {
		name  string
		build func(w *world)
		notes map[string]string // unit -> its notes' codes ("" none)
	}{
		{
			name: "soft anti-affinity, 3 on 2: the two together say so",
			build: func(w *world) {
				w.machine("m1").machine("m2")
				for i := 1; i <= 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SoftConflicts=web@*")
				}
			},
			notes: map[string]string{
				"web@1.service": "soft-conflicts-shared(web@3.service)",
				"web@2.service": "",
				"web@3.service": "soft-conflicts-shared(web@1.service)",
			},
		},
		{
			name: "a spread as even as it can be is honoured: 3 on 2 racks",
			build: func(w *world) {
				w.machine("m1", "rack=r1").machine("m2", "rack=r2")
				for i := 1; i <= 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SpreadBy=rack")
				}
			},
			notes: map[string]string{"web@1.service": "", "web@2.service": "", "web@3.service": ""},
		},
		{
			name: "a spread that a strict rule bends says so, where the unit could have gone elsewhere",
			build: func(w *world) {
				w.machine("m1", "rack=r1").machine("m2", "rack=r2")
				w.unit("web@1.service", "SpreadBy=rack")
				w.settle() // web@1 on m1, placed before the others: it does not move for them
				w.unit("web@2.service", "SpreadBy=rack", "MachineID=m1")
				w.unit("web@3.service", "SpreadBy=rack", "MachineID=m1")
			},
			// web@2 and web@3 may only use r1: for them the spread is as
			// even as it can be.
			notes: map[string]string{"web@1.service": "spread-uneven(rack,r1)", "web@2.service": "", "web@3.service": ""},
		},
		{
			name: "a preference honoured, and one given up",
			build: func(w *world) {
				w.machine("m1", "disk=ssd").machine("m2", "disk=hdd")
				w.unit("a.service", "PreferMachineMetadata=disk=ssd:50")
				w.unit("b.service", "PreferMachineMetadata=disk=nvme:50")
				w.unit("c.service", "PreferMachineMetadata=disk=hdd:-10", "MachineID=m2")
			},
			notes: map[string]string{"a.service": "", "b.service": "prefer-unmet(disk=nvme)", "c.service": "avoid-matched(disk=hdd)"},
		},
		{
			name: "a skew that placed anyway says so",
			build: func(w *world) {
				w.machine("m1", "zone=a").machine("m2", "zone=b")
				w.unit("blocker.service", "MachineID=m2")
				for i := 1; i <= 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "MaxSkew=zone:1:anyway", "Conflicts=blocker.service")
				}
			},
			notes: map[string]string{
				"web@1.service": "max-skew-exceeded(zone:1:anyway,zone=a)", "web@2.service": "max-skew-exceeded(zone:1:anyway,zone=a)",
				"web@3.service": "max-skew-exceeded(zone:1:anyway,zone=a)",
			},
		},
		{
			name: "fleet's units have no notes",
			build: func(w *world) {
				w.machine("m1")
				w.unit("a.service").unit("b.service", "Conflicts=c.service")
			},
			notes: map[string]string{"a.service": "", "b.service": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.build(w)
			w.settle()
			for u, want := range tc.notes {
				if got := noteCodes(w.notes[u]); got != want {
					t.Errorf("%s: notes %q, want %q", u, got, want)
				}
			}
		})
	}
	t.Run("a note goes when the rule is honoured again", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1")
		w.unit("web@1.service", "SoftConflicts=web@*").unit("web@2.service", "SoftConflicts=web@*")
		w.settle()
		if noteCodes(w.notes["web@2.service"]) == "" {
			t.Fatal("web@2 shares m1 with web@1 and has no note")
		}
		delete(w.units, "web@1.service")
		w.settle()
		if _, ok := w.notes["web@2.service"]; ok {
			t.Fatalf("web@2 alone kept its note %q", noteCodes(w.notes["web@2.service"]))
		}
		delete(w.units, "web@2.service")
		w.settle()
		if len(w.notes) != 0 {
			t.Fatalf("notes of destroyed units remain: %v", w.notes)
		}
	})
}
