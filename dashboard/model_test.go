package dashboard

import (
	"fmt"
	"testing"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

func TestBuildHealth(t *testing.T) {
	state := func(active string, st registry.State, c reason.Condition) []registry.UnitState {
		return []registry.UnitState{{Unit: "u.service", Machine: "m1", Active: active, State: st, Condition: c}}
	}
	on := func(ms ...string) []registry.Placement {
		var ps []registry.Placement
		for _, m := range ms {
			ps = append(ps, registry.Placement{Unit: "u.service", Machine: m})
		}
		return ps
	}
	for _, tt := range []struct {
		name    string
		desired registry.State
		ps      []registry.Placement
		states  []registry.UnitState
		want    Health
	}{
		{"stopped", registry.StateInactive, nil, nil, HealthStopped},
		{"wanted, placed nowhere", registry.StateLaunched, nil, nil, HealthUnplaced},
		{"placed, nothing published", registry.StateLaunched, on("m1"), nil, HealthPending},
		{"active", registry.StateLaunched, on("m1"), state("active", registry.StateLaunched, ""), HealthRunning},
		{"activating", registry.StateLaunched, on("m1"), state("activating", registry.StateLaunched, ""), HealthPending},
		{"systemd failed it", registry.StateLaunched, on("m1"), state("failed", registry.StateLaunched, ""), HealthFailed},
		{"its image pull failed", registry.StateLaunched, on("m1"), state("inactive", registry.StateLaunched, reason.ConditionImagePullFailed), HealthFailed},
		{"pulling its image", registry.StateLaunched, on("m1"), state("inactive", registry.StateLaunched, reason.ConditionPullingImage), HealthPending},
		{"loaded as asked", registry.StateLoaded, on("m1"), state("inactive", registry.StateLoaded, ""), HealthRunning},
		{"a global on two, one there", registry.StateLaunched, on("m1", "m2"), state("active", registry.StateLaunched, ""), HealthPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &registry.Status{Units: []registry.Unit{{Name: "u.service", Desired: tt.desired}}, Placements: tt.ps, States: tt.states,
				Machines: []registry.Machine{{ID: "m1"}, {ID: "m2"}}}
			m := Build(st)
			if got := m.Units[0].Health; got != tt.want {
				t.Errorf("health %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBuildMachines(t *testing.T) {
	st := &registry.Status{
		Units:      []registry.Unit{{Name: "a.service", Desired: registry.StateLaunched}, {Name: "b.service", Desired: registry.StateLaunched}},
		Machines:   []registry.Machine{{ID: "m2bbbbbbbb", Metadata: map[string]string{"zone": "b", "rack": "r2"}}, {ID: "m1aaaaaaaa"}, {ID: "m3cccccccc"}},
		Placements: []registry.Placement{{Unit: "b.service", Machine: "m1aaaaaaaa"}, {Unit: "a.service", Machine: "m1aaaaaaaa"}, {Unit: "a.service", Machine: "m9gone"}},
		Drains:     map[string]registry.Drain{"m1aaaaaaaa": {Machine: "m1aaaaaaaa"}, "m3cccccccc": {Machine: "m3cccccccc"}},
		Unplaced:   map[string]reason.Unplaced{},
	}
	m := Build(st)
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"sorted by ID", m.Machines[0].ID + " " + m.Machines[2].ID, "m1aaaaaaaa m3cccccccc"},
		{"units placed there, sorted", m.Machines[0].Units, []string{"a.service", "b.service"}},
		{"metadata sorted by key", m.Machines[1].Metadata, []string{"rack=r2", "zone=b"}},
		{"a drain with units left", m.Machines[0].Drain, "draining"},
		{"a drain with none", m.Machines[2].Drain, "drained"},
		{"no drain", m.Machines[1].Drain, ""},
		{"a placement on a gone machine", m.Units[0].On[1].Gone, true},
		{"counts", m.Counts, Counts{Machines: 3, Units: 2, Pending: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if g, w := fmtAny(tt.got), fmtAny(tt.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%#v", v) }
