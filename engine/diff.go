package engine

import (
	"sort"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// diff turns the run's outcome into Changes against what is stored now.
func (s *scheduler) diff() Plan {
	var plan Plan
	for _, name := range s.diffed() {
		if ch, ok := s.change(name); ok {
			plan.Changes = append(plan.Changes, ch)
		}
	}
	return plan
}

// diffed names the units diff compares: every unit in s.ordered's order,
// then what is gone from the units but still has placements or a stored
// reason (destroyed units), by name. A narrowed run compares those it
// affected, then the changed units that are gone (incremental.go).
func (s *scheduler) diffed() []string {
	if s.narrow() {
		return s.affectedNames()
	}
	sorted := make([]string, 0, len(s.ordered))
	for _, u := range s.ordered {
		sorted = append(sorted, u.Name)
	}
	gone := map[string]bool{}
	for n := range s.current {
		if s.units[n] == nil {
			gone[n] = true
		}
	}
	for n := range s.in.Unplaced {
		if s.units[n] == nil {
			gone[n] = true
		}
	}
	for n := range s.in.Notes {
		if s.units[n] == nil {
			gone[n] = true
		}
	}
	for n := range s.in.Moves {
		if s.units[n] == nil {
			gone[n] = true // a destroyed unit's move record goes with it
		}
	}
	extra := make([]string, 0, len(gone))
	for n := range gone {
		extra = append(extra, n)
	}
	sort.Strings(extra)
	return append(sorted, extra...)
}

// change is what must be written for name, if anything.
func (s *scheduler) change(name string) (registry.Change, bool) {
	want := s.wanted(name)
	have := s.current[name]
	ch := registry.Change{Unit: name}
	for _, p := range have {
		if !containsMachine(want, p.Machine) {
			ch.Delete = append(ch.Delete, p)
		}
	}
	for _, p := range want {
		if old, ok := findMachine(have, p.Machine); !ok || old != p {
			ch.Put = append(ch.Put, p)
		}
	}
	sort.Slice(ch.Delete, func(i, j int) bool { return ch.Delete[i].Machine < ch.Delete[j].Machine })
	why := s.reasons[name]
	if _, exists := s.units[name]; !exists {
		why = reason.Unplaced{}
	}
	if !why.Equal(s.in.Unplaced[name]) {
		ch.Unplaced = &why
	}
	if notes := s.notes[name]; !reason.NotesEqual(notes, s.in.Notes[name]) {
		ch.Notes = &notes
	}
	if mv, ok := s.moved[name]; ok {
		ch.Move = &mv // with the placement it moves to: one transaction
	} else if _, had := s.in.Moves[name]; had && s.units[name] == nil {
		ch.Move = &registry.Move{}
	}
	return ch, len(ch.Put)+len(ch.Delete) > 0 || ch.Unplaced != nil || ch.Notes != nil || ch.Move != nil
}

func containsMachine(ps []registry.Placement, machine string) bool {
	_, ok := findMachine(ps, machine)
	return ok
}

// findMachine looks a placement up by machine. Units are placed on one
// machine, globals on a few hundred at most: a scan beats building a map.
func findMachine(ps []registry.Placement, machine string) (registry.Placement, bool) {
	for _, p := range ps {
		if p.Machine == machine {
			return p, true
		}
	}
	return registry.Placement{}, false
}

// wanted is where name should be placed after this run, sorted by machine.
func (s *scheduler) wanted(name string) []registry.Placement {
	u := s.units[name]
	if u == nil {
		return nil
	}
	var out []registry.Placement
	add := func(m *machineState) {
		out = append(out, registry.Placement{Unit: name, Machine: m.ID, Hash: u.Hash, Desired: u.Desired})
	}
	if m := s.leaving[name]; m != nil { // the old copy of a move, as it is
		if p, ok := findMachine(s.current[name], m.ID); ok {
			out = append(out, p)
		}
	}
	if m := s.at[name]; m != nil {
		add(m)
	}
	for _, m := range s.global[name] { // placeGlobals walks machines in ID order
		add(m)
	}
	return out
}
