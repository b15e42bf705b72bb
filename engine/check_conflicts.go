package engine

import (
	"path"

	"github.com/flota-dev/flota/reason"
)

// conflictsChecker enforces Conflicts=, symmetrically: u cannot join a
// machine where a unit matches one of u's patterns, nor one where a unit's
// pattern matches u. A unit never conflicts with itself, and a unit that u
// evicts does not count (see evicts): placing u moves it away.
type conflictsChecker struct{}

// feasible is check's answer.
func (c conflictsChecker) feasible(u *Unit, m *machineState) bool {
	return c.check(u, m).Accepted()
}

// check asks m's counts first: where no unit can conflict with u, the
// units need not be scanned. It names the conflict with the unit first by
// name, not by where it
// sits in the machine's list: that order depends on when each unit was
// placed, and a reason that changed with it would be rewritten by the
// next pass (as the replaced check does).
func (conflictsChecker) check(u *Unit, m *machineState) reason.Refusal {
	if m.conflicts != nil && !m.conflicts.mayConflict(u, m) {
		return reason.Refusal{}
	}
	var by *Unit
	var why reason.Refusal
	for _, v := range m.units {
		if v.Name == u.Name || evicts(u, v) || (by != nil && v.Name > by.Name) {
			continue
		}
		if p := matching(u.Req.Conflicts, v.Name); p != "" {
			by, why = v, reason.Refuse(reason.Conflicts, p)
		} else if p := matching(v.Req.Conflicts, u.Name); p != "" {
			by, why = v, reason.Refuse(reason.ConflictsOf, p, v.Name)
		}
	}
	return why
}

// matching returns the first glob of patterns that matches name, or "".
func matching(patterns []string, name string) string {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return p
		}
	}
	return ""
}
