package engine

import (
	"fmt"
	"testing"
)

// TestStableRecords: a stored reason changes only when its meaning does.
// A machine that joins or leaves changes how many machines each rule
// filtered, not why a unit cannot be placed, so it writes only the units
// it moves.
func TestStableRecords(t *testing.T) {
	w := newWorld(t)
	for i := range 6 {
		w.machine(fmt.Sprintf("m%d", i), "zone=a")
	}
	for i := range 6 {
		w.unit(fmt.Sprintf("web@%d.service", i), "Conflicts=web@*")
	}
	for i := range 20 { // cannot be placed: no machine in zone b
		w.unit(fmt.Sprintf("b%02d.service", i), "MachineMetadata=zone=b")
	}
	for i := range 6 { // more instances than machines
		w.unit(fmt.Sprintf("web@%d.service", 10+i), "Conflicts=web@*")
	}
	w.unit("lone.service")
	w.settle()
	if got := codes(w.unplaced["b00.service"]); got != "no-eligible: machine-metadata(zone=b)=6" {
		t.Fatalf("b00: %s", got)
	}
	written := func(p Plan) (units []string) {
		for _, ch := range p.Changes {
			units = append(units, ch.Unit)
		}
		return units
	}
	t.Run("a machine joins that helps none of them", func(t *testing.T) {
		w.machine("m6", "zone=a")
		p := w.step()
		// One waiting instance takes it; no other record is written.
		if len(p.Changes) != 1 || len(p.Changes[0].Put) != 1 || p.Changes[0].Put[0].Machine != "m6" {
			t.Fatalf("wrote %v, want one instance placed on m6: %s", written(p), render(p))
		}
		w.settle()
	})
	t.Run("a machine leaves: only its units", func(t *testing.T) {
		var on []string
		for name, byM := range w.placements {
			if _, ok := byM["m2"]; ok {
				on = append(on, name)
			}
		}
		w.removeMachine("m2")
		p := w.step()
		for _, ch := range p.Changes {
			if ch.Unplaced != nil && len(ch.Put)+len(ch.Delete) == 0 {
				t.Errorf("%s: its reason rewritten, %s, and it did not move", ch.Unit, codes(*ch.Unplaced))
			}
		}
		if len(p.Changes) > len(on)+1 { // its units, and the instance that loses its place
			t.Fatalf("%d changes for the %d units of m2 (%v): %s", len(p.Changes), len(on), on, render(p))
		}
	})
	t.Run("the counts, recounted, follow the cluster", func(t *testing.T) {
		got := Reasons(w.input())["b00.service"]
		if codes(got) != "no-eligible: machine-metadata(zone=b)=6" {
			t.Fatalf("recounted: %s", codes(got))
		}
	})
}
