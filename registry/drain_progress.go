package registry

import "github.com/flota-dev/flota/reason"

// DrainProgress is what is left of a machine's drain in one Status: the
// one reading of "drained" that flotactl drain, list-machines and the
// dashboard share.
type DrainProgress struct {
	Left     int // units placed on the machine that must leave it
	Moving   int // of those, also placed on their new machine
	Stopping int // units no longer placed there that still run there
	Stuck    []StuckUnit
}

// StuckUnit is a unit the drain found nowhere to go, with the note that
// says why.
type StuckUnit struct {
	Unit string
	Note reason.Note
}

// Done says the machine is drained: nothing left placed on it, nothing
// still running there.
func (p DrainProgress) Done() bool { return p.Left == 0 && p.Stopping == 0 }

// DrainOf reads what is left of the drain of machine id in s; global
// units count only when includeGlobal (the drain's own IncludeGlobal).
func (s *Status) DrainOf(id string, includeGlobal bool) DrainProgress {
	var p DrainProgress
	global := make(map[string]bool, len(s.Units))
	for _, u := range s.Units {
		global[u.Name] = u.Global
	}
	placedHere := map[string]bool{}
	elsewhere := map[string]bool{}
	for _, pl := range s.Placements {
		if pl.Machine == id {
			placedHere[pl.Unit] = true
		} else {
			elsewhere[pl.Unit] = true
		}
	}
	for name := range placedHere {
		if global[name] && !includeGlobal {
			continue
		}
		p.Left++
		if elsewhere[name] && !global[name] {
			p.Moving++
		}
		for _, n := range s.Notes[name] {
			if n.Code == reason.DrainStuck {
				p.Stuck = append(p.Stuck, StuckUnit{Unit: name, Note: n})
			}
		}
	}
	for _, st := range s.States {
		if st.Machine == id && !placedHere[st.Unit] {
			p.Stopping++
		}
	}
	return p
}

// DrainState is machine id's drain in one word, as flotactl list-machines,
// the dashboard and the API show it: "" when it is not drained,
// "draining" while units are still to leave it, "drained" once none is.
func (s *Status) DrainState(id string) string {
	d, ok := s.Drains[id]
	switch {
	case !ok:
		return ""
	case s.DrainOf(id, d.IncludeGlobal).Done():
		return "drained"
	}
	return "draining"
}
