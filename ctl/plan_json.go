package ctl

import (
	"encoding/json"
	"io"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// planJSON is plan -o json: the table's facts as data, the reasons and
// notes as their codes and arguments (with their words beside them), so a
// program tells "never fits" from "full now" without parsing a sentence.
type planJSON struct {
	Units []planUnitJSON `json:"units"`
	Moves []planMoveJSON `json:"moves"`
}

type planUnitJSON struct {
	Unit       string           `json:"unit"`
	Machines   []string         `json:"machines"` // after the run; none: it cannot be placed
	Stays      bool             `json:"stays"`    // where it is now
	Reason     *reason.Unplaced `json:"reason,omitempty"`
	ReasonText string           `json:"reasonText,omitempty"`
	Notes      []reason.Note    `json:"notes,omitempty"`
	NotesText  string           `json:"notesText,omitempty"`
	Scores     []planScoreJSON  `json:"scores"`
}

type planScoreJSON struct {
	Machine      string       `json:"machine"`
	Total        *float64     `json:"total,omitempty"` // absent when rejected
	Load         int          `json:"load"`
	Parts        []partJSON   `json:"parts,omitempty"`
	Rejected     *refusalJSON `json:"rejected,omitempty"`
	RejectedText string       `json:"rejectedText,omitempty"`
}

type partJSON struct {
	Scorer string  `json:"scorer"`
	Value  float64 `json:"value"`
}

type refusalJSON struct {
	Code reason.Code `json:"code"`
	Args []string    `json:"args,omitempty"`
}

type planMoveJSON struct {
	Unit string   `json:"unit"`
	From []string `json:"from"`
	To   []string `json:"to"` // none: it leaves
}

// writePlanJSON prints the preview as JSON and returns how many of the
// units named cannot be placed, as writePlan.
func writePlanJSON(w io.Writer, cluster *registry.Cluster, pv engine.Preview, names []string) (int, error) {
	o := pv.Outcome(cluster)
	out := planJSON{Units: []planUnitJSON{}}
	unplaceable := 0
	for _, n := range names {
		u := planUnitJSON{Unit: n, Machines: o.After[n], Scores: []planScoreJSON{}}
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
			sj := planScoreJSON{Machine: s.Machine, Load: s.Load}
			if s.Rejected.Accepted() {
				total := s.Total
				sj.Total = &total
				for _, p := range s.Parts {
					sj.Parts = append(sj.Parts, partJSON{Scorer: p.Scorer, Value: p.Value})
				}
			} else {
				sj.Rejected = &refusalJSON{Code: s.Rejected.Code, Args: s.Rejected.Args}
				sj.RejectedText = s.Rejected.String()
			}
			u.Scores = append(u.Scores, sj)
		}
		out.Units = append(out.Units, u)
	}
	out.Moves = []planMoveJSON{}
	for _, m := range o.Moves(names) {
		out.Moves = append(out.Moves, planMoveJSON(m))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return unplaceable, enc.Encode(out)
}
