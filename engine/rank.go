package engine

import (
	"maps"
	"math"
	"slices"
)

// The ranking stage, after the feasibility stack: among the machines a unit
// may go to, each scorer gives a score (higher is better) and the best
// total wins; ties go to the least loaded machine, then the lower ID, as in
// fleet. A unit without soft rules is placed exactly as fleet placed it.
type scorer interface {
	name() string
	score(u *Unit, m *machineState) float64
}

// ranking wires the scorers, one rule a scorer.
func newRanking(counts *groupCounts) []scorer {
	return []scorer{
		// SoftConflicts=: a machine loses a point per unit there it would
		// rather not meet.
		softConflictsScorer{},
		// SpreadBy=: for each key, the weight times the units of the group
		// already on that value, taken off.
		spreadScorer{counts: counts},
		// PreferMachineMetadata=: the weight of each expression the machine
		// satisfies.
		preferScorer{},
	}
}

// rank returns the best of the feasible machines ms for u by the scorers.
// When ms is in the load order (s.order), it stops at the first machine
// that reaches the best score any machine could have: the ones after it
// could at most tie, and a tie goes to the less loaded, lower ID one. So a
// spread costs about the machines up to the emptiest value, not all of them.
func (s *scheduler) rank(u *Unit, ms []*machineState, inOrder bool) *machineState {
	var best *machineState
	var bestScore float64
	bound := math.Inf(1)
	if inOrder {
		bound = s.bestPossible(u)
	}
	for _, m := range ms {
		if !s.stack.feasible(u, m) {
			continue
		}
		total := 0.0
		for _, sc := range s.ranking {
			total += sc.score(u, m)
		}
		if best == nil || total > bestScore || (total == bestScore && less(m, best)) {
			best, bestScore = m, total
		}
		if bestScore >= bound {
			break
		}
	}
	return best
}

// bestPossible bounds the total any machine can score for u: no soft
// conflict, every positive preference met, and each spread key's emptiest
// value. Scores are sums of whole numbers, so reaching it is exact.
func (s *scheduler) bestPossible(u *Unit) float64 {
	b := 0.0
	for _, p := range u.Req.Prefer {
		if p.Weight > 0 {
			b += float64(p.Weight)
		}
	}
	for _, sp := range u.Req.SpreadBy {
		least := -1
		for _, v := range s.valuesOf(sp.Key) {
			if n := s.counts.get(s.counts.groupOf(u), sp.Key, v); least < 0 || n < least {
				least = n
			}
		}
		if least > 0 {
			b -= float64(sp.Weight * least)
		}
	}
	return b
}

// valuesOf lists the values of a metadata key among the machines, sorted;
// worked out once a run.
func (s *scheduler) valuesOf(key string) []string {
	if vs, ok := s.values[key]; ok {
		return vs
	}
	seen := map[string]bool{}
	for _, m := range s.order {
		if v, ok := m.Metadata[key]; ok {
			seen[v] = true
		}
	}
	vs := slices.Sorted(maps.Keys(seen))
	if s.values == nil {
		s.values = map[string][]string{}
	}
	s.values[key] = vs
	return vs
}

type softConflictsScorer struct{}

func (softConflictsScorer) name() string { return "soft-conflicts" }

func (softConflictsScorer) score(u *Unit, m *machineState) float64 {
	return -float64(softConflicting(u, m))
}

// softConflicting counts the units on m that u's SoftConflicts= match, or
// whose SoftConflicts= match u (the rule is symmetric, as Conflicts=).
func softConflicting(u *Unit, m *machineState) int {
	n := 0
	for _, v := range m.units {
		if v.Name == u.Name || evicts(u, v) {
			continue
		}
		if matching(u.Req.SoftConflicts, v.Name) != "" || matching(v.Req.SoftConflicts, u.Name) != "" {
			n++
		}
	}
	return n
}

type spreadScorer struct{ counts *groupCounts }

func (spreadScorer) name() string { return "spread" }

func (s spreadScorer) score(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, sp := range u.Req.SpreadBy {
		v, ok := m.Metadata[sp.Key]
		if !ok {
			total -= float64(sp.Weight) * 1e3 // a machine off the topology comes last
			continue
		}
		total -= float64(sp.Weight * s.counts.get(s.counts.groupOf(u), sp.Key, v))
	}
	return total
}

type preferScorer struct{}

func (preferScorer) name() string { return "prefer" }

func (preferScorer) score(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, p := range u.Req.Prefer {
		if p.Expr.Matches(m.Metadata) {
			total += float64(p.Weight)
		}
	}
	return total
}
