package engine

import (
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// checker is one feasibility rule. check returns the zero Refusal when u
// may run on m, or the rule's refusal of m as data (reason.Conflicts with
// the pattern, for one); identical refusals from many machines are counted
// into one Filter of the unit's reason.Unplaced. feasible answers the same
// question without building the refusal: the search asks it of many
// machines, and the refusals are only needed when no machine is left.
type checker interface {
	feasible(u *Unit, m *machineState) bool
	check(u *Unit, m *machineState) reason.Refusal
}

// machineState is a Machine during one Schedule run: what is placed on it so
// far, its load, and what those units reserve.
type machineState struct {
	Machine
	units []*Unit // units placed here in this run, globals included
	// reserved sums the Resources of units, kept by add and remove so the
	// resources check costs the same on a full machine as on an empty one.
	reserved unit.Resources
	// gone: a machine that is not registered, which still holds units
	// (see absent.go); never a candidate.
	gone bool
	// epoch is the run's count of placement changes (classes.go), which
	// add and remove keep.
	epoch *uint64
	// freed counts the run's removals from live machines, which alone can
	// make a machine feasible for a unit it refused (placements only
	// refuse more), MaxSkew= and MachineOf= aside (classes.go).
	freed *uint64
	// replacers counts the units here with Replaces=: on a machine with
	// none, the replaced check is done without looking at its units.
	replacers int
	// conflicts, when set, is the run's index of name globs, and
	// matches and held count per glob the units here it matches and the
	// units here whose Conflicts= has it (conflict_index.go).
	conflicts     *conflictIndex
	matches, held map[int]int
	// touched, when set, logs the machines a narrowed run changes
	// (incremental.go).
	touched *touchLog
}

// touchLog lists the machines whose units changed while it is on.
type touchLog struct {
	on bool
	ms []*machineState
}

func (m *machineState) load() int { return len(m.units) }

// add places u here in this run.
func (m *machineState) add(u *Unit) {
	m.changed()
	if len(u.Req.Replaces) > 0 {
		m.replacers++
	}
	if m.conflicts != nil {
		m.conflicts.counted(m, u, +1)
	}
	m.units = append(m.units, u)
	m.reserved.MemoryBytes += u.Resources.MemoryBytes
	m.reserved.MilliCPUs += u.Resources.MilliCPUs
	m.reserved.DiskBytes += u.Resources.DiskBytes
}

// changed counts a placement change in the run's epoch.
func (m *machineState) changed() {
	if m.epoch != nil { // a machine a test makes on its own has no run
		*m.epoch++
	}
	if m.touched != nil && m.touched.on {
		m.touched.ms = append(m.touched.ms, m)
	}
}

func (m *machineState) has(name string) bool {
	for _, u := range m.units {
		if u.Name == name {
			return true
		}
	}
	return false
}

// remove takes the unit called name off this machine in this run.
func (m *machineState) remove(name string) {
	for i, u := range m.units {
		if u.Name == name {
			m.changed()
			if m.freed != nil && !m.gone {
				*m.freed++
			}
			if len(u.Req.Replaces) > 0 {
				m.replacers--
			}
			if m.conflicts != nil {
				m.conflicts.counted(m, u, -1)
			}
			m.units = append(m.units[:i], m.units[i+1:]...)
			m.reserved.MemoryBytes -= u.Resources.MemoryBytes
			m.reserved.MilliCPUs -= u.Resources.MilliCPUs
			m.reserved.DiskBytes -= u.Resources.DiskBytes
			return
		}
	}
}

// shortID is fleet's 8-character machine legend, which MachineID also
// accepted.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
