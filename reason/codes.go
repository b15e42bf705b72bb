package reason

// Code names one reason. Codes are stored: a Code's string never changes
// meaning, and a new meaning gets a new Code.
type Code string

// The codes of an Unplaced record: why a Unit is not placed.
const (
	// NoMachines: no machine is registered. No arguments.
	NoMachines Code = "no-machines"
	// NoEligible: every machine was filtered; the Filters say by what.
	NoEligible Code = "no-eligible"
	// OnGoneMachine: the unit stays placed on a machine that is gone, as
	// no other takes it. Args: that machine. The Filters say why no other.
	OnGoneMachine Code = "on-gone-machine"
	// Template: a template is never placed. Args: an instance to start.
	Template Code = "template"
	// Invalid: the stored unit file cannot be scheduled. Args: the error.
	Invalid Code = "invalid"
	// ReplacesCycle: the unit is on a cycle of Replaces=. Args: the cycle,
	// first unit repeated at its end.
	ReplacesCycle Code = "replaces-cycle"
	// StoppingElsewhere: a copy still runs on a machine being drained, and
	// the unit may not run twice: it is placed once that copy stopped.
	// Args: that machine.
	StoppingElsewhere Code = "stopping-elsewhere"
	// Text: words an older Engine stored before reasons were data. Args:
	// them.
	Text Code = "text"
)

// The codes of a Filter: why a rule filtered machines.
const (
	// MachineID: the unit names another machine. Args: the ID it names.
	MachineID Code = "machine-id"
	// MachineMetadata: the machine's metadata fails MachineMetadata=.
	// Args: the requirement as written.
	MachineMetadata Code = "machine-metadata"
	// Draining: the machine is being drained and takes no new unit.
	Draining Code = "draining"
	// NameTaken: the machine has a unit of its own (one flota did not
	// write) by the unit's name, so its Agent refuses to run it there. No
	// arguments: the machine's status of the unit names the file.
	NameTaken Code = "name-taken"
	// MachineOf: a unit it follows is on another machine. Args: that unit.
	MachineOf Code = "machine-of"
	// MachineOfUnplaced: a unit it follows is placed nowhere. Args: it.
	MachineOfUnplaced Code = "machine-of-unplaced"
	// ReplacedBy: a unit that replaces it runs there. Args: that unit.
	ReplacedBy Code = "replaced-by"
	// Insufficient: the machine's free room is short now. Args: the
	// dimension (memory, CPU, disk) and the amount asked (bytes, or
	// thousandths of a CPU).
	Insufficient Code = "insufficient"
	// ExceedsCapacity: the unit asks more than the machine's whole
	// capacity; no waiting helps. Args as Insufficient.
	ExceedsCapacity Code = "exceeds-capacity"
	// DistinctBy: the group already has its count on the machine's value
	// of the key. Args: the rule (key or key:N).
	DistinctBy Code = "distinct-by"
	// DistinctByNoKey: the machine lacks the rule's key. Args: the rule,
	// the key.
	DistinctByNoKey Code = "distinct-by-no-key"
	// MaxSkew: the group would be more than the rule allows above its
	// emptiest value. Args: the rule (key:N).
	MaxSkew Code = "max-skew"
	// MaxSkewNoKey: the machine lacks the rule's key. Args: the rule, the
	// key.
	MaxSkewNoKey Code = "max-skew-no-key"
	// Conflicts: a unit there matches one of the unit's Conflicts=.
	// Args: the pattern.
	Conflicts Code = "conflicts"
	// ConflictsOf: a unit there has a Conflicts= matching this one. Args:
	// the pattern, that unit.
	ConflictsOf Code = "conflicts-of"
)

// Lasting says whether a filter holds whatever the other units do: only
// a change of the machines, or of the unit, lifts it. The other filters
// may lift as units stop, move or free room.
func (c Code) Lasting() bool {
	switch c {
	case MachineID, MachineMetadata, NameTaken, ExceedsCapacity, DistinctByNoKey, MaxSkewNoKey:
		return true
	}
	return false
}
