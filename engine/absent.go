package engine

import "time"

// What happens to the units of a machine that is placed on but not
// registered. Its lease expired: it crashed, or it is cut off and may still
// run them, or etcd itself lost every lease at once. The Engine cannot tell
// which, so a unit leaves such a machine only when:
//
//   - the machine's hold is over (Absence.Hold: after the Engine gained
//     leadership it does not know how long a machine has been gone, and
//     when most machines vanish together the fault is more likely etcd's
//     than theirs);
//   - for a unit that stops on disconnect, StopMargin after the machine
//     went, by which time its agent stopped it for sure;
//   - and another machine takes it: a unit with nowhere to go stays placed
//     where it was, so that a machine that comes back finds it placed and
//     restarts nothing, rather than being "moved" to nowhere.
//
// A global unit stays on an absent machine for GhostGlobals.

// ghost is the stand-in for an absent machine, made on first use. Ghosts
// are never candidates: nothing new is placed on them.
func (s *scheduler) ghost(id string) *machineState {
	if g, ok := s.ghosts[id]; ok {
		return g
	}
	g := &machineState{Machine: Machine{ID: id}, gone: true, epoch: &s.epoch, freed: &s.freed, conflicts: s.conflicts}
	s.ghosts[id] = g
	return g
}

// holds says whether u stays on the absent machine id in this run, and
// notes when that would change.
func (s *scheduler) holds(u *Unit, id string) bool {
	until, ok := holdEnd(s.in, u, id)
	if !ok || !s.in.Now.Before(until) {
		return false
	}
	if s.wake.IsZero() || until.Before(s.wake) {
		s.wake = until
	}
	return true
}

// holdEnd is when u's hold on the absent machine id ends, if it has one.
func holdEnd(in Input, u *Unit, id string) (time.Time, bool) {
	a, ok := in.Absent[id]
	if !ok {
		return time.Time{}, false
	}
	grace := a.Hold
	if u.Req.Global {
		grace = max(grace, GhostGlobals)
	} else if u.Req.StopsOnDisconnect(in.Disconnect) {
		grace = max(grace, in.StopMargin)
	}
	return a.Since.Add(grace), true
}

// holdOn keeps u placed on the ghost g in this run.
func (s *scheduler) holdOn(u *Unit, g *machineState) {
	g.add(u)
	if u.Req.Global {
		s.global[u.Name] = append(s.global[u.Name], g)
		return
	}
	s.at[u.Name] = g
	delete(s.reasons, u.Name)
}
