package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flota-dev/flota/registry"
)

func TestSchedulePlacement(t *testing.T) {
	tests := []struct {
		name  string
		build func(w *world)
		want  map[string]string // unit -> machine ("" = unplaced)
		why   map[string]string // unit -> substring of its reason's codes
	}{
		{
			name: "least loaded, ties to the lower ID",
			build: func(w *world) {
				w.machine("m2").machine("m1").machine("m3")
				w.unit("a.service").unit("b.service").unit("c.service").unit("d.service")
			},
			want: map[string]string{"a.service": "m1", "b.service": "m2", "c.service": "m3", "d.service": "m1"},
		},
		{
			name: "MachineID by full and short ID",
			build: func(w *world) {
				w.machine("0123456789abcdef").machine("fedcba9876543210")
				w.unit("full.service", "MachineID=fedcba9876543210")
				w.unit("short.service", "MachineID=fedcba98")
				w.unit("none.service", "MachineID=nosuchmachine")
			},
			want: map[string]string{"full.service": "fedcba9876543210", "short.service": "fedcba9876543210", "none.service": ""},
			why:  map[string]string{"none.service": "machine-id(nosuchmachine)=2"},
		},
		{
			name: "MachineMetadata: OR within a key, AND across keys, missing key fails",
			build: func(w *world) {
				w.machine("m1", "region=us-east", "disk=ssd").machine("m2", "region=us-west", "disk=hdd").machine("m3", "disk=ssd")
				w.unit("east-ssd.service", `MachineMetadata="region=us-east" "disk=ssd"`)
				w.unit("any-region.service", `MachineMetadata="region=us-east" "region=us-west"`, "MachineMetadata=disk=hdd")
				w.unit("region.service", "MachineMetadata=region=eu")
			},
			want: map[string]string{"east-ssd.service": "m1", "any-region.service": "m2", "region.service": ""},
			why:  map[string]string{"region.service": "machine-metadata(region=eu)=3"},
		},
		{
			name: "MachineMetadata expressions: !=, numbers, regular expressions, presence",
			build: func(w *world) {
				w.machine("m1", "zone=eu-west", "cpus=8", "disk=ssd").machine("m2", "zone=us-east", "cpus=2").machine("m3", "zone=eu-north", "cpus=16", "gpu=1")
				w.unit("not-us.service", "MachineMetadata=zone!~^us-", "MachineMetadata=cpus<10")
				w.unit("big.service", "MachineMetadata=cpus>=16")
				w.unit("no-ssd.service", "MachineMetadata=disk!=ssd", "MachineMetadata=zone=us-east")
				w.unit("gpu.service", "MachineMetadata=gpu=*")
				w.unit("plain.service", "MachineMetadata=gpu!=*", "MachineMetadata=disk!=*")
				w.unit("huge.service", `MachineMetadata="cpus>32" "zone=~eu"`)
			},
			want: map[string]string{"not-us.service": "m1", "big.service": "m3", "no-ssd.service": "m2", "gpu.service": "m3",
				"plain.service": "m2", "huge.service": ""},
			why: map[string]string{"huge.service": "machine-metadata(cpus>32 zone=~eu)=3"},
		},
		{
			name: "DistinctBy=rack: one instance of the template per rack, the fourth waits",
			build: func(w *world) {
				w.machine("m1", "rack=r1").machine("m2", "rack=r1").machine("m3", "rack=r2").machine("m4", "rack=r3")
				for i := 1; i <= 4; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "DistinctBy=rack")
				}
				w.unit("other@1.service", "DistinctBy=rack") // another template: another group
			},
			want: map[string]string{"other@1.service": "m1", "web@1.service": "m2", "web@2.service": "m3", "web@3.service": "m4", "web@4.service": ""},
			why:  map[string]string{"web@4.service": "no-eligible: distinct-by(rack)=4"},
		},
		{
			name: "DistinctBy=zone:2, and a machine without the key takes none",
			build: func(w *world) {
				w.machine("m1", "zone=a").machine("m2", "zone=a").machine("m3", "zone=a").machine("m4", "zone=b").machine("m5")
				for i := 1; i <= 5; i++ {
					w.unit(fmt.Sprintf("db@%d.service", i), "DistinctBy=zone:2")
				}
			},
			want: map[string]string{"db@1.service": "m1", "db@2.service": "m2", "db@3.service": "m4", "db@4.service": "m4", "db@5.service": ""},
			why:  map[string]string{"db@5.service": "distinct-by(zone:2)=4, distinct-by-no-key(zone:2,zone)=1"},
		},
		{
			name: "Group= counts units of other names together",
			build: func(w *world) {
				w.machine("m1", "rack=r1").machine("m2", "rack=r2")
				w.unit("svc-a.service", "Group=svc-*", "DistinctBy=rack")
				w.unit("svc-b.service", "Group=svc-*", "DistinctBy=rack")
				w.unit("svc-c.service", "Group=svc-*", "DistinctBy=rack")
			},
			want: map[string]string{"svc-a.service": "m1", "svc-b.service": "m2", "svc-c.service": ""},
			why:  map[string]string{"svc-c.service": "distinct-by(rack)=2"},
		},
		{
			name: "SoftConflicts: 3 instances on 2 machines, all placed, two together (the seed's definition)",
			build: func(w *world) {
				w.machine("m1", "zone=dmz").machine("m2", "zone=dmz").machine("m3", "zone=lan")
				for i := 1; i <= 3; i++ {
					w.unit(fmt.Sprintf("web@%d.service", i), "SoftConflicts=web@*", "MachineMetadata=zone=dmz")
				}
				w.unit("other.service", "MachineID=m2") // makes m2 busier: SoftConflicts, not load, decides
			},
			want: map[string]string{"web@1.service": "m1", "web@2.service": "m2", "web@3.service": "m1", "other.service": "m2"},
		},
		{
			name: "SpreadBy=rack: the group balanced over the racks, not the machines",
			build: func(w *world) {
				w.machine("m1", "rack=r1").machine("m2", "rack=r1").machine("m3", "rack=r2")
				for i := 1; i <= 4; i++ {
					w.unit(fmt.Sprintf("app@%d.service", i), "SpreadBy=rack")
				}
			},
			want: map[string]string{"app@1.service": "m1", "app@2.service": "m3", "app@3.service": "m2", "app@4.service": "m3"},
		},
		{
			name: "PreferMachineMetadata: a preferred machine wins over a less loaded one, an avoided one loses",
			build: func(w *world) {
				w.machine("m1", "disk=hdd", "zone=edge").machine("m2", "disk=ssd").machine("m3", "disk=hdd")
				w.unit("busy.service", "MachineID=m2")
				w.unit("db.service", "PreferMachineMetadata=disk=ssd:50")
				w.unit("web.service", "PreferMachineMetadata=zone=edge:-10")
				w.unit("edge-only.service", "MachineMetadata=zone=edge", "PreferMachineMetadata=zone=edge:-10")
			},
			want: map[string]string{"busy.service": "m2", "db.service": "m2", "web.service": "m3", "edge-only.service": "m1"},
		},
		{
			name: "Conflicts: one instance per machine, the fourth unplaced",
			build: func(w *world) {
				w.machine("m1").machine("m2").machine("m3")
				for i := 1; i <= 4; i++ {
					w.unit(fmt.Sprintf("nginx@%d.service", i), "Conflicts=nginx@*")
				}
			},
			want: map[string]string{"nginx@1.service": "m1", "nginx@2.service": "m2", "nginx@3.service": "m3", "nginx@4.service": ""},
			why:  map[string]string{"nginx@4.service": "no-eligible: conflicts(nginx@*)=3"},
		},
		{
			name: "Conflicts is symmetric",
			build: func(w *world) {
				w.machine("m1").machine("m2")
				w.unit("a.service", "Conflicts=b.service")
				w.unit("b.service")
				w.unit("c.service")
			},
			want: map[string]string{"a.service": "m1", "b.service": "m2", "c.service": "m1"},
		},
		{
			name: "Conflicts with several globs on one line",
			build: func(w *world) {
				w.machine("m1").machine("m2")
				w.unit("x.service", "MachineID=m1")
				w.unit("y.service", "MachineID=m2")
				w.unit("z.service", "Conflicts=x.service y.service")
			},
			want: map[string]string{"x.service": "m1", "y.service": "m2", "z.service": ""},
			why:  map[string]string{"z.service": "conflicts(x.service)=1, conflicts(y.service)=1"},
		},
		{
			name: "MachineOf follows its peer",
			build: func(w *world) {
				w.machine("m1").machine("m2")
				w.unit("db.service", "MachineID=m2")
				w.unit("backup.service", "MachineOf=db.service")
				w.unit("lonely.service", "MachineOf=ghost.service")
			},
			want: map[string]string{"db.service": "m2", "backup.service": "m2", "lonely.service": ""},
			why:  map[string]string{"lonely.service": "machine-of-unplaced(ghost.service)"},
		},
		{
			name: "Replaces: the replaced unit cannot join the replacer",
			build: func(w *world) {
				w.machine("m1", "slot=a")
				w.unit("new.service", "MachineMetadata=slot=a", "Replaces=old.service")
				w.unit("old.service")
			},
			want: map[string]string{"new.service": "m1", "old.service": ""},
			why:  map[string]string{"old.service": "replaced-by(new.service)=1"},
		},
		{
			name: "Replaces cycle places neither",
			build: func(w *world) {
				w.machine("m1")
				w.unit("a.service", "Replaces=b.service")
				w.unit("b.service", "Replaces=a.service")
			},
			want: map[string]string{"a.service": "", "b.service": ""},
			why:  map[string]string{"a.service": "replaces-cycle(", "b.service": "replaces-cycle("},
		},
		{
			name: "no machines",
			build: func(w *world) {
				w.unit("a.service")
			},
			want: map[string]string{"a.service": ""},
			why:  map[string]string{"a.service": "no-machines"},
		},
		{
			name: "a machine whose own unit has the name is refused, for good",
			build: func(w *world) {
				w.machine("m1").machine("m2").machine("m3")
				w.refuse("m1", "cron.service", "only.service").refuse("m2", "only.service").refuse("m3", "only.service")
				w.unit("cron.service").unit("only.service")
			},
			want: map[string]string{"cron.service": "m2", "only.service": ""},
			why:  map[string]string{"only.service": "no-eligible: name-taken=3"},
		},
		{
			name: "templates are never placed",
			build: func(w *world) {
				w.machine("m1")
				w.unit("web@.service")
			},
			want: map[string]string{"web@.service": ""},
			why:  map[string]string{"web@.service": "template(web@1.service)"},
		},
		{
			name: "inactive units are not placed and say nothing",
			build: func(w *world) {
				w.machine("m1")
				w.unitIn("idle.service", registry.StateInactive)
			},
			want: map[string]string{"idle.service": ""},
			why:  map[string]string{"idle.service": ""},
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
			for u, sub := range tc.why {
				got := codes(w.unplaced[u])
				if (sub == "" && got != "") || !strings.Contains(got, sub) {
					t.Errorf("%s unplaced reason %q, want it to contain %q", u, got, sub)
				}
			}
		})
	}
}

func TestScheduleGlobal(t *testing.T) {
	w := newWorld(t)
	w.machine("m1", "zone=dmz").machine("m2", "zone=lan").machine("m3", "zone=dmz")
	w.unit("proxy.service", "Global=true", "MachineMetadata=zone=dmz")
	w.unit("agent.service", "Global=true")
	w.settle()
	if got := w.where("proxy.service"); !slices.Equal(got, []string{"m1", "m3"}) {
		t.Fatalf("global proxy on %v, want [m1 m3]", got)
	}
	if got := w.where("agent.service"); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("global agent on %v, want every machine", got)
	}

	t.Run("follows a machine that joins", func(t *testing.T) {
		w.machine("m4", "zone=dmz")
		w.settle()
		if got := w.where("proxy.service"); !slices.Equal(got, []string{"m1", "m3", "m4"}) {
			t.Fatalf("after m4 joined: %v", got)
		}
	})
	t.Run("and one that leaves", func(t *testing.T) {
		w.removeMachine("m1")
		w.settle()
		if got := w.where("proxy.service"); !slices.Equal(got, []string{"m3", "m4"}) {
			t.Fatalf("after m1 left: %v", got)
		}
	})
	t.Run("globals count in the load", func(t *testing.T) {
		w.unit("x.service")
		w.settle()
		if got := w.on("x.service"); got != "m2" { // m2 runs 1 unit, m3 and m4 run 2
			t.Fatalf("x on %s, want m2", got)
		}
	})
	t.Run("no eligible machine says why", func(t *testing.T) {
		w.unit("edge.service", "Global=true", "MachineMetadata=zone=edge")
		w.settle()
		if got := codes(w.unplaced["edge.service"]); got != "no-eligible: machine-metadata(zone=edge)=3" {
			t.Fatalf("reason %q", got)
		}
	})
}

func TestScheduleChanges(t *testing.T) {
	t.Run("placements are stable when a less loaded machine joins", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").unit("a.service").unit("b.service")
		w.settle()
		w.machine("m0")
		w.settle()
		if w.on("a.service") != "m1" || w.on("b.service") != "m1" {
			t.Fatalf("units moved: a on %s, b on %s", w.on("a.service"), w.on("b.service"))
		}
	})
	t.Run("the fourth instance is placed when a fourth machine joins", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").machine("m3")
		for i := 1; i <= 4; i++ {
			w.unit(fmt.Sprintf("nginx@%d.service", i), "Conflicts=nginx@*")
		}
		w.settle()
		if w.unplaced["nginx@4.service"].IsZero() {
			t.Fatal("nginx@4 should be unplaced with a reason")
		}
		w.machine("m4")
		w.settle()
		if got := w.on("nginx@4.service"); got != "m4" {
			t.Fatalf("nginx@4 on %q, want m4", got)
		}
		if r, ok := w.unplaced["nginx@4.service"]; ok {
			t.Fatalf("reason not cleared: %s", codes(r))
		}
	})
	t.Run("a placed unit leaves the machine whose agent refuses it", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("a.service").unit("b.service")
		w.settle()
		from, other := w.on("a.service"), w.on("b.service")
		w.refuse(from, "a.service")
		w.settle()
		if got := w.on("a.service"); got == from || got == "" {
			t.Fatalf("a on %q after %s refused it", got, from)
		}
		if got := w.on("b.service"); got != other {
			t.Fatalf("b moved from %s to %s: only a was refused", other, got)
		}
	})
	t.Run("units leave a machine that left", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("a.service")
		w.settle()
		from := w.on("a.service")
		w.removeMachine(from)
		w.settle()
		if got := w.on("a.service"); got == from || got == "" {
			t.Fatalf("a on %q after %s left", got, from)
		}
	})
	t.Run("units leave a machine that stopped matching", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1", "zone=dmz").machine("m2", "zone=lan").unit("a.service", "MachineMetadata=zone=dmz")
		w.settle()
		w.machines[0].Metadata = map[string]string{"zone": "lan"}
		w.machines[1].Metadata = map[string]string{"zone": "dmz"}
		w.settle()
		if got := w.on("a.service"); got != "m2" {
			t.Fatalf("a on %q, want m2", got)
		}
	})
	t.Run("MachineOf moves with its peer", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("db.service").unit("side.service", "MachineOf=db.service")
		w.settle()
		from := w.on("db.service")
		w.removeMachine(from)
		w.settle()
		if w.on("side.service") != w.on("db.service") || w.on("db.service") == from {
			t.Fatalf("db on %s, side on %s", w.on("db.service"), w.on("side.service"))
		}
	})
	t.Run("desired state and hash changes update the placement in place", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("a.service")
		w.settle()
		at := w.on("a.service")
		w.unitIn("a.service", registry.StateLoaded, "Conflicts=zzz")
		plan := w.step()
		if len(plan.Changes) != 1 || len(plan.Changes[0].Put) != 1 || len(plan.Changes[0].Delete) != 0 {
			t.Fatalf("plan %+v, want one put", plan.Changes)
		}
		p := w.placements["a.service"][at]
		if p.Desired != registry.StateLoaded || p.Hash != w.units["a.service"].Hash {
			t.Fatalf("placement %+v not updated", p)
		}
	})
	t.Run("unloading and destroying remove placements", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").unit("a.service").unit("b.service")
		w.settle()
		w.unitIn("a.service", registry.StateInactive)
		delete(w.units, "b.service")
		w.settle()
		if len(w.placements) != 0 {
			t.Fatalf("placements left: %v", w.placements)
		}
	})
	t.Run("a duplicate placement left by a crash is removed", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("a.service")
		w.placements["a.service"] = map[string]registry.Placement{
			"m1": {Unit: "a.service", Machine: "m1", Hash: w.units["a.service"].Hash, Desired: registry.StateLaunched},
			"m2": {Unit: "a.service", Machine: "m2", Hash: w.units["a.service"].Hash, Desired: registry.StateLaunched},
		}
		w.settle()
		if got := w.where("a.service"); len(got) != 1 {
			t.Fatalf("a on %v, want one machine", got)
		}
	})
	t.Run("Replaces evicts the replaced unit to another machine", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1", "slot=a").machine("m2").unit("old.service")
		w.placements["old.service"] = map[string]registry.Placement{
			"m1": {Unit: "old.service", Machine: "m1", Hash: w.units["old.service"].Hash, Desired: registry.StateLaunched},
		}
		w.unit("new.service", "MachineMetadata=slot=a", "Replaces=old.*")
		w.settle()
		if w.on("new.service") != "m1" || w.on("old.service") != "m2" {
			t.Fatalf("new on %s, old on %s; want m1 and m2", w.on("new.service"), w.on("old.service"))
		}
	})
	t.Run("existing conflicting placements: the later name moves", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("a.service").unit("b.service", "Conflicts=a.service")
		h := func(n string) registry.Placement {
			return registry.Placement{Unit: n, Machine: "m1", Hash: w.units[n].Hash, Desired: registry.StateLaunched}
		}
		w.placements["a.service"] = map[string]registry.Placement{"m1": h("a.service")}
		w.placements["b.service"] = map[string]registry.Placement{"m1": h("b.service")}
		w.settle()
		if w.on("a.service") != "m1" || w.on("b.service") != "m2" {
			t.Fatalf("a on %s, b on %s", w.on("a.service"), w.on("b.service"))
		}
	})
}

func TestScheduleDeterministic(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 20; i++ {
		w.machine(fmt.Sprintf("m%02d", i), fmt.Sprintf("zone=z%d", i%3))
	}
	for i := 0; i < 60; i++ {
		w.unit(fmt.Sprintf("web@%d.service", i), "Conflicts=web@*", fmt.Sprintf("MachineMetadata=zone=z%d", i%3))
	}
	in := w.input()
	first := render(Schedule(in))
	for i := 0; i < 5; i++ {
		slices.Reverse(in.Machines)
		slices.Reverse(in.Units)
		if again := render(Schedule(in)); again != first {
			t.Fatalf("run %d differs from the first", i)
		}
	}
}

// render prints a plan with its reasons dereferenced, for comparison.
func render(p Plan) string {
	var b strings.Builder
	for _, ch := range p.Changes {
		fmt.Fprintf(&b, "%s put=%v del=%v", ch.Unit, ch.Put, ch.Delete)
		if ch.Unplaced != nil {
			fmt.Fprintf(&b, " why=%s", codes(*ch.Unplaced))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
