package engine

import (
	"strconv"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Rebalancing (Input.Rebalance): a unit placed before this run moves to a
// machine that serves its soft rules (SoftConflicts=, SpreadBy= with
// SpreadTarget=, PreferMachineMetadata=, MaxSkew=…:anyway) clearly better,
// as when a machine joins, is undrained or is relabelled. Every run looks;
// what keeps that safe:
//
//   - the rate: at most PerMinute moves begin in any minute, cluster-wide,
//     counted from the move records (Input.Moves, registry.Move) whose
//     Since is within the minute before Now. A unit moves at most once a
//     minute, so each of those records is a move of its own, and an Engine
//     that takes over counts what its predecessor did;
//   - hysteresis: the unit's own soft score, taken off its machine, must
//     gain at least Threshold (> 0) on the machine its rules rank best, so
//     an even split never flips (2–1 to 1–2 gains nothing);
//   - strict rules: the target is one the feasibility stack accepts, as
//     for any placement (a draining machine never is);
//   - the move is a drain's (drain.go), with a source that is not
//     draining: make-before-break for a unit that may run twice (it does
//     not stop on disconnect), break-before-make for the others, read back
//     from etcd by the move record written with the new placement.
//
// Never moved: a unit with Rebalance=false, a Global, one that follows
// others or that others follow with MachineOf= (they move together or not
// at all), one with Replaces= (where it goes decides what it evicts), one
// on a draining machine (the drain moves it), one placed by this run
// (improve.go had its look), one already moving, and one whose last move
// began less than a minute ago. A unit without soft rules moves only for
// load (rebalance_load.go), when that is on.
//
// Why it converges, and nothing goes A→B→A. Each soft rule's score is the
// part one unit contributes to a total over the cluster, and a move
// changes that total by exactly the unit's gain:
//
//   - SoftConflicts=: minus the pairs of units on one machine that
//     soft-conflict (the rule is symmetric: a pair is counted once);
//   - SpreadBy=: minus, per group and key, the weight times Σ over values
//     of n(n-1)/2, n the group's units there (with SpreadTarget=, Σ of
//     k/(share × values) for k up to n): moving a unit from a value holding
//     n to one holding m changes it by weight × (n-1-m), its gain;
//   - PreferMachineMetadata=: the weights of the preferences met;
//   - MaxSkew=…:anyway: minus 10⁶ per unit of the group above the skew.
//
// So every move lowers the potential (the negated total) by at least
// Threshold, the potential is bounded below (finitely many placements),
// and the moves end: a cluster that stops changing settles, and a settled
// cluster plans nothing. This holds where a group's members declare the
// same rules, as instances of one template do; for a mix, two guards stand
// anyway: a unit never moves back to the machine its last move left, and
// moves once a minute at most.
//
// Each move's reason is data (reason.Moved): the rule that gained most,
// with the counts or scores before and after.

// Rebalance tunes rebalancing; the zero value moves nothing.
type Rebalance struct {
	// PerMinute bounds the moves begun in any minute, cluster-wide; 0
	// disables rebalancing (flotad --rebalance-per-minute).
	PerMinute int
	// Threshold is what a move must gain, at least, in the unit's soft
	// score (flotad --rebalance-threshold); a value below the smallest
	// gain counted means any gain.
	Threshold float64
	// LoadGap, when 2 or more, also moves units off a machine that holds
	// at least this many units more than the machine a unit would go to
	// (flotad --rebalance-load-gap, rebalance_load.go); 0 never moves a
	// unit for load alone.
	LoadGap int
}

// The defaults of flotad's flags: a few moves a minute, a whole point of
// score (a soft conflict less, a spread evened by one, a preference of
// weight 1 met).
const (
	DefaultRebalancePerMinute = 6
	DefaultRebalanceThreshold = 1.0
)

// rebalanceWindow is the span the rate counts moves over, and how long a
// moved unit stays put.
const rebalanceWindow = time.Minute

// rebalance moves what it may, within the rate, in s.ordered's order.
func (s *scheduler) rebalance() {
	if s.in.Rebalance.PerMinute <= 0 {
		return
	}
	recent, oldest := s.recentMoves()
	quota := s.in.Rebalance.PerMinute - recent
	followed := s.followed
	// Sweeps until one moves nothing: a move can make another unit's worth
	// making, which the next pass would otherwise begin (one-pass
	// convergence).
	// A load move can make a soft one worth making, too.
	for {
		for progress := true; progress && quota > 0; {
			quota, oldest, progress = s.rebalanceSweep(quota, oldest, followed)
		}
		if quota <= 0 {
			s.rebalanceSweep(quota, oldest, followed) // only the wake, for the moves it cannot begin
		}
		var loaded bool
		if quota, oldest, loaded = s.rebalanceLoad(quota, oldest, followed); !loaded || quota <= 0 {
			return
		}
	}
}

// rebalanceSweep looks at every unit with soft rules once, in s.ordered's
// order, and begins the moves quota allows; it says whether it began any.
func (s *scheduler) rebalanceSweep(quota int, oldest time.Time, followed map[string]bool) (int, time.Time, bool) {
	began := false
	for _, u := range s.soft {
		if !s.rebalanceable(u, followed) {
			continue
		}
		if mv, ok := s.in.Moves[u.Name]; ok && mv.Since.After(s.in.Now.Add(-rebalanceWindow)) {
			// It moved less than a minute ago: it may move again once the
			// minute is over, and a run then must look.
			if _, ok := s.rebalanceMove(u, false); ok {
				s.wakeAt(mv.Since.Add(rebalanceWindow))
			}
			continue
		}
		if quota <= 0 {
			// Out of moves: one that would go now wakes the run when the
			// oldest of the minute's moves leaves the window.
			if _, ok := s.rebalanceMove(u, false); ok {
				s.wakeAt(oldest.Add(rebalanceWindow))
				break
			}
			continue
		}
		if _, ok := s.rebalanceMove(u, true); ok {
			quota--
			began = true
			if oldest.IsZero() {
				oldest = s.in.Now // the minute's first move is this run's
			}
		}
	}
	return quota, oldest, began
}

// recentMoves counts the moves begun in the minute before Now (or after
// it, by a clock ahead of this one's) and finds the oldest of them.
func (s *scheduler) recentMoves() (n int, oldest time.Time) {
	from := s.in.Now.Add(-rebalanceWindow)
	for _, mv := range s.in.Moves {
		if mv.Since.After(from) {
			n++
			if oldest.IsZero() || mv.Since.Before(oldest) {
				oldest = mv.Since
			}
		}
	}
	return n, oldest
}

// rebalanceable says whether u may move for its soft rules in this run.
func (s *scheduler) rebalanceable(u *Unit, followed map[string]bool) bool {
	return u.Req.HasSoftRules() && s.mayMove(u, followed)
}

// mayMove says whether u may move in this run for rebalancing, whatever
// the rule: not pinned, not moving or just placed.
func (s *scheduler) mayMove(u *Unit, followed map[string]bool) bool {
	if !s.unpinned(u, followed) {
		return false
	}
	// Not placed by this run (improve.go had its look), and not moving:
	// unpinned says it leaves no copy behind. A move this run completes
	// (its old copy stopped) leaves it free, and the next check, "moved
	// less than a minute ago", asks for the run that may move it again,
	// as the next pass would.
	return containsMachine(s.current[u.Name], s.at[u.Name].ID)
}

// unpinned says whether u, placed in this run or before, is free to go
// elsewhere for rebalancing: not pinned by its unit file nor by others'
// MachineOf=, not on a draining machine nor leaving one.
func (s *scheduler) unpinned(u *Unit, followed map[string]bool) bool {
	r := u.Req
	if r.NoRebalance || r.Global || len(r.MachineOf) > 0 || followed[u.Name] || len(r.Replaces) > 0 {
		return false
	}
	m := s.at[u.Name]
	return m != nil && !m.gone && !s.draining(m.ID) && s.leaving[u.Name] == nil
}

// rebalanceMove finds where u would gain at least the threshold and, when
// commit is set, begins the move there; else it leaves the run as it was.
func (s *scheduler) rebalanceMove(u *Unit, commit bool) (*machineState, bool) {
	m := s.at[u.Name]
	need := max(s.in.Rebalance.Threshold, eps) - eps
	if gap := s.rebalanceGap(u, m); gap < need || gap <= eps {
		return nil, false
	}
	_, i := s.lift(u)
	here := s.softScore(u, m)
	to := s.best(u)
	if to == nil || to == m || s.softScore(u, to)-here < need || s.softScore(u, to)-here <= eps {
		s.restore(u, m, i)
		return nil, false
	}
	if mv, ok := s.in.Moves[u.Name]; ok && mv.From == to.ID {
		s.restore(u, m, i) // never back to the machine it left
		return nil, false
	}
	why := s.whyMove(u, m, to)
	if !commit {
		s.restore(u, m, i)
		return to, true
	}
	s.beginMove(u, m, to, why)
	return to, true
}

// beginMove records u's move from m to to, u lifted off m, and starts it:
// make-before-break for a unit that may run twice, break-before-make for
// the others.
func (s *scheduler) beginMove(u *Unit, m, to *machineState, why reason.Moved) {
	s.moved[u.Name] = registry.Move{Unit: u.Name, From: m.ID, To: to.ID, Since: s.in.Now, Reason: why}
	if !u.Req.StopsOnDisconnect(s.in.Disconnect) {
		s.put(u, to) // make-before-break: the copy on m stays until this one is up
		s.leaving[u.Name] = m
		return
	}
	// break-before-make: off m now, placed again once its copy there stopped
	s.reasons[u.Name] = reason.Unplaced{Code: reason.StoppingElsewhere, Args: []string{m.ID}}
	s.inflight[m.ID]++
}

// rebalanceGap bounds what u could gain by a move: the best score any
// machine could give it (bestPossible) less its score on m, both with u
// off m. Most placed units are at their best, so this runs for every one
// of them each pass: it reads the counts as they stand and takes u off its
// own value by arithmetic, where lifting it would update every count it is
// in twice. A MaxSkew=…:anyway needs the emptiest values as they would be
// without u: that case lifts u from the counts.
func (s *scheduler) rebalanceGap(u *Unit, m *machineState) float64 {
	if (skewScorer{}).applies(u) {
		s.counts.moved(u, m, -1)
		gap := s.bestPossible(u) - s.softScore(u, m)
		s.counts.moved(u, m, +1)
		return gap
	}
	gap := float64(softConflicting(u, m))
	for _, p := range u.Req.Prefer {
		if met := p.Expr.Matches(m.Metadata); p.Weight > 0 && !met {
			gap += float64(p.Weight)
		} else if p.Weight < 0 && met {
			gap -= float64(p.Weight)
		}
	}
	g := s.counts.groupOf(u)
	for _, sp := range u.Req.SpreadBy {
		vs := s.valuesOf(sp.Key)
		n := s.counts.n[groupKey{g, sp.Key}]
		own, onKey := m.Metadata[sp.Key]
		off := func(v string) int { // the group on v, u not counted
			if onKey && v == own {
				return n[v] - 1
			}
			return n[v]
		}
		least, any := 0.0, false
		for _, v := range vs {
			if c := spreadCost(u, sp.Key, v, off(v), vs); !any || c < least {
				least, any = c, true
			}
		}
		here := offTopology
		if onKey {
			here = spreadCost(u, sp.Key, own, off(own), vs)
		}
		gap += float64(sp.Weight) * (here - least)
	}
	return gap
}

// whyMove is the reason of u's move from m to to, u off both: the rule
// kind that gains the most, with its figures before and after.
func (s *scheduler) whyMove(u *Unit, m, to *machineState) reason.Moved {
	var best reason.Moved
	bestGain := 0.0
	consider := func(gain float64, why reason.Moved) {
		if gain > bestGain+eps || best.IsZero() {
			best, bestGain = why, gain
		}
	}
	itoa := strconv.Itoa
	if before, after := softConflicting(u, m), softConflicting(u, to); before != after || len(u.Req.SoftConflicts) > 0 {
		consider(float64(before-after), reason.Moved{Code: reason.RebalanceSoftConflicts, Args: []string{itoa(before), itoa(after)}})
	}
	g := s.counts.groupOf(u)
	for _, sp := range u.Req.SpreadBy {
		vm, okm := m.Metadata[sp.Key]
		vt, okt := to.Metadata[sp.Key]
		if !okm || !okt || vm == vt {
			continue
		}
		vs := s.valuesOf(sp.Key)
		nm, nt := s.counts.get(g, sp.Key, vm), s.counts.get(g, sp.Key, vt)
		gain := float64(sp.Weight) * (spreadCost(u, sp.Key, vm, nm, vs) - spreadCost(u, sp.Key, vt, nt, vs))
		consider(gain, reason.Moved{Code: reason.RebalanceSpread, Args: []string{sp.Key, vm, vt, itoa(nm + 1), itoa(nt), itoa(nm), itoa(nt + 1)}})
	}
	if len(u.Req.Prefer) > 0 {
		before, after := (preferScorer{}).score(u, m), (preferScorer{}).score(u, to)
		consider(after-before, reason.Moved{Code: reason.RebalancePrefer, Args: []string{fmtNum(before), fmtNum(after)}})
	}
	for _, sk := range u.Req.MaxSkew {
		if !sk.Anyway {
			continue
		}
		excess := func(x *machineState) int {
			n, ok := s.skews.of(u, sk, x)
			if !ok {
				n = sk.Max + 1
			}
			return max(n-sk.Max, 0)
		}
		before, after := excess(m), excess(to)
		consider(skewPenalty*float64(before-after), reason.Moved{Code: reason.RebalanceSkew, Args: []string{sk.String(), itoa(before), itoa(after)}})
	}
	return best
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// wakeAt asks for a run at t at the latest.
func (s *scheduler) wakeAt(t time.Time) {
	if s.wake.IsZero() || t.Before(s.wake) {
		s.wake = t
	}
}

// moveSource is the machine u's move record says it leaves, when u is
// placed both there and where the record says it goes: a move in flight.
func (s *scheduler) moveSource(u *Unit) string {
	mv, ok := s.in.Moves[u.Name]
	if !ok || !containsMachine(s.current[u.Name], mv.From) || !containsMachine(s.current[u.Name], mv.To) {
		return ""
	}
	return mv.From
}
