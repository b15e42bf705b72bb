package dashboard

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Model is one cluster Status as the dashboard shows it. Words are made
// here, at the edge, from the codes the Status holds.
type Model struct {
	Revision int64
	Machines []MachineRow
	Units    []UnitRow
	Counts   Counts
}

// Counts sum the units up by Health, and the machines.
type Counts struct {
	Machines, Units                             int
	Running, Pending, Failed, Unplaced, Stopped int
}

// MachineRow is one registered machine.
type MachineRow struct {
	ID, Short, IP, Version string
	Metadata               []string // k=v, sorted by key
	Capacity               string   // "2 CPUs, 3.8GiB memory, 20.0GiB disk", "" if none reported
	Drain                  string   // "", "draining" or "drained"
	Units                  []string // placed here, sorted
}

// UnitRow is one unit of the cluster.
type UnitRow struct {
	Name, Desired string
	Global        bool
	Health        Health
	On            []Where  // its placements, by machine
	Reason        string   // why it is not placed, when it is not
	Notes         []string // the soft rules its machine does not honour
	Moved         string   // its last rebalancing move
}

// Where is a unit on one machine: what that machine's agent published.
type Where struct {
	Machine, Short, IP string
	Load, Active, Sub  string
	Condition, Detail  string
	Gone               bool // the machine is not registered now
}

// Health is a unit's one-word summary, the row's colour.
type Health string

const (
	HealthRunning  Health = "running"  // at its target on every machine it is placed on
	HealthPending  Health = "pending"  // on its way: placed, not there yet
	HealthFailed   Health = "failed"   // systemd failed it, or a condition that waiting does not mend
	HealthUnplaced Health = "unplaced" // wanted, and the Engine found no machine
	HealthStopped  Health = "stopped"  // its target is inactive
)

// Build makes the Model of st.
func Build(st *registry.Status) Model {
	m := Model{Revision: st.Revision}
	known := map[string]registry.Machine{}
	placed := map[string][]string{} // machine -> units
	for _, mc := range st.Machines {
		known[mc.ID] = mc
	}
	on := map[string][]registry.Placement{}
	for _, p := range st.Placements {
		on[p.Unit] = append(on[p.Unit], p)
		placed[p.Machine] = append(placed[p.Machine], p.Unit)
	}
	state := map[[2]string]registry.UnitState{}
	for _, s := range st.States {
		state[[2]string{s.Unit, s.Machine}] = s
	}
	for _, mc := range slices.SortedFunc(slices.Values(st.Machines), func(a, b registry.Machine) int { return cmp.Compare(a.ID, b.ID) }) {
		row := MachineRow{ID: mc.ID, Short: short(mc.ID), IP: mc.IP, Version: mc.Version, Capacity: capacity(mc.Capacity),
			Drain: st.DrainState(mc.ID), Units: slices.Sorted(slices.Values(placed[mc.ID]))}
		for _, k := range slices.Sorted(maps.Keys(mc.Metadata)) {
			row.Metadata = append(row.Metadata, k+"="+mc.Metadata[k])
		}
		m.Machines = append(m.Machines, row)
	}
	for _, u := range slices.SortedFunc(slices.Values(st.Units), func(a, b registry.Unit) int { return cmp.Compare(a.Name, b.Name) }) {
		row := UnitRow{Name: u.Name, Desired: string(u.Desired), Global: u.Global}
		ps := slices.SortedFunc(slices.Values(on[u.Name]), func(a, b registry.Placement) int { return cmp.Compare(a.Machine, b.Machine) })
		for _, p := range ps {
			mc, ok := known[p.Machine]
			w := Where{Machine: p.Machine, Short: short(p.Machine), IP: mc.IP, Gone: !ok}
			if s, ok := state[[2]string{u.Name, p.Machine}]; ok {
				w.Load, w.Active, w.Sub = s.Load, s.Active, s.Sub
				w.Condition, w.Detail = string(s.Condition), s.Detail
			}
			row.On = append(row.On, w)
		}
		if r := st.Unplaced[u.Name]; !r.IsZero() && len(ps) == 0 {
			row.Reason = r.String()
		}
		for _, n := range st.Notes[u.Name] {
			row.Notes = append(row.Notes, n.String())
		}
		if mv, ok := st.Moves[u.Name]; ok {
			row.Moved = mv.Reason.String() + ", " + mv.Since.UTC().Format(time.RFC3339)
		}
		row.Health = health(u, ps, state)
		m.Units = append(m.Units, row)
		switch row.Health {
		case HealthRunning:
			m.Counts.Running++
		case HealthPending:
			m.Counts.Pending++
		case HealthFailed:
			m.Counts.Failed++
		case HealthUnplaced:
			m.Counts.Unplaced++
		case HealthStopped:
			m.Counts.Stopped++
		}
	}
	m.Counts.Machines, m.Counts.Units = len(m.Machines), len(m.Units)
	return m
}

// health sums u up from its placements ps and their published states.
func health(u registry.Unit, ps []registry.Placement, state map[[2]string]registry.UnitState) Health {
	if u.Desired == registry.StateInactive {
		return HealthStopped
	}
	if len(ps) == 0 {
		return HealthUnplaced
	}
	all := true
	for _, p := range ps {
		s, ok := state[[2]string{u.Name, p.Machine}]
		if ok && (s.Active == "failed" || s.Condition.Failed()) {
			return HealthFailed
		}
		if !ok || s.State != u.Desired || (u.Desired == registry.StateLaunched && s.Active != "active") {
			all = false
		}
	}
	if all {
		return HealthRunning
	}
	return HealthPending
}

func short(id string) string { return id[:min(len(id), 8)] }

func capacity(c registry.Capacity) string {
	var parts []string
	if c.CPUs > 0 {
		parts = append(parts, strconv.Itoa(c.CPUs)+" CPUs")
	}
	if c.MemoryBytes > 0 {
		parts = append(parts, reason.FormatBytes(c.MemoryBytes)+" memory")
	}
	if c.DiskBytes > 0 {
		parts = append(parts, reason.FormatBytes(c.DiskBytes)+" disk")
	}
	return strings.Join(parts, ", ")
}
