package engine

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flota-dev/flota/reason"
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
//     unplaced. One that a MaxSkew= rule refused is tried again once later
//     units of its group were placed, which can lift the skew.
//  5. The Units step 4 placed move, alone or two at a time, where that
//     honours more of their soft rules (improve.go), and with load
//     rebalancing on, off machines that hold LoadGap units more than
//     another (rebalance_load.go). Draining machines' Units move off
//     (drain.go); Units placed before this run move for a soft rule, or
//     load, only by rebalancing, within its rate (rebalance.go).
//  6. Each Unit left unplaced is explained, with the counted reasons, by the
//     machines as the run leaves them: explained when it was passed over,
//     the words would depend on what was placed after it, and the next run
//     of the same cluster would word them otherwise and write them again.
//  7. Each placed Unit with soft rules notes those its machine does not
//     honour, by the machines as the run leaves them too.
func Schedule(in Input) Plan { return newScheduler(in).run() }

// run is Schedule's stages, in order.
func (s *scheduler) run() Plan {
	s.keep()
	s.placeGlobals()
	s.placePending()
	s.retrySkewed() // a placement can lift a skew that refused a unit before it
	s.settleNew()   // greedy placement misses what a later unit needed: a second look at this run's units, for soft rules (and load, when on)
	settled := s.epoch
	s.drainMoves()
	s.rebalance() // placed units to where their soft rules are served clearly better, within the rate
	if s.epoch != settled {
		s.broad = true  // placed units moved: a narrowed run looks at every unit from here on
		s.refollow()    // units whose MachineOf= leader the moves took away
		s.retryPassed() // what the moves evicted with Replaces=, and what they made room for
	} else {
		s.placePending()
	}
	s.pollMoves()
	if s.narrowed {
		s.holdWakes() // the holds of units it did not decide still end when they did
		if s.reexplain {
			s.rejoin() // what waits is explained again
		}
	}
	s.explainUnplaced()
	s.noteSoftRules()
	plan := s.diff()
	plan.Wake = s.wake
	return plan
}

type scheduler struct {
	in       Input
	machines map[string]*machineState
	order    []*machineState // by (load, ID): the placement preference
	units    map[string]*Unit
	ordered  []*Unit // every unit, MachineOf= dependents after what they follow, then by name
	depth    map[string]int
	current  map[string][]registry.Placement // unit -> placements now
	at       map[string]*machineState        // non-global unit -> machine in this run
	global   map[string][]*machineState      // global unit -> machines in this run
	reasons  map[string]reason.Unplaced      // unit -> why it is unplaced
	pending  []*Unit
	passed   []*Unit // units no machine accepted, to explain once the run is done
	stack    stack
	counts   *groupCounts               // units of each DistinctBy=/SpreadBy= group per label value
	skews    *skews                     // MaxSkew= skews, and the values a unit's machine rules allow
	notes    map[string][]reason.Note   // placed unit -> the soft rules its machine does not honour
	ranking  []scorer                   // the soft rules, for units that have some
	values   map[string][]string        // metadata key -> its values among the machines, built on first use
	labels   map[string][]*machineState // "k=v" -> machines, built on first use
	ghosts   map[string]*machineState   // absent machines units stay on
	stranded map[string]*machineState   // unit -> the absent machine it stays on if nothing takes it
	wake     time.Time                  // the earliest end of a hold
	leaving  map[string]*machineState   // unit -> the draining machine its old copy stays on while it moves
	inflight map[string]int             // draining machine -> its moves in flight
	stuck    map[string]reason.Note     // unit -> why it cannot leave its draining machine
	moved    map[string]registry.Move   // unit -> the rebalancing move this run begins

	explainFor map[string]bool    // units whose machine scores SchedulePreview keeps
	scores     map[string][]Score // and the scores

	classes   *classes       // units the rules cannot tell apart (classes.go)
	conflicts *conflictIndex // Conflicts= and Replaces= globs, which machines count (conflict_index.go)
	epoch     uint64         // placement changes in this run, kept by machineState
	freed     uint64         // removals from live machines in this run, kept by machineState

	// What a run that follows another keeps or narrows (incremental.go).
	soft     []*Unit         // units with soft rules, in s.ordered's order: those rebalancing looks at
	followed map[string]bool // units others follow with MachineOf=
	globals  []*Unit         // global units, in s.ordered's order
	scope    []*Unit         // the units such a run decides afresh, in s.ordered's order; nil: every unit
	narrowed bool            // this run decides only scope (incremental.go)
	touched  *touchLog       // the machines whose units such a run changed
	broad    bool            // such a run moved placed units: it notes and diffs every unit
	gone     []string        // the changed units such a run finds gone, by name
	left     []*Unit         // the old versions of the units it changed
	// reexplain: such a run lost machines, and explains again what it
	// left waiting (reexplained), as a machine fewer may change what
	// refuses them.
	reexplain   bool
	reexplained []*Unit
	rediffed    []*Unit // globals such a run took off a lost machine or a ghost, placed elsewhere still
	waiting     []*Unit // units it passes over untried, as nothing it changed reaches them

	affectedMemo []*Unit
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
		reasons:  map[string]reason.Unplaced{},
		ghosts:   map[string]*machineState{},
		stranded: map[string]*machineState{},
		leaving:  map[string]*machineState{},
		inflight: map[string]int{},
		stuck:    map[string]reason.Note{},
		moved:    map[string]registry.Move{},
		touched:  &touchLog{},
	}
	s.conflicts = newConflictIndex(in.Units)
	for _, m := range in.Machines {
		ms := &machineState{Machine: m, epoch: &s.epoch, freed: &s.freed, conflicts: s.conflicts, touched: s.touched}
		s.machines[m.ID] = ms
		s.order = append(s.order, ms)
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i].ID < s.order[j].ID })
	for i := range in.Units {
		u := &in.Units[i]
		s.units[u.Name] = u
		s.ordered = append(s.ordered, u)
	}
	for _, p := range in.Placements {
		s.current[p.Unit] = append(s.current[p.Unit], p)
	}
	s.counts = newGroupCounts(s.ordered)
	s.classes = newClasses(s.conflicts)
	s.skews = newSkews(s.counts, append([]*machineState(nil), s.order...), s.valuesOf)
	s.stack = newStack(func(name string) (string, bool) {
		if m, ok := s.at[name]; ok {
			return m.ID, true
		}
		return "", false
	}, s.counts, s.skews, s.in.Drains)
	s.ranking = newRanking(s.counts, s.valuesOf, s.skews)
	s.markUnschedulable()
	s.byDepthThenName(s.ordered)
	s.followed = map[string]bool{}
	for _, u := range s.ordered {
		for _, p := range u.Req.MachineOf {
			s.followed[p] = true
		}
		if u.Req.HasSoftRules() {
			s.soft = append(s.soft, u)
		}
		if u.Req.Global {
			s.globals = append(s.globals, u)
		}
	}
	return s
}

// active says whether u should be placed at all.
func (s *scheduler) active(u *Unit) bool {
	return u.Desired != registry.StateInactive && u.Desired != "" && s.reasons[u.Name].IsZero()
}

// markUnschedulable records why templates, invalid units and units on a
// Replaces= cycle cannot be placed.
func (s *scheduler) markUnschedulable() {
	for _, u := range s.units {
		s.unschedulable(u)
	}
	for name, cycle := range replaceCycles(s.units) {
		s.reasons[name] = reason.Unplaced{Code: reason.ReplacesCycle, Args: cycle}
	}
}

// unschedulable records why u, a template or invalid, cannot be placed.
func (s *scheduler) unschedulable(u *Unit) {
	if u.Desired == registry.StateInactive {
		return
	}
	switch {
	case unit.IsTemplate(u.Name):
		s.reasons[u.Name] = reason.Unplaced{Code: reason.Template, Args: []string{instanceExample(u.Name)}}
	case u.Invalid != "":
		s.reasons[u.Name] = reason.Unplaced{Code: reason.Invalid, Args: []string{u.Invalid}}
	}
}

func instanceExample(template string) string {
	at := strings.LastIndex(template, "@.")
	if at < 0 {
		return template
	}
	return template[:at] + "@1" + template[at+1:]
}

// sorted returns the active units selected by keepIf, in s.ordered's order,
// among those the run decides afresh.
func (s *scheduler) sorted(keepIf func(*Unit) bool) []*Unit {
	var out []*Unit
	for _, u := range s.decided() {
		if s.active(u) && keepIf(u) {
			out = append(out, u)
		}
	}
	return out
}

// byDepthThenName sorts units so MachineOf= dependents follow the units
// they name, then by name.
func (s *scheduler) byDepthThenName(us []*Unit) {
	type keyed struct {
		depth int
		u     *Unit
	}
	ks := make([]keyed, len(us))
	for i, u := range us {
		ks[i] = keyed{u: u}
		if len(u.Req.MachineOf) > 0 {
			ks[i].depth = s.depthOf(u.Name, 0)
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int { // names are unique: no need for a stable sort
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		return strings.Compare(a.u.Name, b.u.Name)
	})
	for i, k := range ks {
		us[i] = k.u
	}
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

// keep leaves each placed non-global unit where it is when it may stay:
// on its machine while that is feasible, or on an absent machine while the
// hold lasts (see absent.go).
func (s *scheduler) keep() {
	for _, u := range s.sorted(func(u *Unit) bool { return !u.Req.Global }) {
		if s.keepMoving(u) {
			continue
		}
		placed := false
		var absent *machineState
		for _, p := range sortedByMachine(s.current[u.Name]) {
			m := s.machines[p.Machine]
			if m == nil {
				if absent == nil {
					absent = s.ghost(p.Machine)
				}
				continue
			}
			if !s.stack.keeps(u, m) {
				continue
			}
			s.place(u, m)
			placed = true
			break
		}
		switch {
		case placed:
		case absent != nil && s.holds(u, absent.ID):
			s.holdOn(u, absent)
		case s.waitsForStop(u):
		default:
			if absent != nil {
				if _, tracked := s.in.Absent[absent.ID]; tracked {
					s.stranded[u.Name] = absent
				}
			}
			s.pending = append(s.pending, u)
		}
	}
}

// placeGlobals puts each global unit on every machine feasible for it, and
// keeps it on absent machines for GhostGlobals.
func (s *scheduler) placeGlobals() {
	for _, u := range s.sorted(func(u *Unit) bool { return u.Req.Global }) {
		for _, p := range sortedByMachine(s.current[u.Name]) {
			if s.machines[p.Machine] == nil && s.holds(u, p.Machine) {
				s.holdOn(u, s.ghost(p.Machine))
			}
		}
		for _, m := range s.sortedMachines() {
			if !s.stack.feasible(u, m) && !s.keepsGlobal(u, m) {
				continue
			}
			m.add(u)
			s.counts.moved(u, m, +1)
			s.bump(m)
			s.global[u.Name] = append(s.global[u.Name], m)
		}
		if len(s.global[u.Name]) == 0 {
			s.passed = append(s.passed, u)
		}
	}
}

// placePending places what keep left, and whatever Replaces= evicts on the
// way. Every placement of a unit that replaces others evicts them once, and
// Replaces= cycles were excluded, so the queue drains; the bound is a guard.
func (s *scheduler) placePending() {
	// keep queued units in s.ordered's order; evicted ones join at the end.
	limit := 4*len(s.units) + 16
	for n := 0; len(s.pending) > 0 && n < limit; n++ {
		u := s.pending[0]
		s.pending = s.pending[1:]
		var m *machineState
		if !s.knownUnplaceable(u) {
			if m = s.choose(u); m == nil {
				s.noMachineFor(u)
			}
		}
		if m != nil {
			s.place(u, m)
		} else if g := s.stranded[u.Name]; g != nil {
			s.holdOn(u, g) // nowhere to go: it stays where it was, and says why
			s.passed = append(s.passed, u)
		} else {
			s.passed = append(s.passed, u)
		}
	}
}

// choose returns the least-loaded feasible machine, or nil; for a unit with
// soft rules, the feasible machine they rank best (rank.go).
func (s *scheduler) choose(u *Unit) *machineState {
	s.noteScores(u)
	if u.Req.HasSoftRules() {
		if ms, ok := s.candidates(u); ok {
			return s.rank(u, ms, false)
		}
		return s.rank(u, s.order, true)
	}
	if ms, ok := s.candidates(u); ok {
		var best *machineState
		for _, m := range ms {
			if (best == nil || less(m, best)) && s.stack.feasible(u, m) {
				best = m
			}
		}
		return best
	}
	for _, m := range s.order {
		if s.stack.feasible(u, m) {
			return m
		}
	}
	return nil
}

// explainUnplaced records why each unit passed over is still unplaced.
//
// A unit that stays on a gone machine for want of another is explained
// too, so that an operator sees why it runs nowhere.
func (s *scheduler) explainUnplaced() {
	for _, u := range s.passed {
		if m := s.at[u.Name]; m != nil && m.gone && s.reasons[u.Name].IsZero() {
			s.reasons[u.Name] = reason.Unplaced{Code: reason.OnGoneMachine, Args: []string{m.ID}, Filters: s.explainClass(u)}
			continue
		}
		if s.at[u.Name] != nil || len(s.global[u.Name]) > 0 || !s.reasons[u.Name].IsZero() {
			continue // placed, or explained already
		}
		if fs := s.explainClass(u); len(fs) > 0 {
			s.reasons[u.Name] = reason.Unplaced{Code: reason.NoEligible, Filters: fs}
		} else {
			s.reasons[u.Name] = reason.Unplaced{Code: reason.NoMachines}
		}
	}
}

// explain counts why each machine was refused; only worth its cost once
// the search failed.
//
// A unit bound by MachineMetadata= is refused by it, first in the stack
// after MachineID=, on every machine its label index leaves out: those are
// counted, not asked (a machine lost at 150,000 units left 1,500 units
// bound to racks it held, each explained over every machine).
func (s *scheduler) explain(u *Unit) []reason.Filter {
	ms := s.order
	var outside int
	if u.Req.MachineID == "" && len(u.Req.MachineMetadata) > 0 {
		ms = s.byMetadata(u)
		outside = len(s.order) - len(ms)
	}
	refusals := make([]reason.Refusal, 0, len(ms)+1)
	for _, m := range ms {
		refusals = append(refusals, s.stack.reject(u, m))
	}
	if outside > 0 {
		r := (metadataChecker{}).check(u, &machineState{}) // a machine with no labels: refused, as those left out are
		refusals = append(refusals, repeat(r, outside)...)
	}
	return reason.Count(refusals)
}

func repeat(r reason.Refusal, n int) []reason.Refusal {
	out := make([]reason.Refusal, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// place records u on m and evicts the units u replaces there.
func (s *scheduler) place(u *Unit, m *machineState) {
	m.add(u)
	s.counts.moved(u, m, +1)
	s.at[u.Name] = m
	delete(s.reasons, u.Name)
	s.bump(m)
	if len(u.Req.Replaces) == 0 {
		return
	}
	for _, v := range append([]*Unit(nil), m.units...) {
		if evicts(u, v) {
			m.remove(v.Name)
			s.counts.moved(v, m, -1)
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

// bump moves m to its place in the load order after its load grew by one.
func (s *scheduler) bump(m *machineState) { s.reposition(m, m.load()-1) }

// drop moves m to its place in the load order after its load shrank by one.
func (s *scheduler) drop(m *machineState) { s.reposition(m, m.load()+1) }

// reposition finds m by the key it had (oldLoad, ID), takes it out and puts
// it back where its new load belongs: two binary searches and two moves of
// a slice of pointers, where swapping it past every machine of equal load
// cost a thousand steps on a large cluster.
func (s *scheduler) reposition(m *machineState, oldLoad int) {
	i := sort.Search(len(s.order), func(k int) bool {
		o := s.order[k]
		if o.load() != oldLoad {
			return o.load() > oldLoad
		}
		return o.ID >= m.ID
	})
	if i == len(s.order) || s.order[i] != m {
		i = slices.Index(s.order, m) // m's key moved already: find it the slow way
	}
	s.order = slices.Delete(s.order, i, i+1)
	j := sort.Search(len(s.order), func(k int) bool { return !less(s.order[k], m) })
	s.order = slices.Insert(s.order, j, m)
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
	if len(ps) < 2 {
		return ps
	}
	out := append([]registry.Placement(nil), ps...)
	sort.Slice(out, func(i, j int) bool { return out[i].Machine < out[j].Machine })
	return out
}
