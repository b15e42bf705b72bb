package engine

import "github.com/flota-dev/flota/reason"

// stack is the feasibility pipeline. A machine is feasible for a unit when
// every checker accepts it; the first rejection is the one reported.
type stack struct {
	checkers []checker
	// placing are the rules a unit must meet to be placed, but not to stay
	// where it is placed: a MaxSkew= skew depends on the order units are
	// kept in (the emptiest value is emptier before the others are kept),
	// so holding kept units to it would move settled ones. Kubernetes
	// holds its topology spread at scheduling only, too.
	placing []checker
}

// newStack wires the pipeline, cheapest and most decisive rules first.
func newStack(where func(unit string) (string, bool), counts *groupCounts, skews *skews, drains map[string]Drain) stack {
	return stack{checkers: []checker{
		// MachineID pins a unit to one machine.
		machineIDChecker{},
		// A machine whose own unit has the name refuses it (its Agent said).
		refusedChecker{},
		// MachineMetadata filters on the machine's own labels.
		metadataChecker{},
		// MachineOf follows the units it names, wherever this run put them.
		machineOfChecker{where: where},
		// A unit replaced by one already on the machine cannot go there.
		replacedChecker{},
		// Reservations within capacity: after the rules above, which say
		// which machines a unit may use at all, so that one it could never
		// use is not reported as merely full; before Conflicts, as it costs
		// the same on a busy machine as on an idle one.
		resourcesChecker{},
		// DistinctBy: at most N of a group per value of a key, a lookup in
		// the run's counts.
		distinctChecker{counts: counts},
		// Conflicts last: it scans every unit on the machine.
		conflictsChecker{},
	}, placing: []checker{
		// A draining machine takes no new unit; those it runs stay until
		// the drain moves them (drain.go).
		drainChecker{drains: drains},
		// MaxSkew= that waits: the group's count on the machine's value,
		// against the emptiest value, worked out once per move.
		skewChecker{skews: skews},
	}}
}

// feasible says whether u may be placed on m.
func (s stack) feasible(u *Unit, m *machineState) bool {
	if !s.keeps(u, m) {
		return false
	}
	for _, c := range s.placing {
		if !c.feasible(u, m) {
			return false
		}
	}
	return true
}

// keeps says whether u, placed on m, may stay there.
func (s stack) keeps(u *Unit, m *machineState) bool {
	for _, c := range s.checkers {
		if !c.feasible(u, m) {
			return false
		}
	}
	return true
}

// reject is the first checker's refusal of m for u, or the zero Refusal.
func (s stack) reject(u *Unit, m *machineState) reason.Refusal {
	for _, c := range append(s.checkers[:len(s.checkers):len(s.checkers)], s.placing...) {
		if r := c.check(u, m); !r.Accepted() {
			return r
		}
	}
	return reason.Refusal{}
}
