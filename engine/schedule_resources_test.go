package engine

import (
	"slices"
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

const (
	mib = 1 << 20
	gib = 1 << 30
)

func memCap(n uint64) registry.Capacity { return registry.Capacity{MemoryBytes: n} }
func memRes(n uint64) unit.Resources    { return unit.Resources{MemoryBytes: n} }

func TestScheduleResources(t *testing.T) {
	tests := []struct {
		name  string
		build func(w *world)
		want  map[string]string // unit -> machine ("" = unplaced)
		why   map[string]string // unit -> its reason's codes
	}{
		{
			name: "a unit too big for every machine stays unplaced and says why",
			build: func(w *world) {
				w.machine("m1").machine("m2").machine("m3")
				for _, m := range []string{"m1", "m2", "m3"} {
					w.capacity(m, memCap(gib))
				}
				w.unit("big.service").reserve("big.service", memRes(2*gib))
			},
			want: map[string]string{"big.service": ""},
			why:  map[string]string{"big.service": "no-eligible: exceeds-capacity(memory,2147483648)=3"},
		},
		{
			name: "reservations fill a machine, then spill to the next",
			build: func(w *world) {
				w.machine("m1").capacity("m1", memCap(2*gib))
				w.machine("m2").capacity("m2", memCap(512*mib))
				for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
					w.unit(n+".service").reserve(n+".service", memRes(512*mib))
				}
			},
			// d and e would go to m2, the less loaded, but m2 is full.
			want: map[string]string{"a.service": "m1", "b.service": "m2", "c.service": "m1", "d.service": "m1", "e.service": "m1", "f.service": ""},
			why:  map[string]string{"f.service": "no-eligible: insufficient(memory,536870912)=2"},
		},
		{
			name: "unknown capacity is unconstrained",
			build: func(w *world) {
				w.machine("m1").capacity("m1", memCap(gib)).machine("m2")
				w.unit("a.service").reserve("a.service", memRes(1<<40))
				w.unit("b.service").reserve("b.service", unit.Resources{MilliCPUs: 64000, DiskBytes: 1 << 40})
			},
			want: map[string]string{"a.service": "m2", "b.service": "m1"},
		},
		{
			name: "units that reserve nothing place as before on full machines",
			build: func(w *world) {
				w.machine("m1").capacity("m1", memCap(gib)).machine("m2").capacity("m2", memCap(gib))
				w.unit("a.service").reserve("a.service", memRes(gib))
				w.unit("b.service").reserve("b.service", memRes(gib))
				w.unit("c.service").unit("d.service")
			},
			want: map[string]string{"a.service": "m1", "b.service": "m2", "c.service": "m1", "d.service": "m2"},
		},
		{
			name: "each constraint counts its machines",
			build: func(w *world) {
				w.machine("m1", "zone=dmz").capacity("m1", memCap(gib))
				w.machine("m2", "zone=dmz").capacity("m2", memCap(4*gib))
				w.machine("m3", "zone=lan").capacity("m3", memCap(4*gib))
				w.unit("a.service", "MachineMetadata=zone=dmz").reserve("a.service", memRes(3*gib))
				w.unit("b.service", "MachineMetadata=zone=dmz").reserve("b.service", memRes(2*gib))
			},
			want: map[string]string{"a.service": "m2", "b.service": ""},
			why: map[string]string{"b.service": "no-eligible: exceeds-capacity(memory,2147483648)=1, " +
				"insufficient(memory,2147483648)=1, machine-metadata(zone=dmz)=1"},
		},
		{
			name: "CPU and disk",
			build: func(w *world) {
				w.machine("m1").capacity("m1", registry.Capacity{CPUs: 2, DiskBytes: 100 * gib, DiskFreeBytes: 10 * gib})
				w.unit("a.service").reserve("a.service", unit.Resources{MilliCPUs: 1500, DiskBytes: 6 * gib})
				w.unit("b.service").reserve("b.service", unit.Resources{MilliCPUs: 500, DiskBytes: 4 * gib})
				w.unit("c.service").reserve("c.service", unit.Resources{MilliCPUs: 100})
				w.unit("d.service").reserve("d.service", unit.Resources{DiskBytes: 1})
			},
			want: map[string]string{"a.service": "m1", "b.service": "m1", "c.service": "", "d.service": ""},
			why: map[string]string{
				"c.service": "no-eligible: insufficient(CPU,100)=1",
				"d.service": "no-eligible: insufficient(disk,1)=1",
			},
		},
		{
			name: "MachineOf: the peer's machine must have room",
			build: func(w *world) {
				w.machine("m1").capacity("m1", memCap(gib)).machine("m2").capacity("m2", memCap(gib))
				w.unit("db.service", "MachineID=m1").reserve("db.service", memRes(768*mib))
				w.unit("side.service", "MachineOf=db.service").reserve("side.service", memRes(512*mib))
			},
			want: map[string]string{"db.service": "m1", "side.service": ""},
			why:  map[string]string{"side.service": "no-eligible: insufficient(memory,536870912)=1, machine-of(db.service)=1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.build(w)
			w.settle()
			for u, m := range tc.want {
				if got := w.on(u); got != m {
					t.Errorf("%s placed on %q, want %q", u, got, m)
				}
			}
			for u, want := range tc.why {
				if got := codes(w.unplaced[u]); got != want {
					t.Errorf("%s unplaced reason\n got %q\nwant %q", u, got, want)
				}
			}
			checkCapacity(t, w)
		})
	}
}

func TestScheduleResourcesGlobal(t *testing.T) {
	w := newWorld(t)
	w.machine("m1").capacity("m1", memCap(gib))
	w.machine("m2").capacity("m2", memCap(256*mib))
	w.machine("m3")
	w.unit("g.service", "Global=true").reserve("g.service", memRes(512*mib))
	w.settle()
	if got := w.where("g.service"); !slices.Equal(got, []string{"m1", "m3"}) {
		t.Fatalf("global on %v, want [m1 m3]: m2 is too small", got)
	}

	t.Run("a global's reservation counts for the units placed after it", func(t *testing.T) {
		w.unit("x.service").reserve("x.service", memRes(768*mib))
		w.settle()
		if got := w.on("x.service"); got != "m3" { // m2 is the least loaded, but too small; m1 holds g
			t.Fatalf("x on %q, want m3", got)
		}
		checkCapacity(t, w)
	})
	t.Run("a global that fits nowhere says why", func(t *testing.T) {
		w.unit("huge.service", "Global=true", "MachineMetadata=size=big").reserve("huge.service", memRes(8*gib))
		w.machines[0].Metadata = map[string]string{"size": "big"}
		w.machines[1].Metadata = map[string]string{"size": "big"}
		w.settle()
		want := "no-eligible: exceeds-capacity(memory,8589934592)=2, machine-metadata(size=big)=1"
		if got := codes(w.unplaced["huge.service"]); got != want {
			t.Fatalf("reason\n got %q\nwant %q", got, want)
		}
	})
	t.Run("placed units keep their room: a global does not evict them", func(t *testing.T) {
		w.unit("y.service", "MachineID=m1").reserve("y.service", memRes(512*mib))
		w.settle()
		w.unit("g2.service", "Global=true").reserve("g2.service", memRes(128*mib))
		w.settle()
		if got := w.where("g2.service"); !slices.Equal(got, []string{"m2", "m3"}) {
			t.Fatalf("g2 on %v, want [m2 m3]: m1 is full with g and y", got)
		}
		if w.on("y.service") != "m1" {
			t.Fatalf("y moved to %q", w.on("y.service"))
		}
		checkCapacity(t, w)
	})
}

func TestScheduleResourcesChanges(t *testing.T) {
	t.Run("a machine that comes back smaller keeps what fits, by name", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1", "slot=a").capacity("m1", memCap(2*gib)).machine("m2")
		for _, n := range []string{"a", "b", "c"} {
			w.unit(n+".service", "MachineMetadata=slot=a").reserve(n+".service", memRes(512*mib))
		}
		w.settle()
		if w.on("a.service") != "m1" || w.on("b.service") != "m1" || w.on("c.service") != "m1" {
			t.Fatalf("a, b, c on %s %s %s, want m1", w.on("a.service"), w.on("b.service"), w.on("c.service"))
		}
		w.capacity("m1", memCap(gib))
		w.settle()
		if w.on("a.service") != "m1" || w.on("b.service") != "m1" || w.on("c.service") != "" {
			t.Fatalf("a, b, c on %q %q %q, want m1 m1 and unplaced", w.on("a.service"), w.on("b.service"), w.on("c.service"))
		}
		checkCapacity(t, w)
	})
	t.Run("room freed by a destroyed unit is used", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").capacity("m1", memCap(gib))
		w.unit("a.service").reserve("a.service", memRes(768*mib))
		w.unit("b.service").reserve("b.service", memRes(768*mib))
		w.settle()
		if w.on("a.service") != "m1" || w.unplaced["b.service"].IsZero() {
			t.Fatalf("a on %q, b unplaced %s", w.on("a.service"), codes(w.unplaced["b.service"]))
		}
		delete(w.units, "a.service")
		w.settle()
		if w.on("b.service") != "m1" {
			t.Fatalf("b on %q, want m1", w.on("b.service"))
		}
	})
	t.Run("a unit moved off a dead machine counts where it lands", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").capacity("m1", memCap(gib)).machine("m2").capacity("m2", memCap(gib))
		w.unit("a.service", "MachineID=m1").reserve("a.service", memRes(512*mib))
		w.unit("b.service", "MachineID=m2").reserve("b.service", memRes(512*mib))
		w.unit("free.service").reserve("free.service", memRes(512*mib))
		w.settle()
		from := w.on("free.service")
		w.removeMachine(from)
		w.unit("late.service").reserve("late.service", memRes(512*mib))
		w.settle()
		if got := w.on("free.service"); got == from || got == "" {
			t.Fatalf("free on %q after %s left", got, from)
		}
		if w.unplaced["late.service"].IsZero() {
			t.Fatalf("late placed on %q, but the machine left is full", w.on("late.service"))
		}
		checkCapacity(t, w)
	})
	t.Run("Replaces: the replacer takes the room of what it evicts", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1", "slot=a").capacity("m1", memCap(gib))
		w.machine("m2").capacity("m2", memCap(gib))
		w.unit("old.service").reserve("old.service", memRes(768*mib))
		w.placements["old.service"] = map[string]registry.Placement{
			"m1": {Unit: "old.service", Machine: "m1", Hash: w.units["old.service"].Hash, Desired: registry.StateLaunched},
		}
		w.unit("new.service", "MachineMetadata=slot=a", "Replaces=old.service").reserve("new.service", memRes(768*mib))
		w.settle()
		if w.on("new.service") != "m1" || w.on("old.service") != "m2" {
			t.Fatalf("new on %q, old on %q; want m1 and m2", w.on("new.service"), w.on("old.service"))
		}
		checkCapacity(t, w)
	})
}

// checkCapacity fails when what the units placed on a machine reserve
// exceeds what it published, in a dimension it published.
func checkCapacity(t *testing.T, w *world) {
	t.Helper()
	sums := map[string]unit.Resources{}
	for name, byM := range w.placements {
		r := w.units[name].Resources
		for m := range byM {
			s := sums[m]
			s.MemoryBytes += r.MemoryBytes
			s.MilliCPUs += r.MilliCPUs
			s.DiskBytes += r.DiskBytes
			sums[m] = s
		}
	}
	for _, m := range w.machines {
		s, c := sums[m.ID], m.Capacity
		if c.MemoryBytes > 0 && s.MemoryBytes > c.MemoryBytes {
			t.Fatalf("%s: %d bytes of memory reserved, %d published", m.ID, s.MemoryBytes, c.MemoryBytes)
		}
		if c.CPUs > 0 && s.MilliCPUs > uint64(c.CPUs)*1000 {
			t.Fatalf("%s: %d thousandths of a CPU reserved, %d CPUs published", m.ID, s.MilliCPUs, c.CPUs)
		}
		if c.DiskBytes > 0 && s.DiskBytes > c.DiskFreeBytes {
			t.Fatalf("%s: %d bytes of disk reserved, %d free published", m.ID, s.DiskBytes, c.DiskFreeBytes)
		}
	}
}
