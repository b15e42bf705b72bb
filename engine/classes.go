package engine

import (
	"fmt"
	"strings"

	"github.com/flota-dev/flota/reason"
)

// Equivalence classes of units (Nomad's computed node class, turned
// round: a class of units, not of machines). Two units of one class get
// the same answer from every feasibility rule on every machine, so once
// one of them found no machine, the others of its class find none either
// until the run places or removes a unit somewhere, and the filters that
// explain why are the same: a run with a thousand instances of a template
// that cannot all be placed searches the machines and explains once, not a
// thousand times (issue 11 measured 1–1.8 s a pass for that).
//
// What makes two units equal to the rules: the same requirements and
// reservations, the same group (DistinctBy=, MaxSkew= count the unit's
// own), and the same answer from every glob of the run that names units
// (Conflicts= and Replaces= of any unit: another unit's Conflicts=web@1
// tells web@1 from web@2). A unit's own name matters nowhere else, as long
// as it sits on no machine in the run (a unit never conflicts with
// itself): only such units use the classes.
//
// The epoch counts changes of the run's placements (machineState add and
// remove), freed the removals from live machines; a class's explanation
// holds at the epoch it was found at only, its failure as long as nothing
// was removed: a placement only makes machines refuse more (more units to
// conflict with, less room, fuller groups). The exceptions are a MaxSkew=
// that waits, which a placement on the emptiest value lifts, and
// MachineOf=, whose leader a placement puts somewhere: their classes'
// failures hold at their epoch only. Without this, every placement of a
// pass that places thousands of units (a machine lost, at 150,000 units)
// sent each unplaceable class to search every machine again.
type classes struct {
	globs *conflictIndex    // every name glob of the run, numbered
	key   map[string]string // unit -> its class
	// failed is when a unit of the class found no machine; lastFreed the
	// freed count of the latest, so that until some class fails at the
	// present count no unit's class is worked out.
	failed    map[string]failure
	lastFreed uint64
	anyFailed bool
	// explained is the filters a unit of the class got, at an epoch.
	explained map[string]explanation
}

type failure struct{ epoch, freed uint64 }

type explanation struct {
	epoch   uint64
	filters []reason.Filter
}

func newClasses(globs *conflictIndex) *classes {
	return &classes{globs: globs, key: map[string]string{}, failed: map[string]failure{}, explained: map[string]explanation{}}
}

// of is u's class.
func (c *classes) of(u *Unit, group string) string {
	if k, ok := c.key[u.Name]; ok {
		return k
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v|%v|%s|", u.Req, u.Resources, group)
	for _, n := range c.globs.of(u).matching {
		fmt.Fprintf(&b, "%d,", n)
	}
	k := b.String()
	c.key[u.Name] = k
	return k
}

// classOf is u's class, or "" when u may not use one: it sits on a
// registered machine in this run, or plan asks for its
// scores, which every unit gets its own search for, or the run has no
// classes (the property test's reference runs).
func (s *scheduler) classOf(u *Unit) string {
	if m := s.at[u.Name]; s.classes == nil || (m != nil && !m.gone) || s.explainFor[u.Name] {
		return "" // held on an absent machine, it is on none the rules look at
	}
	return s.classes.of(u, s.counts.groupOf(u))
}

// knownUnplaceable says whether a unit of u's class found no machine since
// the run last removed a unit from a machine (or, for the classes a
// placement can help, last changed a placement).
func (s *scheduler) knownUnplaceable(u *Unit) bool {
	if s.classes == nil || !s.classes.anyFailed || s.classes.lastFreed != s.freed {
		return false
	}
	k := s.classOf(u)
	if k == "" {
		return false
	}
	f, ok := s.classes.failed[k]
	if !ok || f.freed != s.freed {
		return false
	}
	return f.epoch == s.epoch || !(waitsOnSkew(u) || len(u.Req.MachineOf) > 0)
}

// noMachineFor records that u found no machine now.
func (s *scheduler) noMachineFor(u *Unit) {
	if k := s.classOf(u); k != "" {
		s.classes.failed[k] = failure{epoch: s.epoch, freed: s.freed}
		s.classes.lastFreed, s.classes.anyFailed = s.freed, true
	}
}

// explainClass is explain, once per class and epoch.
func (s *scheduler) explainClass(u *Unit) []reason.Filter {
	k := s.classOf(u)
	if k == "" {
		return s.explain(u)
	}
	if e, ok := s.classes.explained[k]; ok && e.epoch == s.epoch {
		return e.filters
	}
	fs := s.explain(u)
	s.classes.explained[k] = explanation{epoch: s.epoch, filters: fs}
	return fs
}
