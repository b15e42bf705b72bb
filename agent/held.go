package agent

import "github.com/flota-dev/flota/reason"

// holdBack is why the Agent holds a placed unit back from systemd (a
// reason.Condition, with its detail): published beside systemd's view of
// the name, which says the unit is not loaded.
type holdBack struct {
	cond   reason.Condition
	detail string
}

// heldStatus is systemd's view published for a unit held back: flota loaded
// nothing under its name. (A name taken by a unit of the machine's own is
// loaded, but not as this unit.)
var heldStatus = UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"}
