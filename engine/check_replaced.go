package engine

import "github.com/flota-dev/flota/reason"

// replacedChecker keeps a unit off a machine where a unit that evicts it
// runs: that unit took its place.
type replacedChecker struct{}

func (c replacedChecker) feasible(u *Unit, m *machineState) bool { return c.check(u, m).Accepted() }

// check names the first replacer by name, not by where it sits in the
// machine's list: that order depends on when each unit was placed, and a
// reason that changed with it would be rewritten by every pass.
func (replacedChecker) check(u *Unit, m *machineState) reason.Refusal {
	if m.replacers == 0 {
		return reason.Refusal{} // no unit here replaces anything
	}
	by := ""
	for _, v := range m.units {
		if evicts(v, u) && (by == "" || v.Name < by) {
			by = v.Name
		}
	}
	if by == "" {
		return reason.Refusal{}
	}
	return reason.Refuse(reason.ReplacedBy, by)
}
