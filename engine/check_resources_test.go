package engine

import (
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

func TestResourcesChecker(t *testing.T) {
	const (
		M = 1 << 20
		G = 1 << 30
	)
	mem := func(n uint64) unit.Resources { return unit.Resources{MemoryBytes: n} }
	full := registry.Capacity{CPUs: 2, MemoryBytes: 1 * G, DiskBytes: 100 * G, DiskFreeBytes: 10 * G}
	tests := []struct {
		name     string
		capacity registry.Capacity
		on       []Unit // already on the machine in this run
		unit     Unit
		want     string
	}{
		{name: "reserving nothing fits a full machine", capacity: full,
			on: []Unit{{Name: "a", Resources: mem(G)}}, unit: Unit{Name: "u"}},
		{name: "fits exactly", capacity: full,
			on: []Unit{{Name: "a", Resources: mem(768 * M)}}, unit: Unit{Name: "u", Resources: mem(256 * M)}},
		{name: "one byte too many", capacity: full,
			on:   []Unit{{Name: "a", Resources: mem(768*M + 1)}},
			unit: Unit{Name: "u", Resources: mem(256 * M)}, want: "insufficient memory (256 MiB asked)"},
		{name: "the sum counts, not the largest", capacity: full,
			on:   []Unit{{Name: "a", Resources: mem(512 * M)}, {Name: "b", Resources: mem(256 * M)}},
			unit: Unit{Name: "u", Resources: mem(512 * M)}, want: "insufficient memory (512 MiB asked)"},
		{name: "more than the machine has", capacity: full,
			unit: Unit{Name: "u", Resources: mem(G + G/2)}, want: "insufficient memory (1.5 GiB asked, more than the machine has)"},
		{name: "unknown memory constrains nothing", capacity: registry.Capacity{CPUs: 2},
			on: []Unit{{Name: "a", Resources: mem(G)}}, unit: Unit{Name: "u", Resources: mem(1 << 40)}},
		{name: "unknown capacity constrains nothing",
			unit: Unit{Name: "u", Resources: unit.Resources{MemoryBytes: G, MilliCPUs: 64000, DiskBytes: G}}},
		{name: "CPU", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MilliCPUs: 1500}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 600}}, want: "insufficient CPU (0.6 CPUs asked)"},
		{name: "CPU fits exactly", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MilliCPUs: 1500}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 500}}},
		{name: "CPU more than the machine has", capacity: full,
			unit: Unit{Name: "u", Resources: unit.Resources{MilliCPUs: 3000}}, want: "insufficient CPU (3 CPUs asked, more than the machine has)"},
		{name: "disk counts against the free space", capacity: full,
			unit: Unit{Name: "u", Resources: unit.Resources{DiskBytes: 20 * G}}, want: "insufficient disk (20 GiB asked, more than the machine has)"},
		{name: "disk reserved", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{DiskBytes: 8 * G}}},
			unit: Unit{Name: "u", Resources: unit.Resources{DiskBytes: 4 * G}}, want: "insufficient disk (4 GiB asked)"},
		{name: "a known disk with no free space holds no quota",
			capacity: registry.Capacity{DiskBytes: 100 * G},
			unit:     Unit{Name: "u", Resources: unit.Resources{DiskBytes: 1}}, want: "insufficient disk (1 B asked, more than the machine has)"},
		{name: "memory is reported before CPU and disk", capacity: full,
			on:   []Unit{{Name: "a", Resources: unit.Resources{MemoryBytes: G, MilliCPUs: 2000, DiskBytes: 10 * G}}},
			unit: Unit{Name: "u", Resources: unit.Resources{MemoryBytes: 1, MilliCPUs: 1, DiskBytes: 1}}, want: "insufficient memory (1 B asked)"},
		{name: "globals on the machine count", capacity: full,
			on:   []Unit{{Name: "g", Req: unit.Requirements{Global: true}, Resources: mem(G)}},
			unit: Unit{Name: "u", Resources: mem(M)}, want: "insufficient memory (1 MiB asked)"},
		{name: "a unit it replaces does not count", capacity: full,
			on:   []Unit{{Name: "old", Resources: mem(768 * M)}, {Name: "other", Resources: mem(128 * M)}},
			unit: Unit{Name: "new", Req: unit.Requirements{Replaces: []string{"old"}}, Resources: mem(768 * M)}},
		{name: "a global it replaces still counts (it is not evicted)", capacity: full,
			on:   []Unit{{Name: "old", Req: unit.Requirements{Global: true}, Resources: mem(768 * M)}},
			unit: Unit{Name: "new", Req: unit.Requirements{Replaces: []string{"old"}}, Resources: mem(768 * M)},
			want: "insufficient memory (768 MiB asked)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machineState{Machine: Machine{ID: "m1", Capacity: tt.capacity}}
			for i := range tt.on {
				m.add(&tt.on[i])
			}
			c := resourcesChecker{}
			if got := c.check(&tt.unit, m); got != tt.want {
				t.Errorf("check = %q, want %q", got, tt.want)
			}
			if got := c.feasible(&tt.unit, m); got != (tt.want == "") {
				t.Errorf("feasible = %v, but check says %q", got, tt.want)
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

func TestFormatResources(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatBytes(0), "0 B"},
		{formatBytes(1023), "1023 B"},
		{formatBytes(1024), "1 KiB"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(512 << 20), "512 MiB"},
		{formatBytes(1<<30 + 1<<29), "1.5 GiB"},
		{formatBytes(10 << 40), "10 TiB"},
		{formatBytes(1 << 62), "4 EiB"},
		{formatBytes(1<<64 - 1), "16 EiB"},
		{formatCPUs(1), "0.001 CPUs"},
		{formatCPUs(500), "0.5 CPUs"},
		{formatCPUs(1000), "1 CPU"},
		{formatCPUs(1500), "1.5 CPUs"},
		{formatCPUs(64000), "64 CPUs"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
