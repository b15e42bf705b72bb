package engine

import (
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Incremental runs: a pass costs what changed, not what exists (issue 11).
//
// A run that follows another starts from the state the one before it left
// (State): the machines with their units, counts and indexes, where every
// unit is, the reasons and notes, the equivalence classes. It takes the
// units that changed since (Delta.Changed) off the machines, puts their new
// versions in, and decides afresh only those and the units no machine
// accepted last time; everything else stays where the state has it, with
// the reasons and notes it has.
//
// Why that is the run from scratch, when it is allowed. The state a run
// leaves is settled: a run of the cluster it leaves plans nothing
// (one-pass convergence, which world.step checks at every step of the
// property tests). So a run from scratch of the changed cluster keeps every
// unchanged placed unit (a machine's feasibility for a unit only grows when
// other units leave it: fewer conflicts, more room), places the globals as
// they are, and then tries, in s.ordered's order, exactly what the
// narrowed run tries: the changed units and the units it had to pass over.
// The changes for which that argument does not hold make the run a whole
// one (narrowable says which): machines that joined, left or changed,
// drains, absent machines, moves and holds in flight, load rebalancing, and
// changed units that are globals, have Replaces= or MachineOf=, belong to a
// group a rule counts, name a Conflicts= glob the cluster did not have, or
// conflict with a global; a placed unit whose file changed; a placement
// another writer made. Rebalancing looks at every unit with soft rules, as
// in a whole run, and when it moves one, the rest of the run (its notes,
// its diff) looks at every unit too. TestIncrementalAgreesWithScratch holds
// narrowed runs to runs from scratch on random worlds and changes.
//
// Schedule stays a pure function of its Input; a State is the memo of one
// run, consumed by the next: Next may not be called twice on one State.
type State struct {
	s *scheduler
	// Whole says why the run that left this State looked at every unit;
	// empty for a narrowed run.
	Whole string
}

// Delta is the Input of a run that follows another, given by what changed:
// every field as in Input, but Units and Placements hold only those of the
// units named in Changed (a changed unit missing from Units is gone).
type Delta struct {
	Input
	// Changed names the units whose record, placements, stored reason or
	// notes changed since the State's run, other than by applying its
	// plan.
	Changed []string
	// SameMachines says no machine joined, left or changed since the
	// State's run, so Machines need not be compared, and may be nil for
	// the State's own.
	SameMachines bool
}

// narrowMax bounds the changes a narrowed run takes, with half of
// the units: past both, a whole run costs little more.
const narrowMax = 4096

// ScheduleState is Schedule, keeping the run's state for the next.
func ScheduleState(in Input) (Plan, *State) {
	s := newScheduler(in)
	plan := s.run()
	s.commit(plan)
	return plan, &State{s: s, Whole: "no earlier run"}
}

// Next is the plan for the cluster st's run left, as d changes it: the
// plan Schedule would make of the whole Input, and the State for the run
// after it. It assumes st's plan was applied.
func (st *State) Next(d Delta) (Plan, *State) {
	s := st.s
	st.s = nil // consumed: its maps are the next run's
	why := s.narrowable(d)
	gone := s.update(d)
	var lost map[string]bool
	if why == "" && !d.SameMachines {
		lost, _ = s.machinesLost(d.Machines)
	}
	if why == "" {
		why = s.displacedEntangled(d, lost)
	}
	if why == "" {
		why = s.freesGlobal(gone)
	}
	if why != "" {
		plan, next := ScheduleState(s.whole(d))
		next.Whole = why
		return plan, next
	}
	s.narrowTo(d, gone, lost)
	plan := s.run()
	s.commit(plan)
	return plan, &State{s: s}
}

// narrowable says why the run of d cannot be a narrowed one, or "".
func (s *scheduler) narrowable(d Delta) string {
	switch {
	case len(s.leaving) > 0 || len(s.moved) > 0 || len(s.stuck) > 0 || inflight(s.inflight):
		return "moves in flight"
	case len(d.Drains) > 0 || len(s.in.Drains) > 0:
		return "drains"
	case d.Rebalance != s.in.Rebalance || d.Disconnect != s.in.Disconnect || d.StopMargin != s.in.StopMargin:
		return "configuration"
	case s.loadRebalancing():
		return "load rebalancing"
	case len(d.Changed) > max(narrowMax, len(s.units)/2):
		return "many changes"
	}
	var lost map[string]bool
	if !d.SameMachines {
		var ok bool
		if lost, ok = s.machinesLost(d.Machines); !ok {
			return "machines"
		}
		if len(lost) > 0 && len(s.counts.tracked) > 0 {
			return "machines lost, and group rules" // the values they count over changed
		}
	}
	for id, a := range d.Absent {
		if was, ok := s.in.Absent[id]; !lost[id] && (!ok || was != a) {
			return "absent machines"
		}
	}
	for id := range s.in.Absent {
		if _, ok := d.Absent[id]; !ok && s.ghosts[id] != nil && len(s.ghosts[id].units) > 0 {
			return "absent machines" // it came back
		}
	}
	units := make(map[string]*Unit, len(d.Units))
	for i := range d.Units {
		units[d.Units[i].Name] = &d.Units[i]
	}
	placed := placementsByUnit(d.Placements)
	for _, name := range d.Changed {
		old, nu := s.units[name], units[name]
		for _, u := range []*Unit{old, nu} {
			if u == nil {
				continue
			}
			if why := s.entangled(u); why != "" {
				return why
			}
		}
		if _, ok := d.Moves[name]; ok {
			return "a unit that moved"
		}
		if old != nil && nu != nil && s.at[name] != nil && (old.Hash != nu.Hash || old.Resources != nu.Resources || old.Invalid != nu.Invalid) {
			return "a placed unit's file"
		}
		for _, p := range placed[name] {
			if have, ok := findMachine(s.current[name], p.Machine); !ok || have != p {
				return "a placement made by another"
			}
		}
	}
	return ""
}

func inflight(n map[string]int) bool {
	for _, k := range n {
		if k > 0 {
			return true
		}
	}
	return false
}

// entangled says why a change of u reaches beyond the units a narrowed run
// decides, or "".
func (s *scheduler) entangled(u *Unit) string {
	r := u.Req
	switch {
	case r.Global:
		return "a global"
	case len(r.Replaces) > 0:
		return "Replaces="
	case len(r.MachineOf) > 0 || s.followed[u.Name]:
		return "MachineOf="
	case r.Group != "" || len(r.DistinctBy)+len(r.SpreadBy)+len(r.MaxSkew) > 0 || len(s.counts.memberOf(u).tracked) > 0:
		return "group rules"
	}
	for _, g := range r.Conflicts {
		if _, ok := s.conflicts.id[g]; !ok && literalPrefix(g) == 0 {
			return "a new Conflicts= glob that starts with a wildcard"
		}
	}
	for _, g := range s.globals {
		if matching(g.Req.Conflicts, u.Name) != "" || matching(r.Conflicts, g.Name) != "" {
			return "conflicts with a global"
		}
	}
	return ""
}

// machinesLost says which of the state's machines ms lacks, and whether
// ms is otherwise the state's machines: none joined, none changed
// (metadata, capacity, the units it refuses).
func (s *scheduler) machinesLost(ms []Machine) (map[string]bool, bool) {
	present := 0
	for _, m := range ms {
		have := s.machines[m.ID]
		if have == nil || have.Capacity != m.Capacity || !maps.Equal(have.Metadata, m.Metadata) || !maps.Equal(have.Refused, m.Refused) {
			return nil, false
		}
		present++
	}
	if present == len(s.machines) {
		return nil, true
	}
	in := make(map[string]bool, len(ms))
	for _, m := range ms {
		in[m.ID] = true
	}
	lost := map[string]bool{}
	for id := range s.machines {
		if !in[id] {
			lost[id] = true
		}
	}
	return lost, true
}

// lose takes the lost machines out of the state. What they held is
// decided again: its units are in the run's scope, held there as absent
// machines' units are (keep, absent.go), its globals held on their ghosts
// or taken off; the unplaced units are explained again, as a machine
// fewer may change what refuses them.
func (s *scheduler) lose(lost map[string]bool) []*Unit {
	var scope []*Unit
	for _, id := range slices.Sorted(maps.Keys(lost)) {
		m := s.machines[id]
		delete(s.machines, id)
		if i := slices.Index(s.order, m); i >= 0 {
			s.order = slices.Delete(s.order, i, i+1)
		}
		for _, u := range m.units {
			if !u.Req.Global {
				s.counts.moved(u, m, -1)
				delete(s.at, u.Name)
				scope = append(scope, u)
				continue
			}
			rest := slices.DeleteFunc(s.global[u.Name], func(x *machineState) bool { return x == m })
			if s.holds(u, id) {
				g := s.ghost(id)
				g.add(u)
				rest = append([]*machineState{g}, rest...) // placeGlobals holds before it places
			}
			if s.global[u.Name] = rest; len(rest) == 0 {
				delete(s.global, u.Name)
				scope = append(scope, u)
			} else {
				s.rediffed = append(s.rediffed, u) // placed elsewhere still: only its diff changes
			}
		}
	}
	s.epoch++
	s.values, s.labels = nil, nil
	s.reexplain = true
	return scope
}

// displacedEntangled says why a unit the run must decide again, as its
// machine is lost or its hold ended, reaches beyond what a narrowed run
// decides (entangled), or "". Globals are the exception: lose and expire
// take them off the machine, and what else they are placed on stays.
func (s *scheduler) displacedEntangled(d Delta, lost map[string]bool) string {
	check := func(u *Unit) string {
		if u.Req.Global {
			return ""
		}
		return s.entangled(u)
	}
	for id := range lost {
		for _, u := range s.machines[id].units {
			if why := check(u); why != "" {
				return why + " on a lost machine"
			}
		}
	}
	for id, g := range s.ghosts {
		for _, u := range g.units {
			if end, ok := holdEnd(d.Input, u, id); s.stranded[u.Name] != g && (!ok || !d.Now.Before(end)) {
				if why := check(u); why != "" {
					return why + " whose hold ended"
				}
			}
		}
	}
	return ""
}

// expire takes off their ghosts the units whose hold ended: the run
// decides them again, as a run from scratch would.
func (s *scheduler) expire() []*Unit {
	var scope []*Unit
	for _, id := range slices.Sorted(maps.Keys(s.ghosts)) {
		g := s.ghosts[id]
		for _, u := range slices.Clone(g.units) {
			if s.stranded[u.Name] == g || s.holds(u, id) {
				continue
			}
			g.remove(u.Name)
			if !u.Req.Global {
				delete(s.at, u.Name)
				scope = append(scope, u)
				continue
			}
			rest := slices.DeleteFunc(s.global[u.Name], func(x *machineState) bool { return x == g })
			if s.global[u.Name] = rest; len(rest) == 0 {
				delete(s.global, u.Name)
				scope = append(scope, u)
			} else {
				s.rediffed = append(s.rediffed, u)
			}
		}
	}
	return scope
}

func placementsByUnit(ps []registry.Placement) map[string][]registry.Placement {
	out := map[string][]registry.Placement{}
	for _, p := range ps {
		out[p.Unit] = append(out[p.Unit], p)
	}
	return out
}

// update makes the state's units and placements those of d: each changed
// unit's old version off its machine and out of the order, its new one in.
// It returns the machines units left.
func (s *scheduler) update(d Delta) []*machineState {
	placed := placementsByUnit(d.Placements)
	units := make(map[string]*Unit, len(d.Units))
	for i := range d.Units {
		u := d.Units[i]
		units[u.Name] = &u
	}
	var left []*machineState
	s.left = s.left[:0]
	drop, softDrop := map[*Unit]bool{}, map[*Unit]bool{}
	var add, softAdd []*Unit
	for _, name := range d.Changed {
		if old := s.units[name]; old != nil {
			switch m := s.at[name]; {
			case m != nil && m.gone:
				s.unhold(old, m)
			case m != nil:
				s.unplace(old, m)
				left = append(left, m)
			}
			s.forget(old)
			s.left = append(s.left, old)
			drop[old] = true
			if old.Req.HasSoftRules() {
				softDrop[old] = true
			}
		}
		if ps := placed[name]; len(ps) > 0 {
			s.current[name] = ps
		} else {
			delete(s.current, name)
		}
		if nu := units[name]; nu != nil {
			s.adopt(nu)
			add = append(add, nu)
			if nu.Req.HasSoftRules() {
				softAdd = append(softAdd, nu)
			}
		}
	}
	s.ordered = reorder(s, s.ordered, drop, add)
	s.soft = reorder(s, s.soft, softDrop, softAdd)
	for _, name := range d.Changed {
		if nu := s.units[name]; nu != nil {
			for _, g := range nu.Req.Conflicts {
				if _, ok := s.conflicts.id[g]; !ok && literalPrefix(g) > 0 {
					s.addGlob(g)
				}
			}
		}
	}
	return left
}

// addGlob numbers a Conflicts= glob the cluster did not have, as
// newConflictIndex would have: the units it matches, found among those
// whose names start with its literal prefix, have it among theirs, their
// machines count them under it, and their classes are worked out anew.
func (s *scheduler) addGlob(g string) {
	x := s.conflicts
	n := len(x.globs)
	x.id[g] = n
	x.globs = append(x.globs, g)
	p := g[:literalPrefix(g)]
	x.byPrefix[p] = append(x.byPrefix[p], n)
	if i, found := slices.BinarySearch(x.lengths, len(p)); !found {
		x.lengths = slices.Insert(x.lengths, i, len(p))
	}
	// s.ordered is by name where nothing is followed (depth 0), then the
	// followers: the names with the prefix are a range of the first part,
	// found by a binary search, and the followers are scanned. (A scan to
	// the end for each new template's glob was a minute's pass for a
	// submit of 27,000 instances of 900 templates into 150,000 units.)
	followers := sort.Search(len(s.ordered), func(i int) bool { return len(s.ordered[i].Req.MachineOf) > 0 })
	first := sort.Search(followers, func(i int) bool { return s.ordered[i].Name >= p })
	end := first
	for end < followers && strings.HasPrefix(s.ordered[end].Name, p) {
		end++
	}
	for _, u := range slices.Concat(s.ordered[first:end], s.ordered[followers:]) {
		if ok, _ := path.Match(g, u.Name); !ok {
			continue
		}
		if ids, ok := x.units[u]; ok {
			ids.matching = append(ids.matching, n) // the largest number: still sorted
		}
		delete(s.classes.key, u.Name)
		if m := s.at[u.Name]; m != nil {
			addCount(&m.matches, n)
		}
		for _, m := range s.global[u.Name] {
			addCount(&m.matches, n)
		}
	}
}

func addCount(counts *map[int]int, n int) {
	if *counts == nil {
		*counts = map[int]int{}
	}
	(*counts)[n]++
}

// unhold takes u off the absent machine g it was held on (holdOn), for the
// run to decide again.
func (s *scheduler) unhold(u *Unit, g *machineState) {
	g.remove(u.Name)
	delete(s.at, u.Name)
	delete(s.stranded, u.Name)
}

// forget takes u out of the state's units and memos.
// update takes it out of s.ordered and s.soft (reorder).
func (s *scheduler) forget(u *Unit) {
	delete(s.units, u.Name)
	delete(s.reasons, u.Name)
	delete(s.notes, u.Name)
	delete(s.classes.key, u.Name)
	delete(s.counts.members, u.Name)
	delete(s.counts.groups, u.Name)
	delete(s.conflicts.units, u)
}

// adopt puts u in the state's units; update puts it in s.ordered and
// s.soft (reorder).
func (s *scheduler) adopt(u *Unit) {
	s.units[u.Name] = u
	s.unschedulable(u)
}

// reorder takes drop out of us, sorted by orderOf, and puts add in: one
// binary search and move each for a few, one merge for many (a move each
// of a list of 150,000 was a 30 s pass for a submit of 28,000 units).
func reorder(s *scheduler, us []*Unit, drop map[*Unit]bool, add []*Unit) []*Unit {
	if len(drop)+len(add) <= 32 {
		for u := range drop {
			us = removeOrdered(s, us, u)
		}
		for _, u := range add {
			us = insertOrdered(s, us, u)
		}
		return us
	}
	if len(drop) > 0 {
		us = slices.DeleteFunc(us, func(u *Unit) bool { return drop[u] })
	}
	if len(add) == 0 {
		return us
	}
	add = slices.SortedFunc(slices.Values(add), s.orderOf)
	out := make([]*Unit, 0, len(us)+len(add))
	i, j := 0, 0
	for i < len(us) && j < len(add) {
		if s.orderOf(add[j], us[i]) < 0 {
			out = append(out, add[j])
			j++
		} else {
			out = append(out, us[i])
			i++
		}
	}
	out = append(out, us[i:]...)
	return append(out, add[j:]...)
}

// orderOf compares units as s.ordered is sorted: MachineOf= depth, then
// name.
func (s *scheduler) orderOf(a, b *Unit) int {
	da, db := 0, 0 // depthOf looks up what follows nothing too: most units
	if len(a.Req.MachineOf) > 0 {
		da = s.depthOf(a.Name, 0)
	}
	if len(b.Req.MachineOf) > 0 {
		db = s.depthOf(b.Name, 0)
	}
	if da != db {
		return da - db
	}
	return strings.Compare(a.Name, b.Name)
}

func insertOrdered(s *scheduler, us []*Unit, u *Unit) []*Unit {
	i, _ := slices.BinarySearchFunc(us, u, s.orderOf)
	return slices.Insert(us, i, u)
}

func removeOrdered(s *scheduler, us []*Unit, u *Unit) []*Unit {
	if i, ok := slices.BinarySearchFunc(us, u, s.orderOf); ok && us[i] == u {
		return slices.Delete(us, i, i+1)
	}
	if i := slices.Index(us, u); i >= 0 {
		return slices.Delete(us, i, i+1)
	}
	return us
}

// freesGlobal says whether a unit leaving a machine let a global that is
// not there onto it: a whole run would place it.
func (s *scheduler) freesGlobal(left []*machineState) string {
	for _, m := range left { // live machines: a unit held on an absent one frees nothing
		for _, g := range s.globals {
			if s.active(g) && !slices.Contains(s.global[g.Name], m) && s.stack.feasible(g, m) {
				return "a global fits where a unit left"
			}
		}
	}
	return ""
}

// whole is the Input d changes the state into, every unit and placement.
func (s *scheduler) whole(d Delta) Input {
	in := d.Input
	if d.SameMachines && in.Machines == nil {
		in.Machines = s.in.Machines
	}
	in.Units = make([]Unit, 0, len(s.ordered))
	for _, u := range s.ordered {
		in.Units = append(in.Units, *u)
	}
	in.Placements = make([]registry.Placement, 0, len(s.current))
	for _, ps := range s.current {
		in.Placements = append(in.Placements, ps...)
	}
	return in
}

// narrowTo readies the state for a narrowed run of d: the run decides the
// changed units and those the last run passed over.
func (s *scheduler) narrowTo(d Delta, left []*machineState, lost map[string]bool) {
	machines := s.in.Machines
	s.in = d.Input
	s.in.Units, s.in.Placements = nil, nil // read only by newScheduler
	if d.SameMachines && s.in.Machines == nil {
		s.in.Machines = machines
	}
	s.wake = time.Time{}
	displaced := s.expire()
	if len(lost) > 0 {
		displaced = append(displaced, s.lose(lost)...)
	}
	s.wake = time.Time{} // holds set it: holdWakes works it out at the end
	scope := slices.Clone(displaced)
	for _, name := range d.Changed {
		if u := s.units[name]; u != nil {
			scope = append(scope, u)
		} else {
			s.gone = append(s.gone, name)
		}
	}
	scope = append(scope, s.retried(d, displaced)...)
	s.passed = nil
	if s.reexplain {
		for _, u := range s.waiting {
			delete(s.reasons, u.Name) // explainUnplaced words them again, diff compares
			s.reexplained = append(s.reexplained, u)
		}
	}
	slices.SortFunc(scope, s.orderOf)
	s.scope = slices.Compact(scope)
	slices.Sort(s.gone)
	s.gone = slices.Compact(s.gone)
	s.narrowed = true
	s.touched.on = true
	s.touched.ms = append(s.touched.ms[:0], left...)
}

// retried sorts the units the last run passed over, still unplaced, into
// those the run tries again and those it leaves waiting (s.waiting).
// Only those related (related) to a changed unit's old or new version, or
// to one of them that may now be placed, and so on, can have become
// placeable or have another reason: the others' feasibility, machine by
// machine, is what it was, and a run from scratch would find them
// unplaceable again, with the same reason. A class (classes.go) is
// related as one, and relates as one: its units have the same rules, and
// every glob of the cluster answers them alike.
func (s *scheduler) retried(d Delta, displaced []*Unit) []*Unit {
	var relatives []*Unit // what may be placed anew: grows as the rounds find more
	for _, name := range d.Changed {
		if u := s.units[name]; u != nil {
			relatives = append(relatives, u)
		}
	}
	relatives = append(relatives, s.left...)
	relatives = append(relatives, displaced...)
	var all []*Unit
	seen := map[*Unit]bool{}
	byClass := map[string][]*Unit{}
	var classes []string // in the order first met, for a deterministic run
	for _, u := range s.passed {
		held := s.at[u.Name] != nil && s.at[u.Name].gone // stranded: nowhere else to go
		if s.units[u.Name] != u || (s.at[u.Name] != nil && !held) || len(s.global[u.Name]) > 0 || seen[u] {
			continue // changed, placed after it was passed over, or passed over twice
		}
		seen[u] = true
		all = append(all, u)
		k := s.classOf(u)
		if k == "" || len(u.Req.MachineOf) > 0 {
			k = "\x00" + u.Name // a class of its own
		}
		if byClass[k] == nil {
			classes = append(classes, k)
		}
		byClass[k] = append(byClass[k], u)
	}
	retry := map[*Unit]bool{}
	for len(relatives) > 0 && len(classes) > 0 {
		var found []*Unit
		still := classes[:0]
		rel := s.relatedToAny(relatives)
		for _, k := range classes {
			us := byClass[k]
			u := us[0]
			if len(u.Req.MachineOf) == 0 && !rel(u) {
				still = append(still, k)
				continue
			}
			for _, v := range us {
				if len(v.Req.Replaces) > 0 {
					s.waiting = nil
					return s.retryAll(all) // what it evicts leaves room the rules above do not follow
				}
				retry[v] = true
			}
			found = append(found, u)
		}
		classes, relatives = still, found
	}
	var out []*Unit
	s.waiting = s.waiting[:0]
	for _, u := range all {
		if retry[u] {
			delete(s.reasons, u.Name)
			if g := s.at[u.Name]; g != nil {
				s.unhold(u, g) // keep holds it again if nothing takes it
			}
			out = append(out, u)
		} else {
			s.waiting = append(s.waiting, u)
		}
	}
	if !slices.IsSortedFunc(s.waiting, s.passedOrder) {
		slices.SortFunc(s.waiting, s.passedOrder)
	}
	return out
}

func (s *scheduler) retryAll(us []*Unit) []*Unit {
	for _, u := range us {
		delete(s.reasons, u.Name)
		if g := s.at[u.Name]; g != nil {
			s.unhold(u, g)
		}
	}
	return us
}

// holdWakes sets the wake for the units held on absent machines, as the
// runs before set it for those the narrowed run left as they were: the
// earliest end of a hold (holds), those stranded there aside.
func (s *scheduler) holdWakes() {
	for _, id := range slices.Sorted(maps.Keys(s.ghosts)) {
		g := s.ghosts[id]
		for _, u := range g.units {
			if s.stranded[u.Name] != g {
				s.holds(u, id)
			}
		}
	}
}

// passedOrder is the order a run from scratch passes units over in, when
// nothing is evicted: the globals, in s.ordered's order, then the others.
func (s *scheduler) passedOrder(a, b *Unit) int {
	if a.Req.Global != b.Req.Global {
		if a.Req.Global {
			return -1
		}
		return 1
	}
	return s.orderOf(a, b)
}

// rejoin puts the units a narrowed run left waiting back among those it
// passed over, where a run from scratch would have passed them over: what
// is tried again after moves (retryPassed), and what the next run starts
// from, is the whole list.
func (s *scheduler) rejoin() {
	if len(s.waiting) == 0 {
		return
	}
	merged := make([]*Unit, 0, len(s.passed)+len(s.waiting))
	i, j := 0, 0
	for i < len(s.passed) && j < len(s.waiting) {
		if s.passedOrder(s.waiting[j], s.passed[i]) < 0 {
			merged = append(merged, s.waiting[j])
			j++
		} else {
			merged = append(merged, s.passed[i])
			i++
		}
	}
	merged = append(merged, s.passed[i:]...)
	s.passed = append(merged, s.waiting[j:]...)
	s.waiting = s.waiting[:0]
}

// relatedToAny says whether a placement of one of bs, or its removal, can
// change what a machine answers a unit: Conflicts= either way,
// reservations (both reserve something), a group rule (both are counted by
// one), MachineOf= (it follows one of them). Conflicts= is looked up by
// the conflict index's numbers: the globs bs's names match, the globs of
// bs's Conflicts=, against the unit's own and those its name matches (a
// pair-by-pair path.Match was seconds for 22,000 changed units).
func (s *scheduler) relatedToAny(bs []*Unit) func(u *Unit) bool {
	matched, held := map[int]bool{}, map[int]bool{}
	names := map[string]bool{}
	reserve, grouped := false, false
	for _, b := range bs {
		ids := s.conflicts.of(b)
		for _, n := range ids.matching {
			matched[n] = true
		}
		for _, n := range ids.own {
			held[n] = true
		}
		names[b.Name] = true
		reserve = reserve || b.Resources != (unit.Resources{})
		grouped = grouped || len(s.counts.memberOf(b).tracked) > 0
	}
	return func(u *Unit) bool {
		ids := s.conflicts.of(u)
		for _, n := range ids.own {
			if matched[n] {
				return true
			}
		}
		for _, n := range ids.matching {
			if held[n] {
				return true
			}
		}
		for _, p := range u.Req.MachineOf {
			if names[p] {
				return true
			}
		}
		return (reserve && u.Resources != (unit.Resources{})) || (grouped && len(s.counts.memberOf(u).tracked) > 0)
	}
}

// commit makes the state the cluster as the plan leaves it, for the next
// run: what each changed unit is placed on is what the plan wanted.
func (s *scheduler) commit(plan Plan) {
	s.rejoin()
	for _, ch := range plan.Changes {
		if want := s.wanted(ch.Unit); len(want) > 0 {
			s.current[ch.Unit] = want
		} else {
			delete(s.current, ch.Unit)
		}
	}
	s.pending = nil
	s.scope, s.gone, s.narrowed, s.broad = nil, nil, false, false
	s.reexplain, s.reexplained, s.rediffed = false, nil, nil
	s.touched.on, s.touched.ms = false, s.touched.ms[:0]
	s.affectedMemo = nil
}

// decided is the units the run decides afresh: all, or a narrowed run's.
func (s *scheduler) decided() []*Unit {
	if s.narrowed {
		return s.scope
	}
	return s.ordered
}

// narrow says whether the run notes and diffs only the units it affected.
// A unit it placed that a group rule counts changes its group's counts,
// which every member's notes read: the run looks at all then.
func (s *scheduler) narrow() bool {
	if !s.narrowed || s.broad {
		return false
	}
	for _, u := range s.scope {
		if s.at[u.Name] != nil && len(s.counts.memberOf(u).tracked) > 0 {
			s.broad = true
			return false
		}
	}
	return true
}

// affected is what a narrowed run may have changed the notes of: the units
// it decided, and those with soft rules on the machines whose units
// changed, in s.ordered's order.
func (s *scheduler) affected() []*Unit {
	if s.affectedMemo != nil {
		return s.affectedMemo
	}
	out := slices.Concat(s.scope, s.reexplained, s.rediffed)
	seen := map[*machineState]bool{}
	for _, m := range s.touched.ms {
		if seen[m] {
			continue
		}
		seen[m] = true
		for _, u := range m.units {
			if !u.Req.Global && (u.Req.HasSoftRules() || len(u.Req.MaxSkew) > 0) {
				out = append(out, u)
			}
		}
	}
	slices.SortFunc(out, s.orderOf)
	s.affectedMemo = slices.Compact(out)
	return s.affectedMemo
}

// affectedNames is affected's names, then the changed units that are gone.
func (s *scheduler) affectedNames() []string {
	us := s.affected()
	out := make([]string, 0, len(us)+len(s.gone))
	for _, u := range us {
		out = append(out, u.Name)
	}
	return append(out, s.gone...)
}
