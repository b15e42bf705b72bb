package ctl

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flota-dev/flota/reason"
)

// victimRules are the victim rules in the order they apply.
func victimRules() []victimRule {
	return []victimRule{ruleUnplaced, ruleFailed, ruleNotes, ruleBusiest, ruleNumber}
}

func notes(n int) []reason.Note {
	out := make([]reason.Note, n)
	for i := range out {
		out[i] = reason.Note{Code: reason.SoftConflictsShared, Args: []string{fmt.Sprintf("web@%d.service", 90+i)}}
	}
	return out
}

// placed is an instance placed on m, which runs load units.
func placed(name string, number int, m string, load int) instance {
	return instance{Name: name, Number: number, Placed: true, Machine: m, Load: load}
}

// TestVictimOrder: one table per rule. In each, the instances tie on every
// rule before it, and the later rules would pick the others: the rule
// named decides all the same.
func TestVictimOrder(t *testing.T) {
	failed := func(in instance) instance { in.Failed, in.Failure = true, in.Machine; return in }
	noted := func(in instance, n int) instance { in.Notes = notes(n); return in }
	tests := []struct {
		name string
		all  []instance
		keep int
		want []string // the victims, first to last
		rule []victimRule
	}{
		{"unplaced first, though the placed are failed, noted, busy and numbered higher",
			[]instance{
				failed(noted(placed("web@9.service", 9, "m1", 9), 3)),
				{Name: "web@1.service", Number: 1},
				placed("web@5.service", 5, "m2", 1),
			}, 2, []string{"web@1.service"}, []victimRule{ruleUnplaced}},
		{"failed next, though the others have more notes and busier machines",
			[]instance{
				noted(placed("web@7.service", 7, "m1", 8), 4),
				failed(placed("web@2.service", 2, "m2", 1)),
				failed(placed("web@3.service", 3, "m3", 1)),
			}, 1, []string{"web@3.service", "web@2.service"}, []victimRule{ruleFailed, ruleFailed}},
		{"then the most notes, though the other is on a busier machine and numbered higher",
			[]instance{
				noted(placed("web@9.service", 9, "m1", 7), 1),
				noted(placed("web@1.service", 1, "m2", 2), 2),
			}, 1, []string{"web@1.service"}, []victimRule{ruleNotes}},
		{"then the busiest machine, though the other is numbered higher",
			[]instance{
				placed("web@1.service", 1, "m1", 3),
				placed("web@2.service", 2, "m1", 3),
				placed("web@8.service", 8, "m2", 1),
			}, 1, []string{"web@2.service", "web@1.service"}, []victimRule{ruleBusiest, ruleBusiest}},
		{"then the highest number",
			[]instance{
				placed("web@2.service", 2, "m1", 2),
				placed("web@10.service", 10, "m2", 2),
				placed("web@9.service", 9, "m3", 2),
			}, 1, []string{"web@10.service", "web@9.service"}, []victimRule{ruleNumber, ruleNumber}},
		{"names that are not numbers go before numbers, the last name first",
			[]instance{
				placed("web@99.service", 99, "m1", 1),
				placed("web@bar.service", 0, "m2", 1),
				placed("web@foo.service", 0, "m3", 1),
				placed("web@01.service", 0, "m4", 1),
			}, 1, []string{"web@foo.service", "web@bar.service", "web@01.service"}, []victimRule{ruleNumber, ruleNumber, ruleNumber}},
		{"the rule is the one against the first kept, not the next victim",
			[]instance{
				{Name: "web@4.service", Number: 4},
				{Name: "web@3.service", Number: 3},
				placed("web@1.service", 1, "m1", 1),
			}, 1, []string{"web@4.service", "web@3.service"}, []victimRule{ruleUnplaced, ruleUnplaced}},
		{"scaled to 0: all go, in order",
			[]instance{placed("web@1.service", 1, "m1", 1), {Name: "web@2.service", Number: 2}},
			0, []string{"web@2.service", "web@1.service"}, []victimRule{ruleAll, ruleAll}},
		{"nothing to destroy", []instance{placed("web@1.service", 1, "m1", 1)}, 1, nil, nil},
		{"keeping more than there are destroys nothing", []instance{placed("web@1.service", 1, "m1", 1)}, 5, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, kept := rankVictims(tt.all, tt.keep)
			var got []string
			var rules []victimRule
			for _, v := range vs {
				got = append(got, v.Name)
				rules = append(rules, v.Rule)
			}
			if !slices.Equal(got, tt.want) || !slices.Equal(rules, tt.rule) {
				t.Errorf("victims %v by %v, want %v by %v", got, rules, tt.want, tt.rule)
			}
			if len(vs)+len(kept) != len(tt.all) {
				t.Errorf("%d victims and %d kept of %d", len(vs), len(kept), len(tt.all))
			}
		})
	}
}

// TestInstanceNumber: what scale counts as a number.
func TestInstanceNumber(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "42": 42, "0": 0, "01": 0, "-1": 0, "+1": 0, "foo": 0, "1a": 0, "": 0, "99999999999999999999": 0} {
		t.Run(in, func(t *testing.T) {
			if got := instanceNumber(in); got != want {
				t.Errorf("instanceNumber(%q) = %d, want %d", in, got, want)
			}
		})
	}
}

// randomInstances makes n instances with distinct names and facts drawn
// from small ranges, so that ties on every rule but the last are common.
func randomInstances(r *rand.Rand, n int) []instance {
	out := make([]instance, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		in := instance{Number: r.IntN(12)}
		in.Name = fmt.Sprintf("web@%d.service", in.Number)
		if in.Number == 0 {
			in.Name = fmt.Sprintf("web@x%d.service", r.IntN(12))
		}
		if seen[in.Name] {
			continue
		}
		seen[in.Name] = true
		randomFacts(r, &in, 0)
		out = append(out, in)
	}
	return out
}

// randomFacts draws the facts of the rules from the from-th on.
func randomFacts(r *rand.Rand, in *instance, from int) {
	for i, rule := range victimRules() {
		if i < from {
			continue
		}
		switch rule {
		case ruleUnplaced:
			in.Placed = r.IntN(3) > 0
		case ruleFailed:
			in.Failed = r.IntN(3) == 0
		case ruleNotes:
			in.Notes = notes(r.IntN(3))
		case ruleBusiest:
			in.Load = r.IntN(4)
		}
	}
}

func ruleIndex(rule victimRule) int { return slices.Index(victimRules(), rule) }

// TestVictimOrderProperties: on random instances the order is total (no two
// distinct instances tie; versus is antisymmetric, the sort agrees with
// every pair, hence transitive) and deterministic (any order of the input
// gives the same victims and rules); each rule dominates the ones after it
// (redrawing the facts of every later rule never changes which of two goes
// first); and each victim's rule is the first on which it goes before the
// first instance kept.
func TestVictimOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		all := randomInstances(r, 1+r.IntN(10))
		keep := r.IntN(len(all) + 1)
		vs, kept := rankVictims(all, keep)
		order := slices.Concat(victimNames(vs), instanceNames(kept))
		for i := range all {
			for j := range all {
				rule, c := versus(all[i], all[j])
				_, back := versus(all[j], all[i])
				switch {
				case i == j && c != 0:
					t.Fatalf("round %d: %s versus itself: %d", round, all[i].Name, c)
				case i != j && (c == 0 || c != -back):
					t.Fatalf("round %d: %s versus %s: %d, back %d", round, all[i].Name, all[j].Name, c, back)
				case i != j:
					// Dominance: the later rules' facts, redrawn, change nothing.
					a, b := all[i], all[j]
					for range 5 {
						randomFacts(r, &a, ruleIndex(rule)+1)
						randomFacts(r, &b, ruleIndex(rule)+1)
						if rule2, c2 := versus(a, b); rule2 != rule || c2 != c {
							t.Fatalf("round %d: %s versus %s decided by %s (%d); with later facts redrawn by %s (%d)", round, a.Name, b.Name, rule, c, rule2, c2)
						}
					}
				}
			}
		}
		pos := map[string]int{}
		for i, n := range order {
			pos[n] = i
		}
		for _, a := range all {
			for _, b := range all {
				if _, c := versus(a, b); c < 0 && pos[a.Name] > pos[b.Name] {
					t.Fatalf("round %d: %s goes before %s but is ranked after it: %v", round, a.Name, b.Name, order)
				}
			}
		}
		for range 3 {
			shuffled := slices.Clone(all)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			vs2, kept2 := rankVictims(shuffled, keep)
			if !slices.EqualFunc(vs, vs2, func(x, y victim) bool { return x.Name == y.Name && x.Rule == y.Rule }) ||
				!slices.Equal(instanceNames(kept), instanceNames(kept2)) {
				t.Fatalf("round %d: the input's order changed the answer: %v / %v", round, vs, vs2)
			}
		}
		if len(vs) != len(all)-keep {
			t.Fatalf("round %d: %d victims of %d keeping %d", round, len(vs), len(all), keep)
		}
		for _, v := range vs {
			want := ruleAll
			if keep > 0 {
				want, _ = versus(v.instance, kept[0])
			}
			if v.Rule != want {
				t.Fatalf("round %d: %s by %s, want %s", round, v.Name, v.Rule, want)
			}
		}
	}
}

func instanceNames(ins []instance) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Name
	}
	return out
}
