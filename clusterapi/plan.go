package clusterapi

import (
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Plan is a dry run's document (flotactl plan -o json, GET /v1/plan): the
// facts of plan's table as data, reasons and notes as their codes and
// arguments with their words beside them, so a program tells "never fits"
// from "full now" without parsing a sentence.
type Plan struct {
	Units []PlanUnit `json:"units"`
	Moves []Move     `json:"moves"`
}

// PlanUnit is where one unit asked about would be.
type PlanUnit struct {
	Unit       string           `json:"unit"`
	Machines   []string         `json:"machines"` // after the run; none: it cannot be placed
	Stays      bool             `json:"stays"`    // where it is now
	Reason     *reason.Unplaced `json:"reason,omitempty"`
	ReasonText string           `json:"reasonText,omitempty"`
	Notes      []reason.Note    `json:"notes,omitempty"`
	NotesText  string           `json:"notesText,omitempty"`
	Scores     []Score          `json:"scores"`
}

// Score is one machine's score for a unit, or why it was rejected.
type Score struct {
	Machine      string   `json:"machine"`
	Total        *float64 `json:"total,omitempty"` // absent when rejected
	Load         int      `json:"load"`
	Parts        []Part   `json:"parts,omitempty"`
	Rejected     *Refusal `json:"rejected,omitempty"`
	RejectedText string   `json:"rejectedText,omitempty"`
}

// Part is one scorer's value.
type Part struct {
	Scorer string  `json:"scorer"`
	Value  float64 `json:"value"`
}

// Refusal is why a machine was rejected, as a code and its arguments.
type Refusal struct {
	Code reason.Code `json:"code"`
	Args []string    `json:"args,omitempty"`
}

// Move is another unit the run would move (To: its new machines) or take
// off a machine (no To).
type Move struct {
	Unit string   `json:"unit"`
	From []string `json:"from"`
	To   []string `json:"to"`
}

// PlanOf is the document of pv, a preview of c for the units names, and
// how many of them cannot be placed.
func PlanOf(c *registry.Cluster, pv engine.Preview, names []string) (Plan, int) {
	o := pv.Outcome(c)
	out := Plan{Units: []PlanUnit{}, Moves: []Move{}}
	unplaceable := 0
	for _, n := range names {
		u := PlanUnit{Unit: n, Machines: o.After[n], Scores: []Score{}}
		if u.Machines == nil {
			u.Machines = []string{}
		}
		if len(u.Machines) == 0 {
			unplaceable++
			if why := o.Reason(n); !why.IsZero() {
				u.Reason, u.ReasonText = &why, why.String()
			}
		} else {
			u.Stays = o.Stays(n)
		}
		if ns := o.Notes[n]; len(ns) > 0 {
			u.Notes, u.NotesText = ns, reason.Notes(ns)
		}
		for _, s := range pv.Scores[n] {
			sj := Score{Machine: s.Machine, Load: s.Load}
			if s.Rejected.Accepted() {
				total := s.Total
				sj.Total = &total
				for _, p := range s.Parts {
					sj.Parts = append(sj.Parts, Part{Scorer: p.Scorer, Value: p.Value})
				}
			} else {
				sj.Rejected = &Refusal{Code: s.Rejected.Code, Args: s.Rejected.Args}
				sj.RejectedText = s.Rejected.String()
			}
			u.Scores = append(u.Scores, sj)
		}
		out.Units = append(out.Units, u)
	}
	for _, m := range o.Moves(names) {
		out.Moves = append(out.Moves, Move(m))
	}
	return out, unplaceable
}
