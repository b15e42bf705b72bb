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

// feasible asks m's counts first: where no unit can conflict with u, the
// units need not be scanned.
func (c conflictsChecker) feasible(u *Unit, m *machineState) bool {
	if m.conflicts != nil && !m.conflicts.mayConflict(u, m) {
		return true
	}
	return c.check(u, m).Accepted()
}

func (conflictsChecker) check(u *Unit, m *machineState) reason.Refusal {
	for _, v := range m.units {
		if v.Name == u.Name || evicts(u, v) {
			continue
		}
		if p := matching(u.Req.Conflicts, v.Name); p != "" {
			return reason.Refuse(reason.Conflicts, p)
		}
		if p := matching(v.Req.Conflicts, u.Name); p != "" {
			return reason.Refuse(reason.ConflictsOf, p, v.Name)
		}
	}
	return reason.Refusal{}
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
