package engine

// replacedChecker keeps a unit off a machine where a unit that Replaces= it
// runs: that unit took its place.
type replacedChecker struct{}

func (c replacedChecker) feasible(u *Unit, m *machineState) bool { return c.check(u, m) == "" }

func (replacedChecker) check(u *Unit, m *machineState) string {
	for _, v := range m.units {
		if v.Name != u.Name && v.Req.ReplacesUnit(u.Name) {
			return "replaced by " + v.Name
		}
	}
	return ""
}
