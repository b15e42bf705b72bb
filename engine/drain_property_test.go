package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

// TestDrainProperty drains a random machine of random clusters, with the
// agents publishing between runs, and checks at every step:
//   - no unit is placed onto the draining machine that was not there;
//   - no unit that may not run twice is ever placed on two machines, and
//     none is placed anew while its copy still runs on the draining one;
//   - at most MaxParallel units are placed on two machines at once;
//   - the drain ends: after enough steps no non-global unit is left on the
//     machine but those no other machine takes (each noted drain-stuck);
//   - every invariant of the random-world property tests still holds for
//     the units not moving.
func TestDrainProperty(t *testing.T) {
	left := 0 // units that left their draining machine, over every seed
	defer func() {
		if left < 100 {
			t.Errorf("only %d units left a draining machine over 200 seeds: the worlds do not test drains", left)
		}
	}()
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*104729))
			w := randomWorld(t, rng)
			if len(w.machines) < 2 {
				w.machine("m99", "zone=dmz")
			}
			w.settle()
			w.publish()
			target := w.machines[rng.IntN(len(w.machines))].ID
			before := map[string]bool{}
			for name := range w.units {
				if _, ok := w.placements[name][target]; ok {
					before[name] = true
				}
			}
			parallel := 1 + rng.IntN(3)
			w.drain(target, Drain{MaxParallel: parallel})
			for step := 0; step < 40; step++ {
				w.step()
				moving := 0
				for name, byM := range w.placements {
					u := w.units[name]
					if _, ok := byM[target]; ok && !before[name] {
						t.Fatalf("step %d: %s placed onto draining %s", step, name, target)
					}
					if u.Req.Global || len(byM) < 2 {
						continue
					}
					moving++
					if u.Req.StopsOnDisconnect(unit.DisconnectDefault) {
						t.Fatalf("step %d: %s may not run twice, placed on %v", step, name, w.where(name))
					}
				}
				for name, st := range w.states[target] {
					u := w.units[name]
					if _, still := w.placements[name][target]; !still && !u.Req.Global && u.Req.StopsOnDisconnect(unit.DisconnectDefault) && len(w.placements[name]) > 0 {
						t.Fatalf("step %d: %s placed on %v while its copy on %s still runs (%+v)", step, name, w.where(name), target, st)
					}
				}
				if moving > parallel {
					t.Fatalf("step %d: %d units moving, MaxParallel %d", step, moving, parallel)
				}
				w.publish()
			}
			for name := range before {
				if _, still := w.placements[name][target]; !still && !w.units[name].Req.Global {
					left++
				}
			}
			for name := range w.placements {
				u := w.units[name]
				if _, ok := w.placements[name][target]; !ok || u.Req.Global {
					continue
				}
				if got := noteCodes(w.notes[name]); len(w.placements[name]) != 1 || !strings.Contains(got, "drain-stuck(") {
					t.Fatalf("%s left on %s after 40 steps: on %v, notes %q", name, target, w.where(name), got)
				}
			}
			if again := w.step(); !again.Empty() {
				t.Fatalf("a drained cluster with no change planned %s", render(again))
			}
		})
	}
}
