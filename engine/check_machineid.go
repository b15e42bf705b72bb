package engine

// machineIDChecker enforces MachineID=: only the named machine, by full ID
// or fleet's 8-character short ID.
type machineIDChecker struct{}

func (machineIDChecker) check(u *Unit, m *machineState) string {
	want := u.Req.MachineID
	if want == "" || want == m.ID || (len(want) == 8 && want == shortID(m.ID)) {
		return ""
	}
	return `MachineID "` + want + `"`
}
