package engine

import (
	"slices"
	"strconv"
	"time"

	"github.com/flota-dev/flota/reason"
)

// Rebalancing for load (Rebalance.LoadGap): the Kubernetes descheduler's
// LowNodeUtilization, built into the run. A machine's load is its unit
// count, as placement reads it (least loaded first). When the busiest
// machine holds at least LoadGap units more than the least loaded one, a
// unit of the busiest moves to the machine its rules rank best, if that
// one holds at least LoadGap units fewer than the unit's own (counting the
// unit on its own machine, not on the target) and serves the unit's soft
// rules no worse. The same guards as for soft rules stand (rebalance.go):
// the rate shared with them, strict rules, Rebalance=false and the other
// units never moved, once a minute per unit, never back to the machine
// its last move left, make-before-break where the unit may run twice.
//
// Why it converges: a move from a machine holding n units to one holding
// m (n - m ≥ LoadGap ≥ 2) changes Σ load² by 2(m - n + 1) < 0 and the
// soft potential by nothing or less, so the pair (soft potential, Σ
// load²) falls in lexicographic order with every move of either kind; a
// soft move may raise the load term, but only while lowering the first.
// A cluster with no change settles, and a settled one plans nothing.
//
// The units this run placed are evened out the same way before they count
// as placed (evenLoad).
//
// Off by default: fleet never moved a running unit for load, and a machine
// that joins taking units from the others restarts those that cannot run
// twice. Operators turn it on with flotad --rebalance-load-gap.

// evenLoad is the stage for the units this run placed, before improve's
// second look: they go where the gap says at once, without a move record
// or a share of the rate. Greedy placement in name order can leave a gap a
// later unit's constraints made (the machines it could use were the least
// loaded), and without this stage the next run would move what this one
// just placed; the units it passed over are tried again after it, as
// after improve.
func (s *scheduler) evenLoad() bool {
	gap := s.in.Rebalance.LoadGap
	if !s.loadRebalancing() {
		return false
	}
	movable := s.movable()
	if len(movable) == 0 {
		return false
	}
	moved := false
	s.evenOut(gap, func(u *Unit, src *machineState) (bool, bool) {
		if !movable[u.Name] || s.draining(src.ID) {
			return false, false
		}
		to, ok := s.loadTarget(u, gap)
		if !ok {
			return false, false
		}
		s.lift(u)
		s.put(u, to)
		moved = true
		return true, false
	})
	if moved {
		s.retryPassed()
	}
	return moved
}

// loadRebalancing says whether units move for load.
func (s *scheduler) loadRebalancing() bool {
	return s.in.Rebalance.LoadGap >= 2 && s.in.Rebalance.PerMinute > 0
}

// settleNew gives the units this run placed their second look: improve's
// for their soft rules, and with load rebalancing on, evenLoad's for load,
// in turn until neither moves anything (each keeps what the other won: an
// improve move raises a soft score, an evenLoad move lowers Σ load² and
// costs no soft score), so the next run moves none of them.
func (s *scheduler) settleNew() {
	if !s.loadRebalancing() {
		s.improve()
		return
	}
	for range settleRounds {
		even := s.evenLoad()
		if better := s.improve(); !even && !better {
			return
		}
	}
}

// settleRounds bounds settleNew's rounds; one or two do in practice.
const settleRounds = 6

// rebalanceLoad begins the load moves quota allows, busiest machines
// first, for units placed before this run; oldest is the oldest move of
// the minute, for the wake when the quota is spent. It returns what is
// left of both and whether it began a move.
func (s *scheduler) rebalanceLoad(quota int, oldest time.Time, followed map[string]bool) (int, time.Time, bool) {
	gap := s.in.Rebalance.LoadGap
	if gap < 2 {
		return quota, oldest, false
	}
	began := false
	s.evenOut(gap, func(u *Unit, src *machineState) (bool, bool) {
		if !s.mayMove(u, followed) {
			return false, false
		}
		to, ok := s.loadTarget(u, gap)
		if !ok {
			return false, false
		}
		if mv, ok := s.in.Moves[u.Name]; ok && mv.Since.After(s.in.Now.Add(-rebalanceWindow)) {
			s.wakeAt(mv.Since.Add(rebalanceWindow))
			return false, false
		}
		if quota <= 0 {
			s.wakeAt(oldest.Add(rebalanceWindow))
			return false, true
		}
		why := reason.Moved{Code: reason.RebalanceLoad, Args: []string{
			strconv.Itoa(src.load()), strconv.Itoa(to.load()), strconv.Itoa(src.load() - 1), strconv.Itoa(to.load() + 1)}}
		s.lift(u)
		s.beginMove(u, src, to, why)
		quota--
		began = true
		if oldest.IsZero() {
			oldest = s.in.Now // the minute's first move is this run's
		}
		return true, false
	})
	return quota, oldest, began
}

// evenOut offers try the units of the busiest machines, one at a time,
// while a machine holds gap units more than the least loaded: try says
// whether it moved the unit (the loads changed: evenOut starts over from
// the busiest) and whether to stop. It ends when no unit of a machine
// holding the gap moved.
func (s *scheduler) evenOut(gap int, try func(u *Unit, src *machineState) (moved, stop bool)) {
	for {
		low := s.leastLoaded()
		if low == nil {
			return
		}
		moved := false
		// s.order is by load: from its end, the busiest machines, while
		// they hold the gap over the least loaded.
		for i := len(s.order) - 1; i >= 0 && !moved; i-- {
			src := s.order[i]
			if src.load()-low.load() < gap {
				return
			}
			if src.gone || s.draining(src.ID) {
				continue
			}
			for _, u := range s.byName(src) {
				var stop bool
				if moved, stop = try(u, src); stop {
					return
				}
				if moved {
					break
				}
			}
		}
		if !moved {
			return
		}
	}
}

// leastLoaded is the machine with the fewest units that could take one:
// registered and not draining.
func (s *scheduler) leastLoaded() *machineState {
	for _, m := range s.order {
		if !m.gone && !s.draining(m.ID) {
			return m
		}
	}
	return nil
}

// byName is m's units in name order, so which unit moves does not depend
// on the order they were placed in.
func (s *scheduler) byName(m *machineState) []*Unit {
	us := slices.Clone(m.units)
	slices.SortFunc(us, func(a, b *Unit) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return us
}

// loadTarget is where u would go for load: the machine its rules rank
// best, u off its own, when that one holds at least gap units fewer than
// u's machine with u and scores u's soft rules no worse. It leaves the run
// as it was.
func (s *scheduler) loadTarget(u *Unit, gap int) (*machineState, bool) {
	m, i := s.lift(u)
	defer s.restore(u, m, i)
	to := s.best(u)
	if to == nil || to == m || m.load()+1-to.load() < gap || s.softScore(u, to) < s.softScore(u, m)-eps {
		return nil, false
	}
	if mv, ok := s.in.Moves[u.Name]; ok && mv.From == to.ID {
		return nil, false // never back to the machine it left
	}
	return to, true
}
