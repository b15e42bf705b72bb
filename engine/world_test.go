package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// world is a cluster for scheduler tests: Schedule is run on it and its
// plan applied to it, as the Engine and etcd would.
type world struct {
	t          testing.TB
	machines   []Machine
	units      map[string]Unit
	placements map[string]map[string]registry.Placement // unit -> machine
	unplaced   map[string]reason.Unplaced
	notes      map[string][]reason.Note
	absent     map[string]Absence
	now        time.Time
	margin     time.Duration
	drains     map[string]Drain
	states     map[string]map[string]registry.UnitState // machine -> unit -> what its agent publishes
	rebalance  Rebalance
	moves      map[string]registry.Move // unit -> its last rebalancing move, as stored
}

func newWorld(t testing.TB) *world {
	return &world{t: t, units: map[string]Unit{}, placements: map[string]map[string]registry.Placement{}, unplaced: map[string]reason.Unplaced{}, notes: map[string][]reason.Note{}}
}

// machine registers a machine; an ID already registered registers again,
// with the new metadata and no capacity, as the registry keys machines by
// ID.
func (w *world) machine(id string, md ...string) *world {
	m := Machine{ID: id, Metadata: map[string]string{}}
	for _, kv := range md {
		k, v, _ := strings.Cut(kv, "=")
		m.Metadata[k] = v
	}
	for i := range w.machines {
		if w.machines[i].ID == id {
			w.machines[i] = m
			return w
		}
	}
	w.machines = append(w.machines, m)
	return w
}

// capacity sets what machine id published.
func (w *world) capacity(id string, c registry.Capacity) *world {
	w.t.Helper()
	for i := range w.machines {
		if w.machines[i].ID == id {
			w.machines[i].Capacity = c
			return w
		}
	}
	w.t.Fatalf("no machine %s", id)
	return w
}

// refuse has machine id's agent refuse the units names, as its record
// would carry them (registry.Machine.Refused).
func (w *world) refuse(id string, names ...string) *world {
	w.t.Helper()
	for i := range w.machines {
		if w.machines[i].ID == id {
			w.machines[i].Refused = map[string]string{}
			for _, n := range names {
				w.machines[i].Refused[n] = "/etc/systemd/system/" + n
			}
			return w
		}
	}
	w.t.Fatalf("no machine %s", id)
	return w
}

// reserve sets what unit name reserves, as its record would carry it.
func (w *world) reserve(name string, r unit.Resources) *world {
	w.t.Helper()
	u, ok := w.units[name]
	if !ok {
		w.t.Fatalf("no unit %s", name)
	}
	u.Resources = r
	w.units[name] = u
	return w
}

func (w *world) removeMachine(id string) *world {
	for i, m := range w.machines {
		if m.ID == id {
			w.machines = append(w.machines[:i], w.machines[i+1:]...)
			break
		}
	}
	return w
}

// unit adds a launched unit whose [X-Fleet] section holds the given lines.
func (w *world) unit(name string, fleet ...string) *world {
	return w.unitIn(name, registry.StateLaunched, fleet...)
}

func (w *world) unitIn(name string, st registry.State, fleet ...string) *world {
	w.t.Helper()
	text := "[Service]\nExecStart=/bin/true\n"
	if len(fleet) > 0 {
		text += "[X-Fleet]\n" + strings.Join(fleet, "\n") + "\n"
	}
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		w.t.Fatalf("parse %s: %v", name, err)
	}
	w.units[name] = Unit{Name: name, Hash: f.Hash, Desired: st, Req: f.Fleet}
	return w
}

func (w *world) input() Input {
	in := Input{Machines: append([]Machine(nil), w.machines...), Unplaced: map[string]reason.Unplaced{}, Notes: map[string][]reason.Note{},
		Absent: w.absent, Now: w.now, StopMargin: w.margin, Drains: w.drains, States: w.states, Rebalance: w.rebalance}
	if len(w.moves) > 0 {
		in.Moves = map[string]registry.Move{}
		for k, v := range w.moves {
			in.Moves[k] = v
		}
	}
	for _, u := range w.units {
		in.Units = append(in.Units, u)
	}
	for _, byM := range w.placements {
		for _, p := range byM {
			in.Placements = append(in.Placements, p)
		}
	}
	for k, v := range w.unplaced {
		in.Unplaced[k] = v
	}
	for k, v := range w.notes {
		in.Notes[k] = v
	}
	return in
}

// step schedules once and applies the plan.
//
// Every step also checks one-pass convergence: the run after it, nothing
// else changed (the agents published nothing, the clock stood still),
// plans nothing and asks to run no sooner than the step did. The Engine
// runs no pass for its own writes coming back, which is sound only while
// this holds.
func (w *world) step() Plan {
	w.t.Helper()
	plan := w.stepOnce()
	again := Schedule(w.input())
	if !again.Empty() {
		w.t.Fatalf("the run after a run, nothing else changed, planned\n%safter\n%s", renderFull(again), renderFull(plan))
	}
	if !again.Wake.IsZero() && (plan.Wake.IsZero() || again.Wake.Before(plan.Wake)) {
		w.t.Fatalf("the run after a run, nothing else changed, asks to run at %v; the run itself at %v", again.Wake, plan.Wake)
	}
	return plan
}

// renderFull is render with the notes and moves.
func renderFull(p Plan) string {
	var b strings.Builder
	for _, ch := range p.Changes {
		fmt.Fprintf(&b, "%s put=%v del=%v", ch.Unit, ch.Put, ch.Delete)
		if ch.Unplaced != nil {
			fmt.Fprintf(&b, " why=%s", codes(*ch.Unplaced))
		}
		if ch.Notes != nil {
			fmt.Fprintf(&b, " notes=%v", *ch.Notes)
		}
		if ch.Move != nil {
			fmt.Fprintf(&b, " move=%v", *ch.Move)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// stepOnce runs Schedule once and applies its plan.
func (w *world) stepOnce() Plan {
	plan := Schedule(w.input())
	w.apply(plan)
	return plan
}

// apply writes plan to the world, as the Engine's Apply writes it to etcd.
func (w *world) apply(plan Plan) {
	for _, ch := range plan.Changes {
		for _, p := range ch.Delete {
			delete(w.placements[p.Unit], p.Machine)
			if len(w.placements[p.Unit]) == 0 {
				delete(w.placements, p.Unit)
			}
		}
		for _, p := range ch.Put {
			if w.placements[p.Unit] == nil {
				w.placements[p.Unit] = map[string]registry.Placement{}
			}
			w.placements[p.Unit][p.Machine] = p
		}
		if ch.Notes != nil {
			if len(*ch.Notes) == 0 {
				delete(w.notes, ch.Unit)
			} else {
				w.notes[ch.Unit] = *ch.Notes
			}
		}
		if ch.Unplaced != nil {
			if ch.Unplaced.IsZero() {
				delete(w.unplaced, ch.Unit)
			} else {
				w.unplaced[ch.Unit] = *ch.Unplaced
			}
		}
		if ch.Move != nil {
			if w.moves == nil {
				w.moves = map[string]registry.Move{}
			}
			if ch.Move.IsZero() {
				delete(w.moves, ch.Unit)
			} else {
				w.moves[ch.Unit] = *ch.Move
			}
		}
	}
}

// settle steps until the plan is empty; the scheduler must converge at
// once, so a second non-empty plan is a failure.
func (w *world) settle() {
	w.t.Helper()
	w.step()
	if again := w.step(); !again.Empty() {
		w.t.Fatalf("schedule did not converge: second plan %+v", again.Changes)
	}
}

// where lists the machines a unit is placed on, sorted.
func (w *world) where(name string) []string {
	var out []string
	for m := range w.placements[name] {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func (w *world) on(name string) string {
	ms := w.where(name)
	if len(ms) != 1 {
		return strings.Join(ms, ",")
	}
	return ms[0]
}

// codes renders a reason as its codes, arguments and counts, which is what
// tests assert (the words are reason's, tested there): for example
// "no-eligible: conflicts(nginx@*)=3, machine-metadata(zone=dmz)=1", or
// "replaces-cycle(a.service,b.service,a.service)".
func codes(r reason.Unplaced) string {
	if r.IsZero() {
		return ""
	}
	s := string(r.Code) + args(r.Args)
	for i, f := range r.Filters {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		s += sep + string(f.Code) + args(f.Args) + "=" + strconv.Itoa(f.Machines)
	}
	return s
}

func args(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return "(" + strings.Join(a, ",") + ")"
}

// metadata is machine id's metadata.
func (w *world) metadata(id string) map[string]string {
	for _, m := range w.machines {
		if m.ID == id {
			return m.Metadata
		}
	}
	return nil
}

// noteCodes renders a unit's notes as their codes and arguments:
// "soft-conflicts-shared(web@2.service); prefer-unmet(disk=ssd)".
func noteCodes(ns []reason.Note) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = string(n.Code) + args(n.Args)
	}
	return strings.Join(parts, "; ")
}

// drain marks machine id as being drained.
func (w *world) drain(id string, d Drain) *world {
	if w.drains == nil {
		w.drains = map[string]Drain{}
	}
	w.drains[id] = d
	return w
}

// publish plays the agents: every placed copy is active (launched units)
// or loaded, and a copy whose placement went has stopped and has no row.
func (w *world) publish() {
	w.states = map[string]map[string]registry.UnitState{}
	for name, byM := range w.placements {
		for m, p := range byM {
			if w.states[m] == nil {
				w.states[m] = map[string]registry.UnitState{}
			}
			st := registry.UnitState{Unit: name, Machine: m, Hash: p.Hash, Load: "loaded", Active: "inactive"}
			if p.Desired == registry.StateLaunched {
				st.Active = "active"
			}
			w.states[m][name] = st
		}
	}
}

func reasonOf(fs []reason.Filter) reason.Unplaced {
	return reason.Unplaced{Code: reason.NoEligible, Filters: fs}
}
