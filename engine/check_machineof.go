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
