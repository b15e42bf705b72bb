package engine

import (
	"fmt"
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// BenchmarkSchedule is the pure scheduler alone on the placement
// benchmark's mix: 10,000 units, 1,000 machines, nothing placed yet, and
// then the same cluster once settled (the steady-state pass).
//
//	go test -run=^$ -bench=Schedule ./engine/
func BenchmarkSchedule(b *testing.B) {
	in := benchInput(b)
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			Schedule(in)
		}
	})
	settled := settledInput(in)
	b.Run("settled", func(b *testing.B) {
		for range b.N {
			if p := Schedule(settled); !p.Empty() {
				b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
			}
		}
	})
	// The same pass with rebalancing on, at flotad's defaults: what it
	// costs to look at every placed unit (none has soft rules here).
	rebalancing := settled
	rebalancing.Rebalance = Rebalance{PerMinute: DefaultRebalancePerMinute, Threshold: DefaultRebalanceThreshold}
	b.Run("settled-rebalance", func(b *testing.B) {
		for range b.N {
			if p := Schedule(rebalancing); !p.Empty() {
				b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
			}
		}
	})
	// And for load too (flotad --rebalance-load-gap=2): placed from
	// nothing, with this run's units evened out, then settled, where the
	// busiest machines are looked at and none can give the least loaded
	// a unit.
	loadIn := in
	loadIn.Rebalance = Rebalance{PerMinute: DefaultRebalancePerMinute, Threshold: DefaultRebalanceThreshold, LoadGap: 2}
	b.Run("cold-load", func(b *testing.B) {
		for range b.N {
			Schedule(loadIn)
		}
	})
	loaded := settledInput(loadIn)
	b.Run("settled-rebalance-load", func(b *testing.B) {
		for range b.N {
			if p := Schedule(loaded); !p.Empty() {
				b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
			}
		}
	})
}

// BenchmarkScheduleReserving is BenchmarkSchedule with capacity: every
// machine publishes 8 CPUs, 32 GiB and 500 GiB free, every unit reserves
// 256 MiB and a quarter of a CPU, and every fourth one a 1 GiB disk quota.
// All of them still fit, so it places as BenchmarkSchedule does, and the
// difference is what the resources check costs.
//
//	go test -run=^$ -bench=Schedule ./engine/
func BenchmarkScheduleReserving(b *testing.B) {
	in := benchInput(b)
	for i := range in.Machines {
		in.Machines[i].Capacity = registry.Capacity{CPUs: 8, MemoryBytes: 32 << 30, DiskBytes: 1 << 40, DiskFreeBytes: 500 << 30}
	}
	for i := range in.Units {
		in.Units[i].Resources = unit.Resources{MemoryBytes: 256 << 20, MilliCPUs: 250}
		if i%4 == 0 {
			in.Units[i].Resources.DiskBytes = 1 << 30
		}
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			Schedule(in)
		}
	})
	settled := in
	settled.Placements = nil
	for _, ch := range Schedule(in).Changes {
		if ch.Unplaced != nil && !ch.Unplaced.IsZero() {
			b.Fatalf("%s unplaced: %s", ch.Unit, *ch.Unplaced)
		}
		settled.Placements = append(settled.Placements, ch.Put...)
	}
	b.Run("settled", func(b *testing.B) {
		for range b.N {
			if p := Schedule(settled); !p.Empty() {
				b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
			}
		}
	})
}

func benchInput(b *testing.B) Input { return mixInput(b, 1000, 10000, 0) }

// BenchmarkScheduleRules is BenchmarkSchedule on a cluster with the group
// rules of issue 9: 1,000 machines in 10 racks × 3 zones, 10,000 units, a
// third of them template instances spread over rack and zone (SpreadBy=), a
// third with strict (DistinctBy=) or soft (SoftConflicts=) anti-affinity,
// the rest plain.
//
//	go test -run=^$ -bench=ScheduleRules ./engine/
func BenchmarkScheduleRules(b *testing.B) {
	var in Input
	for i := range RulesMachines {
		in.Machines = append(in.Machines, Machine{ID: fmt.Sprintf("machine-%04d", i), Metadata: RulesMachineMetadata(i)})
	}
	RulesMix(adder(b, &in))
	for _, ch := range Schedule(in).Changes {
		if ch.Unplaced != nil && !ch.Unplaced.IsZero() {
			b.Fatalf("%s unplaced: %s", ch.Unit, *ch.Unplaced)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			Schedule(in)
		}
	})
	settled := settledInput(in)
	b.Run("settled", func(b *testing.B) {
		for range b.N {
			Schedule(settled)
		}
	})
	// With rebalancing on, at flotad's defaults: every placed unit with
	// soft rules is looked at, and up to the rate's moves begin.
	rebalancing := settled
	rebalancing.Rebalance = Rebalance{PerMinute: DefaultRebalancePerMinute, Threshold: DefaultRebalanceThreshold}
	b.Run("settled-rebalance", func(b *testing.B) {
		moves := 0
		for range b.N {
			moves = 0
			for _, ch := range Schedule(rebalancing).Changes {
				if ch.Move != nil {
					moves++
				}
			}
		}
		b.ReportMetric(float64(moves), "moves/op")
	})
}

// RulesMachines is how many machines the group-rule benchmarks
// (BenchmarkScheduleRules, BenchmarkPlacementRules) register.
const RulesMachines = 1000

// RulesMachineMetadata is machine i's metadata in the group-rule
// benchmarks: 10 racks × 3 zones.
func RulesMachineMetadata(i int) map[string]string {
	return map[string]string{"zone": fmt.Sprintf("z%d", i%3), "rack": fmt.Sprintf("r%d", i%10)}
}

// RulesMix calls add with the name and [X-Fleet] lines of each of the
// group-rule benchmarks' 10,000 units: a third template instances spread
// over zone (weight 5) and rack, a sixth with DistinctBy=rack:2, a sixth
// with SoftConflicts= on their template, the rest plain. All of them fit.
func RulesMix(add func(name, fleet string)) {
	var spread, strict, soft int
	for i := range 10000 {
		switch {
		case i%3 == 0: // templates of 33 instances, spread over zone (5) and rack (1)
			add(fmt.Sprintf("spread%03d@%d.service", spread/33, spread), "SpreadBy=zone:5 rack:1\n")
			spread++
		case i%3 == 1 && i%2 == 0: // templates of 10 instances, at most 2 per rack
			add(fmt.Sprintf("strict%03d@%d.service", strict/10, strict), "DistinctBy=rack:2\n")
			strict++
		case i%3 == 1: // templates of 10 instances that would rather not meet
			add(fmt.Sprintf("soft%03d@%d.service", soft/10, soft), fmt.Sprintf("SoftConflicts=soft%03d@*\n", soft/10))
			soft++
		default:
			add(fmt.Sprintf("plain%05d.service", i), "")
		}
	}
}

// adder returns a function that adds a launched unit with the given
// [X-Fleet] lines to in.
func adder(b *testing.B, in *Input) func(name, fleet string) {
	return func(name, fleet string) {
		f, err := unit.Parse(name, []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+fleet))
		if err != nil {
			b.Fatal(err)
		}
		in.Units = append(in.Units, Unit{Name: name, Hash: f.Hash, Desired: registry.StateLaunched, Req: f.Fleet})
	}
}

// settledInput is in with what a cold run of it places placed: the input of
// a steady-state pass.
func settledInput(in Input) Input {
	settled := in
	settled.Placements = nil
	for _, ch := range Schedule(in).Changes {
		settled.Placements = append(settled.Placements, ch.Put...)
	}
	return settled
}
