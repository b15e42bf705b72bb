package agent

import (
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Reached is the fleet state systemd's view of a unit amounts to. A unit is
// launched only while it runs (fleet said launched once it had asked for a
// start, even when systemd had failed the unit), loaded while systemd has
// its file loaded, and inactive otherwise.
func Reached(st UnitStatus) registry.State {
	switch {
	case st.Load == "loaded" && running(st):
		return registry.StateLaunched
	case st.Load == "loaded":
		return registry.StateLoaded
	}
	return registry.StateInactive
}

// States is what this machine publishes: a row for each placed unit that
// systemd reported on, with the hash of the file the agent wrote (zero
// while there is none). Templates get no row: they are never run.
func States(machine string, desired map[string]registry.Placement, onDisk map[string]unit.Hash, units map[string]UnitStatus) map[string]registry.UnitState {
	out := make(map[string]registry.UnitState, len(desired))
	for name := range desired {
		st, ok := units[name]
		if !ok || unit.IsTemplate(name) {
			continue
		}
		out[name] = registry.UnitState{
			Unit: name, Machine: machine, Hash: onDisk[name],
			Load: st.Load, Active: st.Active, Sub: st.Sub, State: Reached(st),
		}
	}
	return out
}
