package engine

import (
	"math"
	"slices"

	"github.com/flota-dev/flota/reason"
)

// noteSoftRules notes, for each placed unit with soft rules, those its
// machine does not honour, by the machines as the run leaves them. A unit
// held on a gone machine keeps the notes it had: nothing is known anew of
// it. A note holds the rule and what stands in its way, never counts that
// move with each placement of the group, so a group's notes are rewritten
// only when a unit starts or stops honouring a rule.
//
// A narrowed run (incremental.go) notes again only the units it affected;
// the others keep the notes the runs before it left.
func (s *scheduler) noteSoftRules() {
	if s.narrow() {
		for _, u := range s.affected() {
			delete(s.notes, u.Name)
			s.noteUnit(u)
		}
		return
	}
	s.notes = map[string][]reason.Note{}
	for _, u := range s.ordered {
		s.noteUnit(u)
	}
}

// noteUnit notes u's soft rules its machine does not honour.
func (s *scheduler) noteUnit(u *Unit) {
	if n, ok := s.stuck[u.Name]; ok {
		s.notes[u.Name] = append(s.notes[u.Name], n)
	}
	if u.Req.Global || !(u.Req.HasSoftRules() || len(u.Req.MaxSkew) > 0) {
		return
	}
	m := s.at[u.Name]
	switch {
	case m == nil:
	case m.gone:
		if ns := s.in.Notes[u.Name]; len(ns) > 0 {
			s.notes[u.Name] = ns
		}
	default:
		if ns := s.notesOn(u, m); len(ns) > 0 {
			s.notes[u.Name] = append(ns, s.notes[u.Name]...)
		}
	}
}

// notesOn lists the soft rules of u that m, where u is placed, does not
// honour:
//   - SoftConflicts=: m runs units that u's globs match, or whose globs
//     match u;
//   - SpreadBy=: u's value of the key holds more of the group than its
//     share, rounded up: an even share of the values u's own machine rules
//     allow, or its SpreadTarget= share (so 3 units on 2 racks, 2 and 1,
//     honour it: no spread does better);
//   - PreferMachineMetadata=: m fails an expression of positive weight, or
//     satisfies one of negative weight;
//   - MaxSkew= that places anyway: u's value is more than the skew above
//     the emptiest value.
func (s *scheduler) notesOn(u *Unit, m *machineState) []reason.Note {
	var out []reason.Note
	var with []string
	for _, v := range m.units {
		if v.Name != u.Name && (matching(u.Req.SoftConflicts, v.Name) != "" || matching(v.Req.SoftConflicts, u.Name) != "") {
			with = append(with, v.Name)
		}
	}
	if len(with) > 0 {
		slices.Sort(with)
		out = append(out, reason.Note{Code: reason.SoftConflictsShared, Args: with})
	}
	g := s.counts.groupOf(u)
	for _, sp := range u.Req.SpreadBy {
		v, ok := m.Metadata[sp.Key]
		if !ok {
			out = append(out, reason.Note{Code: reason.SpreadUneven, Args: []string{sp.Key}})
			continue
		}
		if s.counts.get(g, sp.Key, v) > s.fairShare(u, g, sp.Key, v) {
			out = append(out, reason.Note{Code: reason.SpreadUneven, Args: []string{sp.Key, v}})
		}
	}
	for _, p := range u.Req.Prefer {
		switch met := p.Expr.Matches(m.Metadata); {
		case p.Weight > 0 && !met:
			out = append(out, reason.Note{Code: reason.PreferUnmet, Args: []string{p.Expr.String()}})
		case p.Weight < 0 && met:
			out = append(out, reason.Note{Code: reason.AvoidMatched, Args: []string{p.Expr.String()}})
		}
	}
	for _, sk := range u.Req.MaxSkew {
		if !sk.Anyway {
			continue
		}
		v, ok := m.Metadata[sk.Key]
		if !ok || s.counts.get(g, sk.Key, v)-s.skews.emptiest(u, sk.Key, g) > sk.Max {
			out = append(out, reason.Note{Code: reason.SkewExceeded, Args: []string{sk.String(), sk.Key + "=" + v}})
		}
	}
	return out
}

// fairShare is how many units of group g the value v of key may hold and
// still honour u's spread: its share of the group's units on the values
// u's machine rules allow, rounded up.
func (s *scheduler) fairShare(u *Unit, g, key, v string) int {
	domain := s.skews.domain(u, key)
	total := 0
	for _, x := range domain {
		total += s.counts.get(g, key, x)
	}
	share, ok := u.Req.Share(key, v, s.valuesOf(key))
	if !ok {
		share = 1 / float64(max(len(domain), 1))
	}
	return int(math.Ceil(share*float64(total) - 1e-9))
}
