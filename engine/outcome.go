package engine

import (
	"slices"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// PreviewInput is the Input a dry run schedules c with at now: c as the
// Engine reads it, the machines units are placed on but that are gone
// given the Engine's treatment of a machine it has just seen go. A preview
// has none of the Engine's memory, and without this would show the gone
// machines' units (globals, units with nowhere else to go) leaving them,
// which the Engine does not do.
func PreviewInput(c *registry.Cluster, now time.Time) Input {
	in := InputOf(c)
	present := map[string]bool{}
	for _, m := range in.Machines {
		present[m.ID] = true
	}
	in.Now = now
	in.StopMargin = DefaultStopMargin
	for _, p := range in.Placements {
		if !present[p.Machine] {
			if in.Absent == nil {
				in.Absent = map[string]Absence{}
			}
			in.Absent[p.Machine] = Absence{Since: now}
		}
	}
	return in
}

// Outcome is what the cluster would be after a Preview's run: every unit's
// machines before and after, reasons and notes.
type Outcome struct {
	Before, After map[string][]string // unit -> machine IDs
	Reasons       map[string]reason.Unplaced
	Notes         map[string][]reason.Note
	pv            Preview
}

// Outcome applies pv's changes to c, which the Preview was made from.
func (pv Preview) Outcome(c *registry.Cluster) Outcome {
	o := Outcome{Before: map[string][]string{}, After: map[string][]string{}, Reasons: map[string]reason.Unplaced{}, Notes: map[string][]reason.Note{}, pv: pv}
	for u, byM := range c.Placements {
		for m := range byM {
			o.Before[u] = append(o.Before[u], m)
			o.After[u] = append(o.After[u], m)
		}
	}
	for u, ns := range c.Notes {
		o.Notes[u] = ns
	}
	for _, ch := range pv.Changes {
		for _, p := range ch.Delete {
			o.After[ch.Unit] = slices.DeleteFunc(slices.Clone(o.After[ch.Unit]), func(x string) bool { return x == p.Machine })
		}
		for _, p := range ch.Put {
			if !slices.Contains(o.After[ch.Unit], p.Machine) {
				o.After[ch.Unit] = append(o.After[ch.Unit], p.Machine)
			}
		}
		if ch.Unplaced != nil {
			o.Reasons[ch.Unit] = *ch.Unplaced
		}
		if ch.Notes != nil {
			o.Notes[ch.Unit] = *ch.Notes
		}
	}
	return o
}

// Reason is why unit u stays unplaced after the run: counted, from the
// run itself, where the Plan's and the stored reasons are not.
func (o Outcome) Reason(u string) reason.Unplaced {
	if r := o.pv.Reasons[u]; !r.IsZero() {
		return r
	}
	return o.Reasons[u]
}

// Stays says whether u would end on exactly the machines it is on.
func (o Outcome) Stays(u string) bool {
	a, b := o.Before[u], o.After[u]
	return len(a) == len(b) && !slices.ContainsFunc(a, func(x string) bool { return !slices.Contains(b, x) })
}

// Move is a unit the run moves (To: its new machines) or takes off a
// machine (no To).
type Move struct {
	Unit     string
	From, To []string
}

// Moves are the run's moves of units other than those named.
func (o Outcome) Moves(names []string) []Move {
	var out []Move
	for _, ch := range o.pv.Changes {
		if slices.Contains(names, ch.Unit) || len(ch.Delete) == 0 {
			continue
		}
		m := Move{Unit: ch.Unit, From: []string{}, To: []string{}}
		for _, p := range ch.Delete {
			m.From = append(m.From, p.Machine)
		}
		for _, p := range ch.Put {
			m.To = append(m.To, p.Machine)
		}
		out = append(out, m)
	}
	return out
}
