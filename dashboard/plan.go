package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
)

// PlanView is a dry run of one unit of the cluster, as flotactl plan
// shows it: where it would go or why not, each machine's score, and the
// other units the run would move.
type PlanView struct {
	Unit     string
	Revision int64
	Outcome  string   // "placed", "stays", "unplaceable" or "unknown"
	Machines []string // where it would be, as legends
	Reason   string
	Notes    []string
	Parts    []string // the scorers' names, the score table's columns
	Scores   []ScoreRow
	Moves    []string
}

// ScoreRow is one machine's score for the unit, or why it was rejected.
type ScoreRow struct {
	Machine, Legend, Total, Rejected string
	Load                             int
	Parts                            []string
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("unit")
	if name == "" {
		http.Error(w, "plan: want ?unit=NAME", http.StatusBadRequest)
		return
	}
	c, err := s.store.LoadCluster(r.Context(), s.log)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, "plan", Plan(c, engine.PreviewInput(c, s.clock.Now()), name))
}

// Plan runs in as if unit name were started and tells what follows; c is
// the cluster in was read from.
func Plan(c *registry.Cluster, in engine.Input, name string) PlanView {
	v := PlanView{Unit: name, Revision: c.Revision, Outcome: "unknown"}
	i := slices.IndexFunc(in.Units, func(u engine.Unit) bool { return u.Name == name })
	if i < 0 {
		return v
	}
	in.Units[i].Desired = registry.StateLaunched
	pv := engine.SchedulePreview(in, []string{name})
	o := pv.Outcome(c)
	legend := func(id string) string {
		if m, ok := c.Machines[id]; ok && m.IP != "" {
			return short(id) + "/" + m.IP
		}
		return short(id)
	}
	switch {
	case len(o.After[name]) == 0:
		v.Outcome, v.Reason = "unplaceable", o.Reason(name).String()
	case o.Stays(name):
		v.Outcome = "stays"
	default:
		v.Outcome = "placed"
	}
	for _, m := range slices.Sorted(slices.Values(o.After[name])) {
		v.Machines = append(v.Machines, legend(m))
	}
	for _, n := range o.Notes[name] {
		v.Notes = append(v.Notes, n.String())
	}
	scores := pv.Scores[name]
	if i := slices.IndexFunc(scores, func(s engine.Score) bool { return s.Rejected.Accepted() }); i >= 0 {
		for _, p := range scores[i].Parts {
			v.Parts = append(v.Parts, p.Scorer)
		}
	}
	for _, sc := range scores {
		row := ScoreRow{Machine: sc.Machine, Legend: legend(sc.Machine), Total: "-", Load: sc.Load}
		if sc.Rejected.Accepted() {
			row.Total = number(sc.Total)
			for _, p := range sc.Parts {
				row.Parts = append(row.Parts, number(p.Value))
			}
		} else {
			row.Rejected = sc.Rejected.String()
			for range v.Parts {
				row.Parts = append(row.Parts, "-")
			}
		}
		v.Scores = append(v.Scores, row)
	}
	for _, m := range o.Moves([]string{name}) {
		from := strings.Join(mapped(m.From, legend), ",")
		if len(m.To) == 0 {
			v.Moves = append(v.Moves, m.Unit+" would leave "+from)
		} else {
			v.Moves = append(v.Moves, m.Unit+" would move from "+from+" to "+strings.Join(mapped(m.To, legend), ","))
		}
	}
	return v
}

func number(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func mapped(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
