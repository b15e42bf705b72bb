package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestConflictIndexAgreesWithScan: on random worlds, as a run leaves them,
// the Conflicts check that asks the machines' counts first says what the
// scan of every unit on the machine says, for every unit and machine.
func TestConflictIndexAgreesWithScan(t *testing.T) {
	checked, refused := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*40503))
			w := randomWorld(t, rng)
			for i := range rng.IntN(10) {
				w.unit(fmt.Sprintf("full@%d.service", i), "Conflicts=full@*")
			}
			for i := range rng.IntN(4) {
				w.unit(fmt.Sprintf("a-pick%d.service", i), fmt.Sprintf("Conflicts=full@%d.service", rng.IntN(5)), "Conflicts=old*")
			}
			s := newScheduler(w.input())
			s.run()
			for _, u := range s.ordered {
				for _, m := range s.order {
					fast := conflictsChecker{}.feasible(u, m)
					scan := conflictsChecker{}.check(u, m).Accepted()
					if fast != scan {
						t.Fatalf("%s on %s: counts say %v, the scan %v", u.Name, m.ID, fast, scan)
					}
					checked++
					if !scan {
						refused++
					}
				}
			}
		})
	}
	if refused < 100 {
		t.Fatalf("%d of %d checks refused: the worlds do not test Conflicts", refused, checked)
	}
}
