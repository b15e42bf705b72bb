package scale

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/sim"
)

// TestMix checks the unit mix: as many units as asked, at least the share
// of unplaceable ones asked, and placements counted as the engine makes
// them (a global once per machine of its zone, a solo@ per machine).
func TestMix(t *testing.T) {
	md := sim.Metadata(4, 50, nil)
	m, err := newMix(200, 3000, 4, 50, 5, md)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range m.files {
		name := strings.TrimSuffix(strings.SplitN(f.Name, "@", 2)[0], ".service")
		kinds[strings.TrimRight(name, "0123456789")]++
	}
	if len(m.files) != 3000 || m.unplaced != 150 {
		t.Fatalf("%d units, %d unplaceable; want 3000 and 150", len(m.files), m.unplaced)
	}
	// 4 globals on 50 machines each, 200 solo@, and every other placeable unit once.
	if want := 4*50 + 200 + (3000 - 4 - 75 - 275); m.placements != want {
		t.Errorf("placements = %d, want %d", m.placements, want)
	}
	if kinds["global"] != 4 || kinds["solo"] != 275 || kinds["nowhere"] != 75 || kinds["web"] == 0 || kinds["zoned"] == 0 || kinds["plain"] == 0 {
		t.Errorf("kinds = %v", kinds)
	}
	if _, err := newMix(10, 100, 4, 50, 5, md); err == nil {
		t.Error("a mix on fewer machines than a web template's instances was made")
	}
}

// TestReadPasses parses the engine's debug line of a pass.
func TestReadPasses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.log")
	log := `time=2026-12-02T00:18:24.5Z level=DEBUG msg="engine pass" part=engine revision=9 units=3 machines=2 changes=7 absent=0 build=1.5ms schedule=2ms apply=3ms err=<nil>
time=2026-12-02T00:18:25Z level=INFO msg="engine leads" id=e1
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	ps := readPasses(path)
	if len(ps) != 1 {
		t.Fatalf("passes = %+v, want one", ps)
	}
	p := ps[0]
	if p.build != 1500*time.Microsecond || p.schedule != 2*time.Millisecond || p.apply != 3*time.Millisecond || p.changes != 7 {
		t.Errorf("pass = %+v", p)
	}
	at := p.at
	s := statsOf(ps, at.Add(-time.Second), at.Add(time.Second))
	if s.n != 1 || s.cost != 3500*time.Microsecond || s.max != s.cost {
		t.Errorf("stats = %+v", s)
	}
	if statsOf(ps, at.Add(time.Millisecond), at.Add(time.Second)).n != 0 {
		t.Error("a pass outside the window was counted")
	}
}

// TestObserver follows placements, states and machine records as the
// watch delivers them.
func TestObserver(t *testing.T) {
	o := newObserver()
	ev := func(c registry.KeyChange) { o.apply(c) }
	put := func(kind, m, u string) registry.KeyChange { return registry.KeyChange{Kind: kind, Machine: m, Unit: u} }
	del := func(kind, m, u string) registry.KeyChange {
		return registry.KeyChange{Kind: kind, Machine: m, Unit: u, Deleted: true}
	}
	ev(put("placements", "m1", "a.service"))
	ev(put("placements", "m1", "a.service")) // rewritten: still one
	ev(put("placements", "m2", "g.service"))
	ev(registry.KeyChange{Kind: "states", Machine: "m1", Unit: "a.service", State: registry.StateLoaded})
	ev(registry.KeyChange{Kind: "states", Machine: "m1", Unit: "a.service", State: registry.StateLaunched})
	ev(put("unplaced", "", "b.service"))
	ev(del("machines", "m2", ""))
	ev(del("placements", "m2", "g.service"))
	c := o.counts()
	if c.placed != 1 || c.launched != 1 || c.unplaced != 1 || !o.gone["m2"] {
		t.Errorf("counts = %+v, gone %v", c, o.gone)
	}
	if c.writes["placements"] != 4 || c.writes["states"] != 2 || c.writes["machines"] != 1 {
		t.Errorf("writes = %v", c.writes)
	}
	ev(del("states", "m1", "a.service"))
	if o.counts().launched != 0 {
		t.Error("a deleted state still counts as launched")
	}
	if on := o.placedOn(map[string]bool{"m1": true}); !on["a.service"] || len(on) != 1 {
		t.Errorf("placedOn(m1) = %v", on)
	}
}
