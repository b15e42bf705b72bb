package engine

import (
	"cmp"
	"slices"
	"strings"

	"github.com/flota-dev/flota/reason"
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
	return len(c.counts.strict) == 0 || c.check(u, m).Accepted()
}

func (c distinctChecker) check(u *Unit, m *machineState) reason.Refusal {
	for _, k := range c.counts.memberOf(u).strict {
		r := c.counts.strict[k]
		d := unit.Distinct{Key: k.key, Max: r}
		v, ok := m.Metadata[k.key]
		if !ok {
			return reason.Refuse(reason.DistinctByNoKey, d.String(), d.Key)
		}
		if c.counts.get(k.group, k.key, v) >= r {
			return reason.Refuse(reason.DistinctBy, d.String())
		}
	}
	return reason.Refusal{}
}

// groupCounts counts, during one run, the units of each group that a
// DistinctBy= or SpreadBy= rule names per value of its key, kept current as
// units are added and removed: a check is a lookup, not a scan of the
// cluster.
type groupCounts struct {
	strict  map[groupKey]int            // DistinctBy=: (group glob, key) -> the smallest Max declared
	tracked map[groupKey]bool           // every (group glob, key) counted, strict or spread
	n       map[groupKey]map[string]int // -> value -> units of the group on machines with it

	// Which groups a unit belongs to, found once per unit: a default group
	// (a template's instances) is a lookup by the unit's own default glob,
	// only globs given with Group= are matched against its name.
	explicit map[string]bool       // globs given with Group=
	byGroup  map[string][]groupKey // group glob -> its tracked keys
	members  map[string]membership // unit -> its groups' keys
	groups   map[string]string     // unit -> its own group (GroupOf), worked out once

	// version counts the moves, so that what is worked out from the
	// counts (the emptiest value, for MaxSkew=) is kept until they change.
	version int
}

// groupOf is u's own group, the one its rules count.
func (g *groupCounts) groupOf(u *Unit) string {
	if grp, ok := g.groups[u.Name]; ok {
		return grp
	}
	grp := u.Req.GroupOf(u.Name)
	g.groups[u.Name] = grp
	return grp
}

// membership is the (group, key) pairs a unit counts in, sorted.
type membership struct{ strict, tracked []groupKey }

type groupKey struct{ group, key string }

func newGroupCounts(units []*Unit) *groupCounts {
	g := &groupCounts{strict: map[groupKey]int{}, tracked: map[groupKey]bool{}, n: map[groupKey]map[string]int{},
		explicit: map[string]bool{}, byGroup: map[string][]groupKey{}, members: map[string]membership{}, groups: map[string]string{}}
	for _, u := range units {
		group := u.Req.GroupOf(u.Name)
		if u.Req.Group != "" && (len(u.Req.DistinctBy) > 0 || len(u.Req.SpreadBy) > 0) {
			g.explicit[u.Req.Group] = true
		}
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
		for _, sk := range u.Req.MaxSkew {
			g.tracked[groupKey{group, sk.Key}] = true
		}
	}
	for k := range g.tracked {
		g.byGroup[k.group] = append(g.byGroup[k.group], k)
	}
	return g
}

// sortKeys orders keys so that the first rejection reported is stable.
func sortKeys(ks []groupKey) {
	slices.SortFunc(ks, func(a, b groupKey) int {
		return cmp.Or(strings.Compare(a.group, b.group), strings.Compare(a.key, b.key))
	})
}

func (g *groupCounts) get(group, key, value string) int { return g.n[groupKey{group, key}][value] }

// memberOf is the groups u counts in, worked out on first use.
func (g *groupCounts) memberOf(u *Unit) membership {
	if len(g.tracked) == 0 {
		return membership{}
	}
	if ms, ok := g.members[u.Name]; ok {
		return ms
	}
	groups := []string{unit.Requirements{}.GroupOf(u.Name)} // the default group of its name
	for glob := range g.explicit {
		if glob != groups[0] && unit.InGroup(glob, u.Name) {
			groups = append(groups, glob)
		}
	}
	var ms membership
	for _, grp := range groups {
		for _, k := range g.byGroup[grp] {
			ms.tracked = append(ms.tracked, k)
			if _, ok := g.strict[k]; ok {
				ms.strict = append(ms.strict, k)
			}
		}
	}
	sortKeys(ms.strict)
	g.members[u.Name] = ms
	return ms
}

// moved records u joining (by +1) or leaving (by -1) machine m.
func (g *groupCounts) moved(u *Unit, m *machineState, by int) {
	g.version++
	for _, k := range g.memberOf(u).tracked {
		v, ok := m.Metadata[k.key]
		if !ok {
			continue
		}
		if g.n[k] == nil {
			g.n[k] = map[string]int{}
		}
		g.n[k][v] += by
	}
}
