package engine

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Draining a machine (Input.Drains). The machine takes no new unit (the
// placing rule drainChecker); its units move, MaxParallel at a time, in
// name order:
//
//   - make-before-break for a unit that may run twice (it does not stop on
//     disconnect, unit.Requirements.StopsOnDisconnect: copies of it may
//     meet): it is placed on its new machine while its placement on the
//     draining one stays, and that one goes once the new copy is up (its
//     state says so, Input.States). It never has zero copies running;
//   - break-before-make for the others: the placement on the draining
//     machine goes first, and the unit is placed again once its copy there
//     stopped (its state row is gone), never two copies at once;
//   - a unit no other machine takes stays, running, with a note that says
//     why, until one does or the deadline passes;
//   - at the deadline (at once for a forced drain) every unit left goes
//     break-before-make, with somewhere to go or not.
//
// Every step is read back from etcd (a unit placed on both machines is
// moving; a unit unplaced with a live row on a draining machine is
// stopping there), so an Engine that takes over carries on.

// drainChecker keeps new units off draining machines. A placing rule
// (stack.placing): units placed there stay until the drain moves them.
type drainChecker struct{ drains map[string]Drain }

func (c drainChecker) feasible(_ *Unit, m *machineState) bool {
	_, draining := c.drains[m.ID]
	return !draining
}

func (c drainChecker) check(u *Unit, m *machineState) reason.Refusal {
	if c.feasible(u, m) {
		return reason.Refusal{}
	}
	return reason.Refuse(reason.Draining)
}

func (s *scheduler) draining(id string) bool {
	_, ok := s.in.Drains[id]
	return ok
}

// ready says whether the copy of u on machine id is up: active when u is
// launched, loaded when it is loaded, and of u's content.
func (s *scheduler) ready(u *Unit, id string) bool {
	st, ok := s.in.States[id][u.Name]
	if !ok || st.Hash != u.Hash {
		return false
	}
	if u.Desired == registry.StateLaunched {
		return st.Active == "active"
	}
	return st.Load == "loaded"
}

// running says whether machine id still publishes a state for u: its
// agent has not stopped and unloaded it yet.
func (s *scheduler) running(u *Unit, id string) bool {
	_, ok := s.in.States[id][u.Name]
	return ok
}

// keepMoving carries on a move begun by an earlier run: u placed on the
// machine it leaves (a draining one, or the source its move record names:
// rebalance.go) and on another that still keeps it. It keeps u on the
// other one, and the placement on the one it leaves while the new copy is
// not up yet. ok is false when u is not moving.
func (s *scheduler) keepMoving(u *Unit) bool {
	ps := s.current[u.Name]
	if len(ps) < 2 {
		return false
	}
	var from, to *machineState
	src := s.moveSource(u)
	for _, p := range sortedByMachine(ps) {
		m := s.machines[p.Machine]
		switch {
		case m == nil:
		case s.draining(m.ID) || m.ID == src:
			if from == nil {
				from = m
			}
		case to == nil && s.stack.keeps(u, m):
			to = m
		}
	}
	if from == nil || to == nil {
		return false
	}
	s.place(u, to)
	if !s.ready(u, to.ID) {
		s.leaving[u.Name] = from
		s.inflight[from.ID]++
	}
	return true
}

// waitsForStop says whether u, placed nowhere, must wait for its copy on a
// draining machine, or on the machine its move record says it left, to
// stop before it is placed again; it counts the wait as one of the moves
// off that machine.
func (s *scheduler) waitsForStop(u *Unit) bool {
	if !u.Req.StopsOnDisconnect(s.in.Disconnect) {
		return false
	}
	if mv, ok := s.in.Moves[u.Name]; ok && s.machines[mv.From] != nil && s.running(u, mv.From) {
		s.reasons[u.Name] = reason.Unplaced{Code: reason.StoppingElsewhere, Args: []string{mv.From}}
		s.inflight[mv.From]++
		return true
	}
	for _, id := range slices.Sorted(maps.Keys(s.in.Drains)) {
		if s.machines[id] != nil && s.running(u, id) {
			s.reasons[u.Name] = reason.Unplaced{Code: reason.StoppingElsewhere, Args: []string{id}}
			s.inflight[id]++
			return true
		}
	}
	return false
}

// drainMoves moves units off each draining machine, as many as its drain
// allows at a time (all of them past its deadline).
func (s *scheduler) drainMoves() {
	for _, id := range slices.Sorted(maps.Keys(s.in.Drains)) {
		m := s.machines[id]
		if m == nil {
			continue // gone: its units are the absences' (absent.go)
		}
		d := s.in.Drains[id]
		late := !d.Deadline.IsZero() && !s.in.Now.Before(d.Deadline)
		if !late && !d.Deadline.IsZero() && (s.wake.IsZero() || d.Deadline.Before(s.wake)) {
			s.wake = d.Deadline
		}
		room := max(d.MaxParallel, 1) - s.inflight[id]
		var on []*Unit
		for _, u := range m.units {
			if !u.Req.Global && s.at[u.Name] == m && s.leaving[u.Name] == nil {
				on = append(on, u)
			}
		}
		slices.SortFunc(on, func(a, b *Unit) int { return strings.Compare(a.Name, b.Name) })
		for _, u := range on {
			if !late && room <= 0 {
				s.stillStuck(u, m) // not looked at this run: as the last run found it
				continue
			}
			if s.moveOff(u, m, late) {
				room--
			}
		}
	}
}

// moveOff moves u off the draining machine m, and says whether a move
// began. late: the drain's deadline passed.
func (s *scheduler) moveOff(u *Unit, m *machineState, late bool) bool {
	s.unplace(u, m)
	to := s.choose(u)
	stops := u.Req.StopsOnDisconnect(s.in.Disconnect)
	switch {
	case to != nil && !late && !stops:
		s.place(u, to)
		s.leaving[u.Name] = m
		return true
	case to != nil && stops && s.running(u, m.ID):
		// Waits for its copy on m to stop, as waitsForStop says in the
		// runs after this one: in flight, so this run asks for the poll
		// too.
		s.reasons[u.Name] = reason.Unplaced{Code: reason.StoppingElsewhere, Args: []string{m.ID}}
		s.inflight[m.ID]++
		return true
	case to != nil:
		// Nothing runs on m, or past the deadline a unit that may run
		// twice: placed at once, its copy on m stops as its placement
		// goes (what the runs after this one decide too).
		s.place(u, to)
		return true
	case late:
		s.passed = append(s.passed, u) // stopped into nowhere: the deadline says so
		return true
	}
	s.stuck[u.Name] = reason.Note{Code: reason.DrainStuck, Args: []string{m.ID}, Filters: s.explain(u)}
	s.place(u, m)
	return false
}

// stillStuck carries over the note that u cannot leave the draining m, for
// a unit this run has no room to try: trying it is what found the note,
// and dropping it untried would rewrite it at every run.
func (s *scheduler) stillStuck(u *Unit, m *machineState) {
	for _, n := range s.in.Notes[u.Name] {
		if n.Code == reason.DrainStuck && len(n.Args) > 0 && n.Args[0] == m.ID {
			s.stuck[u.Name] = n
		}
	}
}

// unplace takes u off m in this run.
func (s *scheduler) unplace(u *Unit, m *machineState) {
	m.remove(u.Name)
	s.counts.moved(u, m, -1)
	delete(s.at, u.Name)
	s.drop(m)
}

// drainPoll is how often a run with moves in flight asks to run again: the
// Engine does not watch states, so it reads those of the moves anew.
const drainPoll = 250 * time.Millisecond

// pollMoves asks for the next run while moves are in flight.
func (s *scheduler) pollMoves() {
	n := 0
	for _, k := range s.inflight {
		n += k
	}
	if n == 0 && len(s.leaving) == 0 {
		return
	}
	if at := s.in.Now.Add(drainPoll); s.wake.IsZero() || at.Before(s.wake) {
		s.wake = at
	}
}

// keepsGlobal says whether the global u, placed on m, stays there: while m
// keeps it and is not drained of its globals.
func (s *scheduler) keepsGlobal(u *Unit, m *machineState) bool {
	if d, ok := s.in.Drains[m.ID]; ok && d.IncludeGlobal {
		return false
	}
	if _, placed := findMachine(s.current[u.Name], m.ID); !placed {
		return false
	}
	return s.stack.keeps(u, m)
}
