package engine

import "slices"

// improve raises the soft score of what this run placed, after placePending:
// each pending unit took, in name order, the machine its soft rules ranked
// best as the units before it left the cluster, so one placed early can sit
// where a later one has to share: A may use m1 or m2, B only m1, and they
// SoftConflicts= each other; A takes m1, B joins it, and A on m2 would have
// honoured both. Greedy placement cannot see that; a second look can.
//
// Only units this run placed move (a new Placement either way, so a move
// costs nothing a placement did not): nothing placed before moves here
// because a soft score would be better, which is what makes a run's
// outcome stable; moving placed units is rebalancing's (rebalance.go),
// within its rate and threshold.
// Nor does a Global, a unit that follows others with MachineOf= or that
// others follow (they move together or not at all), or one with Replaces=
// (where it goes decides what it evicts).
//
// A move keeps every strict rule: the unit is taken off its machine and the
// stack asked whether the other one is feasible, so the counts (s.counts),
// where units are (s.at) and the load order (s.order) are kept as placing
// keeps them. Moves are taken only when they raise the sum, over the units
// involved, of each unit's soft score on its machine as the ranking scores
// it (rank.go): each rule's score is what the unit adds to a total over
// the cluster (pairs that soft-conflict, a group's units per value of a
// spread key, preferences met), so every move taken raises that total and
// the passes cannot go round in circles; the pass bound is a guard.
//
// Three kinds of move, cheapest first, for each unit whose score is below
// the best any machine could give it (bestPossible; a unit at it, or one
// without soft rules, costs a few lookups):
//   - the unit itself to the machine its rules rank best, when that scores
//     better than its own;
//   - a unit on its machine that it soft-conflicts with (whose own rules
//     may be none) to the machine that one's rules rank best;
//   - out of the way: on a machine that would score better for the unit
//     but does not take it, one unit this run placed moves to the machine
//     its rules rank best (the unit's old one among them: a swap), and the
//     unit takes its place.
//
// When something moved, the units no machine accepted are tried again:
// a move may have made room, and the next run would place them otherwise,
// so one run would not settle the cluster.
func (s *scheduler) improve() bool {
	var soft []*Unit
	for _, u := range s.decided() {
		if u.Req.HasSoftRules() && s.placedNow(u) {
			soft = append(soft, u)
		}
	}
	if len(soft) == 0 {
		return false
	}
	movable := s.movable()
	tries := wayTries
	moved := false
	for pass := 0; pass < improvePasses; pass++ {
		changed := false
		for _, u := range soft {
			if !movable[u.Name] || s.atBest(u) {
				continue
			}
			if s.moveBetter(u) || s.moveAside(u, movable) || s.makeWay(u, movable, &tries) {
				changed = true
			}
		}
		if !changed {
			break
		}
		moved = true
	}
	if moved {
		s.retryPassed()
	}
	return moved
}

// improvePasses bounds the passes over the units below their best: every
// move raises the total score, so the passes end anyway; on small clusters
// one or two do, and the bound keeps a large one's cost a few placements'.
const improvePasses = 4

// wayMachines bounds the machines makeWay looks at for one unit, the
// least loaded of those that would score better for it.
const wayMachines = 8

// wayTries bounds, per run, the units makeWay tries to move out of the
// way, each costing a search of the machines: enough for every unit of a
// small cluster, a bounded cost on a large one where many units cannot
// have their best.
const wayTries = 256

// eps absorbs the rounding of SpreadTarget= shares: a move must gain more.
const eps = 1e-9

// placedNow says whether u was placed by this run on a registered machine:
// its machine holds no Placement of it now.
func (s *scheduler) placedNow(u *Unit) bool {
	m := s.at[u.Name]
	return m != nil && !m.gone && !u.Req.Global && !containsMachine(s.current[u.Name], m.ID)
}

// movable lists the units improve may move: placed by this run, neither
// following nor followed by MachineOf=, and without Replaces=.
func (s *scheduler) movable() map[string]bool {
	out := map[string]bool{}
	for _, u := range s.decided() {
		if s.placedNow(u) && len(u.Req.MachineOf) == 0 && !s.followed[u.Name] && len(u.Req.Replaces) == 0 {
			out[u.Name] = true
		}
	}
	return out
}

// softScore is u's total by the ranking on m, u itself off m: for a unit
// without soft rules, minus the units there whose SoftConflicts= match it.
func (s *scheduler) softScore(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, sc := range s.ranking {
		total += sc.score(u, m)
	}
	return total
}

// atBest says whether u scores on its machine the best any machine could
// give it. Only the counts need u off its machine for that: the scorers
// skip u itself among the units there.
func (s *scheduler) atBest(u *Unit) bool {
	m := s.at[u.Name]
	s.counts.moved(u, m, -1)
	at := s.softScore(u, m) >= s.bestPossible(u)-eps
	s.counts.moved(u, m, +1)
	return at
}

// best is the feasible machine u's rules rank best, u off its machine, as
// choose finds it.
func (s *scheduler) best(u *Unit) *machineState {
	if ms, ok := s.candidates(u); ok {
		return s.rank(u, ms, false)
	}
	return s.rank(u, s.order, true)
}

// moveBetter moves u to the machine its rules rank best when that scores
// better for it than its own.
func (s *scheduler) moveBetter(u *Unit) bool {
	m, i := s.lift(u)
	here := s.softScore(u, m)
	if to := s.best(u); to != nil && to != m && s.softScore(u, to) > here+eps {
		s.put(u, to)
		return true
	}
	s.restore(u, m, i)
	return false
}

// moveAside moves one unit that u soft-conflicts with off u's machine, to
// the machine its own rules rank best, when that scores better for it: its
// own score counts the conflict with u, as u's does.
func (s *scheduler) moveAside(u *Unit, movable map[string]bool) bool {
	m := s.at[u.Name]
	for _, v := range slices.Clone(m.units) {
		if v == u || !movable[v.Name] || (matching(u.Req.SoftConflicts, v.Name) == "" && matching(v.Req.SoftConflicts, u.Name) == "") {
			continue
		}
		if s.moveBetter(v) {
			return true
		}
	}
	return false
}

// makeWay moves u to a machine that would score better for it but does
// not take it, by moving one unit this run placed there to the machine
// that unit's rules rank best, when the two moves together gain.
func (s *scheduler) makeWay(u *Unit, movable map[string]bool, tries *int) bool {
	m, i := s.lift(u)
	here := s.softScore(u, m)
	// the machines that score better for u as they stand, then those that
	// score as well (the unit that moves away may be what keeps u's score
	// there down), the least loaded first
	var better, level []*machineState
	for _, x := range s.order {
		if len(better) == wayMachines {
			break
		}
		switch sc := s.softScore(u, x); {
		case x == m:
		case sc > here+eps:
			better = append(better, x)
		case sc > here-eps && len(level) < wayMachines:
			level = append(level, x)
		}
	}
	for _, x := range append(better, level...)[:min(len(better)+len(level), wayMachines)] {
		for _, w := range slices.Clone(x.units) {
			if !movable[w.Name] || *tries <= 0 {
				continue
			}
			*tries--
			_, j := s.lift(w)
			was := s.softScore(w, x)
			if s.stack.feasible(u, x) {
				gain := s.softScore(u, x) - here
				s.put(u, x)
				if to := s.best(w); to != nil && to != x && gain+s.softScore(w, to)-was > eps {
					s.put(w, to)
					return true
				}
				s.lift(u)
			}
			s.restore(w, x, j)
		}
	}
	s.restore(u, m, i)
	return false
}

// retryPassed places again, as placePending does, the units no machine
// accepted (globals aside: moves only touch machines a global was already
// decided on), and those held on a gone machine for want of another.
func (s *scheduler) retryPassed() {
	s.rejoin()
	passed := s.passed
	s.passed = nil
	for _, u := range passed {
		switch m := s.at[u.Name]; {
		case u.Req.Global:
			s.passed = append(s.passed, u)
		case m != nil && m.gone:
			m.remove(u.Name) // placePending holds it there again if nothing takes it
			delete(s.at, u.Name)
			s.pending = append(s.pending, u)
		case m == nil:
			s.pending = append(s.pending, u)
		default:
			s.passed = append(s.passed, u)
		}
	}
	s.placePending()
}

// lift takes u off its machine, returning the machine and where u stood
// among its units, for restore.
func (s *scheduler) lift(u *Unit) (*machineState, int) {
	m := s.at[u.Name]
	i := slices.Index(m.units, u)
	m.remove(u.Name)
	s.counts.moved(u, m, -1)
	delete(s.at, u.Name)
	s.drop(m)
	return m, i
}

// put places u on m, which it was lifted to (no Replaces=: nothing to evict).
func (s *scheduler) put(u *Unit, m *machineState) {
	m.add(u)
	s.counts.moved(u, m, +1)
	s.at[u.Name] = m
	s.bump(m)
}

// restore puts u back on m where it stood, so that a move tried and given
// up leaves the run as it was, down to the order of m's units.
func (s *scheduler) restore(u *Unit, m *machineState, i int) {
	s.put(u, m)
	m.units = slices.Insert(m.units[:len(m.units)-1], i, u)
}
