package engine

import (
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// skewChecker enforces the MaxSkew= rules that wait: u joins the value v of
// the rule's key only while its group's units on v, u included, are at
// most Max more than on the emptiest value u could use. A machine without
// the key takes none (Kubernetes filters nodes that lack a constraint's
// topology key the same way). It is a placing rule (stack.placing): a
// placed unit is not moved for it.
type skewChecker struct{ skews *skews }

func (c skewChecker) feasible(u *Unit, m *machineState) bool {
	return len(u.Req.MaxSkew) == 0 || c.check(u, m).Accepted()
}

func (c skewChecker) check(u *Unit, m *machineState) reason.Refusal {
	for _, sk := range u.Req.MaxSkew {
		if sk.Anyway {
			continue // a scorer's (rank.go)
		}
		n, ok := c.skews.of(u, sk, m)
		if !ok {
			return reason.Refuse(reason.MaxSkewNoKey, sk.String(), sk.Key)
		}
		if n > sk.Max {
			return reason.Refuse(reason.MaxSkew, sk.String())
		}
	}
	return reason.Refusal{}
}

// skews works out a MaxSkew= skew: what placing a unit on a machine would
// make of it. The emptiest value is kept per unit and key until a move
// changes the counts, so a unit's search over the machines looks it up once.
type skews struct {
	counts   *groupCounts
	machines []*machineState           // the registered machines
	values   func(key string) []string // every value of a key among them
	domains  map[string][]string       // static rules + key -> the values they allow
	least    map[leastKey]leastAt
}

type leastKey struct{ unit, key string }

type leastAt struct{ version, n int }

func newSkews(counts *groupCounts, machines []*machineState, values func(string) []string) *skews {
	return &skews{counts: counts, machines: machines, values: values, domains: map[string][]string{}, least: map[leastKey]leastAt{}}
}

// of is the skew u would make on m for rule sk, or ok false when m lacks
// the key.
func (k *skews) of(u *Unit, sk unit.Skew, m *machineState) (n int, ok bool) {
	v, ok := m.Metadata[sk.Key]
	if !ok {
		return 0, false
	}
	g := k.counts.groupOf(u)
	return k.counts.get(g, sk.Key, v) + 1 - k.emptiest(u, sk.Key, g), true
}

// emptiest is the fewest units of group g on a value of key that u's own
// machine rules (MachineID=, MachineMetadata=) allow: the skew is measured
// over the topology the unit may use, as Kubernetes measures it over the
// nodes that match a pod's node affinity.
func (k *skews) emptiest(u *Unit, key, g string) int {
	lk := leastKey{u.Name, key}
	if at, ok := k.least[lk]; ok && at.version == k.counts.version {
		return at.n
	}
	least := -1
	for _, v := range k.domain(u, key) {
		if c := k.counts.get(g, key, v); least < 0 || c < least {
			least = c
		}
	}
	least = max(least, 0)
	k.least[lk] = leastAt{k.counts.version, least}
	return least
}

// domain lists the values of key on the machines u's own machine rules
// allow, shared by units whose rules are the same.
func (k *skews) domain(u *Unit, key string) []string {
	if u.Req.MachineID == "" && len(u.Req.MachineMetadata) == 0 && len(u.Req.MetadataExprs) == 0 {
		return k.values(key)
	}
	sig := u.Req.MachineID + "\x00" + describeMetadata(u.Req.MachineMetadata, u.Req.MetadataExprs) + "\x00" + key
	if vs, ok := k.domains[sig]; ok {
		return vs
	}
	seen := map[string]bool{}
	var vs []string
	for _, m := range k.machines {
		v, ok := m.Metadata[key]
		if !ok || seen[v] || !(machineIDChecker{}).feasible(u, m) || !(metadataChecker{}).feasible(u, m) {
			continue
		}
		seen[v] = true
		vs = append(vs, v)
	}
	k.domains[sig] = vs
	return vs
}

// retrySkewed tries again the units that wait on a MaxSkew= rule and found
// no machine while their group was still being placed: unlike every other
// rule, a placement can make a machine feasible for them (a unit on the
// emptiest value lifts it, and so allows one more everywhere else), so
// the next run, with the whole group kept, would place them. It tries
// until a round places nothing; those still unplaced keep their place
// among the units passed over.
func (s *scheduler) retrySkewed() {
	for {
		var again []*Unit
		for _, u := range s.passed {
			if waitsOnSkew(u) && s.at[u.Name] == nil {
				again = append(again, u)
			}
		}
		if len(again) == 0 {
			return
		}
		before, saved := s.epoch, s.passed
		s.passed, s.pending = nil, again
		s.placePending()
		retried := map[*Unit]bool{}
		for _, u := range again {
			retried[u] = true
		}
		var kept []*Unit
		for _, u := range saved {
			if !retried[u] || s.at[u.Name] == nil {
				kept = append(kept, u)
			}
		}
		for _, u := range s.passed { // what a placement evicted and nothing took
			if !retried[u] {
				kept = append(kept, u)
			}
		}
		s.passed = kept
		if s.epoch == before {
			return
		}
	}
}

// waitsOnSkew says whether u has a MaxSkew= rule that waits, the kind a
// placement of its group can lift.
func waitsOnSkew(u *Unit) bool {
	for _, sk := range u.Req.MaxSkew {
		if !sk.Anyway {
			return true
		}
	}
	return false
}
