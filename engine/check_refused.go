package engine

import "github.com/flota-dev/flota/reason"

// refusedChecker keeps a unit off the machines whose Agent refuses it
// (registry.Machine.Refused): the machine has a unit of its own by that
// name, which flota must neither replace nor, destroyed, stop. A unit
// placed there before its Agent said so moves too.
type refusedChecker struct{}

func (refusedChecker) feasible(u *Unit, m *machineState) bool {
	_, refused := m.Refused[u.Name]
	return !refused
}

func (c refusedChecker) check(u *Unit, m *machineState) reason.Refusal {
	if c.feasible(u, m) {
		return reason.Refusal{}
	}
	return reason.Refuse(reason.NameTaken)
}
