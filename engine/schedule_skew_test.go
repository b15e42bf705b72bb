package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// TestScheduleSkewAndTargets: MaxSkew= that waits or places anyway, and
// SpreadTarget= shares.
func TestScheduleSkewAndTargets(t *testing.T) {
	twoZones := func(w *world) { // zone a: m1 m2; zone b: m3
		w.machine("m1", "zone=a").machine("m2", "zone=a").machine("m3", "zone=b")
	}
	tests := []struct {
		name  string
		build func(w *world)
		count map[string]int    // zone -> units of the group there
		why   map[string]string // unit -> its reason's codes
	}{
		{
			name: "a waiting skew balances the zones, not the machines",
			build: func(w *world) {
				twoZones(w)
				for i := 1; i <= 4; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "MaxSkew=zone:1")
				}
			},
			count: map[string]int{"a": 2, "b": 2},
		},
		{
			name: "a skew that cannot hold waits, and says why",
			build: func(w *world) {
				twoZones(w)
				w.unit("blocker.service", "MachineID=m3")
				for i := 1; i <= 2; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "MaxSkew=zone:1", "Conflicts=blocker.service")
				}
			},
			count: map[string]int{"a": 1},
			why:   map[string]string{"web@2.service": "no-eligible: max-skew(zone:1)=2, conflicts(blocker.service)=1"},
		},
		{
			name: "the same skew placing anyway places, on the least skewed machine",
			build: func(w *world) {
				twoZones(w)
				w.unit("blocker.service", "MachineID=m3")
				for i := 1; i <= 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "MaxSkew=zone:1:anyway", "Conflicts=blocker.service")
				}
			},
			count: map[string]int{"a": 3},
		},
		{
			name: "a machine without the key takes no unit of a waiting skew",
			build: func(w *world) {
				w.machine("m1", "zone=a").machine("m2")
				w.unit("web@1.service", "MaxSkew=zone:1", "MachineID=m2")
			},
			why: map[string]string{"web@1.service": "no-eligible: machine-id(m2)=1, max-skew-no-key(zone:1,zone)=1"},
		},
		{
			name: "the skew is measured over the values the unit may use",
			build: func(w *world) {
				w.machine("m1", "zone=a", "disk=ssd").machine("m2", "zone=b", "disk=ssd").machine("m3", "zone=c")
				for i := 1; i <= 4; i++ {
					w.unit(fmt.Sprintf("db@%d.service", i), "MaxSkew=zone:1", "MachineMetadata=disk=ssd")
				}
			},
			count: map[string]int{"a": 2, "b": 2}, // zone c is not the emptiest: db cannot use it
		},
		{
			name: "targets share the group 70/30",
			build: func(w *world) {
				w.machine("m1", "zone=east").machine("m2", "zone=west")
				for i := 0; i < 10; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SpreadBy=zone", "SpreadTarget=zone=east:70 zone=west:30")
				}
			},
			count: map[string]int{"east": 7, "west": 3},
		},
		{
			name: "the values no target names share what is left",
			build: func(w *world) {
				w.machine("m1", "zone=east").machine("m2", "zone=west").machine("m3", "zone=north")
				for i := 0; i < 10; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SpreadBy=zone", "SpreadTarget=zone=east:60")
				}
			},
			count: map[string]int{"east": 6, "west": 2, "north": 2},
		},
		{
			name: "a value with no share is used last",
			build: func(w *world) {
				w.machine("m1", "zone=east").machine("m2", "zone=west")
				for i := 0; i < 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SpreadBy=zone", "SpreadTarget=zone=east:100")
				}
			},
			count: map[string]int{"east": 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.build(w)
			w.settle()
			checkInvariants(t, w)
			got := map[string]int{}
			for name := range w.units {
				if strings.HasPrefix(name, "blocker") {
					continue
				}
				if m := w.on(name); m != "" {
					got[w.metadata(m)["zone"]]++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.count) && !(len(got) == 0 && len(tc.count) == 0) {
				t.Errorf("per zone %v, want %v", got, tc.count)
			}
			for u, want := range tc.why {
				if got := codes(w.unplaced[u]); got != want {
					t.Errorf("%s: reason %q, want %q", u, got, want)
				}
			}
		})
	}
}

// TestSkewKeepsSettledUnits: a skew holds a new placement only, so a zone
// that joins an unbalanced cluster moves nothing, and takes the next units.
func TestSkewKeepsSettledUnits(t *testing.T) {
	w := newWorld(t)
	w.machine("m1", "zone=a").machine("m2", "zone=a")
	for i := 1; i <= 4; i++ {
		w.unit(fmt.Sprintf("web@%d.service", i), "MaxSkew=zone:1")
	}
	w.settle()
	w.machine("m3", "zone=b")
	if plan := w.step(); !plan.Empty() {
		t.Fatalf("zone b joining moved units: %s", render(plan))
	}
	w.unit("web@5.service", "MaxSkew=zone:1")
	w.unit("web@6.service", "MaxSkew=zone:1")
	w.settle()
	if w.on("web@5.service") != "m3" || w.on("web@6.service") != "m3" {
		t.Fatalf("web@5, web@6 on %q %q, want m3 (zone a is 4 ahead)", w.on("web@5.service"), w.on("web@6.service"))
	}
}

// TestSkewProperty: on random clusters placed from nothing, a group whose
// units all wait for MaxSkew=zone:N never has a zone more than N above the
// emptiest, and one that places anyway, with no other rule in its way,
// never does either.
func TestSkewProperty(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*31))
			w := newWorld(t)
			nz := 1 + rng.IntN(4)
			for i := range 1 + rng.IntN(8) {
				w.machine(fmt.Sprintf("m%d", i), fmt.Sprintf("zone=z%d", rng.IntN(nz)))
			}
			n := 1 + rng.IntN(4)
			mode := []string{"", ":anyway"}[rng.IntN(2)]
			for i := range rng.IntN(20) {
				opts := []string{fmt.Sprintf("MaxSkew=zone:%d%s", n, mode)}
				if mode == "" && rng.IntN(3) == 0 {
					opts = append(opts, "Conflicts=web@*") // in the way: some wait
				}
				w.unit(fmt.Sprintf("web@%d.service", i), opts...)
			}
			w.settle()
			checkInvariants(t, w)
			per := map[string]int{}
			for _, m := range w.machines {
				per[m.Metadata["zone"]] += 0
			}
			for name := range w.units {
				if m := w.on(name); m != "" {
					per[w.metadata(m)["zone"]]++
				}
			}
			lo, hi := -1, 0
			for _, c := range per {
				if lo < 0 || c < lo {
					lo = c
				}
				hi = max(hi, c)
			}
			if hi-lo > n {
				t.Fatalf("MaxSkew=zone:%d%s: per zone %v", n, mode, per)
			}
		})
	}
}

// TestSkewLiftedLaterInTheRun: a unit MaxSkew= refused because its group's
// other value was still empty is placed in the same run once a later unit
// of the group fills that value; before, the next run placed it (and the
// Engine, which runs no pass for its own writes, left it unplaced).
func TestSkewLiftedLaterInTheRun(t *testing.T) {
	w := newWorld(t).machine("m1", "zone=a").machine("m2", "zone=b").capacity("m2", registry.Capacity{MemoryBytes: 1 << 30})
	w.unit("x@1.service", "MachineMetadata=zone=a")
	w.unit("x@2.service", "MaxSkew=zone:1") // both zones allowed, but zone b's machine is too small
	w.reserve("x@2.service", unit.Resources{MemoryBytes: 2 << 30})
	w.unit("x@3.service", "MachineMetadata=zone=b")
	w.settle() // checks that the run after each run plans nothing
	if got := w.on("x@2.service"); got != "m1" {
		t.Fatalf("x@2 on %q, want m1: zone a holds 2, zone b 1, a skew of 1", got)
	}
}
