package engine

import (
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Input is the cluster as Schedule sees it.
type Input struct {
	Machines   []Machine
	Units      []Unit
	Placements []registry.Placement       // what is placed now
	Unplaced   map[string]reason.Unplaced // the reasons stored now, by unit
	Notes      map[string][]reason.Note   // the notes stored now, by unit

	// Absent are the machines that units are placed on but that are not
	// registered, with when the Engine saw each go and how long it holds
	// their units there regardless. A machine missing from Absent is taken
	// as gone for good: its units move at once.
	Absent map[string]Absence
	// Now is the time the run decides at; it only matters for Absent.
	Now time.Time
	// Disconnect is the cluster's default of units' OnDisconnect=.
	Disconnect unit.Disconnect
	// StopMargin is how long after its machine went a unit that stops on
	// disconnect waits before it is placed elsewhere: the time its agent
	// has, once the lease expired, to have stopped it for sure.
	StopMargin time.Duration
	// Drains are the machines being drained, by ID (see drain.go).
	Drains map[string]Drain
	// States are the published states moves wait on, machine -> unit ->
	// state: those of every unit on a draining machine, of the copies
	// units are moving to, and of the copies rebalanced units leave.
	// Nothing else reads them.
	States map[string]map[string]registry.UnitState
	// Rebalance lets the run move placed units to machines that serve
	// their soft rules clearly better (rebalance.go); the zero value moves
	// none.
	Rebalance Rebalance
	// Moves are the units' last rebalancing moves as stored, by unit: the
	// rate counts them, and a move in flight is read back from them.
	Moves map[string]registry.Move
}

// Drain is a machine being drained: it takes no new unit, and its units
// move elsewhere, MaxParallel at a time.
type Drain struct {
	// Deadline, when set, is when whatever is left is stopped and moved,
	// with nowhere to go or not; a forced drain's deadline is its start.
	Deadline time.Time
	// IncludeGlobal takes the machine's global units off it too.
	IncludeGlobal bool
	// MaxParallel is how many units move at once; below 1 means 1.
	MaxParallel int
}

// Absence is how a machine that holds placements went missing.
type Absence struct {
	Since time.Time     // when the Engine first saw it missing
	Hold  time.Duration // nothing moves off it before Since+Hold
}

// GhostGlobals is how long a global unit stays placed on a machine that is
// gone: a machine back from a reboot or a partition finds its globals still
// placed, and restarts none of them. Past it, the placement goes, and a
// machine that comes back is given its globals again.
const GhostGlobals = time.Hour

// Machine is a registered machine: its ID, metadata and capacity.
type Machine struct {
	ID       string
	Metadata map[string]string
	// Capacity is what its agent published; a zero dimension is unknown
	// (an older agent) and constrains nothing.
	Capacity registry.Capacity
	// Refused are the units its agent will not run (registry.Machine.Refused).
	Refused map[string]string
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
	// Wake, when set, is when the next run would decide otherwise without
	// anything changing: a hold on an absent machine's units ends.
	Wake time.Time
}

// Empty says there is nothing to write.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }
