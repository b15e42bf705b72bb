package engine

import (
	"sort"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// Score is how one machine fared for a unit in a run: the reason it was
// rejected, or each scorer's value and their total.
type Score struct {
	Machine  string
	Rejected reason.Refusal // why it is not feasible; zero when it is
	Load     int            // units on it when the unit was decided, the tie-break
	Parts    []Part         // each scorer's value, in the ranking's order
	Total    float64
}

// Part is one scorer's value.
type Part struct {
	Scorer string
	Value  float64
}

// Preview is a run of Schedule that also keeps, for the units asked about,
// the score of every machine when each was decided: flotactl plan's table.
type Preview struct {
	Plan
	Scores map[string][]Score // unit -> machines, best first (rejected last)
	// Reasons is why each unit the run leaves unplaced is, counted: the
	// Plan carries a reason only where its meaning changed.
	Reasons map[string]reason.Unplaced
}

// SchedulePreview is Schedule, keeping the scores of units: the same
// decisions, and nothing is written.
func SchedulePreview(in Input, units []string) Preview {
	s := newScheduler(in)
	s.explainFor = map[string]bool{}
	for _, u := range units {
		s.explainFor[u] = true
	}
	s.scores = map[string][]Score{}
	plan := s.run()
	return Preview{Plan: plan, Scores: s.scores, Reasons: s.reasons}
}

// Reasons is why each unit of the cluster in is not placed, with the
// machines each rule filtered counted as a run would leave them: the
// counts a stored record does not keep (reason.Unplaced.Uncounted), for
// flotactl to show.
func Reasons(in Input) map[string]reason.Unplaced {
	return SchedulePreview(in, nil).Reasons
}

// InputOf builds Schedule's Input from a cluster as the Engine sees it.
func InputOf(c *registry.Cluster) Input { return newInputs().build(c) }

// noteScores records every machine's score for u, when u is asked about.
func (s *scheduler) noteScores(u *Unit) {
	if !s.explainFor[u.Name] {
		return
	}
	var out []Score
	for _, m := range s.order {
		sc := Score{Machine: m.ID, Load: m.load(), Rejected: s.stack.reject(u, m)}
		if sc.Rejected.Accepted() {
			for _, r := range s.ranking {
				if !r.applies(u) {
					continue
				}
				v := r.score(u, m)
				sc.Parts = append(sc.Parts, Part{r.name(), v})
				sc.Total += v
			}
		}
		out = append(out, sc)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Rejected.Accepted() != b.Rejected.Accepted() {
			return a.Rejected.Accepted()
		}
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		if a.Load != b.Load {
			return a.Load < b.Load
		}
		return a.Machine < b.Machine
	})
	s.scores[u.Name] = out
}
