package ctl

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/reason"
)

// victimRule is one step of the order in which scale picks the instances
// it destroys. The order is Kubernetes' ReplicaSet ranking
// (controller.ActivePodsWithRanks: unassigned first, then not running,
// then doubled up), in flota's facts:
//  1. unplaced (placed on no machine) before placed;
//  2. failed (systemd failed it on its machine) before not;
//  3. more notes (soft rules its machine does not honour) before fewer;
//  4. on a busier machine (more units placed there) before a less busy one;
//  5. an instance that is not a number (web@foo), by name from the last,
//     before numbered ones, and among these the highest number first.
//
// Each rule decides only between instances that every rule before it ties,
// and the last one ties no two instances: the order is total.
type victimRule string

const (
	ruleUnplaced victimRule = "unplaced"
	ruleFailed   victimRule = "failed"
	ruleNotes    victimRule = "notes"
	ruleBusiest  victimRule = "busiest"
	ruleNumber   victimRule = "number"
	// ruleAll: scaled to 0, every instance goes and no rule has to choose.
	ruleAll victimRule = "all"
)

// instance is an instance of a template with the facts the victim rules
// read.
type instance struct {
	Name    string
	Placed  bool
	Failed  bool          // systemd failed it on a machine it is placed on
	Failure string        // that machine
	Notes   []reason.Note // the soft rules its machine does not honour
	Machine string        // its busiest machine, when placed
	Load    int           // the units placed on Machine (the instance included)
	Number  int           // its instance as a number, 0 when it is not one (web@foo, web@0, web@01)
}

// victim is an instance scale destroys, and the rule that chose it: the
// first rule on which it goes before the first instance kept.
type victim struct {
	instance
	Rule victimRule
}

// versus compares two instances in the victim order: the first rule on which
// they differ, and whether a goes before b (-1) or after (1). Two instances
// with the same name compare 0 under ruleNumber.
func versus(a, b instance) (victimRule, int) {
	switch {
	case a.Placed != b.Placed:
		return ruleUnplaced, boolFirst(!a.Placed)
	case a.Failed != b.Failed:
		return ruleFailed, boolFirst(a.Failed)
	case len(a.Notes) != len(b.Notes):
		return ruleNotes, cmp.Compare(len(b.Notes), len(a.Notes))
	case a.Load != b.Load:
		return ruleBusiest, cmp.Compare(b.Load, a.Load)
	}
	switch {
	case (a.Number == 0) != (b.Number == 0):
		return ruleNumber, boolFirst(a.Number == 0)
	case a.Number != b.Number:
		return ruleNumber, cmp.Compare(b.Number, a.Number)
	}
	return ruleNumber, strings.Compare(b.Name, a.Name)
}

func boolFirst(first bool) int {
	if first {
		return -1
	}
	return 1
}

// rankVictims orders the instances from the first to go to the last, and
// returns the first len(all)-keep of them as victims, each with the rule
// that chose it over the instances kept, and the instances kept, in the
// same order. It is pure: the same instances, in any order, give the same
// answer.
func rankVictims(all []instance, keep int) ([]victim, []instance) {
	ordered := slices.Clone(all)
	slices.SortFunc(ordered, func(a, b instance) int { _, c := versus(a, b); return c })
	keep = min(max(keep, 0), len(ordered))
	cut := len(ordered) - keep
	victims := make([]victim, cut)
	for i, in := range ordered[:cut] {
		rule := ruleAll
		if keep > 0 {
			rule, _ = versus(in, ordered[cut])
		}
		victims[i] = victim{instance: in, Rule: rule}
	}
	return victims, ordered[cut:]
}

// instanceNumber reads an instance as scale numbers them: a decimal number
// from 1, written as strconv writes it; 0 for anything else.
func instanceNumber(inst string) int {
	n, err := strconv.Atoi(inst)
	if err != nil || n < 1 || strconv.Itoa(n) != inst {
		return 0
	}
	return n
}

// why words the fact behind a victim's rule, legend naming machines.
func (v victim) why(legend func(string) string) string {
	switch v.Rule {
	case ruleUnplaced:
		return "placed on no machine"
	case ruleFailed:
		return "failed on " + legend(v.Failure)
	case ruleNotes:
		return strconv.Itoa(len(v.Notes)) + " " + plural(len(v.Notes), "note") + ": " + reason.Notes(v.Notes)
	case ruleBusiest:
		return "its machine " + legend(v.Machine) + " runs " + strconv.Itoa(v.Load) + " " + plural(v.Load, "unit")
	case ruleNumber:
		if v.Number == 0 {
			return "its instance is not a number"
		}
		return "instance number " + strconv.Itoa(v.Number)
	case ruleAll:
		return "scaled to 0"
	}
	return string(v.Rule)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
