package engine

import (
	"fmt"
	"testing"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// BenchmarkScheduleUnplaceable is BenchmarkSchedule's cluster with 2,000
// instances of one template with Conflicts= on itself added: 1,000 of
// them find a machine, the other 1,000 cannot be placed. Issue 11
// measured a pass of such a cluster at 1–1.8 s. It times the settled pass
// (nothing changed) and a pass after one unit was added.
//
//	go test -run=^$ -bench=ScheduleUnplaceable ./engine/
func BenchmarkScheduleUnplaceable(b *testing.B) {
	in := benchInput(b)
	add := adder(b, &in)
	for i := range 2000 {
		add(fmt.Sprintf("full@%d.service", i), "Conflicts=full@*\n")
	}
	settled := settledWithReasons(in)
	unplaced := 0
	for _, r := range settled.Unplaced {
		if !r.IsZero() {
			unplaced++
		}
	}
	if unplaced < 1000 {
		b.Fatalf("%d unplaced, want at least 1,000", unplaced)
	}
	b.Run("settled", func(b *testing.B) {
		for range b.N {
			if p := Schedule(settled); !p.Empty() {
				b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
			}
		}
	})
	one := settled
	one.Units = append(one.Units[:len(one.Units):len(one.Units)], Unit{Name: "one-more.service", Hash: in.Units[len(in.Units)-1].Hash, Desired: registry.StateLaunched})
	b.Run("one-unit-added", func(b *testing.B) {
		for range b.N {
			if p := Schedule(one); len(p.Changes) != 1 {
				b.Fatalf("%d changes, want 1", len(p.Changes))
			}
		}
	})
}

// settledWithReasons is settledInput with the reasons the cold run
// stored: the input of a steady-state pass of a cluster where some units
// cannot be placed.
func settledWithReasons(in Input) Input {
	settled := in
	settled.Placements = nil
	settled.Unplaced = map[string]reason.Unplaced{}
	for _, ch := range Schedule(in).Changes {
		settled.Placements = append(settled.Placements, ch.Put...)
		if ch.Unplaced != nil && !ch.Unplaced.IsZero() {
			settled.Unplaced[ch.Unit] = ch.Unplaced.Uncounted()
		}
	}
	return settled
}
