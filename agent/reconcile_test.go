package agent

import (
	"crypto/sha1"
	"maps"
	"reflect"
	"testing"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

var (
	fileA     = []byte("[Service]\nExecStart=/bin/sleep 3600\n")
	fileB     = []byte("[Service]\nExecStart=/bin/sleep 7200\n")
	fileInst  = []byte("[Service]\nExecStart=/bin/sleep 3600\n\n[Install]\nWantedBy=multi-user.target\n")
	hA        = unit.Hash(sha1.Sum(fileA))
	hB        = unit.Hash(sha1.Sum(fileB))
	hInst     = unit.Hash(sha1.Sum(fileInst))
	allFiles  = map[unit.Hash][]byte{hA: fileA, hB: fileB, hInst: fileInst}
	running_  = UnitStatus{Load: "loaded", Active: "active", Sub: "running"}
	dead      = UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"}
	failed    = UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"}
	restartin = UnitStatus{Load: "loaded", Active: "activating", Sub: "auto-restart"}
	stopping  = UnitStatus{Load: "loaded", Active: "deactivating", Sub: "stop-sigterm"}
	lostRun   = UnitStatus{Load: "not-found", Active: "active", Sub: "running"}
)

func launched(name string, h unit.Hash) registry.Placement {
	return registry.Placement{Unit: name, Machine: "m1", Hash: h, Desired: registry.StateLaunched}
}

func loaded(name string, h unit.Hash) registry.Placement {
	return registry.Placement{Unit: name, Machine: "m1", Hash: h, Desired: registry.StateLoaded}
}

func placed(ps ...registry.Placement) map[string]registry.Placement {
	out := map[string]registry.Placement{}
	for _, p := range ps {
		out[p.Unit] = p
	}
	return out
}

// summary is a Plan with writes by name, to compare in tables.
type summary struct {
	Stop, Remove, Write, Enable, Load, Check, Start, Templates []string
	Reload                                                     bool
	ReloadFor                                                  map[string]ReloadWhy
	Fetch                                                      []unit.Hash
	Started, Relinked                                          map[string]unit.Hash
}

func summarize(p Plan) summary {
	s := summary{Stop: p.Stop, Remove: p.Remove, Enable: p.Enable, Load: p.Load, Check: p.Check, Start: p.Start, Templates: p.Templates,
		Reload: p.Reload, ReloadFor: p.ReloadFor, Fetch: p.Fetch, Started: p.Memory.Started, Relinked: p.Memory.Relinked}
	for _, w := range p.Write {
		s.Write = append(s.Write, w.Name)
	}
	return s
}

func TestReconcile(t *testing.T) {
	none := map[string]unit.Hash{}
	tests := []struct {
		name string
		in   Input
		want summary
	}{
		// Placements arriving.
		{name: "a launched placement is written, linked, loaded without a reload and started",
			in:   Input{Desired: placed(launched("web.service", hA))},
			want: summary{Write: []string{"web.service"}, Load: []string{"web.service"}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "a loaded placement is written and not started",
			in:   Input{Desired: placed(loaded("web.service", hA))},
			want: summary{Write: []string{"web.service"}, Load: []string{"web.service"}}},
		{name: "many placements cost no reload",
			in:   Input{Desired: placed(launched("a.service", hA), launched("b.service", hA), loaded("c.service", hB))},
			want: summary{Write: []string{"a.service", "b.service", "c.service"}, Load: []string{"a.service", "b.service", "c.service"}, Start: []string{"a.service", "b.service"}, Started: map[string]unit.Hash{"a.service": hA, "b.service": hA}}},
		{name: "a unit with [Install] is enabled, and its targets learn it at a reload",
			in:   Input{Desired: placed(launched("web.service", hInst))},
			want: summary{Write: []string{"web.service"}, Enable: []string{"web.service"}, Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadInstall}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hInst}}},
		{name: "an instance is written under its own name",
			in:   Input{Desired: placed(launched("web@1.service", hA))},
			want: summary{Write: []string{"web@1.service"}, Load: []string{"web@1.service"}, Start: []string{"web@1.service"}, Started: map[string]unit.Hash{"web@1.service": hA}}},
		{name: "a placed template is never written or started",
			in:   Input{Desired: placed(launched("web@.service", hA))},
			want: summary{Templates: []string{"web@.service"}}},
		{name: "a template file in the directory is removed, not stopped",
			in:   Input{Desired: placed(launched("web@.service", hA)), OnDisk: map[string]unit.Hash{"web@.service": hA}},
			want: summary{Templates: []string{"web@.service"}, Remove: []string{"web@.service"}}},
		{name: "a file not fetched yet is fetched first, once, its units left alone",
			in:   Input{Desired: placed(launched("a.service", hA), launched("b.service", hA), launched("c.service", hB)), Files: map[unit.Hash][]byte{hB: fileB}},
			want: summary{Fetch: []unit.Hash{hA}, Write: []string{"c.service"}, Load: []string{"c.service"}, Start: []string{"c.service"}, Started: map[string]unit.Hash{"c.service": hB}}},

		// The fence: this machine may be losing its lease.
		{name: "a fenced unit that runs is stopped and forgotten as started",
			in: Input{Desired: placed(launched("web@1.service", hA), launched("other.service", hA)), OnDisk: map[string]unit.Hash{"web@1.service": hA, "other.service": hA},
				Units:  map[string]UnitStatus{"web@1.service": running_, "other.service": running_},
				Memory: Memory{Started: map[string]unit.Hash{"web@1.service": hA, "other.service": hA}},
				Fenced: map[string]bool{"web@1.service": true}},
			want: summary{Stop: []string{"web@1.service"}, Started: map[string]unit.Hash{"other.service": hA}}},
		{name: "a fenced unit placed anew is written but not started",
			in:   Input{Desired: placed(launched("web@1.service", hA)), Fenced: map[string]bool{"web@1.service": true}},
			want: summary{Write: []string{"web@1.service"}, Load: []string{"web@1.service"}}},
		{name: "once the fence is down, a unit it stopped starts again",
			in: Input{Desired: placed(launched("web@1.service", hA)), OnDisk: map[string]unit.Hash{"web@1.service": hA},
				Units: map[string]UnitStatus{"web@1.service": dead}},
			want: summary{Start: []string{"web@1.service"}, Started: map[string]unit.Hash{"web@1.service": hA}}},

		// The agent restarted.
		{name: "agent restart: same file, unit running: nothing at all",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "agent restart: unit restarting by its Restart= policy: nothing",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": restartin}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "agent restart: a launched unit that is not running is started",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": dead}},
			want: summary{Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},

		// Desired state.
		{name: "loaded and running: stopped",
			in:   Input{Desired: placed(loaded("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Stop: []string{"web.service"}}},
		{name: "loaded and restarting: stopped",
			in:   Input{Desired: placed(loaded("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": restartin}},
			want: summary{Stop: []string{"web.service"}}},
		{name: "loaded and stopping already: nothing",
			in:   Input{Desired: placed(loaded("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": stopping}},
			want: summary{}},
		{name: "loaded and stopped: nothing, and the next launch starts it",
			in:   Input{Desired: placed(loaded("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": dead}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{}},

		// Failures are the unit's business.
		{name: "launched and failed after we started it: not started again",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": failed}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "launched and exited after we started it: not started again",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": dead}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "launched and failed, never started by us: started once",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": failed}},
			want: summary{Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},

		// systemd lost the unit.
		{name: "lost: file there but systemd does not know it: relinked, loaded (a reload if still not found: see Reloads), started",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Write: []string{"web.service"}, Load: []string{"web.service"}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}, Relinked: map[string]unit.Hash{"web.service": hA}}},
		{name: "lost again at the same hash: not relinked in a loop",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}, Relinked: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}, Relinked: map[string]unit.Hash{"web.service": hA}}},
		{name: "relinked and loaded since: the next loss is repaired again",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}, Memory: Memory{Relinked: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "lost: file gone, unit dead: written, loaded, started again",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: none, Units: map[string]UnitStatus{"web.service": dead}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Write: []string{"web.service"}, Load: []string{"web.service"}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "lost: file gone, unit still running: written, loaded (systemd looks again: the link is new), not restarted",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: none, Units: map[string]UnitStatus{"web.service": lostRun}},
			want: summary{Write: []string{"web.service"}, Load: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},

		// --replace.
		{name: "replaced while running: stopped, rewritten, reloaded, started",
			in:   Input{Desired: placed(launched("web.service", hB)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Stop: []string{"web.service"}, Remove: []string{"web.service"}, Write: []string{"web.service"}, Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadChanged}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hB}}},
		{name: "replaced after it failed: rewritten and started once more",
			in:   Input{Desired: placed(launched("web.service", hB)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": failed}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Remove: []string{"web.service"}, Write: []string{"web.service"}, Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadChanged}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hB}}},
		{name: "replaced while loaded and running: stopped and rewritten, not started",
			in:   Input{Desired: placed(loaded("web.service", hB)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}},
			want: summary{Stop: []string{"web.service"}, Remove: []string{"web.service"}, Write: []string{"web.service"}, Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadChanged}}},
		{name: "replaced while systemd holds no old version: rewritten and loaded, no reload",
			in:   Input{Desired: placed(launched("web.service", hB)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Remove: []string{"web.service"}, Write: []string{"web.service"}, Load: []string{"web.service"}, Check: []string{"web.service"}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hB}}},
		{name: "agent restart: systemd holds an older definition than the file placed: reloaded, then started",
			in:   Input{Desired: placed(launched("web.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": dead}, Stale: map[string]bool{"web.service": true}},
			want: summary{Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadStale}, Start: []string{"web.service"}, Started: map[string]unit.Hash{"web.service": hA}}},
		{name: "one reload serves the whole batch: a new unit beside a replaced one is not loaded apart",
			in: Input{Desired: placed(launched("web.service", hB), launched("new.service", hA)), OnDisk: map[string]unit.Hash{"web.service": hA},
				Units: map[string]UnitStatus{"web.service": running_}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Stop: []string{"web.service"}, Remove: []string{"web.service"}, Write: []string{"new.service", "web.service"}, Reload: true, ReloadFor: map[string]ReloadWhy{"web.service": ReloadChanged}, Start: []string{"new.service", "web.service"}, Started: map[string]unit.Hash{"web.service": hB, "new.service": hA}}},

		// Placements leaving.
		{name: "placement gone: stopped, unlinked, removed, loaded again (a reload if systemd still holds it), forgotten",
			in:   Input{Desired: placed(), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": running_}, Memory: Memory{Started: map[string]unit.Hash{"web.service": hA}}},
			want: summary{Stop: []string{"web.service"}, Remove: []string{"web.service"}, Load: []string{"web.service"}}},
		{name: "placement gone of a unit systemd does not hold: removed, nothing to load",
			in:   Input{Desired: placed(), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{}},
			want: summary{Remove: []string{"web.service"}}},
		{name: "placement of a failed unit gone: removed without a stop",
			in:   Input{Desired: placed(), OnDisk: map[string]unit.Hash{"web.service": hA}, Units: map[string]UnitStatus{"web.service": failed}},
			want: summary{Remove: []string{"web.service"}, Load: []string{"web.service"}}},
		{name: "only the units that left are touched",
			in:   Input{Desired: placed(launched("a.service", hA)), OnDisk: map[string]unit.Hash{"a.service": hA, "b.service": hB}, Units: map[string]UnitStatus{"a.service": running_, "b.service": running_}},
			want: summary{Stop: []string{"b.service"}, Remove: []string{"b.service"}, Load: []string{"b.service"}, Started: map[string]unit.Hash{"a.service": hA}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Files == nil {
				tc.in.Files = allFiles
			}
			before := tc.in.Memory.clone()
			got := summarize(Reconcile(tc.in))
			norm(&got)
			norm(&tc.want)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Reconcile:\n got %+v\nwant %+v", got, tc.want)
			}
			if !maps.Equal(tc.in.Memory.clone().Started, before.Started) {
				t.Error("Reconcile changed its input's Memory")
			}
		})
	}
}

// norm makes empty and nil the same, for DeepEqual.
func norm(s *summary) {
	for _, l := range []*[]string{&s.Stop, &s.Remove, &s.Write, &s.Enable, &s.Load, &s.Check, &s.Start, &s.Templates} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(s.Fetch) == 0 {
		s.Fetch = nil
	}
	if len(s.Started) == 0 {
		s.Started = nil
	}
	if len(s.Relinked) == 0 {
		s.Relinked = nil
	}
	if len(s.ReloadFor) == 0 {
		s.ReloadFor = nil
	}
}

// TestPlanReloads: what systemd answers to Load decides whether a plan
// without a reload needs one after all.
func TestPlanReloads(t *testing.T) {
	p := Plan{Write: []Write{{Name: "new.service"}, {Name: "bad.service"}, {Name: "missed.service"}, {Name: "unanswered.service"}, {Name: "fresh.service"}, {Name: "old.service"}},
		Remove: []string{"gone.service", "kept.service", "fresh.service", "old.service"},
		Load:   []string{"new.service", "bad.service", "missed.service", "unanswered.service", "gone.service", "kept.service", "fresh.service", "old.service"},
		Check:  []string{"fresh.service", "old.service"}}
	got := p.Reloads(map[string]UnitStatus{
		"new.service":    dead,
		"bad.service":    {Load: "bad-setting", Active: "inactive", Sub: "dead"}, // read, and wrong: the unit's business
		"missed.service": notFound,
		"gone.service":   notFound,
		"kept.service":   dead, // something still refers to it
		"fresh.service":  dead, // read from the new file
		"old.service":    dead, // loaded from the old file after the plan was made
	}, map[string]bool{"fresh.service": false, "old.service": true})
	want := map[string]ReloadWhy{"missed.service": ReloadNotFound, "unanswered.service": ReloadNotFound, "kept.service": ReloadHeld, "old.service": ReloadChanged}
	if !maps.Equal(got, want) {
		t.Errorf("Reloads = %v, want %v", got, want)
	}
}

func TestReconcileWritesThePlacedContent(t *testing.T) {
	p := Reconcile(Input{Desired: placed(launched("web.service", hB)), Files: allFiles})
	if len(p.Write) != 1 || string(p.Write[0].Data) != string(fileB) || p.Write[0].Hash != hB {
		t.Fatalf("Write = %+v, want web.service with file B", p.Write)
	}
}

func TestReached(t *testing.T) {
	tests := []struct {
		name string
		st   UnitStatus
		want registry.State
	}{
		{"running is launched", running_, registry.StateLaunched},
		{"restarting is launched", restartin, registry.StateLaunched},
		{"failed is only loaded", failed, registry.StateLoaded},
		{"stopped is loaded", dead, registry.StateLoaded},
		{"not found is inactive", notFound, registry.StateInactive},
		{"running without a file is inactive", lostRun, registry.StateInactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reached(tc.st); got != tc.want {
				t.Errorf("Reached(%+v) = %s, want %s", tc.st, got, tc.want)
			}
		})
	}
}
