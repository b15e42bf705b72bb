package engine

// machineOfChecker enforces MachineOf=: the unit goes where every named unit
// is placed in this run, and nowhere if one of them is not placed.
type machineOfChecker struct {
	where func(unit string) (machine string, ok bool)
}

func (c machineOfChecker) feasible(u *Unit, m *machineState) bool { return c.check(u, m) == "" }

func (c machineOfChecker) check(u *Unit, m *machineState) string {
	for _, peer := range u.Req.MachineOf {
		at, ok := c.where(peer)
		if !ok {
			return `MachineOf "` + peer + `" (not placed)`
		}
		if at != m.ID {
			return `MachineOf "` + peer + `"`
		}
	}
	return ""
}
