package engine

import (
	"sort"

	"github.com/flota-dev/flota/registry"
)

// diff turns the run's outcome into Changes against what is stored now.
func (s *scheduler) diff() Plan {
	names := map[string]bool{}
	for n := range s.current {
		names[n] = true
	}
	for n := range s.at {
		names[n] = true
	}
	for n := range s.global {
		names[n] = true
	}
	for n := range s.reasons {
		names[n] = true
	}
	for n := range s.in.Unplaced {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	var plan Plan
	for _, name := range sorted {
		want := s.wanted(name)
		ch := registry.Change{Unit: name}
		have := map[string]registry.Placement{}
		for _, p := range s.current[name] {
			have[p.Machine] = p
			if _, ok := want[p.Machine]; !ok {
				ch.Delete = append(ch.Delete, p)
			}
		}
		for _, p := range sortedPlacements(want) {
			if old, ok := have[p.Machine]; !ok || old != p {
				ch.Put = append(ch.Put, p)
			}
		}
		sort.Slice(ch.Delete, func(i, j int) bool { return ch.Delete[i].Machine < ch.Delete[j].Machine })
		reason := s.reasons[name]
		if _, exists := s.units[name]; !exists {
			reason = ""
		}
		if reason != s.in.Unplaced[name] {
			ch.Unplaced = &reason
		}
		if len(ch.Put)+len(ch.Delete) > 0 || ch.Unplaced != nil {
			plan.Changes = append(plan.Changes, ch)
		}
	}
	return plan
}

// wanted is where name should be placed after this run.
func (s *scheduler) wanted(name string) map[string]registry.Placement {
	u := s.units[name]
	out := map[string]registry.Placement{}
	if u == nil {
		return out
	}
	add := func(m *machineState) {
		out[m.ID] = registry.Placement{Unit: name, Machine: m.ID, Hash: u.Hash, Desired: u.Desired}
	}
	if m := s.at[name]; m != nil {
		add(m)
	}
	for _, m := range s.global[name] {
		add(m)
	}
	return out
}

func sortedPlacements(m map[string]registry.Placement) []registry.Placement {
	out := make([]registry.Placement, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Machine < out[j].Machine })
	return out
}
