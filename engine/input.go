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

// Machine is a registered machine: its ID and metadata.
type Machine struct {
	ID       string
	Metadata map[string]string
}

// Unit is a submitted unit with its requirements resolved for its name.
type Unit struct {
	Name    string
	Hash    unit.Hash
	Desired registry.State
	Req     unit.Requirements
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
