package engine

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// TestIncrementalAgreesWithScratch: on random worlds and random sequences
// of changes (mostly units added, destroyed, started and stopped; now and
// then a machine joining, leaving or changing, and the clock moving on),
// each run that follows another from its State (State.Next) makes exactly
// the plan a run from scratch of the whole Input makes, and asks to wake at
// the same time. Enough of the runs must be narrowed ones for the test to
// test them.
func TestIncrementalAgreesWithScratch(t *testing.T) {
	narrowed, runs, held := 0, 0, 0 // held: narrowed runs with units held on absent machines
	whole := map[string]int{}
	for seed := uint64(1); seed <= 400; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*40503))
			w := randomWorld(t, rng)
			w.now = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
			if rng.IntN(2) == 0 {
				w.rebalance = Rebalance{PerMinute: 1 + rng.IntN(6), Threshold: 1}
			}
			for i := range rng.IntN(4) { // a class that cannot all be placed
				w.unit(fmt.Sprintf("full@%d.service", i), "Conflicts=full@*")
			}
			plan, st := ScheduleState(w.input())
			w.apply(plan)
			for step := range 12 {
				before := snapshot(w)
				if rng.IntN(5) == 0 {
					mutate(w, rng)
					absentNow(w, rng)
				} else {
					mutateUnits(w, rng, step)
				}
				if rng.IntN(4) == 0 {
					w.now = w.now.Add(time.Duration(rng.IntN(90)) * time.Second)
				}
				want := Schedule(w.input())
				got, next := st.Next(delta(w, before))
				if renderFull(got) != renderFull(want) {
					t.Fatalf("step %d (whole: %q): incremental\n%s\nfrom scratch\n%s", step, next.Whole, renderFull(got), renderFull(want))
				}
				if !got.Wake.Equal(want.Wake) {
					t.Fatalf("step %d: incremental wakes at %v, from scratch at %v", step, got.Wake, want.Wake)
				}
				runs++
				if next.Whole == "" {
					narrowed++
					if len(next.s.ghosts) > 0 {
						held++
					}
				} else {
					whole[next.Whole]++
				}
				st = next
				w.apply(want)
			}
		})
	}
	t.Logf("%d of %d runs narrowed, %d with units held on absent machines; whole runs by why: %v", narrowed, runs, held, whole)
	if narrowed < runs/4 {
		t.Fatalf("only %d of %d runs were narrowed: the test does not test them (whole: %v)", narrowed, runs, whole)
	}
	if held < 20 {
		t.Fatalf("only %d narrowed runs held units on absent machines: the test does not test them", held)
	}
}

// absentNow gives most machines that went, with units still placed on
// them, an absence, as the Engine's absences do: since now, held a while
// or not at all.
func absentNow(w *world, rng *rand.Rand) {
	registered := map[string]bool{}
	for _, m := range w.machines {
		registered[m.ID] = true
	}
	for _, name := range slices.Sorted(maps.Keys(w.placements)) {
		for _, id := range slices.Sorted(maps.Keys(w.placements[name])) {
			if _, known := w.absent[id]; registered[id] || known || rng.IntN(4) == 0 {
				continue
			}
			if w.absent == nil {
				w.absent = map[string]Absence{}
			}
			w.absent[id] = Absence{Since: w.now, Hold: time.Duration(rng.IntN(3)) * 30 * time.Second}
		}
	}
}

// mutateUnits changes units only: one added, destroyed, or started or
// stopped.
func mutateUnits(w *world, rng *rand.Rand, step int) {
	names := slices.Sorted(maps.Keys(w.units))
	switch k := rng.IntN(4); {
	case k == 0 || len(names) == 0:
		switch rng.IntN(4) {
		case 0:
			w.unit(fmt.Sprintf("full@%d.service", 10+step), "Conflicts=full@*")
		case 1: // a glob the cluster may not have, matching units it has
			globs := []string{"web@1*", "dmz*", "full@1*", "side*", "new1*", "picky*"}
			w.unit(fmt.Sprintf("picky%d.service", step), "Conflicts="+globs[rng.IntN(len(globs))])
		default:
			addRandomUnit(w, rng, 200+step)
		}
	case k == 1:
		delete(w.units, names[rng.IntN(len(names))])
	default:
		name := names[rng.IntN(len(names))]
		u := w.units[name]
		u.Desired = []registry.State{registry.StateInactive, registry.StateLoaded, registry.StateLaunched}[rng.IntN(3)]
		w.units[name] = u
	}
}

// worldState is what of a world a Delta is worked out from.
type worldState struct {
	machines   []Machine
	units      map[string]Unit
	placements map[string]map[string]registry.Placement
}

func snapshot(w *world) worldState {
	ws := worldState{machines: slices.Clone(w.machines), units: maps.Clone(w.units), placements: map[string]map[string]registry.Placement{}}
	for n, byM := range w.placements {
		ws.placements[n] = maps.Clone(byM)
	}
	return ws
}

// delta is the world's Input as changed since before, as the Engine gives
// it from the watch: the units whose record or placements changed.
func delta(w *world, before worldState) Delta {
	in := w.input()
	changed := map[string]bool{}
	for n, u := range w.units {
		if old, ok := before.units[n]; !ok || !reflect.DeepEqual(old, u) {
			changed[n] = true
		}
	}
	for n := range before.units {
		if _, ok := w.units[n]; !ok {
			changed[n] = true
		}
	}
	for n, byM := range w.placements {
		if !maps.Equal(byM, before.placements[n]) {
			changed[n] = true
		}
	}
	for n := range before.placements {
		if _, ok := w.placements[n]; !ok {
			changed[n] = true
		}
	}
	d := Delta{Input: in, Changed: slices.Sorted(maps.Keys(changed)), SameMachines: reflect.DeepEqual(before.machines, w.machines)}
	d.Units = nil
	for _, u := range in.Units {
		if changed[u.Name] {
			d.Units = append(d.Units, u)
		}
	}
	d.Placements = nil
	for _, p := range in.Placements {
		if changed[p.Unit] {
			d.Placements = append(d.Placements, p)
		}
	}
	return d
}
