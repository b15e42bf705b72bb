package registry

import (
	"fmt"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// State is a Unit's desired state, or the state an Agent reports it reached.
type State string

// The three states of fleet, in the order a Unit moves through them.
const (
	StateInactive State = "inactive" // known to the cluster, not placed
	StateLoaded   State = "loaded"   // placed and loaded into systemd, not started
	StateLaunched State = "launched" // placed and started
)

// ParseState accepts only the three states; fleet stored anything and then
// could not list units at all.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case StateInactive, StateLoaded, StateLaunched:
		return st, nil
	}
	return "", fmt.Errorf("%w: invalid state %q (want inactive, loaded or launched)", ErrInvalid, s)
}

// Unit is a submitted unit: its name, the content hash of its file and the
// state the user wants it in.
type Unit struct {
	Name    string
	Hash    unit.Hash
	Desired State
	Global  bool // Global=true in its [X-Fleet] section
	// Fleet is the file's [X-Fleet] section, as options, for the Engine.
	Fleet []*sdunit.UnitOption
	// Resources is what the unit reserves on its machine (unit.Resources),
	// for the Engine; zero for records written before it was copied.
	Resources unit.Resources
	// Revision is the etcd ModRevision of the record: the Compare that makes
	// a read-modify-write safe.
	Revision int64
}

// Machine is a registered host. It exists while its lease lives.
type Machine struct {
	ID string
	IP string
	// Metadata is what the Engine places by: the metadata the Machine
	// registered with, with its operator's Labels applied
	// (EffectiveMetadata). Register stores it as the Machine's own.
	Metadata map[string]string
	// Registered is the metadata as the Machine's flags gave it (flotad
	// --metadata), before Labels; set on every Machine read back.
	Registered map[string]string
	// Labels are what an operator set and removed with flotactl label.
	Labels Labels
	// API is where this Machine's Agent answers flotactl status and journal
	// (e.g. http://10.77.0.11:4920); "" when it serves none.
	API string
	// Capacity is what the Machine has to give its units, as its Agent
	// read it at registration; zero when unknown.
	Capacity Capacity
	// Refused are the units placed on the Machine that its Agent will not
	// run, name -> why: the file of a unit of the machine's own (one flota
	// did not write) that already has the name. The Engine places them
	// elsewhere.
	Refused map[string]string
	// Version is the flotad version the Machine's Agent runs ("" when it
	// did not say).
	Version string
	// Revision is the CreateRevision of the presence key: it changes when the
	// machine re-registers with a new lease, so a Placement decided for an
	// earlier incarnation cannot land on a later one by accident.
	Revision int64
}

// Capacity is a Machine's resources.
type Capacity struct {
	CPUs          int    `json:"cpus,omitempty"`
	MemoryBytes   uint64 `json:"memory,omitempty"`
	DiskBytes     uint64 `json:"disk,omitempty"`
	DiskFreeBytes uint64 `json:"disk_free,omitempty"`
}

// Placement says that Unit runs on Machine in the Desired state, from the
// file with Hash.
type Placement struct {
	Unit    string
	Machine string
	Hash    unit.Hash
	Desired State
}

// UnitState is what a Machine's Agent reports about one Unit: systemd's
// LOAD/ACTIVE/SUB and the fleet state it reached.
type UnitState struct {
	Unit    string
	Machine string
	Hash    unit.Hash
	Load    string
	Active  string
	Sub     string
	State   State
	// Condition is why the Agent holds the unit back from systemd (none
	// while systemd has it), and Detail the rest of it: flota's own
	// fields, beside systemd's.
	Condition reason.Condition
	Detail    string
}
