package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// scheduleFromScratch is Schedule without equivalence classes: every unit
// searches the machines and is explained on its own, the reference the
// classes must agree with.
func scheduleFromScratch(in Input) (Plan, map[string]string) {
	s := newScheduler(in)
	s.classes = nil
	p := s.run()
	return p, reasonCodes(s)
}

func scheduleWithClasses(in Input) (Plan, map[string]string) {
	s := newScheduler(in)
	p := s.run()
	return p, reasonCodes(s)
}

func reasonCodes(s *scheduler) map[string]string {
	out := map[string]string{}
	for n, r := range s.reasons {
		out[n] = codes(r)
	}
	return out
}

// TestClassesAgreeWithScratch: on random worlds and random sequences of
// changes (machines joining, leaving and changing, units added, destroyed,
// started and stopped), a run with equivalence classes decides exactly as
// one in which every unit searches and is explained on its own: the same
// plan, and the same counted reasons for every unit.
func TestClassesAgreeWithScratch(t *testing.T) {
	shared := 0 // units whose search or explanation a class answered
	for seed := uint64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*2654435761))
			w := randomWorld(t, rng)
			// Instances that cannot all be placed, in classes: of one
			// template with Conflicts= on itself, some told apart by
			// another unit's glob, some bound to a zone.
			for i := range 3 + rng.IntN(12) {
				w.unit(fmt.Sprintf("full@%d.service", i), "Conflicts=full@*")
			}
			if rng.IntN(2) == 0 {
				w.unit("a-picky.service", fmt.Sprintf("Conflicts=full@%d.service", rng.IntN(5)))
			}
			for i := range rng.IntN(6) {
				w.unit(fmt.Sprintf("zone@%d.service", i), "MachineMetadata=zone="+zones[rng.IntN(len(zones))], "DistinctBy=zone")
			}
			for step := range 8 {
				in := w.input()
				got, gotWhy := scheduleWithClasses(in)
				want, wantWhy := scheduleFromScratch(in)
				if render(got) != render(want) {
					t.Fatalf("step %d: with classes\n%s\nfrom scratch\n%s", step, render(got), render(want))
				}
				if fmt.Sprint(gotWhy) != fmt.Sprint(wantWhy) {
					t.Fatalf("step %d: reasons with classes %v\nfrom scratch %v", step, gotWhy, wantWhy)
				}
				s := newScheduler(in)
				s.run()
				shared += len(s.classes.key)
				w.step()
				mutate(w, rng)
				absentNow(w, rng) // units held, and stranded, on absent machines
			}
		})
	}
	if shared < 1000 {
		t.Fatalf("only %d units had a class over all seeds: the worlds do not test the classes", shared)
	}
}

// TestClassesTellApart: units the rules can tell apart are not one class.
func TestClassesTellApart(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(w *world)
		want  string // where full@1 goes
	}{
		{"another unit's Conflicts= names one instance", func(w *world) {
			w.unit("a-picky.service", "Conflicts=full@0.service")
		}, "m1"},
		{"another unit's Replaces= names one instance", func(w *world) {
			w.unit("a-newer.service", "Replaces=full@0.service")
		}, "m1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.machine("m1")
			tt.setup(w)
			w.unit("full@0.service", "Conflicts=full@*").unit("full@1.service", "Conflicts=full@*")
			w.settle()
			if got := w.on("full@1.service"); got != tt.want {
				t.Fatalf("full@1 on %q, want %q (full@0: %s)", got, tt.want, codes(w.unplaced["full@0.service"]))
			}
			if w.on("full@0.service") != "" {
				t.Fatalf("full@0 placed on %s", w.on("full@0.service"))
			}
		})
	}
}
