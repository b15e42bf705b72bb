package ctl

import (
	"cmp"
	"slices"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// view indexes one cluster Status for the questions flotactl asks of it.
type view struct {
	*registry.Status
	units      map[string]registry.Unit
	machines   map[string]registry.Machine
	placements map[string][]registry.Placement // by unit, sorted by machine
	states     map[string][]registry.UnitState // by unit, sorted by machine
}

func newView(st *registry.Status) *view {
	v := &view{
		Status:     st,
		units:      make(map[string]registry.Unit, len(st.Units)),
		machines:   make(map[string]registry.Machine, len(st.Machines)),
		placements: map[string][]registry.Placement{},
		states:     map[string][]registry.UnitState{},
	}
	for _, u := range st.Units {
		v.units[u.Name] = u
	}
	for _, m := range st.Machines {
		v.machines[m.ID] = m
	}
	for _, p := range st.Placements {
		v.placements[p.Unit] = append(v.placements[p.Unit], p)
	}
	for _, s := range st.States {
		v.states[s.Unit] = append(v.states[s.Unit], s)
	}
	for _, ps := range v.placements {
		slices.SortFunc(ps, func(a, b registry.Placement) int { return cmp.Compare(a.Machine, b.Machine) })
	}
	for _, ss := range v.states {
		slices.SortFunc(ss, func(a, b registry.UnitState) int { return cmp.Compare(a.Machine, b.Machine) })
	}
	return v
}

// state is the row machine published for unit.
func (v *view) state(unit, machine string) (registry.UnitState, bool) {
	for _, s := range v.states[unit] {
		if s.Machine == machine {
			return s, true
		}
	}
	return registry.UnitState{}, false
}

// legend names a machine the way fleetctl did: the first 8 characters of
// its ID and "..." (the whole ID when full), then "/<ip>" when known.
func (v *view) legend(id string, full bool) string {
	s := machineID(id, full)
	if ip := v.machines[id].IP; ip != "" {
		s += "/" + ip
	}
	return s
}

// current is the state a unit reached and the machine it is placed on:
// inactive and "" when unplaced, else the state its machine published for
// it (inactive until it publishes one).
func (v *view) current(unit string) (registry.State, string) {
	ps := v.placements[unit]
	for _, p := range ps {
		if s, ok := v.state(unit, p.Machine); ok && s.State != "" {
			return s.State, p.Machine
		}
	}
	if len(ps) > 0 {
		return registry.StateInactive, ps[0].Machine
	}
	return registry.StateInactive, ""
}

// reachedOn reports whether a unit placed on machine reached target there:
// its published state is the target and, for launched, systemd has it
// active (fleet called a unit launched even when systemd had failed it).
func (v *view) reachedOn(unit, machine string, target registry.State) bool {
	s, ok := v.state(unit, machine)
	if !ok || s.State != target {
		return false
	}
	return target != registry.StateLaunched || s.Active == "" || s.Active == "active"
}

// reached reports whether a unit is in target, and on which machine. A
// unit is inactive when it is placed nowhere and no machine reports it; a
// global unit has reached loaded or launched when every machine it is
// placed on did; any other unit when its machine did.
func (v *view) reached(unit string, target registry.State, global bool) (string, bool) {
	if target == registry.StateInactive {
		return "", len(v.placements[unit]) == 0 && len(v.states[unit]) == 0
	}
	ps := v.placements[unit]
	if global {
		for _, p := range ps {
			if !v.reachedOn(unit, p.Machine, target) {
				return "", false
			}
		}
		return "", true
	}
	for _, p := range ps {
		if v.reachedOn(unit, p.Machine, target) {
			return p.Machine, true
		}
	}
	return "", false
}

// obstacle says why a unit has not reached target yet, when flota knows:
// the Engine could not place it, or systemd failed it. "" otherwise.
func (v *view) obstacle(unit string, target registry.State) (string, int) {
	ps := v.placements[unit]
	if len(ps) == 0 {
		if r := v.Unplaced[unit]; !r.IsZero() && target != registry.StateInactive {
			if r.Lasting() {
				return "cannot be placed: " + r.String(), exitUnplaceable
			}
			return "cannot be placed: " + r.String(), 0
		}
		return "", 0
	}
	if target != registry.StateLaunched {
		return "", 0
	}
	for _, p := range ps {
		s, ok := v.state(unit, p.Machine)
		switch {
		case !ok:
		case s.Condition.Failed():
			return "failed on " + v.legend(p.Machine, false) + ": " + conditionText(s), exitUnitFailed
		case s.Condition == reason.ConditionPullingImage:
			return "waits on " + v.legend(p.Machine, false) + ": pulling image " + s.Detail, 0
		case s.Condition != "":
			return "is held back on " + v.legend(p.Machine, false) + ": " + conditionText(s) + "; waiting for it to be placed elsewhere", 0
		case s.Active == "failed":
			return "failed on " + v.legend(p.Machine, false) + " (" + s.Sub + "); waiting for it to become active", 0
		}
	}
	return "", 0
}

// machineID shows a machine ID as fleetctl did: its first 8 characters and
// "...", or all of it when full.
func machineID(id string, full bool) string {
	if full {
		return id
	}
	return id[:min(len(id), 8)] + "..."
}

// hashText shows a content hash: 7 hex digits, 40 when full, "-" if none.
func hashText(h unit.Hash, full bool) string {
	switch {
	case h.IsZero():
		return "-"
	case full:
		return h.String()
	}
	return h.Short()
}
