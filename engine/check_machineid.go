package engine

// machineIDChecker enforces MachineID=: only the named machine, by full ID
// or fleet's 8-character short ID.
type machineIDChecker struct{}

func (machineIDChecker) feasible(u *Unit, m *machineState) bool {
	want := u.Req.MachineID
	return want == "" || want == m.ID || (len(want) == 8 && want == shortID(m.ID))
}

func (c machineIDChecker) check(u *Unit, m *machineState) string {
	if c.feasible(u, m) {
		return ""
	}
	return `MachineID "` + u.Req.MachineID + `"`
}
