package engine

import (
	"time"
)

// absences is the Engine's memory of machines that hold placements but are
// not registered: when it saw each go, and how long it holds their units.
// It is kept across passes while the Engine leads and starts empty when it
// gains leadership.
type absences struct {
	ttl   time.Duration        // the machines' lease: the hold after a doubtful loss
	seen  map[string]bool      // registered at the last look
	left  map[string]time.Time // machines seen going within the last TTL, placed on or not
	known map[string]Absence
	fresh bool // no look yet under this leadership
}

func newAbsences(ttl time.Duration) *absences {
	return &absences{ttl: ttl, seen: map[string]bool{}, left: map[string]time.Time{}, known: map[string]Absence{}, fresh: true}
}

// update folds one look at the cluster in: present are the registered
// machines, placed the machines units are placed on. It returns the
// absences Schedule gets.
//
// A machine seen going gets no hold: its lease just expired. Two cases are
// doubtful, and get a hold of one lease TTL, which is how long a machine
// that is alive takes to register again:
//   - machines already missing when this leadership began: the Engine does
//     not know since when, and the etcd it now leads through may have just
//     revoked every lease at once (it does that after a stall);
//   - machines that went while most of the cluster went with them: many
//     machines do not fail together, etcd and the network to it do
//     (Kubernetes stops evicting when every node goes NotReady at once).
func (a *absences) update(now time.Time, present map[string]bool, placed map[string]bool) map[string]Absence {
	for id := range a.known {
		if present[id] || !placed[id] {
			delete(a.known, id) // back, or nothing left on it to decide about
		}
	}
	for id := range placed {
		if present[id] {
			continue
		}
		if _, ok := a.known[id]; ok {
			continue
		}
		hold := time.Duration(0)
		if a.fresh || !a.seen[id] {
			hold = a.ttl // missing when we began, or never seen present
		}
		a.known[id] = Absence{Since: now, Hold: hold}
	}
	// Most of the cluster gone within one TTL: hold all of those.
	for id := range a.seen {
		if !present[id] {
			a.left[id] = now
		}
	}
	for id, at := range a.left {
		if present[id] || now.Sub(at) >= a.ttl {
			delete(a.left, id)
		}
	}
	if recent := len(a.left); recent > 0 && 2*recent > len(present)+recent {
		for id, ab := range a.known {
			if now.Sub(ab.Since) < a.ttl && ab.Hold < a.ttl {
				ab.Hold = a.ttl
				a.known[id] = ab
			}
		}
	}
	a.seen = present
	a.fresh = false
	return a.current()
}

// current is what update last returned, for a pass between which and that
// one no machine came or went: nothing but such a change makes a new
// absence, and a machine nothing is placed on any more has none that
// matters.
func (a *absences) current() map[string]Absence {
	if len(a.known) == 0 {
		return nil
	}
	out := make(map[string]Absence, len(a.known))
	for id, ab := range a.known {
		out[id] = ab
	}
	return out
}
