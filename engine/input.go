package engine

import (
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Input is the cluster as Schedule sees it.
type Input struct {
	Machines   []Machine
	Units      []Unit
	Placements []registry.Placement // what is placed now
	Unplaced   map[string]string    // the reasons stored now, unit -> reason
}

// Machine is a registered machine: its ID, metadata and capacity.
type Machine struct {
	ID       string
	Metadata map[string]string
	// Capacity is what its agent published; a zero dimension is unknown
	// (an older agent) and constrains nothing.
	Capacity registry.Capacity
}

// Unit is a submitted unit with its requirements resolved for its name.
type Unit struct {
	Name    string
	Hash    unit.Hash
	Desired registry.State
	Req     unit.Requirements
	// Resources is what the unit reserves on each machine it runs on,
	// copied from its record (the registry reads it from the file at
	// submit); zero reserves nothing.
	Resources unit.Resources
	// Invalid, when set, is why the unit's stored file cannot be scheduled
	// (it failed to parse); the unit then stays unplaced with that reason.
	Invalid string
}

// Plan is Schedule's output: one Change per Unit whose Placements or reason
// must change. Applying an empty Plan changes nothing.
type Plan struct {
	Changes []registry.Change
}

// Empty says there is nothing to write.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }
