package engine

import (
	"slices"
	"strconv"
	"testing"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

func TestResourcesChecker(t *testing.T) {
	const (
		M = 1 << 20
		G = 1 << 30
	)
	mem := func(n uint64) unit.Resources { return unit.Resources{MemoryBytes: n} }
	short := func(dim string, n uint64) reason.Refusal {
		return reason.Refuse(reason.Insufficient, dim, strconv.FormatUint(n, 10))
	}
	never := func(dim string, n uint64) reason.Refusal {
		return reason.Refuse(reason.ExceedsCapacity, dim, strconv.FormatUint(n, 10))
	}
	full := registry.Capacity{CPUs: 2, MemoryBytes: 1 * G, DiskBytes: 100 * G, DiskFreeBytes: 10 * G}
	tests := []struct {
		name     string
		capacity registry.Capacity
		on       []Unit // already on the machine in this run
		unit     Unit
		want     reason.Refusal
	}{
		{name: "reserving nothing fits a full machine", capacity: full,
			on: []Unit{{Name: "a", Resources: mem(G)}}, unit: Unit{Name: "u"}},
		{name: "fits exactly", capacity: full,
			on: []Unit{{Name: "a", Resources: mem(768 * M)}}, unit: Unit{Name: "u", Resources: mem(256 * M)}},
		{name: "one byte too many", capacity: full,
			on:   []Unit{{Name: "a", Resources: mem(768*M + 1)}},
			unit: Unit{Name: "u", Resources: mem(256 * M)}, want: short("memory", 256*M)},
		{name: "the sum counts, not the largest", capacity: full,
			on:   []Unit{{Name: "a", Resources: mem(512 * M)}, {Name: "b", Resources: mem(256 * M)}},
			unit: Unit{Name: "u", Resources: mem(512 * M)}, want: short("memory", 512*M)},
		{name: "more than the machine has", capacity: full,
			unit: Unit{Name: "u", Resources: mem(G + G/2)}, want: never("memory", G+G/2)},
		{name: "unknown memory constrains nothing", capacity: registry.Capacity{CPUs: 2},
			on: []Unit{{Name: "a", Resources: mem(G)}}, unit: Unit{Name: "u", Resources: mem(1 << 40)}},
		{name: "unknown capacity constrains nothing",
			unit: Unit{Name: "u", Resources: unit.Resources{MemoryBytes: G, MilliCPUs: 64000, DiskBytes: G}}},
		{name: "CPU", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MilliCPUs: 1500}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 600}}, want: short("CPU", 600)},
		{name: "CPU fits exactly", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MilliCPUs: 1500}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 500}}},
		{name: "CPU more than the machine has", capacity: full,
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 3000}}, want: never("CPU", 3000)},
		{name: "disk counts against the free space", capacity: full,
			unit: Unit{Name: "u", Resources: unit.Resources{DiskBytes: 20 * G}}, want: never("disk", 20*G)},
		{name: "disk reserved", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{DiskBytes: 8 * G}}},
			unit: Unit{Name: "u", Resources: unit.Resources{DiskBytes: 4 * G}}, want: short("disk", 4*G)},
		{name: "a known disk with no free space holds no quota",
			capacity: registry.Capacity{DiskBytes: 100 * G},
			unit:     Unit{Name: "u", Resources: unit.Resources{DiskBytes: 1}}, want: never("disk", 1)},
		{name: "memory is reported before CPU and disk", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MemoryBytes: G, MilliCPUs: 2000, DiskBytes: 10 * G}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MemoryBytes: 1, MilliCPUs: 1, DiskBytes: 1}}, want: short("memory", 1)},
		{name: "globals on the machine count", capacity: full,
			on:   []Unit{{Name: "g", Req: unit.Requirements{Global: true}, Resources: mem(G)}},
			unit: Unit{Name: "u", Resources: mem(M)}, want: short("memory", M)},
		{name: "a unit it replaces does not count", capacity: full,
			on:   []Unit{{Name: "old", Resources: mem(768 * M)}, {Name: "other", Resources: mem(128 * M)}},
			unit: Unit{Name: "new", Req: unit.Requirements{Replaces: []string{"old"}}, Resources: mem(768 * M)}},
		{name: "a global it replaces still counts (it is not evicted)", capacity: full,
			on:   []Unit{{Name: "old", Req: unit.Requirements{Global: true}, Resources: mem(768 * M)}},
			unit: Unit{Name: "new", Req: unit.Requirements{Replaces: []string{"old"}}, Resources: mem(768 * M)},
			want: short("memory", 768*M)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machineState{Machine: Machine{ID: "m1", Capacity: tt.capacity}}
			for i := range tt.on {
				m.add(&tt.on[i])
			}
			c := resourcesChecker{}
			if got := c.check(&tt.unit, m); !slices.Equal(got.Args, tt.want.Args) || got.Code != tt.want.Code {
				t.Errorf("check = %+v, want %+v", got, tt.want)
			}
			if got := c.feasible(&tt.unit, m); got != tt.want.Accepted() {
				t.Errorf("feasible = %v, but check says %+v", got, tt.want)
			}
		})
	}
}

// TestMachineReservedSums checks that add and remove keep the sums the
// checker reads in step with the units on the machine.
func TestMachineReservedSums(t *testing.T) {
	m := &machineState{}
	a := &Unit{Name: "a", Resources: unit.Resources{MemoryBytes: 100, MilliCPUs: 10, DiskBytes: 1}}
	b := &Unit{Name: "b", Resources: unit.Resources{MemoryBytes: 50, DiskBytes: 7}}
	c := &Unit{Name: "c"}
	m.add(a)
	m.add(b)
	m.add(c)
	if want := (unit.Resources{MemoryBytes: 150, MilliCPUs: 10, DiskBytes: 8}); m.reserved != want {
		t.Fatalf("after adding: %+v, want %+v", m.reserved, want)
	}
	m.remove("a")
	m.remove("ghost")
	if m.reserved != b.Resources {
		t.Fatalf("after removing a: %+v, want %+v", m.reserved, b.Resources)
	}
	m.remove("b")
	m.remove("c")
	if !m.reserved.IsZero() || len(m.units) != 0 {
		t.Fatalf("empty machine reserves %+v, runs %d", m.reserved, len(m.units))
	}
}
