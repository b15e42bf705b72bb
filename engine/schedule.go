package engine

import (
	"sort"
	"strings"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Schedule decides, from in alone, where every Unit should be placed and
// returns what must change. Runs are deterministic: the same Input gives the
// same Plan. In order:
//
//  1. Units that are inactive, destroyed, templates or invalid lose their
//     Placements; templates and invalid units say why.
//  2. Every placed Unit stays where it is if that machine still exists and
//     is still feasible for it (stability: nothing moves without a reason).
//  3. Global Units go to every feasible machine.
//  4. Unplaced Units, and those evicted by Replaces=, go to the least-loaded
//     feasible machine, ties to the lower ID; a Unit no machine accepts stays
//     unplaced with the counted reasons.
func Schedule(in Input) Plan {
	s := newScheduler(in)
	s.keep()
	s.placeGlobals()
	s.placePending()
	return s.diff()
}

type scheduler struct {
	in       Input
	machines map[string]*machineState
	order    []*machineState // by (load, ID): the placement preference
	units    map[string]*Unit
	depth    map[string]int
	current  map[string][]registry.Placement // unit -> placements now
	at       map[string]*machineState        // non-global unit -> machine in this run
	global   map[string][]*machineState      // global unit -> machines in this run
	reasons  map[string]string               // unit -> why it is unplaced
	pending  []*Unit
	stack    stack
	labels   map[string][]*machineState // "k=v" -> machines, built on first use
}

func newScheduler(in Input) *scheduler {
	s := &scheduler{
		in:       in,
		machines: make(map[string]*machineState, len(in.Machines)),
		units:    make(map[string]*Unit, len(in.Units)),
		depth:    map[string]int{},
		current:  map[string][]registry.Placement{},
		at:       map[string]*machineState{},
		global:   map[string][]*machineState{},
		reasons:  map[string]string{},
	}
	for _, m := range in.Machines {
		ms := &machineState{Machine: m}
		s.machines[m.ID] = ms
		s.order = append(s.order, ms)
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i].ID < s.order[j].ID })
	for i, m := range s.order {
		m.index = i
	}
	for i := range in.Units {
		u := &in.Units[i]
		s.units[u.Name] = u
	}
	for _, p := range in.Placements {
		s.current[p.Unit] = append(s.current[p.Unit], p)
	}
	s.stack = newStack(func(name string) (string, bool) {
		if m, ok := s.at[name]; ok {
			return m.ID, true
		}
		return "", false
	})
	s.markUnschedulable()
	return s
}

// active says whether u should be placed at all.
func (s *scheduler) active(u *Unit) bool {
	return u.Desired != registry.StateInactive && u.Desired != "" && s.reasons[u.Name] == ""
}

// markUnschedulable records why templates, invalid units and units on a
// Replaces= cycle cannot be placed.
func (s *scheduler) markUnschedulable() {
	for _, u := range s.units {
		if u.Desired == registry.StateInactive {
			continue
		}
		switch {
		case unit.IsTemplate(u.Name):
			s.reasons[u.Name] = "a template is never placed: start an instance such as " + instanceExample(u.Name)
		case u.Invalid != "":
			s.reasons[u.Name] = u.Invalid
		}
	}
	for name, cycle := range replaceCycles(s.units) {
		s.reasons[name] = "Replaces cycle: " + strings.Join(cycle, " -> ")
	}
}

func instanceExample(template string) string {
	at := strings.LastIndex(template, "@.")
	if at < 0 {
		return template
	}
	return template[:at] + "@1" + template[at+1:]
}

// sorted returns the active units selected by keepIf, MachineOf= dependents
// after the units they follow, then by name.
func (s *scheduler) sorted(keepIf func(*Unit) bool) []*Unit {
	var out []*Unit
	for _, u := range s.units {
		if s.active(u) && keepIf(u) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := s.depthOf(out[i].Name, 0), s.depthOf(out[j].Name, 0)
		if di != dj {
			return di < dj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// depthOf is how many MachineOf= hops lead from name to a unit that follows
// none; cycles are cut at the unit count.
func (s *scheduler) depthOf(name string, seen int) int {
	if d, ok := s.depth[name]; ok {
		return d
	}
	u := s.units[name]
	if u == nil || len(u.Req.MachineOf) == 0 || seen > len(s.units) {
		return 0
	}
	d := 0
	for _, p := range u.Req.MachineOf {
		d = max(d, 1+s.depthOf(p, seen+1))
	}
	s.depth[name] = d
	return d
}

// keep leaves each placed non-global unit where it is when it may stay.
func (s *scheduler) keep() {
	for _, u := range s.sorted(func(u *Unit) bool { return !u.Req.Global }) {
		placed := false
		for _, p := range sortedByMachine(s.current[u.Name]) {
			m := s.machines[p.Machine]
			if m == nil || !s.stack.feasible(u, m) {
				continue
			}
			s.place(u, m)
			placed = true
			break
		}
		if !placed {
			s.pending = append(s.pending, u)
		}
	}
}

// placeGlobals puts each global unit on every machine feasible for it.
func (s *scheduler) placeGlobals() {
	for _, u := range s.sorted(func(u *Unit) bool { return u.Req.Global }) {
		machines := s.sortedMachines()
		for _, m := range machines {
			if !s.stack.feasible(u, m) {
				continue
			}
			m.units = append(m.units, u)
			s.bump(m)
			s.global[u.Name] = append(s.global[u.Name], m)
		}
		if len(s.global[u.Name]) == 0 {
			s.reasons[u.Name] = s.explain(u, machines)
		}
	}
}

// placePending places what keep left, and whatever Replaces= evicts on the
// way. Every placement of a unit that replaces others evicts them once, and
// Replaces= cycles were excluded, so the queue drains; the bound is a guard.
func (s *scheduler) placePending() {
	sort.SliceStable(s.pending, func(i, j int) bool {
		di, dj := s.depthOf(s.pending[i].Name, 0), s.depthOf(s.pending[j].Name, 0)
		if di != dj {
			return di < dj
		}
		return s.pending[i].Name < s.pending[j].Name
	})
	limit := 4*len(s.units) + 16
	for n := 0; len(s.pending) > 0 && n < limit; n++ {
		u := s.pending[0]
		s.pending = s.pending[1:]
		if m, why := s.choose(u); m != nil {
			s.place(u, m)
		} else {
			s.reasons[u.Name] = why
		}
	}
}

// choose returns the least-loaded feasible machine, or the explanation of
// why there is none.
func (s *scheduler) choose(u *Unit) (*machineState, string) {
	if ms, ok := s.candidates(u); ok {
		var best *machineState
		for _, m := range ms {
			if (best == nil || less(m, best)) && s.stack.feasible(u, m) {
				best = m
			}
		}
		if best != nil {
			return best, ""
		}
		return nil, s.explain(u, s.order)
	}
	for _, m := range s.order {
		if s.stack.feasible(u, m) {
			return m, ""
		}
	}
	return nil, s.explain(u, s.order)
}

// explain counts why each machine was rejected; only worth its cost once
// the search failed.
func (s *scheduler) explain(u *Unit, machines []*machineState) string {
	why := explanation{total: len(machines)}
	for _, m := range machines {
		why.add(s.stack.reject(u, m))
	}
	return why.String()
}

// place records u on m and evicts the units u replaces there.
func (s *scheduler) place(u *Unit, m *machineState) {
	m.units = append(m.units, u)
	s.at[u.Name] = m
	delete(s.reasons, u.Name)
	s.bump(m)
	if len(u.Req.Replaces) == 0 {
		return
	}
	for _, v := range append([]*Unit(nil), m.units...) {
		if v.Name != u.Name && !v.Req.Global && u.Req.ReplacesUnit(v.Name) {
			m.remove(v.Name)
			delete(s.at, v.Name)
			s.drop(m)
			s.pending = append(s.pending, v)
		}
	}
}

func less(a, b *machineState) bool {
	if a.load() != b.load() {
		return a.load() < b.load()
	}
	return a.ID < b.ID
}

// bump moves m right in the load order after its load grew.
func (s *scheduler) bump(m *machineState) {
	for i := m.index; i+1 < len(s.order) && less(s.order[i+1], m); i++ {
		s.order[i], s.order[i+1] = s.order[i+1], s.order[i]
		s.order[i].index, s.order[i+1].index = i, i+1
	}
}

// drop moves m left in the load order after its load shrank.
func (s *scheduler) drop(m *machineState) {
	for i := m.index; i > 0 && less(m, s.order[i-1]); i-- {
		s.order[i], s.order[i-1] = s.order[i-1], s.order[i]
		s.order[i].index, s.order[i-1].index = i, i-1
	}
}

func (s *scheduler) sortedMachines() []*machineState {
	out := make([]*machineState, 0, len(s.machines))
	for _, m := range s.machines {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func sortedByMachine(ps []registry.Placement) []registry.Placement {
	out := append([]registry.Placement(nil), ps...)
	sort.Slice(out, func(i, j int) bool { return out[i].Machine < out[j].Machine })
	return out
}
