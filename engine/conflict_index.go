package engine

import (
	"path"
	"slices"
	"strings"
)

// conflictIndex numbers every Conflicts= and Replaces= glob of a run's
// units (the globs that name units: classes.go tells units apart by
// them), and finds
// the globs a unit name matches without trying them all: globs are kept
// by their literal prefix (the part before the first wildcard), and a
// name is looked up under each prefix length the run's globs have, a few
// lookups for hundreds of templates. Machines count, per glob, the units
// they hold that it matches and the units whose Conflicts= has it
// (machineState.matches, .held), so the Conflicts check on a machine
// where nothing can conflict is a few lookups, not a scan of its units
// with path.Match (issue 11's profile, at 150,000 units).
type conflictIndex struct {
	id       map[string]int         // glob -> its number
	globs    []string               // number -> glob
	byPrefix map[string][]int       // literal prefix -> globs with it
	lengths  []int                  // the literal prefixes' lengths, ascending
	units    map[*Unit]*conflictIDs // per unit, worked out on first use
}

// conflictIDs is one unit's globs: those its name matches, those of its
// Conflicts=.
type conflictIDs struct{ matching, own []int }

func newConflictIndex(units []Unit) *conflictIndex {
	x := &conflictIndex{id: map[string]int{}, byPrefix: map[string][]int{}, units: map[*Unit]*conflictIDs{}}
	for i := range units {
		u := &units[i]
		for _, g := range slices.Concat(u.Req.Conflicts, u.Req.Replaces) {
			if _, ok := x.id[g]; ok {
				continue
			}
			n := len(x.globs)
			x.id[g] = n
			x.globs = append(x.globs, g)
			p := g[:literalPrefix(g)]
			x.byPrefix[p] = append(x.byPrefix[p], n)
			if !slices.Contains(x.lengths, len(p)) {
				x.lengths = append(x.lengths, len(p))
			}
		}
	}
	slices.Sort(x.lengths)
	return x
}

// of is u's globs, keyed by the unit's address: a pointer hashes faster
// than a name, on the path every placement and check takes.
func (x *conflictIndex) of(u *Unit) *conflictIDs {
	if ids, ok := x.units[u]; ok {
		return ids
	}
	ids := &conflictIDs{matching: x.matching(u.Name)}
	slices.Sort(ids.matching) // in a class's key, units it tells apart by no glob read alike
	for _, g := range u.Req.Conflicts {
		ids.own = append(ids.own, x.id[g])
	}
	x.units[u] = ids
	return ids
}

// matching is the globs name matches.
func (x *conflictIndex) matching(name string) []int {
	var ids []int
	for _, l := range x.lengths {
		if l > len(name) {
			break
		}
		for _, n := range x.byPrefix[name[:l]] {
			if ok, _ := path.Match(x.globs[n], name); ok {
				ids = append(ids, n)
			}
		}
	}
	return ids
}

// counted adds d to m's counts for u.
func (x *conflictIndex) counted(m *machineState, u *Unit, d int) {
	ids := x.of(u)
	for _, n := range ids.matching {
		if m.matches == nil {
			m.matches = map[int]int{}
		}
		m.matches[n] += d
	}
	for _, n := range ids.own {
		if m.held == nil {
			m.held = map[int]int{}
		}
		m.held[n] += d
	}
}

// mayConflict says whether some unit on m might conflict with u, either
// way: one that a glob of u's matches, or one whose glob matches u. No
// means none does; yes (u itself, or a unit u evicts, may be the one
// counted) is for the exact check to decide.
func (x *conflictIndex) mayConflict(u *Unit, m *machineState) bool {
	ids := x.of(u)
	for _, n := range ids.own {
		if m.matches[n] > 0 {
			return true
		}
	}
	for _, n := range ids.matching {
		if m.held[n] > 0 {
			return true
		}
	}
	return false
}

// literalPrefix is the length of g's part before any wildcard or escape.
func literalPrefix(g string) int {
	if i := strings.IndexAny(g, `*?[\`); i >= 0 {
		return i
	}
	return len(g)
}
