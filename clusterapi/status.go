package clusterapi

import (
	"cmp"
	"slices"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Status is the whole cluster at one revision (GET /v1/status): what
// flotactl's list commands show, with reasons and notes as codes.
type Status struct {
	Revision int64     `json:"revision"`
	Machines []Machine `json:"machines"`
	Units    []Unit    `json:"units"`
}

// Machine is a registered machine.
type Machine struct {
	ID       string            `json:"id"`
	IP       string            `json:"ip,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"` // flags and labels merged
	Capacity registry.Capacity `json:"capacity"`
	Version  string            `json:"version,omitempty"`
	Drain    string            `json:"drain,omitempty"` // "draining", "drained"
}

// Unit is a unit of the cluster: its target, where it is placed and what
// each of those machines reports, or why it is placed nowhere.
type Unit struct {
	Name       string           `json:"name"`
	Desired    registry.State   `json:"desiredState"`
	Global     bool             `json:"global,omitempty"`
	Hash       string           `json:"hash"`
	Placements []Placement      `json:"placements"`
	Reason     *reason.Unplaced `json:"reason,omitempty"` // stored, without counts
	ReasonText string           `json:"reasonText,omitempty"`
	Notes      []reason.Note    `json:"notes,omitempty"`
	NotesText  string           `json:"notesText,omitempty"`
}

// Placement is a unit on a machine, with the state its agent published
// there (empty until it publishes one).
type Placement struct {
	Machine   string           `json:"machine"`
	State     registry.State   `json:"state,omitempty"`
	Load      string           `json:"load,omitempty"`
	Active    string           `json:"active,omitempty"`
	Sub       string           `json:"sub,omitempty"`
	Condition reason.Condition `json:"condition,omitempty"`
	Detail    string           `json:"detail,omitempty"`
}

// StatusOf is st as the API's document.
func StatusOf(st *registry.Status) Status {
	out := Status{Revision: st.Revision, Machines: []Machine{}, Units: []Unit{}}
	for _, m := range slices.SortedFunc(slices.Values(st.Machines), func(a, b registry.Machine) int { return cmp.Compare(a.ID, b.ID) }) {
		out.Machines = append(out.Machines, Machine{ID: m.ID, IP: m.IP, Metadata: m.Metadata, Capacity: m.Capacity, Version: m.Version, Drain: st.DrainState(m.ID)})
	}
	states := map[[2]string]registry.UnitState{}
	for _, s := range st.States {
		states[[2]string{s.Unit, s.Machine}] = s
	}
	on := map[string][]string{}
	for _, p := range st.Placements {
		on[p.Unit] = append(on[p.Unit], p.Machine)
	}
	for _, u := range slices.SortedFunc(slices.Values(st.Units), func(a, b registry.Unit) int { return cmp.Compare(a.Name, b.Name) }) {
		uj := Unit{Name: u.Name, Desired: u.Desired, Global: u.Global, Hash: u.Hash.String(), Placements: []Placement{}}
		for _, m := range slices.Sorted(slices.Values(on[u.Name])) {
			p := Placement{Machine: m}
			if s, ok := states[[2]string{u.Name, m}]; ok {
				p.State, p.Load, p.Active, p.Sub, p.Condition, p.Detail = s.State, s.Load, s.Active, s.Sub, s.Condition, s.Detail
			}
			uj.Placements = append(uj.Placements, p)
		}
		if r, ok := st.Unplaced[u.Name]; ok && !r.IsZero() && len(uj.Placements) == 0 {
			uj.Reason, uj.ReasonText = &r, r.String()
		}
		if ns := st.Notes[u.Name]; len(ns) > 0 {
			uj.Notes, uj.NotesText = ns, reason.Notes(ns)
		}
		out.Units = append(out.Units, uj)
	}
	return out
}
