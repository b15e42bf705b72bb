package engine

import "github.com/flota-dev/flota/reason"

// machineOfChecker enforces MachineOf=: the unit goes where every named unit
// is placed in this run, and nowhere if one of them is not placed.
type machineOfChecker struct {
	where func(unit string) (machine string, ok bool)
}

func (c machineOfChecker) feasible(u *Unit, m *machineState) bool { return c.check(u, m).Accepted() }

func (c machineOfChecker) check(u *Unit, m *machineState) reason.Refusal {
	for _, peer := range u.Req.MachineOf {
		at, ok := c.where(peer)
		if !ok {
			return reason.Refuse(reason.MachineOfUnplaced, peer)
		}
		if at != m.ID {
			return reason.Refuse(reason.MachineOf, peer)
		}
	}
	return reason.Refusal{}
}

// refollow takes off its machine, to be placed again, each unit whose
// MachineOf= leader a drain or rebalancing move of this run took away:
// kept before the moves, it would be left behind, and the next run would
// take it off. s.ordered has followers after what they follow, so a chain
// follows in one sweep.
func (s *scheduler) refollow() {
	for _, u := range s.ordered {
		if len(u.Req.MachineOf) == 0 || u.Req.Global {
			continue
		}
		m := s.at[u.Name]
		if m == nil || m.gone || s.leaving[u.Name] != nil || s.stack.keeps(u, m) {
			continue
		}
		s.unplace(u, m)
		delete(s.stuck, u.Name) // it leaves its draining machine after all
		s.pending = append(s.pending, u)
	}
}
