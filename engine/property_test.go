package engine

import (
	"fmt"
	"math/rand/v2"
	"path"
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// TestScheduleInvariants checks, on random clusters and random changes to
// them, what must hold after every settled schedule:
//   - every placement is on a live machine that satisfies the unit's rules;
//   - no two units on a machine conflict;
//   - a non-global active unit is placed exactly once or has a reason;
//   - inactive and destroyed units are placed nowhere;
//   - no machine's reservations exceed what it published, in any dimension
//     it published;
//   - a second run changes nothing (the engine converges in one pass).
func TestScheduleInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 150; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			w := randomWorld(t, rng)
			w.settle()
			checkInvariants(t, w)
			for step := 0; step < 5; step++ {
				mutate(w, rng)
				w.settle()
				checkInvariants(t, w)
			}
		})
	}
}

var zones = []string{"dmz", "lan", "edge"}

func randomWorld(t *testing.T, rng *rand.Rand) *world {
	w := newWorld(t)
	for i := range 1 + rng.IntN(8) {
		id := fmt.Sprintf("m%02d", i)
		w.machine(id, "zone="+zones[rng.IntN(len(zones))]).capacity(id, randomCapacity(rng))
	}
	for i := range rng.IntN(25) {
		addRandomUnit(w, rng, i)
	}
	return w
}

func addRandomUnit(w *world, rng *rand.Rand, i int) {
	var name string
	switch rng.IntN(9) {
	case 0:
		name = fmt.Sprintf("web@%d.service", i)
		w.unit(name, "Conflicts=web@*")
	case 6:
		name = fmt.Sprintf("spread@%d.service", i)
		w.unit(name, fmt.Sprintf("DistinctBy=zone:%d", 1+rng.IntN(2)))
	case 8:
		name = fmt.Sprintf("gc%d.service", i)
		w.unit(name, "Global=true", fmt.Sprintf("Conflicts=new%d.service", rng.IntN(i+1)))
	case 7:
		name = fmt.Sprintf("soft@%d.service", i)
		opts := []string{"SoftConflicts=soft@*", fmt.Sprintf("SpreadBy=zone:%d", 1+rng.IntN(5)),
			fmt.Sprintf("PreferMachineMetadata=zone=%s:%d", zones[rng.IntN(len(zones))], rng.IntN(21)-10|1)}
		switch rng.IntN(4) {
		case 0:
			opts = append(opts, fmt.Sprintf("MaxSkew=zone:%d", 1+rng.IntN(2)))
		case 1:
			opts = append(opts, fmt.Sprintf("MaxSkew=zone:%d:anyway", 1+rng.IntN(2)))
		case 2:
			opts = append(opts, fmt.Sprintf("SpreadTarget=zone=%s:%d", zones[rng.IntN(len(zones))], rng.IntN(101)))
		}
		w.unit(name, opts...)
	case 1:
		name = fmt.Sprintf("dmz%d.service", i)
		w.unit(name, "MachineMetadata=zone="+zones[rng.IntN(len(zones))])
	case 2:
		name = fmt.Sprintf("g%d.service", i)
		w.unit(name, "Global=true", "MachineMetadata=zone="+zones[rng.IntN(len(zones))])
	case 3:
		name = fmt.Sprintf("side%d.service", i)
		w.unit(name, fmt.Sprintf("MachineOf=web@%d.service", rng.IntN(i+1)))
	case 4:
		name = fmt.Sprintf("new%d.service", i)
		w.unit(name, fmt.Sprintf("Replaces=old%d.service", rng.IntN(i+1)))
	default:
		name = fmt.Sprintf("old%d.service", i)
		w.unit(name)
	}
	w.reserve(name, randomResources(rng))
}

// randomCapacity is what a machine publishes: often nothing (an older
// agent), else a few sizes, each dimension possibly unknown.
func randomCapacity(rng *rand.Rand) registry.Capacity {
	if rng.IntN(4) == 0 {
		return registry.Capacity{}
	}
	c := registry.Capacity{
		CPUs:        []int{0, 1, 2, 4}[rng.IntN(4)],
		MemoryBytes: []uint64{0, 1 << 30, 2 << 30, 4 << 30}[rng.IntN(4)],
	}
	if rng.IntN(2) == 0 {
		c.DiskBytes = 100 << 30
		c.DiskFreeBytes = []uint64{0, 5 << 30, 20 << 30}[rng.IntN(3)]
	}
	return c
}

// randomResources is what a unit reserves: half of them nothing, the rest
// some of memory, CPU and disk, now and then more than any machine has.
func randomResources(rng *rand.Rand) unit.Resources {
	if rng.IntN(2) == 0 {
		return unit.Resources{}
	}
	var r unit.Resources
	if rng.IntN(2) == 0 {
		r.MemoryBytes = []uint64{256 << 20, 512 << 20, 1 << 30, 8 << 30}[rng.IntN(4)]
	}
	if rng.IntN(2) == 0 {
		r.MilliCPUs = []uint64{250, 500, 1500, 8000}[rng.IntN(4)]
	}
	if rng.IntN(3) == 0 {
		r.DiskBytes = []uint64{1 << 30, 4 << 30, 50 << 30}[rng.IntN(3)]
	}
	return r
}

func mutate(w *world, rng *rand.Rand) {
	switch rng.IntN(6) {
	case 0:
		id := fmt.Sprintf("n%03d", rng.IntN(1000))
		w.machine(id, "zone="+zones[rng.IntN(len(zones))]).capacity(id, randomCapacity(rng))
	case 5: // a machine registers again, with another capacity
		if len(w.machines) > 0 {
			w.machines[rng.IntN(len(w.machines))].Capacity = randomCapacity(rng)
		}
	case 1:
		if len(w.machines) > 0 {
			w.removeMachine(w.machines[rng.IntN(len(w.machines))].ID)
		}
	case 2:
		addRandomUnit(w, rng, 100+rng.IntN(100))
	case 3:
		for name := range w.units {
			delete(w.units, name)
			break
		}
	default:
		for name, u := range w.units {
			u.Desired = []registry.State{registry.StateInactive, registry.StateLoaded, registry.StateLaunched}[rng.IntN(3)]
			w.units[name] = u
			break
		}
	}
}

func checkInvariants(t *testing.T, w *world) {
	t.Helper()
	machines := map[string]*machineState{}
	for _, m := range w.machines {
		machines[m.ID] = &machineState{Machine: m}
	}
	for name, byM := range w.placements {
		u, ok := w.units[name]
		if !ok || u.Desired == registry.StateInactive {
			t.Fatalf("%s is placed on %v but is destroyed or inactive", name, w.where(name))
		}
		if !u.Req.Global && len(byM) != 1 {
			t.Fatalf("%s is placed %d times", name, len(byM))
		}
		for m, p := range byM {
			ms := machines[m]
			if ms == nil {
				t.Fatalf("%s is placed on %s, which is gone", name, m)
			}
			if p.Desired != u.Desired || p.Hash != u.Hash {
				t.Fatalf("%s placement %+v does not match the unit", name, p)
			}
			if why := (metadataChecker{}).check(&u, ms); !why.Accepted() {
				t.Fatalf("%s on %s breaks %s", name, m, why)
			}
			uu := u
			ms.units = append(ms.units, &uu)
		}
	}
	// DistinctBy=: at most Max of a unit's group per value of its key
	// (units of the group that declare no rule are bound by it too).
	for name, byM := range w.placements {
		u := w.units[name]
		for _, d := range u.Req.DistinctBy {
			for m := range byM {
				val, ok := machines[m].Metadata[d.Key]
				if !ok {
					t.Fatalf("%s on %s, which has no %s (DistinctBy=%s)", name, m, d.Key, d)
				}
				n := 0
				for other, obyM := range w.placements {
					if !unit.InGroup(u.Req.GroupOf(name), other) {
						continue
					}
					for om := range obyM {
						if machines[om].Metadata[d.Key] == val {
							n++
						}
					}
				}
				if n > d.Max {
					t.Fatalf("%d units of %s's group on %s=%s, DistinctBy=%s allows %d", n, name, d.Key, val, d, d.Max)
				}
			}
		}
	}
	for _, ms := range machines {
		for _, a := range ms.units {
			for _, b := range ms.units {
				if a.Name == b.Name {
					continue
				}
				for _, p := range a.Req.Conflicts {
					if ok, _ := path.Match(p, b.Name); ok {
						t.Fatalf("%s and %s conflict on %s", a.Name, b.Name, ms.ID)
					}
				}
			}
			for _, peer := range a.Req.MachineOf {
				if w.on(peer) != ms.ID {
					t.Fatalf("%s on %s but its MachineOf peer %s is on %q", a.Name, ms.ID, peer, w.on(peer))
				}
			}
		}
	}
	checkCapacity(t, w)
	for name, u := range w.units {
		if u.Desired == registry.StateInactive || u.Req.Global {
			continue
		}
		if len(w.placements[name]) == 0 && w.unplaced[name].IsZero() {
			t.Fatalf("%s is neither placed nor explained", name)
		}
		if len(w.placements[name]) > 0 && !w.unplaced[name].IsZero() {
			t.Fatalf("%s is placed yet explained as unplaced: %s", name, codes(w.unplaced[name]))
		}
	}
}
