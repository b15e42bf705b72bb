package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// TestRebalanceProperty settles random clusters with rebalancing on (for
// load too in half of them), lets
// machines join, then steps ten seconds of simulated time at a time, the
// agents publishing between runs, and checks:
//   - the strict rules hold whenever no unit is mid-move (every invariant
//     of the random-world property tests), and a unit that may not run
//     twice is never on two machines, nor placed while a copy still runs;
//   - no minute sees more moves begin than the rate allows;
//   - no unit is ever placed again on a machine it left (no A→B→A);
//   - it converges: once the moves end, a run with no change plans
//     nothing.
func TestRebalanceProperty(t *testing.T) {
	moves, forLoad := 0, 0 // over every seed
	defer func() {
		t.Logf("%d rebalancing moves over 200 seeds, %d of them for load", moves, forLoad)
		if moves < 100 || forLoad < 30 {
			t.Errorf("only %d rebalancing moves over 200 seeds, %d for load: the worlds do not test rebalancing", moves, forLoad)
		}
	}()
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*15485863))
			w := randomWorld(t, rng)
			for i := range 2 + rng.IntN(8) {
				addSoftUnit(w, rng, i)
			}
			w.now = time.Unix(1_000_000, 0)
			rate := 1 + rng.IntN(3)
			w.rebalance = Rebalance{PerMinute: rate, Threshold: []float64{0.5, 1, 2}[rng.IntN(3)]}
			if seed%2 == 0 { // half the worlds rebalance load too
				w.rebalance.LoadGap = 2 + int(seed/2)%2
			}
			w.settle()
			w.publish()
			for j := range 1 + rng.IntN(3) {
				w.machine(fmt.Sprintf("n%d", j), "zone="+zones[rng.IntN(len(zones))], fmt.Sprintf("rack=r%d", rng.IntN(3)))
			}
			left := map[string]map[string]bool{} // unit -> machines it left
			var begun []time.Time
			quiet := 0 // steps in a row that changed nothing and asked for no run
			for step := 0; step < 400 && quiet < 2; step++ {
				p := w.step()
				if p.Empty() && p.Wake.IsZero() { // the rate's wake, or a move's poll, is not settled
					quiet++
				} else {
					quiet = 0
				}
				for _, ch := range p.Changes {
					for _, pl := range ch.Put {
						if left[ch.Unit][pl.Machine] {
							t.Fatalf("step %d: %s placed again on %s, which it left", step, ch.Unit, pl.Machine)
						}
					}
					for _, pl := range ch.Delete {
						if left[ch.Unit] == nil {
							left[ch.Unit] = map[string]bool{}
						}
						left[ch.Unit][pl.Machine] = true
					}
					if ch.Move != nil && !ch.Move.IsZero() {
						begun = append(begun, w.now)
						moves++
						if ch.Move.Reason.Code == reason.RebalanceLoad {
							forLoad++
						}
					}
				}
				n := 0
				for _, at := range begun {
					if at.After(w.now.Add(-time.Minute)) {
						n++
					}
				}
				if n > rate {
					t.Fatalf("step %d: %d moves begun within a minute, the rate is %d", step, n, rate)
				}
				mid := false
				for name, byM := range w.placements {
					u := w.units[name]
					if u.Req.Global || len(byM) < 2 {
						continue
					}
					mid = true
					if u.Req.StopsOnDisconnect(unit.DisconnectDefault) {
						t.Fatalf("step %d: %s may not run twice, placed on %v", step, name, w.where(name))
					}
				}
				for m, sts := range w.states {
					for name := range sts {
						u := w.units[name]
						if _, still := w.placements[name][m]; !still && !u.Req.Global && u.Req.StopsOnDisconnect(unit.DisconnectDefault) && len(w.placements[name]) > 0 {
							t.Fatalf("step %d: %s placed on %v while its copy on %s still runs", step, name, w.where(name), m)
						}
					}
				}
				if !mid {
					checkInvariants(t, w)
				}
				w.publish()
				w.now = w.now.Add(10 * time.Second)
			}
			if quiet < 2 {
				t.Fatalf("still moving after 400 steps (%d moves)", len(begun))
			}
			w.now = w.now.Add(time.Hour)
			if again := w.step(); !again.Empty() {
				t.Fatalf("a settled cluster, an hour on, planned %s", render(again))
			}
		})
	}
}

// addSoftUnit adds a unit with soft rules over zone and rack, some of them
// stopping on disconnect (Conflicts=), so break-before-make moves too.
func addSoftUnit(w *world, rng *rand.Rand, i int) {
	opts := []string{fmt.Sprintf("SpreadBy=zone:%d", 1+rng.IntN(3))}
	name := fmt.Sprintf("rb@%d.service", i)
	switch rng.IntN(4) {
	case 0:
		name = fmt.Sprintf("rbc@%d.service", i)
		opts = append(opts, "Conflicts=rbc@*")
	case 1:
		opts = append(opts, "SoftConflicts=rb@*", "SpreadBy=rack")
	case 2:
		opts = append(opts, fmt.Sprintf("PreferMachineMetadata=rack=r%d:%d", rng.IntN(3), 1+rng.IntN(5)))
	}
	if rng.IntN(5) == 0 {
		opts = append(opts, "MachineMetadata=zone="+zones[rng.IntN(len(zones))])
	}
	w.unit(name, opts...)
}
