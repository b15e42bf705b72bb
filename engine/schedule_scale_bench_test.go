package engine

import (
	"fmt"
	"testing"
)

// BenchmarkScheduleScale is the pure scheduler at issue 11's sizes: 1,000
// and 5,000 machines, 10,000 and 150,000 units of BenchmarkSchedule's mix
// (plain, MachineMetadata=, Conflicts= instances of templates of 30,
// Global), plus 5% that cannot be placed (instances of one template with
// Conflicts= on itself beyond the machines). It times the settled pass,
// a pass after one unit was added, and one after a machine was lost.
//
//	go test -run=^$ -bench=ScheduleScale -benchtime=3x ./engine/
func BenchmarkScheduleScale(b *testing.B) {
	for _, size := range []struct{ machines, units int }{{1000, 10000}, {5000, 150000}} {
		in := scaleInput(b, size.machines, size.units)
		settled := settledWithReasons(in)
		name := fmt.Sprintf("%dm-%du", size.machines, size.units)
		b.Run(name+"/settled", func(b *testing.B) {
			for range b.N {
				if p := Schedule(settled); !p.Empty() {
					b.Fatalf("settled cluster changed: %d changes", len(p.Changes))
				}
			}
		})
		one := settled
		one.Units = append(one.Units[:len(one.Units):len(one.Units)], Unit{Name: "one-more.service", Hash: in.Units[0].Hash, Desired: in.Units[0].Desired})
		b.Run(name+"/one-unit-added", func(b *testing.B) {
			for range b.N {
				if p := Schedule(one); len(p.Changes) != 1 {
					b.Fatalf("%d changes, want 1", len(p.Changes))
				}
			}
		})
		lost := settled
		lost.Machines = lost.Machines[1:] // machine 0 is gone, and its absence is old news
		b.Run(name+"/one-machine-lost", func(b *testing.B) {
			moved := 0
			for range b.N {
				moved = len(Schedule(lost).Changes)
			}
			b.ReportMetric(float64(moved), "changes")
		})
	}
}

// scaleInput is BenchmarkSchedule's mix on machines machines and units
// units, 5% of them instances that cannot be placed.
func scaleInput(b *testing.B, machines, units int) Input {
	return mixInput(b, machines, units, units/20)
}

// mixInput is the placement benchmarks' mix: machines in 4 zones and 50
// racks; 4 Global units, one per zone; machines+unplaceable instances of
// full@ with Conflicts= on themselves (so unplaceable of them find no
// machine); then, up to units in all, template instances with Conflicts=
// on their template (30 a template), units bound to a zone and two racks,
// and plain units, 3:2:5.
func mixInput(b *testing.B, machines, units, unplaceable int) Input {
	var in Input
	for i := range machines {
		in.Machines = append(in.Machines, Machine{ID: fmt.Sprintf("machine-%05d", i),
			Metadata: map[string]string{"zone": fmt.Sprintf("z%d", i%4), "rack": fmt.Sprintf("r%02d", i%50)}})
	}
	add := adder(b, &in)
	for g := range 4 {
		add(fmt.Sprintf("global%d.service", g), fmt.Sprintf("Global=true\nMachineMetadata=zone=z%d\n", g))
	}
	first := 4
	if unplaceable > 0 {
		for i := range machines + unplaceable {
			add(fmt.Sprintf("full@%d.service", i), "Conflicts=full@*\n")
		}
		first += machines + unplaceable
	}
	templates := 0
	for i := first; i < units; i++ {
		switch i % 10 {
		case 0, 1, 2:
			add(fmt.Sprintf("web%04d@%d.service", templates/30, templates%30), fmt.Sprintf("Conflicts=web%04d@*\n", templates/30))
			templates++
		case 3, 4:
			add(fmt.Sprintf("zoned%06d.service", i), fmt.Sprintf("MachineMetadata=zone=z%d\nMachineMetadata=\"rack=r%02d\" \"rack=r%02d\"\n", i%4, i%50, (i+1)%50))
		default:
			add(fmt.Sprintf("plain%06d.service", i), "")
		}
	}
	return in
}
