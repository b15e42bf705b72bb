package engine

import (
	"maps"
	"math"
	"slices"

	"github.com/flota-dev/flota/unit"
)

// The ranking stage, after the feasibility stack: among the machines a unit
// may go to, each scorer gives a score (higher is better) and the best
// total wins; ties go to the least loaded machine, then the lower ID, as in
// fleet. A unit without soft rules is placed exactly as fleet placed it.
type scorer interface {
	name() string
	// applies says whether the scorer can tell machines apart for u: only
	// those columns are shown by flotactl plan.
	applies(u *Unit) bool
	score(u *Unit, m *machineState) float64
}

// ranking wires the scorers, one rule a scorer.
func newRanking(counts *groupCounts, values func(key string) []string, skews *skews) []scorer {
	return []scorer{
		// SoftConflicts=: a machine loses a point per unit there it would
		// rather not meet.
		softConflictsScorer{},
		// SpreadBy=: for each key, the weight times how far the machine's
		// value is above its share of the group (spreadCost), taken off.
		spreadScorer{counts: counts, values: values},
		// PreferMachineMetadata=: the weight of each expression the machine
		// satisfies.
		preferScorer{},
		// MaxSkew= that places anyway: a machine that would break the skew
		// loses more than any other rule can give, per unit of excess.
		skewScorer{skews: skews},
	}
}

// offTopology is what a machine without a spread key costs, per unit of
// weight: more than any value of the key can, so it comes last.
const offTopology = 1e3

// skewPenalty is what a machine costs per unit of skew beyond a MaxSkew=
// that places anyway: more than every other rule together can make up
// (100 × weights of at most 100), so the skew holds whenever it can.
const skewPenalty = 1e6

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
	g := s.counts.groupOf(u)
	for _, sp := range u.Req.SpreadBy {
		vs := s.valuesOf(sp.Key)
		n := s.counts.n[groupKey{g, sp.Key}] // value -> units: one lookup a key, not one a value
		least, any := 0.0, false
		for _, v := range vs {
			if c := spreadCost(u, sp.Key, v, n[v], vs); !any || c < least {
				least, any = c, true
			}
		}
		b -= float64(sp.Weight) * least
	}
	return b
}

// spreadCost is how far the value v of key, holding n units of u's group,
// stands above its share once u joins it. Without SpreadTarget= for key it
// is n: the spread is even. With targets it is (n+1) over the value's share
// of the group, in units of an even share, less 1 (so an even list of
// targets costs n as well): the next unit goes where it brings the counts
// closest to the shares, the way seats are shared out in proportion to
// votes. A value whose share is nothing comes after every other.
func spreadCost(u *Unit, key, v string, n int, values []string) float64 {
	share, ok := u.Req.Share(key, v, values)
	switch {
	case !ok:
		return float64(n)
	case share == 0:
		return offTopology + float64(n)
	}
	return float64(n+1)/(share*float64(len(values))) - 1
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

// applies to every unit ranked: the rule is symmetric, so others'
// SoftConflicts= count against a unit that has none of its own.
func (softConflictsScorer) applies(u *Unit) bool { return u.Req.HasSoftRules() }

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

type spreadScorer struct {
	counts *groupCounts
	values func(key string) []string
}

func (spreadScorer) name() string { return "spread" }

func (spreadScorer) applies(u *Unit) bool { return len(u.Req.SpreadBy) > 0 }

func (s spreadScorer) score(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, sp := range u.Req.SpreadBy {
		v, ok := m.Metadata[sp.Key]
		if !ok {
			total -= float64(sp.Weight) * offTopology
			continue
		}
		total -= float64(sp.Weight) * spreadCost(u, sp.Key, v, s.counts.get(s.counts.groupOf(u), sp.Key, v), s.values(sp.Key))
	}
	return total
}

type preferScorer struct{}

func (preferScorer) name() string { return "prefer" }

func (preferScorer) applies(u *Unit) bool { return len(u.Req.Prefer) > 0 }

func (preferScorer) score(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, p := range u.Req.Prefer {
		if p.Expr.Matches(m.Metadata) {
			total += float64(p.Weight)
		}
	}
	return total
}

type skewScorer struct{ skews *skews }

func (skewScorer) name() string { return "max-skew" }

func (skewScorer) applies(u *Unit) bool {
	return slices.ContainsFunc(u.Req.MaxSkew, func(sk unit.Skew) bool { return sk.Anyway })
}

func (s skewScorer) score(u *Unit, m *machineState) float64 {
	total := 0.0
	for _, sk := range u.Req.MaxSkew {
		if !sk.Anyway {
			continue // a filter (check_skew.go)
		}
		n, ok := s.skews.of(u, sk, m)
		if !ok {
			n = sk.Max + 1 // a machine without the key is as bad as one excess
		}
		if n > sk.Max {
			total -= skewPenalty * float64(n-sk.Max)
		}
	}
	return total
}
