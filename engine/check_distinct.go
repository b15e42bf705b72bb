package engine

import (
	"cmp"
	"slices"
	"strings"

	"github.com/flota-dev/flota/unit"
)

// distinctChecker enforces DistinctBy=: a unit joins a machine only while
// fewer than Max units of its group sit on machines sharing the machine's
// value of Key. A machine without Key takes none (Nomad filters nodes that
// lack a distinct_property's attribute the same way).
//
// The rule is the group's, like Conflicts= is symmetric: it holds for every
// unit of the group, also one that does not declare it, and when members
// declare different counts for one key the smallest holds. Otherwise the
// order units are placed in would decide what is allowed, and a second
// pass would undo the first.
type distinctChecker struct{ counts *groupCounts }

func (c distinctChecker) feasible(u *Unit, m *machineState) bool {
	return len(c.counts.strict) == 0 || c.check(u, m) == ""
}

func (c distinctChecker) check(u *Unit, m *machineState) string {
	for _, k := range c.counts.keys {
		r := c.counts.strict[k]
		if !unit.InGroup(k.group, u.Name) {
			continue
		}
		d := unit.Distinct{Key: k.key, Max: r}
		v, ok := m.Metadata[k.key]
		if !ok {
			return `DistinctBy "` + d.String() + `" (no ` + d.Key + `)`
		}
		if c.counts.get(k.group, k.key, v) >= r {
			return `DistinctBy "` + d.String() + `"`
		}
	}
	return ""
}

// groupCounts counts, during one run, the units of each group that a
// DistinctBy= or SpreadBy= rule names per value of its key, kept current as
// units are added and removed: a check is a lookup, not a scan of the
// cluster.
type groupCounts struct {
	strict  map[groupKey]int            // DistinctBy=: (group glob, key) -> the smallest Max declared
	keys    []groupKey                  // strict's keys, sorted: the first rejection reported is stable
	tracked map[groupKey]bool           // every (group glob, key) counted, strict or spread
	n       map[groupKey]map[string]int // -> value -> units of the group on machines with it
}

type groupKey struct{ group, key string }

func newGroupCounts(units []*Unit) *groupCounts {
	g := &groupCounts{strict: map[groupKey]int{}, tracked: map[groupKey]bool{}, n: map[groupKey]map[string]int{}}
	for _, u := range units {
		group := u.Req.GroupOf(u.Name)
		for _, d := range u.Req.DistinctBy {
			k := groupKey{group, d.Key}
			if have, ok := g.strict[k]; !ok || d.Max < have {
				g.strict[k] = d.Max
			}
			g.tracked[k] = true
		}
		for _, sp := range u.Req.SpreadBy {
			g.tracked[groupKey{group, sp.Key}] = true
		}
	}
	for k := range g.strict {
		g.keys = append(g.keys, k)
	}
	slices.SortFunc(g.keys, func(a, b groupKey) int {
		return cmp.Or(strings.Compare(a.group, b.group), strings.Compare(a.key, b.key))
	})
	return g
}

func (g *groupCounts) get(group, key, value string) int { return g.n[groupKey{group, key}][value] }

// moved records u joining (by +1) or leaving (by -1) machine m.
func (g *groupCounts) moved(u *Unit, m *machineState, by int) {
	for k := range g.tracked {
		v, ok := m.Metadata[k.key]
		if !ok || !unit.InGroup(k.group, u.Name) {
			continue
		}
		if g.n[k] == nil {
			g.n[k] = map[string]int{}
		}
		g.n[k][v] += by
	}
}
