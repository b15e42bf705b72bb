package engine

import "github.com/flota-dev/flota/reason"

// machineIDChecker enforces MachineID=: only the named machine, by full ID
// or fleet's 8-character short ID.
type machineIDChecker struct{}

func (machineIDChecker) feasible(u *Unit, m *machineState) bool {
	want := u.Req.MachineID
	return want == "" || want == m.ID || (len(want) == 8 && want == shortID(m.ID))
}

func (c machineIDChecker) check(u *Unit, m *machineState) reason.Refusal {
	if c.feasible(u, m) {
		return reason.Refusal{}
	}
	return reason.Refuse(reason.MachineID, u.Req.MachineID)
}
